import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Status, decodeErrorResponse, encodeEnhanced, encodeErrorResponse, encodeNotification } from '../../../protocol/binary/index.js';
import {
  RuleError,
  startSimulator,
  type NotificationRecord,
  type ProviderCredentials,
  type RuleSpec,
  type Simulator,
} from '../../../server/index.js';
import { connectProvider } from '../../support/provider-connection.js';
import { sendFrames } from '../../support/provider-socket.js';
import { useSimulator } from '../../support/simulator.js';

const TOKEN = 'aa'.repeat(32);
const OTHER = 'bb'.repeat(32);
const PAYLOAD = { aps: { alert: 'hello' } };

let sim: Simulator;
let otherTopic: ProviderCredentials;
const frame = (identifier: number, token = TOKEN, payload: object | string = PAYLOAD) =>
  encodeNotification({ token, payload, identifier }, 2);
const frames = (count: number, from = 1) => Buffer.concat(Array.from({ length: count }, (_, i) => frame(from + i)));
const send = (writes: Buffer | Buffer[], waitMs?: number, credentials: ProviderCredentials = sim.credentials) =>
  sendFrames(sim.ports.gateway, credentials, writes, waitMs);
const outcomes = (records: NotificationRecord[]) => records.map((r) => [r.identifier, r.outcome]);
/** Identifiers of the records a rule fired on. */
const firedOn = (records: NotificationRecord[], rule: string) => records.filter((r) => r.rule === rule).map((r) => r.identifier);
/** An action that decides nothing, so a rule's firing shows only in the records' `rule`. */
const MARK = { type: 'delay', ms: 0 } as const;

useSimulator({ controlPort: false, resetEach: true }, (started) => (sim = started));
beforeAll(async () => {
  otherTopic = await sim.createCredentials('com.other.app');
});

