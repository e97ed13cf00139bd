import { describe, expect, it } from 'vitest';
import { Status } from '../../../protocol/binary/index.js';
import {
  PASS_OVER,
  RULE_ACTIONS,
  RULE_ACTION_DEFINITIONS,
  RuleSet,
  ruleActionOn,
  type RuleActionSpec,
} from '../../../server/rules/index.js';
import type { Protocol, Verdict } from '../../../server/policy/index.js';
import { TOKEN, TOPIC, policyWith } from './support.js';

const PROTOCOLS: Protocol[] = ['binary', 'http2'];

/** One case per action and protocol: the verdict the policy returns for a rule with it (id "r"). */
const CASES: { action: RuleActionSpec; binary: Verdict | 'passOver'; http2: Verdict | 'passOver' }[] = [
  {
    action: { type: 'reject', status: 8 },
    binary: {
      kind: 'reject',
      status: 8,
      reason: 'BadDeviceToken',
      explanation: 'InvalidToken injected by rule r',
      rule: 'r',
      timestamp: null,
      delayMs: null,
      effect: null,
    },
    http2: {
      kind: 'reject',
      status: 8,
      reason: 'BadDeviceToken',
      explanation: 'BadDeviceToken injected by rule r',
      rule: 'r',
      timestamp: null,
      delayMs: 0,
      effect: null,
    },
  },
  {
    action: { type: 'reject', reason: 'Unregistered', delayMs: 50 },
    binary: {
      kind: 'reject',
      status: 8,
      reason: 'Unregistered',
      explanation: 'InvalidToken injected by rule r',
      rule: 'r',
      timestamp: null,
      delayMs: 50,
      effect: null,
    },
    http2: {
      kind: 'reject',
      status: 8,
      reason: 'Unregistered',
      explanation: 'Unregistered injected by rule r',
      rule: 'r',
      timestamp: null,
      delayMs: 50,
      effect: null,
    },
  },
  {
    action: { type: 'shutdown' },
    binary: { kind: 'shutdown', rule: 'r', explanation: 'shutdown by rule r', delayMs: null },
    http2: { kind: 'shutdown', rule: 'r', explanation: 'shutdown by rule r', delayMs: 0 },
  },
  {
    action: { type: 'close' },
    binary: { kind: 'close', rule: 'r', explanation: 'connection closed without a reply by rule r', failure: 'closed by rule r' },
    http2: { kind: 'close', rule: 'r', explanation: 'connection closed without a reply by rule r', failure: 'closed by rule r' },
  },
  {
    action: { type: 'delay', ms: 250 },
    binary: { kind: 'accept', rule: 'r', effect: { kind: 'delay', ms: 250 } },
    http2: { kind: 'accept', rule: 'r', effect: { kind: 'delay', ms: 250 } },
  },
  {
    action: { type: 'stall', ms: 100 },
    binary: { kind: 'accept', rule: 'r', effect: { kind: 'stall', ms: 100 } },
    http2: { kind: 'accept', rule: 'r', effect: { kind: 'stall', ms: 100 } },
  },
  {
    action: { type: 'drop' },
    binary: { kind: 'drop', rule: 'r', explanation: 'connection reset by rule r', failure: 'dropped by rule r' },
    http2: { kind: 'drop', rule: 'r', explanation: 'connection cut (no GOAWAY, no TLS close) by rule r', failure: 'cut by rule r' },
  },
  {
    action: { type: 'drop', afterBytes: 10 },
    binary: { kind: 'accept', rule: 'r', effect: { kind: 'dropAfter', bytes: 10, explanation: 'reset by rule r after 10 more byte(s)' } },
    http2: { kind: 'drop', rule: 'r', explanation: 'connection cut (no GOAWAY, no TLS close) by rule r', failure: 'cut by rule r' },
  },
  {
    action: { type: 'uninstall' },
    binary: { kind: 'accept', rule: 'r', effect: { kind: 'uninstalled' } },
    http2: { kind: 'accept', rule: 'r', effect: { kind: 'uninstalled' } },
  },
  {
    action: { type: 'goaway', reason: 'TooManyErrors', errorCode: 0 },
    binary: PASS_OVER,
    http2: {
      kind: 'goaway',
      rule: 'r',
      explanation: 'GOAWAY {"reason":"TooManyErrors"} by rule r',
      reason: 'TooManyErrors',
      errorCode: 0,
      delayMs: 0,
    },
  },
  {
    action: { type: 'reset' },
    binary: PASS_OVER,
    http2: { kind: 'reset', rule: 'r', explanation: 'RST_STREAM (error 2) by rule r', errorCode: 2, delayMs: 0 },
  },
  {
    action: { type: 'rateLimit', requests: 0, perMs: 1000 },
    binary: PASS_OVER,
    http2: {
      kind: 'reject',
      status: Status.ProcessingError,
      reason: 'TooManyRequests',
      explanation: 'more than 0 notification(s) to this token within 1000 ms (rule r)',
      rule: 'r',
      timestamp: null,
      delayMs: 0,
      effect: null,
    },
  },
  {
    action: { type: 'outage', reason: 'InternalServerError' },
    binary: PASS_OVER,
    http2: {
      kind: 'reject',
      status: 1,
      reason: 'InternalServerError',
      explanation: 'outage by rule r',
      rule: 'r',
      timestamp: null,
      delayMs: 0,
      effect: null,
    },
  },
];

