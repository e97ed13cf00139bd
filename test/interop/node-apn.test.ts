// node-apn 1.7.8 (`apn` on npm), a widely used sender of the binary protocol, sends through
// the simulator over real TLS with a provider certificate the simulator issued.
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Status } from '../../protocol/binary/index.js';
import { startSimulator, type NotificationRecord, type Simulator } from '../../server/index.js';

/** The parts of node-apn 1.x this suite uses (it ships no types). */
interface ApnNotification {
  alert: string | { body: string };
  badge?: number;
  sound?: string;
  payload: Record<string, unknown>;
  expiry: number;
  priority: number;
  compile(): string;
}
interface ApnDevice {
  toString(): string;
}
interface ApnConnection extends NodeJS.EventEmitter {
  pushNotification(notification: ApnNotification, recipient: string | string[]): void;
  shutdown(): void;
  sockets: { destroy(): void }[];
}
interface Apn {
  Connection: new (options: Record<string, unknown>) => ApnConnection;
  Notification: new (payload?: Record<string, unknown>) => ApnNotification;
  Feedback: new (options: Record<string, unknown>) => NodeJS.EventEmitter & { start(): void; cancel(): void };
}

const apn = createRequire(import.meta.url)('apn') as Apn;

const GOOD = (i: number) => i.toString(16).padStart(2, '0').repeat(32);
const BAD = 'ee'.repeat(32);

let sim: Simulator;
const connections: ApnConnection[] = [];

/** What node-apn emitted, in order, with notifications shown by their alert. */
interface Seen {
  event: string;
  args: unknown[];
}

function connect(options: Record<string, unknown> = {}): { connection: ApnConnection; seen: Seen[] } {
  const connection = new apn.Connection({
    cert: sim.credentials.cert,
    key: sim.credentials.key,
    ca: sim.credentials.ca,
    // An address other than gateway.push.apple.com selects the sandbox, which the development certificate is for.
    gateway: '127.0.0.1',
    port: sim.ports.gateway,
    // Close quickly when the suite ends; the default keeps an idle socket for an hour.
    connectionTimeout: 10_000,
    ...options,
  });
  connections.push(connection);
  const seen: Seen[] = [];
  const show = (value: unknown) => {
    if (value && typeof value === 'object' && 'compile' in value)
      return (JSON.parse((value as ApnNotification).compile()) as { aps: { alert: unknown } }).aps.alert;
    if (value && typeof value === 'object' && 'token' in value) return (value as ApnDevice).toString();
    return value instanceof Error ? value.message : value;
  };
  for (const event of [
    'connected',
    'transmitted',
    'transmissionError',
    'completed',
    'disconnected',
    'socketError',
    'error',
    'timeout',
    'cacheTooSmall',
  ]) {
    connection.on(event, (...args: unknown[]) => seen.push({ event, args: args.map(show) }));
  }
  return { connection, seen };
}

function notification(alert: string, extra: Partial<ApnNotification> = {}): ApnNotification {
  const n = new apn.Notification();
  n.alert = alert;
  Object.assign(n, extra);
  return n;
}

