import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BinaryClient, GatewayUnreachableError, SilentCloseError, type SendOutcome } from '../../../client/index.js';
import { backoffDelay, backoffOf } from '../../../common/backoff.js';
import { endpointOf } from '../../../client/shared/hosts.js';
import { IdentifierSequence } from '../../../client/binary/identifiers.js';
import { Status } from '../../../protocol/binary/index.js';
import { startSimulator, writeProviderBundle, type Simulator } from '../../../server/index.js';
import { TOKEN, checkAgainstRecords, clientFor, ledgerOf, payloadOf, sendNumbered } from './support.js';

let sim: Simulator;
let client: BinaryClient | undefined;

beforeAll(async () => {
  sim = await startSimulator({ controlPort: false });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.recorder.clear();
  sim.rules.clear();
  sim.devices.clear();
  sim.devices.strict = false;
});
afterEach(async () => {
  await client?.close();
  client = undefined;
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('bounded buffer and socket backpressure', () => {
  it('never holds more than bufferSize: senders beyond it wait, and all arrive once', async () => {
    client = clientFor(sim, { bufferSize: 50 });
    const heldSeen: number[] = [];
    client.on('transmitted', () => heldSeen.push(client!.stats().held));
    const outcomes = await sendNumbered(client, 2000);
    expect(Math.max(...heldSeen)).toBe(50);
    expect(client.stats().maxHeld).toBe(50);
    expect(outcomes.every((o) => o.status === 'accepted')).toBe(true);
    expect(checkAgainstRecords(ledgerOf(sim), outcomes).duplicates).toBe(0);
  });

  it('enqueue() resolves only when there is room: the i-th resolves after at least i - bufferSize outcomes', async () => {
    const bufferSize = 100;
    client = clientFor(sim, { bufferSize });
    // The gateway stops reading for a while, so nothing can be proven meanwhile.
    sim.rules.add({ id: 'stall', match: { nth: 1 }, action: { type: 'stall', ms: 300 } });
    let settled = 0;
    const lag: number[] = [];
    const outcomes: Promise<SendOutcome>[] = [];
    for (let seq = 0; seq < 1000; seq++) {
      const { outcome } = await client.enqueue({ token: TOKEN, payload: payloadOf(seq) });
      lag.push(seq - settled);
      outcomes.push(outcome.then((o) => (settled++, o)));
    }
    expect(Math.max(...lag)).toBeLessThanOrEqual(bufferSize);
    expect(Math.max(...lag)).toBe(bufferSize - 1);
    const all = await Promise.all(outcomes);
    expect(all.every((o) => o.status === 'accepted')).toBe(true);
  });

  it("waits for 'drain' when the socket is full (the gateway stalls), and loses nothing", async () => {
    client = clientFor(sim, { bufferSize: 4000 });
    sim.rules.add({ id: 'stall', match: { nth: 1 }, action: { type: 'stall', ms: 500 } });
    const big = 'x'.repeat(1900);
    const outcomes = await Promise.all(
      Array.from({ length: 4000 }, (_, seq) => client!.send({ token: TOKEN, payload: { aps: { alert: big }, seq } })),
    );
    expect(client.stats().drainWaits).toBeGreaterThan(0);
    expect(outcomes.every((o) => o.status === 'accepted')).toBe(true);
    expect(checkAgainstRecords(ledgerOf(sim), outcomes).duplicates).toBe(0);
  });
});

describe('reconnecting', () => {
  it('backs off exponentially while nothing listens, then fails every waiting notification', async () => {
    const port = await freePort();
    const { cert, key, ca } = sim.credentials;
    client = new BinaryClient({ host: '127.0.0.1', port, cert, key, ca, reconnect: { initialDelayMs: 40, factor: 2, retries: 3 } });
    const errors: number[] = [];
    client.on('error', () => errors.push(performance.now()));
    const outcome = await client.send({ token: TOKEN, payload: payloadOf(1) });
    expect(outcome).toMatchObject({ status: 'failed', attempts: 0 });
    if (outcome.status !== 'failed') return;
    expect(outcome.error).toBeInstanceOf(GatewayUnreachableError);
    expect(outcome.error.message).toMatch(/ECONNREFUSED/);
    expect(errors).toHaveLength(4);
    const gaps = errors.slice(1).map((t, i) => t - errors[i]);
    [40, 80, 160].forEach((delay, i) => expect(gaps[i]).toBeGreaterThanOrEqual(delay - 2));
  });

  it('connects once the gateway comes up, and delivers', async () => {
    const port = await freePort();
    const { cert, key, ca } = sim.credentials;
    client = new BinaryClient({ host: '127.0.0.1', port, cert, key, ca, reconnect: { initialDelayMs: 50, maxDelayMs: 100, retries: 50 } });
    const sent = client.send({ token: TOKEN, payload: payloadOf(7) });
    await new Promise((r) => setTimeout(r, 300));
    // The same state directory, so the CA that signed the client's certificate is trusted.
    const late = await startSimulator({ port, controlPort: false, state: sim.state });
    try {
      expect(await sent).toMatchObject({ status: 'accepted' });
      expect(late.records({ outcome: 'accepted' })).toHaveLength(1);
      expect(client.stats().connections).toBeGreaterThan(2);
      await client.close();
    } finally {
      await late.close();
    }
  });

  it('backoffDelay grows by the factor up to the maximum; jitter keeps it within 50-100%', () => {
    const b = backoffOf({ initialDelayMs: 100, factor: 3, maxDelayMs: 1000 });
    expect([0, 1, 2, 3, 4].map((n) => backoffDelay(b, n))).toEqual([0, 100, 300, 900, 1000]);
    const j = backoffOf({ initialDelayMs: 100, jitter: true });
    expect(backoffDelay(j, 2, () => 0)).toBe(100);
    expect(backoffDelay(j, 2, () => 0.999999)).toBeCloseTo(200, 3);
  });
});

describe('credentials and hosts', () => {
  it('connects with a PKCS#12 bundle and its passphrase', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'apns-p12-'));
    try {
      const paths = await writeProviderBundle(dir, sim.credentials, { cert: sim.credentials.ca, key: '' }, { passphrase: 'secret' });
      client = new BinaryClient({
        host: '127.0.0.1',
        port: sim.ports.gateway,
        pfx: await readFile(paths.p12),
        passphrase: 'secret',
        ca: sim.credentials.ca,
      });
      expect(await client.send({ token: TOKEN, payload: payloadOf(1) })).toMatchObject({ status: 'accepted' });
      expect(sim.records()[0]).toMatchObject({ topic: 'com.example.app', environment: 'development' });
      expect(() => new BinaryClient({ host: '127.0.0.1', port: 1, pfx: Buffer.from('not a p12'), passphrase: 'x' })).toThrow();
      const pfx = await readFile(paths.p12);
      expect(() => new BinaryClient({ host: '127.0.0.1', port: 1, pfx, passphrase: 'wrong' })).toThrow(/mac verify|password|pkcs12/i);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails at once, without retrying, when the gateway certificate is not trusted', async () => {
    const { cert, key } = sim.credentials;
    client = new BinaryClient({ host: '127.0.0.1', port: sim.ports.gateway, cert, key, reconnect: { retries: 5, initialDelayMs: 1000 } });
    const started = Date.now();
    const outcome = await client.send({ token: TOKEN, payload: payloadOf(1) });
    expect(outcome.status).toBe('failed');
    expect(Date.now() - started).toBeLessThan(900);
    expect(client.stats().connections).toBe(1);
  });

  it("uses Apple's hosts for an environment, and asks for a host or an environment", () => {
    expect(endpointOf('gateway', { environment: 'sandbox' })).toEqual({ host: 'gateway.sandbox.push.apple.com', port: 2195 });
    expect(endpointOf('gateway', { environment: 'production' })).toEqual({ host: 'gateway.push.apple.com', port: 2195 });
    expect(endpointOf('feedback', { environment: 'production' })).toEqual({ host: 'feedback.push.apple.com', port: 2196 });
    expect(endpointOf('feedback', { environment: 'sandbox', host: 'localhost', port: 9 })).toEqual({ host: 'localhost', port: 9 });
    expect(() => endpointOf('gateway', {})).toThrow(/host .*environment/);
    const { cert, key } = sim.credentials;
    expect(() => new BinaryClient({ cert, key })).toThrow(/host/);
    expect(() => new BinaryClient({ host: 'x' })).toThrow(/certificate/);
  });
});

