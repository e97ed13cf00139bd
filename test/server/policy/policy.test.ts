import { describe, expect, it } from 'vitest';
import { ApnsMockError } from '../../../common/errors.js';
import { MAX_DURATION_MS } from '../../../common/duration.js';
import { Status } from '../../../protocol/binary/index.js';
import { ACCEPTED, TokenRateLimiter, type NotificationContext } from '../../../server/policy/index.js';
import { RuleError, RuleSet, parseRuleSpec, parseScenario } from '../../../server/rules/index.js';
import { TOKEN, TOPIC, notification, policyWith } from './support.js';

const OTHER = 'bb'.repeat(32);

describe('the device registry', () => {
  it('binary: a token registered elsewhere gets status 8', () => {
    const { decide, registry } = policyWith();
    registry.register(TOKEN, { topic: 'com.other.app' });
    expect(decide('binary')).toEqual({
      kind: 'reject',
      status: Status.InvalidToken,
      reason: 'BadDeviceToken',
      explanation: `token is not valid for ${TOPIC} in development`,
      rule: null,
      timestamp: null,
      delayMs: null,
      effect: null,
    });
    expect(decide('binary', { tokenHex: OTHER }).kind).toBe('accept');
  });

  it('HTTP/2: an uninstalled token is 410 Unregistered with its time; the binary gateway still accepts it', () => {
    const { decide, registry } = policyWith();
    registry.uninstall(TOKEN, { topic: TOPIC, timestamp: 1_700_000_000 });
    expect(decide('http2')).toMatchObject({
      kind: 'reject',
      reason: 'Unregistered',
      timestamp: 1_700_000_000_000,
      explanation: 'the token was unregistered (app uninstalled) at 2023-11-14T22:13:20.000Z',
    });
    expect(decide('binary').kind).toBe('accept');
  });

  it('HTTP/2: strict devices, the wrong environment, the wrong topic', () => {
    const { decide, registry } = policyWith();
    registry.strict = true;
    expect(decide('http2')).toMatchObject({ reason: 'BadDeviceToken', explanation: 'strict devices: the token is not registered' });
    registry.register(TOKEN, { environment: 'production', topic: TOPIC });
    expect(decide('http2')).toMatchObject({
      reason: 'BadDeviceToken',
      explanation: 'the token is registered for production, not development',
    });
    registry.register(TOKEN, { environment: 'development', topic: 'com.other.app' });
    expect(decide('http2')).toMatchObject({
      reason: 'DeviceTokenNotForTopic',
      explanation: `the token is registered for com.other.app, not ${TOPIC}`,
    });
    expect(decide('http2', { topic: 'com.other.app.voip', bundle: 'com.other.app' }).kind).toBe('accept');
  });

  it('a broadcast has no token: the registry is not asked', () => {
    const { decide, registry } = policyWith();
    registry.strict = true;
    expect(decide('http2', { tokenHex: '', broadcast: true }).kind).toBe('accept');
  });
});

describe('the order of the checks', () => {
  it('the rate limiter answers 429 before the rules, and such a notification does not count for the rules', () => {
    const { decide, tally } = policyWith([{ id: 'r', action: { type: 'close' } }], { rateLimiter: new TokenRateLimiter(0, 60_000) });
    expect(decide('http2')).toMatchObject({
      kind: 'reject',
      reason: 'TooManyRequests',
      rule: null,
      explanation: 'more than 0 notification(s) to this token within 60000 ms',
    });
    expect(tally.judged).toBe(0);
  });

  it("nthOnConnection counts the connection's notifications that reached the rules", () => {
    const { decide, tally } = policyWith([{ id: 'r', match: { nthOnConnection: 3 }, action: { type: 'close' } }]);
    expect([decide('binary'), decide('binary'), decide('binary')].map((v) => v.kind)).toEqual(['accept', 'accept', 'close']);
    expect(tally.judged).toBe(3);
  });

  it('strict payloads: a warning rejects with status 7 after a rule that did not decide, whose effect stays', () => {
    const { decide } = policyWith([{ id: 'r', action: { type: 'delay', ms: 5 } }], { strictPayloads: true });
    expect(decide('binary', { payload: Buffer.from('not json') })).toMatchObject({
      kind: 'reject',
      status: Status.InvalidPayloadSize,
      rule: null,
      effect: { kind: 'delay', ms: 5 },
      explanation: expect.stringMatching(/^strict mode: payload is not valid JSON/),
    });
    expect(decide('binary')).toMatchObject({ kind: 'accept', rule: 'r', warnings: [] });
  });

  it('binary fast path: an open registry and no rules give the shared accept without reading the token', () => {
    const { policy } = policyWith();
    const frame = {
      ...notification('binary'),
      get tokenHex(): string {
        throw new Error('the token was read');
      },
    } as NotificationContext;
    expect(policy.decide(frame, { judged: 0 })).toBe(ACCEPTED);
  });
});