describe('rule actions: the verdict of each on each protocol', () => {
  for (const c of CASES) {
    for (const protocol of PROTOCOLS) {
      const expected = c[protocol];
      const name = `${JSON.stringify(c.action)} on ${protocol}`;
      it(expected === PASS_OVER ? `${name}: passed over, the notification is accepted` : name, () => {
        const { decide } = policyWith([{ id: 'r', action: c.action }]);
        expect(decide(protocol)).toEqual(expected === PASS_OVER ? { kind: 'accept', rule: null, effect: null } : expected);
      });
    }
  }

  it('the cases above cover every action in the registry', () => {
    expect(new Set(CASES.map((c) => c.action.type))).toEqual(new Set(RULE_ACTIONS));
  });

  it("uninstall marks the token gone for the app and environment (binary: the certificate's topic)", () => {
    const { decide, registry } = policyWith([{ id: 'r', action: { type: 'uninstall' } }]);
    decide('binary', { environment: 'production' });
    decide('http2', { topic: `${TOPIC}.voip`, bundle: TOPIC, tokenHex: 'bb'.repeat(32) });
    expect(registry.pendingFeedback().map((e) => [e.token, e.topic, e.environment])).toEqual([
      [TOKEN, TOPIC, 'production'],
      ['bb'.repeat(32), TOPIC, 'development'],
    ]);
  });

  it('a reject of status 10 on HTTP/2 is the reason nearest it', () => {
    const { decide } = policyWith([{ id: 'r', action: { type: 'reject', status: Status.Shutdown } }]);
    expect(decide('http2')).toMatchObject({ kind: 'reject', reason: 'Shutdown', status: 10 });
  });

  it('outage: only inside its window after the rule was added', () => {
    const { decide } = policyWith([{ id: 'r', action: { type: 'outage', afterMs: '1h' as unknown as number } }]);
    expect(decide('http2').kind).toBe('accept');
  });

  it('rateLimit counts per token and fires only over the limit', () => {
    const { decide } = policyWith([{ id: 'r', action: { type: 'rateLimit', requests: 2, perMs: 60_000 } }]);
    expect([decide('http2'), decide('http2'), decide('http2'), decide('http2', { tokenHex: 'bb'.repeat(32) })].map((v) => v.kind)).toEqual([
      'accept',
      'accept',
      'reject',
      'accept',
    ]);
  });
});

describe('the action registry', () => {
  it('every action says, for both protocols, what it does there or that it is passed over', () => {
    for (const definition of RULE_ACTION_DEFINITIONS) {
      for (const protocol of PROTOCOLS) {
        const on = ruleActionOn(definition.type, protocol);
        expect(typeof on === 'function' || on === PASS_OVER, `${definition.type} on ${protocol}`).toBe(true);
      }
    }
  });

  it('a rule whose action is passed over on a protocol never fires there, and the next rule gets its turn', () => {
    for (const definition of RULE_ACTION_DEFINITIONS) {
      for (const protocol of PROTOCOLS) {
        if (ruleActionOn(definition.type, protocol) !== PASS_OVER) continue;
        const { rules, decide } = policyWith();
        const spec = CASES.find((c) => c.action.type === definition.type)!.action;
        rules.add({ id: 'skipped', action: spec });
        rules.add({ id: 'next', action: { type: 'delay', ms: 0 } });
        expect(decide(protocol)).toMatchObject({ kind: 'accept', rule: 'next' });
        expect(rules.list()[0].fired).toBe(0);
      }
    }
  });

  it('no binary verdict is one the binary gateway cannot send', () => {
    const binaryKinds = new Set(['accept', 'reject', 'shutdown', 'close', 'drop']);
    for (const c of CASES) {
      const { decide } = policyWith([{ id: 'r', action: c.action }]);
      expect(binaryKinds.has(decide('binary').kind), c.action.type).toBe(true);
    }
  });

  it('an unknown action is refused, naming every action', () => {
    expect(() => new RuleSet().add({ action: { type: 'explode' } })).toThrow(
      /"explode" is not one of reject, shutdown, close, delay, stall, drop, uninstall, goaway/,
    );
  });
});

describe('tokens in rule matches', () => {
  it('are made canonical: spaces, brackets and case do not matter', () => {
    const rules = new RuleSet();
    const rule = rules.add({
      match: {
        token: `<${TOKEN.toUpperCase()
          .replace(/(.{8})/g, '$1 ')
          .trim()}>`,
        tokenPrefix: 'AA A',
      },
      action: { type: 'close' },
    });
    expect(rule.match).toEqual({ token: TOKEN, tokenPrefix: 'aaa' });
  });
});