describe('match conditions', () => {
  it('token (spaces and case ignored): only that token is rejected', async () => {
    sim.rules.add({
      id: 'r',
      match: {
        token: `<${OTHER.toUpperCase()
          .replace(/(.{8})/g, '$1 ')
          .trim()}>`,
      },
      action: { type: 'reject', status: 8 },
    });
    const result = await send(Buffer.concat([frame(1), frame(2, OTHER), frame(3)]));
    expect(result.received).toEqual(encodeErrorResponse(8, 2));
    expect(outcomes(sim.records())).toEqual([
      [1, 'accepted'],
      [2, 'rejected'],
      [3, 'discarded'],
    ]);
    expect(sim.records()[1]).toMatchObject({ rule: 'r', status: 8, reason: 'InvalidToken injected by rule r' });
  });

  it('tokenPrefix', async () => {
    sim.rules.add({ id: 'r', match: { tokenPrefix: 'BB BB' }, action: MARK });
    await send([frame(1, 'ab'.repeat(32)), frame(2, OTHER), frame(3, 'bbbb' + 'cc'.repeat(30)), frame(4, 'bbbc' + 'cc'.repeat(30))], 200);
    expect(firedOn(await sim.waitFor({}, { count: 4 }), 'r')).toEqual([2, 3]);
  });

  it('identifier', async () => {
    sim.rules.add({ match: { identifier: 2 }, action: { type: 'reject', status: 8 } });
    const result = await send(frames(3));
    expect(decodeErrorResponse(result.received)).toEqual({ status: 8, identifier: 2 });
  });

  it('topic: the provider certificate of another bundle id', async () => {
    sim.rules.add({ id: 'r', match: { topic: 'com.other.app' }, action: { type: 'reject', status: 8 } });
    const mine = await send(frame(1), 200);
    expect(mine.received.length).toBe(0);
    const theirs = await send(frame(2), 3000, otherTopic);
    expect(theirs.received).toEqual(encodeErrorResponse(8, 2));
    expect(sim.records().map((r) => [r.topic, r.outcome])).toEqual([
      ['com.example.app', 'accepted'],
      ['com.other.app', 'rejected'],
    ]);
  });

  it('payloadField with equals: the value at the dotted path must be equal', async () => {
    sim.rules.add({ id: 'r', match: { payloadField: { path: 'aps.badge', equals: 3 } }, action: MARK });
    sim.rules.add({ id: 'deep', match: { payloadField: { path: 'aps.alert', equals: { title: 'T', body: 'B' } } }, action: MARK });
    await send(
      [
        frame(1, TOKEN, { aps: { badge: 2 } }),
        frame(2, TOKEN, { aps: { badge: 3 } }),
        frame(3, TOKEN, { aps: { badge: '3' } }),
        frame(4, TOKEN, { aps: { alert: { title: 'T', body: 'B' } } }),
        frame(5, TOKEN, { aps: { alert: { title: 'T', body: 'C' } } }),
      ],
      200,
    );
    const records = await sim.waitFor({}, { count: 5 });
    expect(firedOn(records, 'r')).toEqual([2]);
    expect(firedOn(records, 'deep')).toEqual([4]);
  });

  it('payloadField without equals: the field is present, whatever its value; a payload that is not JSON never matches', async () => {
    sim.rules.add({ id: 'r', match: { payloadField: { path: 'acme.flag' } }, action: MARK });
    await send(
      [
        frame(1, TOKEN, { aps: {}, acme: { flag: false } }),
        frame(2, TOKEN, { aps: {}, acme: {} }),
        frame(3, TOKEN, { aps: {}, acme: { flag: null } }),
        frame(4, TOKEN, 'acme.flag, not JSON'),
        frame(5, TOKEN, { aps: {}, acme: 'flag' }),
      ],
      200,
    );
    expect(firedOn(await sim.waitFor({}, { count: 5 }), 'r')).toEqual([1, 3]);
  });

  it('nth counts notifications over all connections', async () => {
    sim.rules.add({ id: 'r', match: { nth: 3 }, action: { type: 'reject', status: 8 } });
    const first = await send([frame(1), frame(2)], 200);
    expect(first.received.length).toBe(0);
    const second = await send([frame(3), frame(4)]);
    expect(second.received).toEqual(encodeErrorResponse(8, 3));
  });

  it('nthOnConnection counts on each connection afresh', async () => {
    sim.rules.add({ id: 'r', match: { nthOnConnection: 2 }, action: { type: 'reject', status: 8 } });
    const a = await send(frames(3, 1));
    const b = await send(frames(3, 11));
    expect(a.received).toEqual(encodeErrorResponse(8, 2));
    expect(b.received).toEqual(encodeErrorResponse(8, 12));
  });

  it('everyNth', async () => {
    sim.rules.add({ id: 'r', match: { everyNth: 3 }, action: MARK });
    await send(frames(9), 200);
    expect(firedOn(await sim.waitFor({}, { count: 9 }), 'r')).toEqual([3, 6, 9]);
  });

  it('times: a rule fires at most that often, then the next rule gets its turn', async () => {
    sim.rules.add({ id: 'first', match: { tokenPrefix: 'aa' }, action: MARK, times: 2 });
    sim.rules.add({ id: 'second', match: { tokenPrefix: 'aa' }, action: MARK });
    await send(frames(4), 200);
    const records = await sim.waitFor({}, { count: 4 });
    expect(firedOn(records, 'first')).toEqual([1, 2]);
    expect(firedOn(records, 'second')).toEqual([3, 4]);
    expect(sim.rules.list().map((r) => [r.id, r.fired])).toEqual([
      ['first', 2],
      ['second', 2],
    ]);
  });

  describe('probability with a seed', () => {
    const run = async (spec: RuleSpec, target: Simulator = sim): Promise<(number | null)[]> => {
      target.recorder.clear();
      target.rules.clear();
      target.rules.add({ id: 'p', ...spec });
      await sendFrames(target.ports.gateway, target.credentials, frames(40), 200);
      return firedOn(await target.waitFor({}, { count: 40 }), 'p');
    };

    it('the same seed fires on the same notifications, in this simulator and another; another seed differs', async () => {
      const seeded = { match: { probability: 0.5 }, action: MARK, seed: 42 };
      const once = await run(seeded);
      expect(once.length).toBeGreaterThan(0);
      expect(once.length).toBeLessThan(40);
      expect(await run(seeded)).toEqual(once);
      const elsewhere = await startSimulator({ controlPort: false });
      try {
        expect(await run(seeded, elsewhere)).toEqual(once);
      } finally {
        await elsewhere.close();
      }
      expect(await run({ ...seeded, seed: 7 })).not.toEqual(once);
    });

    it('probability 0 never fires, 1 always does', async () => {
      expect(await run({ match: { probability: 0 }, action: MARK })).toEqual([]);
      expect(await run({ match: { probability: 1 }, action: MARK })).toHaveLength(40);
    });
  });

  it('every condition given must hold', async () => {
    sim.rules.add({ id: 'r', match: { token: OTHER, identifier: 3 }, action: MARK });
    await send([frame(1, OTHER), frame(2), frame(3), frame(3, OTHER)], 200);
    expect(firedOn(await sim.waitFor({}, { count: 4 }), 'r')).toEqual([3]);
    expect(
      sim
        .records()
        .filter((r) => r.rule === 'r')
        .map((r) => r.seq),
    ).toEqual([sim.records()[3].seq]);
  });
});