describe('commands 0 and 1, identifiers', () => {
  it('command 1: identifiers on the wire, a rejection names its notification', async () => {
    client = clientFor(sim, { command: 1 });
    sim.rules.add({
      id: 'reject',
      match: { payloadField: { path: 'seq', equals: 4 } },
      action: { type: 'reject', status: Status.InvalidPayloadSize },
    });
    const outcomes = await sendNumbered(client, 10);
    expect(outcomes[4]).toMatchObject({ status: 'rejected', code: 7, name: 'InvalidPayloadSize', identifier: 5 });
    expect(outcomes.filter((o) => o.status === 'accepted')).toHaveLength(9);
    const accepted = sim.records({ outcome: 'accepted' });
    expect(accepted.every((r) => r.command === 1)).toBe(true);
    expect(checkAgainstRecords(ledgerOf(sim), outcomes).duplicates).toBe(0);
  });

  it('command 0: no identifiers; the marker (command 1) still proves them', async () => {
    client = clientFor(sim, { command: 0, idleFlushMs: false });
    const pending = sendNumbered(client, 10);
    await client.flush();
    const outcomes = await pending;
    expect(outcomes.every((o) => o.status === 'accepted' && o.identifier === null && !o.possibleDuplicate)).toBe(true);
    const records = sim.records();
    expect(records.slice(0, 10).every((r) => r.command === 0 && r.identifier === null && r.outcome === 'accepted')).toBe(true);
    expect(records[10]).toMatchObject({ command: 1, status: 2 });
  });

  it('command 0 rejected (a silent close): the bad one is isolated and fails; the rest arrive, duplicates flagged', async () => {
    const bad = 'bb'.repeat(32);
    sim.devices.register(bad, { environment: 'production' });
    client = clientFor(sim, { command: 0 });
    const outcomes = await sendNumbered(client, 16, (seq) => (seq === 9 ? bad : TOKEN));
    const failed = outcomes[9];
    expect(failed.status).toBe('failed');
    if (failed.status === 'failed') {
      expect(failed.error).toBeInstanceOf(SilentCloseError);
      expect(failed.error.message).toMatch(/command 0 has no error response/);
    }
    expect(outcomes.filter((o) => o.status === 'accepted')).toHaveLength(15);
    const { duplicates } = checkAgainstRecords(ledgerOf(sim), outcomes);
    expect(duplicates).toBeGreaterThan(0);
  });

  it('identifiers start at 1, wrap after 2^32 - 1 and skip 0', async () => {
    const ids = new IdentifierSequence(0xffff_fffe);
    expect([ids.next(), ids.next(), ids.next(), ids.next()]).toEqual([0xffff_fffe, 0xffff_ffff, 1, 2]);
    expect(new IdentifierSequence().next()).toBe(1);
    client = clientFor(sim, { firstIdentifier: 0xffff_fffe });
    const outcomes = await sendNumbered(client, 4);
    expect(outcomes.map((o) => o.identifier)).toEqual([0xffff_fffe, 0xffff_ffff, 1, 2]);
    expect(sim.records({ outcome: 'accepted' }).map((r) => r.identifier)).toEqual([0xffff_fffe, 0xffff_ffff, 1, 2]);
  });

  it('refuses a notification without a token (it would read as the flush marker)', async () => {
    client = clientFor(sim);
    await expect(client.send({ token: '', payload: payloadOf(1) })).rejects.toThrow(/device token/);
  });
});