/** Resolves when node-apn has emitted `event` `count` times in all. */
async function until(seen: Seen[], event: string, count = 1, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (seen.filter((s) => s.event === event).length < count) {
    if (Date.now() > deadline) throw new Error(`node-apn emitted ${event} fewer than ${count} times: ${JSON.stringify(seen)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const alertOf = (r: NotificationRecord) => (r.payloadJson as { aps: { alert: string } }).aps.alert;

beforeAll(async () => {
  // Apple's error response came 85-800 ms after the bad write: by then a sender had written more.
  sim = await startSimulator({ controlPort: false, errorDelayMs: 200 });
});
afterEach(() => {
  for (const connection of connections.splice(0)) {
    connection.shutdown();
    for (const socket of connection.sockets) socket.destroy();
  }
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(() => {
  sim.recorder.clear();
  sim.rules.clear();
  sim.devices.clear();
  sim.devices.strict = false;
});

describe('node-apn 1.7.8 through the simulator', () => {
  it('its notifications are recorded as it framed them: command 2, identifiers from 0, expiry and priority items only when set', async () => {
    const { connection, seen } = connect();
    connection.pushNotification(notification('plain'), GOOD(1));
    connection.pushNotification(notification('decorated', { badge: 3, sound: 'ping.aiff', payload: { acme: { id: 7 } } }), GOOD(2));
    connection.pushNotification(notification('quiet', { expiry: 1_900_000_000, priority: 5 }), GOOD(3));
    const records = await sim.waitFor({ outcome: 'accepted' }, { count: 3 });
    await until(seen, 'completed');

    expect(records.map((r) => [r.command, r.identifier, r.token, alertOf(r), r.expiry, r.priority])).toEqual([
      [2, 0, GOOD(1), 'plain', null, 10],
      [2, 1, GOOD(2), 'decorated', null, 10],
      [2, 2, GOOD(3), 'quiet', 1_900_000_000, 5],
    ]);
    expect(records[1].payloadJson).toEqual({ acme: { id: 7 }, aps: { badge: 3, sound: 'ping.aiff', alert: 'decorated' } });
    expect(records.every((r) => r.topic === 'com.example.app' && r.environment === 'development' && r.warnings.length === 0)).toBe(true);
    expect(seen.map((s) => s.event)).toEqual(['connected', 'transmitted', 'transmitted', 'transmitted', 'completed']);
    expect(sim.records({ outcome: ['rejected', 'discarded', 'incomplete'] })).toEqual([]);
  });

  const invalidToken: [string, () => void][] = [
    [
      'strict devices: the token is not registered',
      () => {
        for (let i = 0; i < 10; i++) sim.devices.register(GOOD(i), { topic: 'com.example.app' });
        sim.devices.strict = true;
      },
    ],
    [
      'a reject rule with status 8 on the token',
      () => void sim.rules.add({ match: { token: BAD }, action: { type: 'reject', status: Status.InvalidToken } }),
    ],
  ];
  for (const [how, arrange] of invalidToken) {
    it(`an invalid token mid-batch (${how}): the error names that notification, and the rest are resent and arrive once each`, async () => {
      arrange();
      const { connection, seen } = connect();
      const batch = Array.from({ length: 10 }, (_, i) => notification(`n${i}`));
      batch.forEach((n, i) => connection.pushNotification(n, i === 5 ? BAD : GOOD(i)));
      await until(seen, 'transmissionError');
      const accepted = await sim.waitFor({ outcome: 'accepted' }, { count: 9, timeoutMs: 10_000 });

      const errors = seen.filter((s) => s.event === 'transmissionError');
      expect(errors).toEqual([{ event: 'transmissionError', args: [Status.InvalidToken, 'n5', BAD] }]);

      const records = sim.records();
      const rejected = records.filter((r) => r.outcome === 'rejected');
      expect(rejected.map((r) => [alertOf(r), r.token, r.identifier, r.status])).toEqual([['n5', BAD, 5, 8]]);
      // Everything node-apn wrote after n5 on that connection was discarded, then resent on a new one.
      const discarded = records.filter((r) => r.outcome === 'discarded');
      expect(discarded.length).toBeGreaterThan(0);
      expect(discarded.every((r) => r.connectionId === rejected[0].connectionId)).toBe(true);
      expect(discarded.map(alertOf)).toEqual(['n6', 'n7', 'n8', 'n9'].slice(0, discarded.length));
      const resent = accepted.filter((r) => r.connectionId !== rejected[0].connectionId);
      expect(resent.map(alertOf)).toEqual(['n6', 'n7', 'n8', 'n9']);
      // node-apn numbers from 0 again on the new connection.
      expect(resent.map((r) => r.identifier)).toEqual([0, 1, 2, 3]);

      expect(accepted.map(alertOf).sort()).toEqual(['n0', 'n1', 'n2', 'n3', 'n4', 'n6', 'n7', 'n8', 'n9']);
      expect(accepted.every((r) => r.token === GOOD(Number(alertOf(r).slice(1))))).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      expect(sim.records({ outcome: 'accepted' })).toHaveLength(9);
      expect(seen.filter((s) => s.event === 'connected')).toHaveLength(2);
    });
  }

  it('a shutdown (status 10): node-apn resends everything after the last accepted identifier, which arrives once', async () => {
    sim.rules.add({ match: { identifier: 3 }, action: { type: 'shutdown' }, times: 1 });
    const { connection, seen } = connect();
    for (let i = 0; i < 6; i++) connection.pushNotification(notification(`s${i}`), GOOD(i));
    const accepted = await sim.waitFor({ outcome: 'accepted' }, { count: 6, timeoutMs: 10_000 });
    expect(accepted.map(alertOf).sort()).toEqual(['s0', 's1', 's2', 's3', 's4', 's5']);
    expect(sim.records({ outcome: 'discarded', status: Status.Shutdown }).map(alertOf)).toEqual(['s3']);
    // node-apn 1.x looks up the identifier in a status-10 packet as the failed notification, so it
    // reports the last accepted one (s2) with code 10, though it arrived; it resends only what followed.
    await until(seen, 'transmissionError');
    expect(seen.filter((s) => s.event === 'transmissionError')).toEqual([
      { event: 'transmissionError', args: [Status.Shutdown, 's2', GOOD(2)] },
    ]);
    await new Promise((r) => setTimeout(r, 300));
    expect(sim.records({ outcome: 'accepted' })).toHaveLength(6);
  });

  it("node-apn's Feedback reads the tuples of uninstalled tokens", async () => {
    sim.devices.uninstall(GOOD(7), { topic: 'com.example.app', environment: 'development', timestamp: 1_700_000_123 });
    sim.devices.uninstall(GOOD(8), { topic: 'com.example.app', timestamp: 1_700_000_456 });
    const feedback = new apn.Feedback({
      cert: sim.credentials.cert,
      key: sim.credentials.key,
      ca: sim.credentials.ca,
      address: '127.0.0.1',
      port: sim.ports.feedback,
      interval: 0,
    });
    const errors: unknown[] = [];
    feedback.on('feedbackError', (e) => errors.push(e));
    const received = once(feedback, 'feedback') as Promise<[{ time: number; device: ApnDevice }[]]>;
    feedback.start();
    const [tuples] = await received;
    expect(tuples.map((t) => [t.time, t.device.toString()])).toEqual([
      [1_700_000_123, GOOD(7)],
      [1_700_000_456, GOOD(8)],
    ]);
    expect(errors).toEqual([]);
    expect(sim.devices.pendingFeedback()).toEqual([]);
  });
});