describe('actions', () => {
  it('reject: the 6-byte error with the given status and the frame identifier, then the close', async () => {
    sim.rules.add({
      id: 'r',
      description: 'flaky device',
      match: { identifier: 2 },
      action: { type: 'reject', status: Status.InvalidTokenSize },
    });
    const result = await send(frames(3));
    expect(result.closed).toBe(true);
    expect(result.received.toString('hex')).toBe('080500000002');
    expect(sim.records()[1]).toMatchObject({
      outcome: 'rejected',
      status: 5,
      statusName: 'InvalidTokenSize',
      rule: 'r',
      reason: 'InvalidTokenSize injected by rule r (flaky device)',
    });
  });

  it('reject with status 2 echoes the frame identifier: only a missing token earns identifier 0', async () => {
    sim.rules.add({ match: { identifier: 2 }, action: { type: 'reject', status: Status.MissingDeviceToken } });
    const result = await send(frames(3));
    expect(result.received).toEqual(encodeErrorResponse(Status.MissingDeviceToken, 2));
  });

  it('reject with delayMs: the error comes late; frames that arrive meanwhile are discarded', async () => {
    sim.rules.add({ match: { identifier: 1 }, action: { type: 'reject', status: 8, delayMs: 400 } });
    const p = await connectProvider(sim.ports.gateway, sim.credentials);
    const start = Date.now();
    p.write(frame(1));
    await new Promise((r) => setTimeout(r, 150));
    p.write(frame(2));
    await p.closed;
    expect(p.received()).toEqual(encodeErrorResponse(8, 1));
    expect(p.firstDataAt()! - start).toBeGreaterThanOrEqual(390);
    expect(outcomes(sim.records())).toEqual([
      [1, 'rejected'],
      [2, 'discarded'],
    ]);
  });

  it('shutdown: status 10 with the last accepted identifier; this notification and the rest are discarded', async () => {
    sim.rules.add({ id: 'r', match: { identifier: 3 }, action: { type: 'shutdown' } });
    const result = await send(frames(4));
    expect(result.received).toEqual(encodeErrorResponse(Status.Shutdown, 2));
    expect(sim.records().map((r) => [r.identifier, r.outcome, r.status])).toEqual([
      [1, 'accepted', null],
      [2, 'accepted', null],
      [3, 'discarded', 10],
      [4, 'discarded', null],
    ]);
    expect(sim.records()[2].reason).toBe('gateway shutdown by rule r; the last accepted identifier was 2');
  });

  it('shutdown on the first notification of a connection carries identifier 0', async () => {
    sim.rules.add({ match: { nthOnConnection: 1 }, action: { type: 'shutdown' } });
    expect((await send(frame(9))).received).toEqual(encodeErrorResponse(Status.Shutdown, 0));
  });

  it('close: the connection ends without a byte; this notification and the rest are discarded', async () => {
    sim.rules.add({ id: 'r', match: { identifier: 2 }, action: { type: 'close' } });
    const result = await send(frames(3));
    expect(result.closed).toBe(true);
    expect(result.error).toBeNull();
    expect(result.received.length).toBe(0);
    expect(outcomes(sim.records())).toEqual([
      [1, 'accepted'],
      [2, 'discarded'],
      [3, 'discarded'],
    ]);
    expect(sim.records()[1].reason).toBe('connection closed without a reply by rule r');
  });

  it("delay: the notification is accepted and the connection's next error waits; the socket keeps reading meanwhile", async () => {
    sim.rules.add({ id: 'r', match: { identifier: 1 }, action: { type: 'delay', ms: 500 } });
    const p = await connectProvider(sim.ports.gateway, sim.credentials);
    const start = Date.now();
    p.write(Buffer.concat([frame(1), encodeEnhanced({ token: TOKEN, payload: '', identifier: 2 })]));
    await new Promise((r) => setTimeout(r, 150));
    p.write(frame(3));
    await p.closed;
    expect(p.received()).toEqual(encodeErrorResponse(Status.MissingPayload, 2));
    expect(p.firstDataAt()! - start).toBeGreaterThanOrEqual(490);
    expect(sim.records().map((r) => [r.identifier, r.outcome, r.rule])).toEqual([
      [1, 'accepted', 'r'],
      [2, 'rejected', null],
      [3, 'discarded', null],
    ]);
  });

  it('stall: the notification is accepted, then nothing more is read for the time given', async () => {
    sim.rules.add({ id: 'r', match: { identifier: 1 }, action: { type: 'stall', ms: 500 } });
    const p = await connectProvider(sim.ports.gateway, sim.credentials);
    p.write(frame(1));
    const [first] = await sim.waitFor({ identifier: 1 });
    p.write(frame(2));
    const [second] = await sim.waitFor({ identifier: 2 }, { timeoutMs: 3000 });
    p.socket.destroy();
    expect([first.outcome, first.rule, second.outcome]).toEqual(['accepted', 'r', 'accepted']);
    expect(Date.parse(second.time) - Date.parse(first.time)).toBeGreaterThanOrEqual(490);
  });

  it('drop with afterBytes 0: the connection is reset at once and this notification discarded', async () => {
    sim.rules.add({ id: 'r', match: { identifier: 2 }, action: { type: 'drop', afterBytes: 0 } });
    const p = await connectProvider(sim.ports.gateway, sim.credentials);
    p.write(frames(2));
    const error = await p.closed;
    expect(error?.code).toBe('ECONNRESET');
    expect(p.received().length).toBe(0);
    expect(sim.records().map((r) => [r.identifier, r.outcome, r.reason])).toEqual([
      [1, 'accepted', null],
      [2, 'discarded', 'connection reset by rule r'],
    ]);
  });

  it('drop with afterBytes: the bytes up to that point are read, then the reset; what was cut off is discarded', async () => {
    sim.rules.add({ id: 'r', match: { identifier: 1 }, action: { type: 'drop', afterBytes: frame(2).length + 10 } });
    const p = await connectProvider(sim.ports.gateway, sim.credentials);
    p.write(frame(1));
    await sim.waitFor({ identifier: 1 });
    p.write(frame(2));
    await sim.waitFor({ identifier: 2 });
    p.write(frames(2, 3));
    const error = await p.closed;
    expect(error?.code).toBe('ECONNRESET');
    expect(p.received().length).toBe(0);
    await sim.waitFor({}, { count: 3 });
    const records = sim.records();
    expect(records.map((r) => [r.identifier, r.outcome, r.rule])).toEqual([
      [1, 'accepted', 'r'],
      [2, 'accepted', null],
      [null, 'discarded', null],
    ]);
    expect(records[2].bytes).toBe(frame(3).subarray(0, 10).toString('hex'));
    expect(records[2].reason).toBe(
      `discarded: the connection had already failed (reset by rule r after ${frame(2).length + 10} more byte(s)); its last frame was cut off too`,
    );
  });

  it('drop with afterBytes inside one write: what follows the point in the same write is never read', async () => {
    sim.rules.add({ id: 'r', match: { identifier: 1 }, action: { type: 'drop', afterBytes: frame(2).length + 10 } });
    const p = await connectProvider(sim.ports.gateway, sim.credentials);
    p.write(frames(4));
    const error = await p.closed;
    expect(error?.code).toBe('ECONNRESET');
    await sim.waitFor({}, { count: 3 });
    await new Promise((r) => setTimeout(r, 100));
    const records = sim.records();
    expect(records.map((r) => [r.identifier, r.outcome])).toEqual([
      [1, 'accepted'],
      [2, 'accepted'],
      [null, 'discarded'],
    ]);
    expect(records[2].bytes).toBe(frame(3).subarray(0, 10).toString('hex'));
    expect(records[2].reason).toMatch(/reset by rule r after \d+ more byte/);
  });

  it('uninstall: the notification is accepted and its token then appears in feedback for that topic and environment', async () => {
    sim.rules.add({ id: 'r', match: { token: OTHER }, action: { type: 'uninstall' } });
    await send([frame(1), frame(2, OTHER)], 200);
    const records = await sim.waitFor({}, { count: 2 });
    expect(records.map((r) => [r.identifier, r.outcome, r.rule])).toEqual([
      [1, 'accepted', null],
      [2, 'accepted', 'r'],
    ]);
    expect(sim.devices.pendingFeedback()).toEqual([
      { token: OTHER, topic: 'com.example.app', environment: 'development', timestamp: expect.any(Number) },
    ]);
    const other = await sendFrames(sim.ports.feedback, otherTopic, []);
    expect(other.received.length).toBe(0);
    const feedback = await sendFrames(sim.ports.feedback, sim.credentials, []);
    expect(feedback.received.length).toBe(38);
    expect(feedback.received.subarray(4).toString('hex')).toBe(`0020${OTHER}`);
    expect(Math.abs(feedback.received.readUInt32BE(0) - Date.now() / 1000)).toBeLessThan(60);
  });
});