describe('rule numbers are bounded', () => {
  const refused = (action: unknown) => {
    try {
      parseRuleSpec({ action });
    } catch (error) {
      return error as RuleError;
    }
    throw new Error(`accepted ${JSON.stringify(action)}`);
  };

  it('a delay of 1e12 ms is refused with a RuleError, not wrapped to 1 ms', () => {
    const error = refused({ type: 'delay', ms: 1e12 });
    expect(error).toBeInstanceOf(RuleError);
    expect(error).toBeInstanceOf(ApnsMockError);
    expect(error.code).toBe('ERR_APNS_RULE');
    expect(error.message).toMatch(/^rule\.action\.ms must be at most /);
  });

  it.each([
    ['stall ms', { type: 'stall', ms: MAX_DURATION_MS + 1 }, /rule\.action\.ms must be at most/],
    ['reject delayMs', { type: 'reject', status: 8, delayMs: 1e15 }, /rule\.action\.delayMs must be at most/],
    ['shutdown delayMs', { type: 'shutdown', delayMs: Infinity }, /rule\.action\.delayMs must be a duration/],
    ['outage afterMs', { type: 'outage', afterMs: 1e300 }, /rule\.action\.afterMs must be at most/],
    ['outage forMs 0', { type: 'outage', forMs: 0 }, /rule\.action\.forMs must be an integer >= 1; got 0/],
    ['rateLimit perMs', { type: 'rateLimit', requests: 1, perMs: 1e12 }, /rule\.action\.perMs must be at most/],
    ['a fractional ms', { type: 'delay', ms: 1.5 }, /rule\.action\.ms must be an integer >= 0; got 1\.5/],
    ['a negative ms', { type: 'delay', ms: -1 }, /rule\.action\.ms must be a duration/],
    ['a goaway error code over 32 bits', { type: 'goaway', errorCode: 2 ** 32 }, /rule\.action\.errorCode must be at most 4294967295/],
  ])('%s is refused', (_name, action, message) => {
    expect(refused(action).message).toMatch(message);
  });

  it('durations may be written as text', () => {
    expect(parseRuleSpec({ action: { type: 'stall', ms: '2s' } }).action).toEqual({ type: 'stall', ms: 2000 });
    expect(new RuleSet().add({ action: { type: 'outage', afterMs: '1m', forMs: '30s' } }).action).toEqual({
      type: 'outage',
      afterMs: 60_000,
      forMs: 30_000,
    });
  });

  it('a rule token must be hex, whole bytes', () => {
    expect(() => parseRuleSpec({ match: { token: 'zz' }, action: { type: 'close' } })).toThrow(/rule\.match\.token must be hex digits/);
    expect(() => parseRuleSpec({ match: { token: 'abc' }, action: { type: 'close' } })).toThrow(
      /rule\.match\.token has an odd number of hex digits/,
    );
    expect(() => parseRuleSpec({ match: { tokenPrefix: 'xyz' }, action: { type: 'close' } })).toThrow(RuleError);
  });
});

describe('scenario files', () => {
  it('an uninstalled timestamp must be UNIX seconds a feedback tuple can carry: 1e300 is refused', () => {
    expect(() => parseScenario({ uninstalled: [{ token: TOKEN, timestamp: 1e300 }] })).toThrow(
      /^scenario: uninstalled\[0\]\.timestamp must be UNIX seconds \(an integer from 0 to 4294967295\); got 1e\+300$/,
    );
    expect(() => parseScenario({ uninstalled: [{ token: TOKEN, timestamp: -1 }] })).toThrow(RuleError);
    expect(parseScenario({ uninstalled: [{ token: TOKEN, timestamp: 1_700_000_000 }] }).uninstalled[0].timestamp).toBe(1_700_000_000);
  });

  it('device tokens are made canonical and checked', () => {
    expect(parseScenario({ devices: [{ token: `<${TOKEN.toUpperCase()}>` }] }).devices[0].token).toBe(TOKEN);
    expect(() => parseScenario({ devices: [{ token: 'not hex' }] })).toThrow(/^scenario: devices\[0\]\.token must be hex digits/);
  });
});
