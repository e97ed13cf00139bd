import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClientClosedError, type BinaryClient, type SendOutcome } from '../../../client/index.js';
import { Status } from '../../../protocol/binary/index.js';
import { startSimulator, type Simulator } from '../../../server/index.js';
import { TOKEN, checkAgainstRecords, clientFor, ledgerOf, payloadOf } from './support.js';

const at = (seq: number) => ({ payloadField: { path: 'seq', equals: seq } });
const numbered = (count: number) => Array.from({ length: count }, (_, seq) => ({ token: TOKEN, payload: payloadOf(seq) }));

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

describe('sendMany()', () => {
  it('resolves with one outcome per notification, in order, each accepted once', async () => {
    client = clientFor(sim, { idleFlushMs: false });
    const outcomes = await client.sendMany(numbered(300));
    expect(outcomes).toHaveLength(300);
    expect(outcomes.every((o) => o.status === 'accepted')).toBe(true);
    expect(outcomes.map((o) => o.identifier)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(checkAgainstRecords(ledgerOf(sim), outcomes).duplicates).toBe(0);
  });

  it('rejections mid-batch: each rejected in its place; those written after it are resent and accepted once', async () => {
    client = clientFor(sim, { bufferSize: 100 });
    sim.rules.add({ id: 'reject-40', match: at(40), action: { type: 'reject', status: Status.InvalidToken } });
    sim.rules.add({ id: 'reject-41', match: at(41), action: { type: 'reject', status: Status.InvalidTopicSize } });
    sim.rules.add({ id: 'reject-250', match: at(250), action: { type: 'reject', status: Status.InvalidToken } });
    const outcomes = await client.sendMany(numbered(400));
    expect(outcomes.flatMap((o, seq) => (o.status === 'rejected' ? [[seq, o.code, o.identifier]] : []))).toEqual([
      [40, Status.InvalidToken, 41],
      [41, Status.InvalidTopicSize, 42],
      [250, Status.InvalidToken, 251],
    ]);
    expect(outcomes.filter((o) => o.status === 'accepted')).toHaveLength(397);
    const { duplicates } = checkAgainstRecords(ledgerOf(sim), outcomes);
    expect(duplicates).toBe(0);
    expect(client.stats().resent).toBeGreaterThan(0);
  });

  it('a shutdown mid-batch: what came after the last accepted identifier is written again on a new connection, once', async () => {
    client = clientFor(sim, { bufferSize: 500 });
    sim.rules.add({ id: 'shutdown', match: at(120), action: { type: 'shutdown' }, times: 1 });
    const outcomes = await client.sendMany(numbered(300));
    expect(outcomes.every((o) => o.status === 'accepted' && !o.possibleDuplicate)).toBe(true);
    expect(outcomes[120].attempts).toBe(2);
    const ledger = ledgerOf(sim);
    expect(checkAgainstRecords(ledger, outcomes).duplicates).toBe(0);
    for (let seq = 0; seq < 300; seq++) expect(ledger.accepted(seq)).toHaveLength(1);
    expect(
      new Set(
        ledger
          .accepted(119)
          .concat(ledger.accepted(120))
          .map((r) => r.connectionId),
      ).size,
    ).toBe(2);
  });

  it('an async iterable of 100,000 is read only as fast as the buffer has room: memory stays bounded', async () => {
    const bufferSize = 1000;
    client = clientFor(sim, { bufferSize });
    let produced = 0;
    let settled = 0;
    let lead = 0;
    async function* source() {
      for (let seq = 0; seq < 100_000; seq++) {
        lead = Math.max(lead, produced - settled);
        produced++;
        // A source that awaits, as a database cursor does.
        if (seq % 1000 === 0) await Promise.resolve();
        yield { token: TOKEN, payload: { seq } };
      }
    }
    const before = sim.recorder.stats().accepted;
    const seen = new Uint8Array(100_000);
    const kept = await client.sendMany(source(), {
      onOutcome: (outcome, index) => {
        settled++;
        seen[index]++;
        expect(outcome.status).toBe('accepted');
      },
    });
    expect(kept).toEqual([]);
    expect(settled).toBe(100_000);
    expect(seen.every((n) => n === 1)).toBe(true);
    // The source is never more than the buffer (and the one item read before waiting for room) ahead of the outcomes.
    expect(lead).toBeLessThanOrEqual(bufferSize + 1);
    expect(client.stats().maxHeld).toBe(bufferSize);
    expect(sim.recorder.stats().accepted - before).toBe(100_000);
  }, 60_000);

  it('a notification without a token fails in its place; the rest are sent', async () => {
    client = clientFor(sim);
    const batch = numbered(5);
    batch[2] = { token: '', payload: payloadOf(2) };
    const outcomes = await client.sendMany(batch);
    expect(outcomes.map((o) => o.status)).toEqual(['accepted', 'accepted', 'failed', 'accepted', 'accepted']);
    const failed = outcomes[2] as Extract<SendOutcome, { status: 'failed' }>;
    expect(failed.error).toBeInstanceOf(TypeError);
    expect(failed.attempts).toBe(0);
  });

  it('an error from the source rejects sendMany once those read before it have their outcomes', async () => {
    client = clientFor(sim, { idleFlushMs: false });
    const settled: number[] = [];
    function* source() {
      yield* numbered(10);
      throw new Error('the source broke');
    }
    await expect(client.sendMany(source(), { onOutcome: (_, index) => settled.push(index) })).rejects.toThrow('the source broke');
    expect(settled.sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(sim.records({ outcome: 'accepted' })).toHaveLength(10);
  });

  it('is refused once the client is closed; destroy() mid-batch settles every outcome', async () => {
    client = clientFor(sim);
    await client.close();
    await expect(client.sendMany(numbered(3))).rejects.toBeInstanceOf(ClientClosedError);
    client = clientFor(sim, { bufferSize: 50, idleFlushMs: false });
    const pending = client.sendMany(numbered(200));
    await sim.waitFor({ outcome: 'accepted' }, { count: 10 });
    client.destroy();
    const outcomes = await pending;
    expect(outcomes.length).toBeGreaterThan(0);
    expect(outcomes.every((o) => o !== undefined)).toBe(true);
    expect(outcomes.some((o) => o.status === 'failed' && o.error instanceof ClientClosedError)).toBe(true);
  });
});
