import { afterEach, describe, expect, it } from 'vitest';
import type { BinaryClient, SendOutcome } from '../../../client/index.js';
import { Status } from '../../../protocol/binary/index.js';
import { startSimulator, type RuleSpec, type Simulator } from '../../../server/index.js';
import { checkAgainstRecords, clientFor, ledgerOf, payloadOf, TOKEN } from './support.js';

const COUNT = 10_000;

/** Faults answered with an error response: the client can prove every outcome. */
const ANSWERED: RuleSpec[] = [
  { id: 'reject', match: { probability: 0.004 }, action: { type: 'reject', status: Status.InvalidToken }, seed: 11 },
  { id: 'shutdown', match: { probability: 0.002 }, action: { type: 'shutdown' }, seed: 12 },
  { id: 'delay', match: { probability: 0.002 }, action: { type: 'delay', ms: 20 }, seed: 13 },
  { id: 'stall', match: { probability: 0.001 }, action: { type: 'stall', ms: 20 }, seed: 14 },
  { id: 'uninstall', match: { probability: 0.001 }, action: { type: 'uninstall' }, seed: 15 },
];

/** Faults with no answer: a close and resets. */
const SILENT: RuleSpec[] = [
  { id: 'close', match: { probability: 0.002 }, action: { type: 'close' }, seed: 21 },
  { id: 'drop', match: { probability: 0.001 }, action: { type: 'drop' }, seed: 22 },
  { id: 'drop-late', match: { probability: 0.001 }, action: { type: 'drop', afterBytes: 200 }, seed: 23 },
];

let sim: Simulator | undefined;
let client: BinaryClient | undefined;
afterEach(async () => {
  await client?.close();
  await sim?.close();
});

/** Sends COUNT numbered notifications, awaiting room in the buffer (memory stays bounded), and collects one outcome each. */
async function sendAll(c: BinaryClient): Promise<SendOutcome[]> {
  const outcomes: (SendOutcome | undefined)[] = new Array(COUNT);
  const settledTimes = new Array<number>(COUNT).fill(0);
  const pending: Promise<void>[] = [];
  for (let seq = 0; seq < COUNT; seq++) {
    const { outcome } = await c.enqueue({ token: TOKEN, payload: payloadOf(seq) });
    pending.push(
      outcome.then((o) => {
        settledTimes[seq]++;
        outcomes[seq] = o;
      }),
    );
  }
  await c.close();
  await Promise.all(pending);
  expect(settledTimes.every((n) => n === 1)).toBe(true);
  return outcomes as SendOutcome[];
}

function tally(outcomes: SendOutcome[]) {
  const t = { accepted: 0, rejected: 0, failed: 0 };
  for (const o of outcomes) t[o.status]++;
  return t;
}

describe(`${COUNT} notifications with seeded random faults`, () => {
  it('faults answered by an error response: each rejected one is reported, every other one accepted exactly once', async () => {
    sim = await startSimulator({ controlPort: false, rules: ANSWERED });
    client = clientFor(sim);
    const outcomes = await sendAll(client);
    const t = tally(outcomes);
    const injected = sim.records({ outcome: 'rejected' }).filter((r) => r.rule === 'reject');
    expect(t.rejected).toBe(injected.length);
    expect(t.rejected).toBeGreaterThan(20);
    expect(t.failed).toBe(0);
    expect(t.accepted).toBe(COUNT - t.rejected);
    const ledger = ledgerOf(sim);
    const { duplicates, flagged } = checkAgainstRecords(ledger, outcomes);
    expect(duplicates).toBe(0);
    expect(flagged).toBe(0);
    expect(outcomes.filter((o, seq) => ledger.accepted(seq).length !== (o.status === 'accepted' ? 1 : 0))).toEqual([]);
    // Every kind of fault fired.
    const fired = new Set(sim.records().map((r) => r.rule));
    for (const rule of ANSWERED) expect(fired).toContain(rule.id);
    expect(client.stats().maxHeld).toBeLessThanOrEqual(1000);
  });

  it('all faults mixed, silent ones included: nothing lost; duplicates only of notifications written on a silently closed connection, and flagged', async () => {
    sim = await startSimulator({ controlPort: false, rules: [...ANSWERED, ...SILENT] });
    client = clientFor(sim);
    const outcomes = await sendAll(client);
    const t = tally(outcomes);
    expect(t.failed).toBe(0);
    expect(t.rejected).toBe(sim.records({ outcome: 'rejected' }).filter((r) => r.rule === 'reject').length);
    const ledger = ledgerOf(sim);
    const { duplicates, flagged } = checkAgainstRecords(ledger, outcomes);
    const silent = ledger.silentConnections.size;
    expect(silent).toBeGreaterThan(10);
    // Each silent close can duplicate at most what was written since the last proof on that connection.
    expect(duplicates).toBeLessThanOrEqual(flagged);
    // The silent faults did cost duplicates (the test exercised them), each one flagged.
    expect(duplicates).toBeGreaterThan(0);
    expect(duplicates).toBeLessThanOrEqual(flagged);
    const exactlyOnce = outcomes.filter((o, seq) => o.status === 'accepted' && ledger.accepted(seq).length === 1).length;
    const unflaggedWrong = outcomes.filter(
      (o, seq) => !o.possibleDuplicate && ledger.accepted(seq).length !== (o.status === 'accepted' ? 1 : 0),
    );
    expect(unflaggedWrong).toEqual([]);
    process.stdout.write(
      `random faults: ${t.accepted} accepted, ${t.rejected} rejected, ${t.failed} failed; ${silent} silent closes; ` +
        `${exactlyOnce} accepted exactly once, ${duplicates} extra acceptances, ${flagged} flagged possibleDuplicate; ${client.stats().connections} connections\n`,
    );
  });
});
