import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readFeedback, type BinaryClient, type ResentEvent, type SendOutcome } from '../../../client/index.js';
import { Status } from '../../../protocol/binary/index.js';
import { startSimulator, type RuleSpec, type Simulator } from '../../../server/index.js';
import { TOKEN, checkAgainstRecords, clientFor, ledgerOf, sendNumbered } from './support.js';

const N = 20;
const at = (seq: number) => ({ payloadField: { path: 'seq', equals: seq } });

let sim: Simulator;
let client: BinaryClient;
let resent: ResentEvent[];

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
  resent = [];
  client = clientFor(sim);
  client.on('resent', (e) => resent.push(e));
});
afterEach(async () => {
  await client.close();
});

async function run(rules: RuleSpec[], count = N): Promise<{ outcomes: SendOutcome[]; duplicates: number }> {
  for (const rule of rules) sim.rules.add(rule);
  const outcomes = await sendNumbered(client, count);
  await client.close();
  const { duplicates } = checkAgainstRecords(ledgerOf(sim), outcomes);
  return { outcomes, duplicates };
}

const statuses = (outcomes: SendOutcome[]) => outcomes.map((o) => o.status);
const all = (status: SendOutcome['status'], count = N) => Array.from({ length: count }, () => status);

describe('outcomes under every rule action, checked against the records', () => {
  it('no rule: every notification accepted once, identifiers 1..N as recorded', async () => {
    const { outcomes, duplicates } = await run([]);
    expect(statuses(outcomes)).toEqual(all('accepted'));
    expect(outcomes.map((o) => o.identifier)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(duplicates).toBe(0);
    const ledger = ledgerOf(sim);
    for (let seq = 0; seq < N; seq++) expect(ledger.accepted(seq).map((r) => r.identifier)).toEqual([outcomes[seq].identifier]);
    expect(resent).toEqual([]);
  });

  it('reject: that one is rejected with its status and identifier; those after it are resent and accepted once', async () => {
    const { outcomes, duplicates } = await run([{ id: 'reject', match: at(7), action: { type: 'reject', status: Status.InvalidToken } }]);
    expect(outcomes[7]).toEqual({
      status: 'rejected',
      code: 8,
      name: 'InvalidToken',
      reason: 'Invalid token',
      identifier: 8,
      attempts: 1,
      possibleDuplicate: false,
    });
    expect(statuses(outcomes).filter((s) => s === 'accepted')).toHaveLength(N - 1);
    expect(outcomes.every((o) => !o.possibleDuplicate)).toBe(true);
    expect(duplicates).toBe(0);
    const ledger = ledgerOf(sim);
    for (let seq = 0; seq < N; seq++) expect(ledger.accepted(seq)).toHaveLength(seq === 7 ? 0 : 1);
    // Those after it that the gateway read were discarded, and were written again.
    const discarded = [...ledger.bySeq.values()].flat().filter((r) => r.outcome === 'discarded');
    expect(discarded.length).toBeGreaterThan(0);
    expect(resent.every((e) => e.kind === 'discarded')).toBe(true);
    expect(resent.flatMap((e) => e.identifiers)).toEqual(expect.arrayContaining(discarded.map((r) => r.identifier)));
  });

  it('reject on every try (status 8 from the device registry): rejected once, not retried', async () => {
    const bad = 'bb'.repeat(32);
    sim.devices.register(bad, { environment: 'production' });
    for (const rule of [] as RuleSpec[]) sim.rules.add(rule);
    const outcomes = await sendNumbered(client, N, (seq) => (seq === 3 || seq === 12 ? bad : TOKEN));
    await client.close();
    expect(outcomes[3]).toMatchObject({ status: 'rejected', code: 8, identifier: 4 });
    expect(outcomes[12]).toMatchObject({ status: 'rejected', code: 8, identifier: 13 });
    expect(statuses(outcomes).filter((s) => s === 'accepted')).toHaveLength(N - 2);
    expect(checkAgainstRecords(ledgerOf(sim), outcomes).duplicates).toBe(0);
  });

  it('shutdown: accepted up to the identifier in the status-10 reply; the rest resent and accepted once', async () => {
    const { outcomes, duplicates } = await run([{ id: 'shutdown', match: at(7), action: { type: 'shutdown' }, times: 1 }]);
    expect(statuses(outcomes)).toEqual(all('accepted'));
    expect(duplicates).toBe(0);
    expect(outcomes.every((o) => !o.possibleDuplicate)).toBe(true);
    const shut = sim.records().find((r) => r.rule === 'shutdown')!;
    expect(shut.status).toBe(Status.Shutdown);
    expect(outcomes[7].attempts).toBe(2);
    expect(outcomes.slice(0, 7).every((o) => o.attempts === 1)).toBe(true);
  });

  it('shutdown before anything was accepted (identifier 0): everything resent, accepted once', async () => {
    const { outcomes, duplicates } = await run([{ id: 'shutdown', match: { nthOnConnection: 1 }, action: { type: 'shutdown' }, times: 2 }]);
    expect(statuses(outcomes)).toEqual(all('accepted'));
    expect(duplicates).toBe(0);
    expect(outcomes[0].attempts).toBe(3);
  });

  it('close (silent): nothing lost; only those accepted before the close on that connection arrive twice, and they say so', async () => {
    const { outcomes, duplicates } = await run([{ id: 'close', match: at(7), action: { type: 'close' }, times: 1 }]);
    expect(statuses(outcomes)).toEqual(all('accepted'));
    // 0..6 were accepted before the close; the client cannot know, so it wrote them again.
    expect(duplicates).toBe(7);
    const ledger = ledgerOf(sim);
    for (let seq = 0; seq < N; seq++) expect(ledger.accepted(seq)).toHaveLength(seq < 7 ? 2 : 1);
    expect(outcomes.slice(0, 7).every((o) => o.possibleDuplicate)).toBe(true);
    expect(resent.some((e) => e.kind === 'in-doubt')).toBe(true);
  });

  it('close on every try of one notification: it alone fails after maxAttempts; the others are accepted', async () => {
    const { outcomes } = await run([{ id: 'close', match: at(7), action: { type: 'close' } }]);
    const failed = outcomes[7];
    expect(failed.status).toBe('failed');
    if (failed.status !== 'failed') return;
    expect((failed.error as NodeJS.ErrnoException).code).toBe('ERR_APNS_SILENT_CLOSE');
    expect(failed.error.message).toMatch(/3 times this notification was sent alone/);
    expect(outcomes.filter((o) => o.status === 'accepted')).toHaveLength(N - 1);
    const ledger = ledgerOf(sim);
    expect(ledger.accepted(7)).toHaveLength(0);
    expect(sim.records({ outcome: 'discarded' }).filter((r) => r.rule === 'close').length).toBeGreaterThanOrEqual(3);
  });

  it('drop (reset at once): like a silent close', async () => {
    const { outcomes, duplicates } = await run([{ id: 'drop', match: at(7), action: { type: 'drop' }, times: 1 }]);
    expect(statuses(outcomes)).toEqual(all('accepted'));
    expect(duplicates).toBe(7);
  });

  it('drop after 100 more bytes: the matched one and those within the bytes were accepted, then the reset', async () => {
    const { outcomes, duplicates } = await run([{ id: 'drop-late', match: at(7), action: { type: 'drop', afterBytes: 100 }, times: 1 }]);
    expect(statuses(outcomes)).toEqual(all('accepted'));
    const ledger = ledgerOf(sim);
    // Frames are about 70 bytes: 7 and the one after it were whole within the 100 bytes.
    expect(duplicates).toBe(9);
    expect(ledger.accepted(8)).toHaveLength(2);
    expect(ledger.accepted(9)).toHaveLength(1);
  });

  it('delay: a late error response still settles the right notification, and the frames written meanwhile are resent', async () => {
    const { outcomes, duplicates } = await run([
      { id: 'delay', match: at(2), action: { type: 'delay', ms: 300 }, times: 1 },
      { id: 'reject', match: at(5), action: { type: 'reject', status: Status.InvalidPayloadSize }, times: 1 },
    ]);
    expect(outcomes[5]).toMatchObject({ status: 'rejected', code: 7, identifier: 6 });
    expect(outcomes.filter((o) => o.status === 'accepted')).toHaveLength(N - 1);
    expect(duplicates).toBe(0);
  });

  it('stall: the gateway stops reading for a while; everything is accepted once', async () => {
    const { outcomes, duplicates } = await run([{ id: 'stall', match: at(3), action: { type: 'stall', ms: 300 }, times: 1 }]);
    expect(statuses(outcomes)).toEqual(all('accepted'));
    expect(duplicates).toBe(0);
  });

  it('uninstall: accepted, and the token then appears in feedback', async () => {
    const gone = 'cc'.repeat(32);
    sim.rules.add({ id: 'uninstall', match: { token: gone }, action: { type: 'uninstall' } });
    const outcomes = await sendNumbered(client, N, (seq) => (seq === 4 ? gone : TOKEN));
    await client.close();
    expect(statuses(outcomes)).toEqual(all('accepted'));
    const { cert, key, ca } = sim.credentials;
    const feedback = await readFeedback({ host: '127.0.0.1', port: sim.ports.feedback, cert, key, ca });
    expect(feedback.map((f) => f.token)).toEqual([gone]);
  });
});