describe('scenario files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'apns-mock-scenario-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const file = async (name: string, content: string) => {
    const path = join(dir, name);
    await writeFile(path, content);
    return path;
  };

  it('--scenario loads rules, devices and uninstalled tokens', async () => {
    const path = await file(
      'good.json',
      JSON.stringify({
        rules: [{ id: 'no-badge-7', match: { payloadField: { path: 'aps.badge', equals: 7 } }, action: { type: 'reject', status: 7 } }],
        devices: [{ token: TOKEN, topic: 'com.example.app', environment: 'development' }, { token: OTHER }],
        uninstalled: [{ token: 'dd'.repeat(32), topic: 'com.example.app', environment: 'development', timestamp: 1_700_000_123 }],
      }),
    );
    const scenario = await startSimulator({ scenario: path, strictDevices: true, controlPort: false });
    try {
      expect(scenario.rules.list().map((r) => r.id)).toEqual(['no-badge-7']);
      expect(scenario.devices.devices().map((d) => d.token)).toEqual([TOKEN, OTHER]);
      const to = (writes: Buffer[]) => sendFrames(scenario.ports.gateway, scenario.credentials, writes);
      expect((await to([frame(1), frame(2, OTHER), frame(3, 'cc'.repeat(32))])).received).toEqual(
        encodeErrorResponse(Status.InvalidToken, 3),
      );
      expect((await to([frame(4, TOKEN, { aps: { badge: 7 } })])).received).toEqual(encodeErrorResponse(7, 4));
      const feedback = await sendFrames(scenario.ports.feedback, scenario.credentials, []);
      expect(feedback.received.toString('hex')).toBe(`6553f17b0020${'dd'.repeat(32)}`);
      expect(scenario.records().map((r) => [r.identifier, r.outcome, r.rule])).toEqual([
        [1, 'accepted', null],
        [2, 'accepted', null],
        [3, 'rejected', null],
        [4, 'rejected', 'no-badge-7'],
      ]);
    } finally {
      await scenario.close();
    }
  });

  it('a bare array of rules is a scenario too', async () => {
    const path = await file('array.json', JSON.stringify([{ match: { nth: 1 }, action: { type: 'close' } }]));
    const scenario = await startSimulator({ scenario: path, controlPort: false });
    try {
      expect(scenario.rules.size).toBe(1);
    } finally {
      await scenario.close();
    }
  });

  const bad: [string, string, (path: string) => RegExp][] = [
    ['not JSON', '{"rules": [', (p) => new RegExp(`^scenario file ${escape(p)} is not valid JSON: `)],
    [
      'an unknown key',
      '{"rulez": []}',
      (p) => new RegExp(`^${escape(p)}: unknown key\\(s\\) rulez; expected rules, devices, uninstalled$`),
    ],
    [
      'a bad rule',
      '{"rules": [{"action": {"type": "close"}}, {"action": {"type": "reject", "status": 999}}]}',
      (p) => new RegExp(`^${escape(p)}: rules\\[1\\]\\.action\\.status must fit in a byte \\(0\\.\\.255\\); got 999$`),
    ],
    [
      'a device without a token',
      '{"devices": [{"topic": "x"}]}',
      (p) => new RegExp(`^${escape(p)}: devices\\[0\\] must be an object with a "token" string$`),
    ],
    [
      'an unknown environment',
      '{"uninstalled": [{"token": "aa", "environment": "staging"}]}',
      (p) => new RegExp(`^${escape(p)}: uninstalled\\[0\\]\\.environment must be "development" or "production"$`),
    ],
    ['rules that are not an array', '{"rules": {}}', (p) => new RegExp(`^${escape(p)}: "rules" must be an array$`)],
    ['a number', '42', (p) => new RegExp(`^${escape(p)}: must be a JSON object with "rules"`)],
  ];
  for (const [name, content, message] of bad) {
    it(`refuses a scenario with ${name}: RuleError naming the file and the place`, async () => {
      const path = await file(`${name.replace(/\W+/g, '-')}.json`, content);
      const error = await startSimulator({ scenario: path, controlPort: false }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RuleError);
      expect((error as RuleError).code).toBe('ERR_APNS_RULE');
      expect((error as RuleError).message).toMatch(message(path));
    });
  }

  it('refuses a scenario file that is not there', async () => {
    const path = join(dir, 'missing.json');
    await expect(startSimulator({ scenario: path, controlPort: false })).rejects.toThrow(
      new RuleError(`cannot read scenario file ${path}: ENOENT`),
    );
  });

  it('takes a scenario object in place of a file', async () => {
    const scenario = await startSimulator({ scenario: { devices: [{ token: OTHER }] }, controlPort: false });
    try {
      expect(scenario.devices.devices()).toEqual([{ token: OTHER, topic: null, environment: null }]);
    } finally {
      await scenario.close();
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
