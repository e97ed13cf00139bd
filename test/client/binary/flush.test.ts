import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClientClosedError, type BinaryClient, type SendOutcome } from '../../../client/index.js';
import { Status } from '../../../protocol/binary/index.js';
import { startSimulator, type Simulator } from '../../../server/index.js';
import { TOKEN, clientFor, ledgerOf, payloadOf } from './support.js';

let sim: Simulator;
let client: BinaryClient;

beforeAll(async () => {
  sim = await startSimulator({ controlPort: false });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.recorder.clear();
  sim.rules.clear();
});
afterEach(async () => {
  await client.close();
});

/** Sends without waiting, and notes each outcome as it settles. */
function sendTracked(c: BinaryClient, count: number, from = 0) {
  const settled: SendOutcome[] = [];
  const all = Array.from({ length: count }, (_, i) =>
    c.send({ token: TOKEN, payload: payloadOf(from + i) }).then((o) => (settled.push(o), o)),
  );
  return { settled, all: Promise.all(all) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("flush() by Pushy's marker (the default)", () => {
  it('settles everything sent so far with one bad notification whose status-2 reply proves the rest', async () => {
    client = clientFor(sim, { idleFlushMs: false });
    const { settled } = sendTracked(client, 50);
    await sim.waitFor({ outcome: 'accepted' }, { count: 50 });
    await sleep(100);
    // Apple acknowledges nothing: until a proof, no outcome is known.
    expect(settled).toEqual([]);
    await client.flush();
    expect(settled.map((o) => o.status)).toEqual(Array(50).fill('accepted'));
    const records = sim.records();
    expect(records).toHaveLength(51);
    // The marker: command 1, token length 0, empty payload; answered with status 2 and identifier 0, after the 50.
    expect(records[50]).toMatchObject({ command: 1, outcome: 'rejected', status: Status.MissingDeviceToken, identifier: 0, token: null });
    expect(records[50].bytes).toBe('01' + '00000000' + '00000000' + '0000' + '0000');
    expect(new Set(records.map((r) => r.connectionId)).size).toBe(1);
  });

  it('waits for resends: a rejection in the batch is settled, the rest accepted once', async () => {
    client = clientFor(sim, { idleFlushMs: false });
    sim.rules.add({
      id: 'reject',
      match: { payloadField: { path: 'seq', equals: 10 } },
      action: { type: 'reject', status: Status.InvalidToken },
    });
    const { settled } = sendTracked(client, 30);
    await client.flush();
    expect(settled).toHaveLength(30);
    expect(settled.filter((o) => o.status === 'rejected')).toEqual([expect.objectContaining({ code: 8, identifier: 11 })]);
    const ledger = ledgerOf(sim);
    for (let seq = 0; seq < 30; seq++) expect(ledger.accepted(seq)).toHaveLength(seq === 10 ? 0 : 1);
  });

  it('resolves at once with nothing sent, and sends no marker', async () => {
    client = clientFor(sim, { idleFlushMs: false });
    await client.flush();
    expect(sim.records()).toEqual([]);
    expect(client.stats().connections).toBe(0);
  });

  it('a flush with later sends still settles those sent before it', async () => {
    client = clientFor(sim, { idleFlushMs: false });
    const first = sendTracked(client, 20);
    const flushed = client.flush();
    const second = sendTracked(client, 20, 20);
    await flushed;
    expect(first.settled).toHaveLength(20);
    await client.flush();
    expect(second.settled).toHaveLength(20);
    expect(ledgerOf(sim).markers.length).toBeGreaterThanOrEqual(1);
  });
});

describe("flush: 'error-window'", () => {
  it('proves by a quiet error window: no marker, and the connection stays open for the next batch', async () => {
    client = clientFor(sim, { flush: 'error-window', errorWindowMs: 300, idleFlushMs: false });
    const { settled } = sendTracked(client, 50);
    await sim.waitFor({ outcome: 'accepted' }, { count: 50 });
    const started = Date.now();
    await client.flush();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(settled.map((o) => o.status)).toEqual(Array(50).fill('accepted'));
    const next = sendTracked(client, 10, 50);
    await client.flush();
    expect(next.settled).toHaveLength(10);
    expect(sim.records().every((r) => r.outcome === 'accepted')).toBe(true);
    expect(client.stats().connections).toBe(1);
  });

  it('a late error inside the window is still acted on', async () => {
    const slow = await startSimulator({ controlPort: false, errorDelayMs: 150 });
    try {
      slow.rules.add({
        id: 'reject',
        match: { payloadField: { path: 'seq', equals: 5 } },
        action: { type: 'reject', status: Status.InvalidToken },
        times: 1,
      });
      client = clientFor(slow, { flush: 'error-window', errorWindowMs: 400, idleFlushMs: false });
      const { settled } = sendTracked(client, 20);
      await client.flush();
      expect(settled.filter((o) => o.status === 'rejected')).toEqual([expect.objectContaining({ code: 8, identifier: 6 })]);
      const ledger = ledgerOf(slow);
      for (let seq = 0; seq < 20; seq++) expect(ledger.accepted(seq)).toHaveLength(seq === 5 ? 0 : 1);
      await client.close();
    } finally {
      await slow.close();
    }
  });
});

describe('idle flush, close()', () => {
  it('with the default idleFlushMs, an awaited send resolves on its own', async () => {
    client = clientFor(sim);
    await expect(client.send({ token: TOKEN, payload: payloadOf(1) })).resolves.toMatchObject({ status: 'accepted', identifier: 1 });
  });

  it('close() flushes, then closes; later sends are refused', async () => {
    client = clientFor(sim, { idleFlushMs: false });
    const { settled } = sendTracked(client, 10);
    await client.close();
    expect(settled).toHaveLength(10);
    await expect(client.send({ token: TOKEN, payload: payloadOf(99) })).rejects.toBeInstanceOf(ClientClosedError);
    await sleep(50);
    expect(sim.gateway.stats.open).toBe(0);
  });

  it('destroy() fails what has no outcome yet', async () => {
    client = clientFor(sim, { idleFlushMs: false });
    const { all } = sendTracked(client, 10);
    await sim.waitFor({ outcome: 'accepted' }, { count: 10 });
    client.destroy();
    const outcomes = await all;
    expect(outcomes.every((o) => o.status === 'failed' && o.error instanceof ClientClosedError)).toBe(true);
  });
});
