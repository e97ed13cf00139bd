import { afterEach, describe, expect, it } from 'vitest';
import type { Http2Client, Http2SendOutcome } from '../../../client/index.js';
import { startSimulator, type RuleSpec, type Simulator } from '../../../server/index.js';
import { KEY_ID, TEAM, TOKEN, certClient, numbered, tally, tokenClient } from './support.js';

// Our client against our simulator under seeded faults, many notifications: none lost, none
// doubled (compared by the sequence number in each payload), each rejection reported.

const COUNT = 2000;
/** The run with silent faults is smaller: each close or reset sends a connection's streams again. */
const SILENT_COUNT = 1000;

/** Faults the server answers or announces: the client can settle every notification exactly once. */
const ANSWERED: RuleSpec[] = [
  { id: 'bad-token', match: { probability: 0.01 }, action: { type: 'reject', reason: 'BadDeviceToken' }, seed: 31 },
  { id: '429', match: { probability: 0.01 }, action: { type: 'reject', reason: 'TooManyRequests' }, seed: 32 },
  { id: '503', match: { probability: 0.01 }, action: { type: 'reject', reason: 'ServiceUnavailable' }, seed: 33 },
  { id: '500', match: { probability: 0.005 }, action: { type: 'reject', reason: 'InternalServerError' }, seed: 34 },
  { id: 'goaway', match: { probability: 0.002 }, action: { type: 'goaway', reason: 'TooManyErrors' }, seed: 35 },
  { id: 'shutdown', match: { probability: 0.002 }, action: { type: 'shutdown' }, seed: 36 },
  { id: 'delay', match: { probability: 0.02 }, action: { type: 'delay', ms: 15 }, seed: 37 },
];

/** Faults with no answer: the client sends again and says the first copy may have arrived. */
const SILENT: RuleSpec[] = [
  { id: 'reset', match: { probability: 0.004 }, action: { type: 'reset' }, seed: 41 },
  { id: 'close', match: { probability: 0.001 }, action: { type: 'close' }, seed: 42 },
  { id: 'drop', match: { probability: 0.001 }, action: { type: 'drop' }, seed: 43 },
];

let sim: Simulator | undefined;
let client: Http2Client | undefined;
afterEach(async () => {
  client?.destroy();
  await sim?.close();
});

interface Seen {
  accepted: number;
  rejected: { status: number | null; reason: string | null }[];
  apnsIds: Set<string>;
}

/** Records by the `seq` in their payload. */
function ledger(s: Simulator): Map<number, Seen> {
  const bySeq = new Map<number, Seen>();
  for (const r of s.recorder.find({ protocol: 'http2' })) {
    const match = r.payload === null ? null : /"seq":(\d+)/.exec(r.payload.toString('latin1'));
    if (match === null) continue;
    const seq = Number(match[1]);
    const seen = bySeq.get(seq) ?? { accepted: 0, rejected: [], apnsIds: new Set() };
    if (r.outcome === 'accepted') seen.accepted++;
    if (r.outcome === 'rejected') seen.rejected.push({ status: r.status, reason: r.http2?.reason ?? null });
    seen.apnsIds.add(r.http2!.apnsId);
    bySeq.set(seq, seen);
  }
  return bySeq;
}

/** Sends `count` numbered notifications, to 20 device tokens, all at once; one outcome each. */
async function sendAll(c: Http2Client, count = COUNT): Promise<Http2SendOutcome[]> {
  const settledTimes = new Array<number>(count).fill(0);
  c.on('outcome', (outcome, notification) => settledTimes[(notification.payload as { seq: number }).seq]++);
  const outcomes = await Promise.all(
    Array.from({ length: count }, (_, seq) => c.send(numbered(seq, TOKEN.slice(0, 62) + (seq % 20).toString(16).padStart(2, '0')))),
  );
  await c.close();
  expect(settledTimes.every((n) => n === 1)).toBe(true);
  return outcomes;
}

describe('many notifications with seeded faults', () => {
  it(`${COUNT} with answered faults (rejections, 429, 5xx, GOAWAY, shutdown, delays), token authentication, 2 connections: every notification settled exactly once`, async () => {
    sim = await startSimulator({ controlPort: false, rules: ANSWERED, http2: { maxConcurrentStreams: 100, lingerMs: 5000 } });
    const key = await sim.createSigningKey(TEAM, KEY_ID);
    client = tokenClient(sim, key, { connections: 2, retry: { initialDelayMs: 5, maxDelayMs: 50, maxAttempts: 8 } });
    const outcomes = await sendAll(client);
    const t = tally(outcomes);
    const seen = ledger(sim);
    expect(t.failed).toBe(0);
    const badToken = outcomes.filter((o) => o.status === 'rejected');
    expect(badToken.every((o) => o.status === 'rejected' && o.reason === 'BadDeviceToken' && o.statusCode === 400)).toBe(true);
    expect(t.rejected).toBe(sim.records({ outcome: 'rejected' }).filter((r) => r.rule === 'bad-token').length);
    expect(t.rejected).toBeGreaterThan(5);
    outcomes.forEach((o, seq) => {
      const s = seen.get(seq)!;
      // One apns-id per notification, whatever its attempts; accepted exactly once when accepted, never when rejected.
      expect(s.apnsIds).toEqual(new Set([o.apnsId]));
      expect(s.accepted).toBe(o.status === 'accepted' ? 1 : 0);
      expect(o.possibleDuplicate).toBe(false);
    });
    const fired = new Set(sim.records().map((r) => r.rule));
    for (const rule of ANSWERED) expect(fired).toContain(rule.id);
    expect(client.stats().retried).toBeGreaterThan(40);
    expect(client.stats().connections).toBeGreaterThan(2);
  });

  it(`${SILENT_COUNT} with every fault, silent ones included, certificate authentication: nothing lost; a second acceptance only of a notification flagged possibleDuplicate`, async () => {
    sim = await startSimulator({
      controlPort: false,
      rules: [...ANSWERED, ...SILENT],
      http2: { maxConcurrentStreams: 100, lingerMs: 5000 },
    });
    client = certClient(sim, { connections: 2, retry: { initialDelayMs: 5, maxDelayMs: 50, maxAttempts: 8 } });
    const outcomes = await sendAll(client, SILENT_COUNT);
    const t = tally(outcomes);
    const seen = ledger(sim);
    expect(t.failed).toBe(0);
    let duplicates = 0;
    outcomes.forEach((o, seq) => {
      const s = seen.get(seq)!;
      expect(s.apnsIds).toEqual(new Set([o.apnsId]));
      if (o.status === 'accepted') expect(s.accepted).toBeGreaterThanOrEqual(1);
      else if (o.status === 'rejected') expect(s.rejected.some((r) => r.reason === o.reason && r.status === o.statusCode)).toBe(true);
      const extra = s.accepted - (o.status === 'accepted' ? 1 : 0);
      if (extra > 0) expect(o.possibleDuplicate).toBe(true);
      duplicates += extra;
    });
    expect(t.accepted + t.rejected).toBe(SILENT_COUNT);
    const flagged = outcomes.filter((o) => o.possibleDuplicate).length;
    expect(flagged).toBeGreaterThan(0);
    expect(duplicates).toBeLessThanOrEqual(flagged);
    const fired = new Set(sim.records().map((r) => r.rule));
    for (const rule of SILENT) expect(fired).toContain(rule.id);
  });
});
