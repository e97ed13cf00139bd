import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Http2Client, Http2GoawayEvent, Http2ResentEvent, Http2SendOutcome } from '../../../client/index.js';
import { startSimulator, type NotificationRecord, type SigningKey, type Simulator } from '../../../server/index.js';
import { KEY_ID, TEAM, certClient, numbered, recordsOf, sendNumbered, tally, tokenClient } from './support.js';

// Retries as Apple advises, against rules of the simulator: backoff on 429 and 5xx, bounded;
// GOAWAY sent again on a new connection, refused streams on the same one; resets and lost connections
// sent again, flagged.

let sim: Simulator;
let key: SigningKey;
const clients: Http2Client[] = [];
const track = (c: Http2Client) => (clients.push(c), c);

beforeAll(async () => {
  // A connection told to go away gets 3 s to answer what it took: on a loaded machine 300 ms
  // can pass with responses still queued, and the client could then only send those again.
  sim = await startSimulator({ controlPort: false, http2: { lingerMs: 3000 } });
  key = await sim.createSigningKey(TEAM, KEY_ID);
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await sim.close();
});
beforeEach(() => {
  sim.recorder.clear();
  sim.rules.clear();
  sim.devices.clear();
});

const NO_JITTER = { initialDelayMs: 40, factor: 2, maxDelayMs: 1000, jitter: false, maxAttempts: 5 };

/** Each outcome's records, checked: one accepted record per accepted outcome, after any refused ones. */
function recordsByOutcome(outcomes: Http2SendOutcome[]): NotificationRecord[][] {
  return outcomes.map((o) => recordsOf(sim, o.apnsId));
}

function acceptedOncePerOutcome(outcomes: Http2SendOutcome[]): void {
  const records = recordsByOutcome(outcomes);
  const wrong = outcomes
    .map((o, i) => ({ o, r: records[i].map((r) => [r.connectionId, r.outcome, r.http2?.streamId, r.reason]) }))
    .filter((x, i) => records[i].filter((r) => r.outcome === 'accepted').length !== (x.o.status === 'accepted' ? 1 : 0));
  expect(wrong, JSON.stringify(wrong.slice(0, 3))).toEqual([]);
}

/** Milliseconds between a notification's consecutive records. */
const gaps = (records: NotificationRecord[]) => records.slice(1).map((r, i) => Date.parse(r.time) - Date.parse(records[i].time));

describe('429 and 5xx: back off and send again', () => {
  it('429 TooManyRequests twice, then accepted; the waits double', async () => {
    sim.rules.add({ id: '429', action: { type: 'reject', reason: 'TooManyRequests' }, times: 2 });
    const client = track(certClient(sim, { retry: NO_JITTER }));
    const outcome = await client.send(numbered(1));
    expect(outcome).toMatchObject({ status: 'accepted', attempts: 3, possibleDuplicate: false });
    const records = recordsOf(sim, outcome.apnsId);
    expect(records.map((r) => [r.status, r.statusName])).toEqual([
      [429, 'TooManyRequests'],
      [429, 'TooManyRequests'],
      [200, null],
    ]);
    const [first, second] = gaps(records);
    expect(first).toBeGreaterThanOrEqual(40);
    expect(second).toBeGreaterThanOrEqual(80);
  });

  it('a rateLimit rule (3 per 300 ms per device token): 12 at once to one token, all accepted in the end, each once', async () => {
    sim.rules.add({ id: 'rate', action: { type: 'rateLimit', requests: 3, perMs: 300 } });
    const client = track(certClient(sim, { retry: { initialDelayMs: 100, factor: 2, maxDelayMs: 2000, maxAttempts: 8 } }));
    const outcomes = await sendNumbered(client, 12);
    expect(tally(outcomes)).toEqual({ accepted: 12, rejected: 0, failed: 0 });
    expect(sim.records({ status: 429 }).length).toBeGreaterThanOrEqual(9);
    acceptedOncePerOutcome(outcomes);
  });

  it('503 for an outage window of 600 ms: every notification waits it out and is accepted once', async () => {
    const client = track(tokenClient(sim, key, { retry: { ...NO_JITTER, maxAttempts: 10 } }));
    // Connected and authenticated first, so the outage's window (which starts when the rule is
    // added) is not spent on the handshake of a loaded machine.
    expect(await client.send(numbered(0))).toMatchObject({ status: 'accepted' });
    sim.recorder.clear();
    sim.rules.add({ id: 'outage', action: { type: 'outage', forMs: 600 } });
    const outcomes = await sendNumbered(client, 10);
    expect(tally(outcomes)).toEqual({ accepted: 10, rejected: 0, failed: 0 });
    const records = recordsByOutcome(outcomes);
    for (const list of records) {
      expect(list.slice(0, -1).every((r) => r.status === 503 && r.statusName === 'ServiceUnavailable')).toBe(true);
      expect(list.length).toBeGreaterThanOrEqual(2);
      // 40, 80, 160... ms apart.
      gaps(list).forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(40 * 2 ** i - 5));
    }
    acceptedOncePerOutcome(outcomes);
  });

  it('bounded: an outage that does not end is rejected 503 after maxAttempts requests', async () => {
    sim.rules.add({ id: 'outage', action: { type: 'outage' } });
    const client = track(certClient(sim, { retry: { ...NO_JITTER, initialDelayMs: 5, maxAttempts: 3 } }));
    const outcome = await client.send(numbered(1));
    expect(outcome).toMatchObject({ status: 'rejected', statusCode: 503, reason: 'ServiceUnavailable', attempts: 3 });
    expect(recordsOf(sim, outcome.apnsId)).toHaveLength(3);
  });

  it('500 InternalServerError is retried too; a 400 from the same rule set is not', async () => {
    sim.rules.add({
      id: '500',
      match: { payloadField: { path: 'seq', equals: 1 } },
      action: { type: 'reject', reason: 'InternalServerError' },
      times: 1,
    });
    sim.rules.add({ id: '400', match: { payloadField: { path: 'seq', equals: 2 } }, action: { type: 'reject', reason: 'BadDeviceToken' } });
    const client = track(certClient(sim, { retry: NO_JITTER }));
    const [one, two] = await Promise.all([client.send(numbered(1)), client.send(numbered(2))]);
    expect(one).toMatchObject({ status: 'accepted', attempts: 2 });
    expect(two).toMatchObject({ status: 'rejected', statusCode: 400, reason: 'BadDeviceToken', attempts: 1 });
    expect(recordsOf(sim, two.apnsId)).toHaveLength(1);
  });
});

describe('GOAWAY: streams the server did not process go again on a new connection', () => {
  it('GOAWAY at the 20th request of 100: every notification accepted exactly once', async () => {
    sim.rules.add({ id: 'away', match: { nthOnConnection: 20 }, action: { type: 'goaway', reason: 'TooManyErrors' }, times: 1 });
    sim.rules.add({ id: 'slow', action: { type: 'delay', ms: 5 } });
    const client = track(certClient(sim));
    const goaways: Http2GoawayEvent[] = [];
    const resent: Http2ResentEvent[] = [];
    client.on('goaway', (e) => goaways.push(e));
    client.on('resent', (e) => resent.push(e));
    const outcomes = await sendNumbered(client, 100);
    expect(tally(outcomes)).toEqual({ accepted: 100, rejected: 0, failed: 0 });
    acceptedOncePerOutcome(outcomes);
    expect(goaways[0]).toMatchObject({ connection: 1, errorCode: 0, reason: 'TooManyErrors' });
    expect(client.stats().connections).toBe(2);
    // The rule's request, and any above the GOAWAY's last stream, were refused unprocessed: sent again, not flagged.
    expect(resent.length).toBeGreaterThanOrEqual(1);
    expect(resent.every((e) => e.kind === 'unprocessed' && e.connection === 1)).toBe(true);
    expect(outcomes.filter((o) => o.attempts > 1)).toHaveLength(resent.length);
    expect(outcomes.every((o) => !o.possibleDuplicate)).toBe(true);
    const discarded = sim.records({ outcome: 'discarded' });
    expect(discarded.length).toBe(resent.length);
  });

  it('503 Shutdown then GOAWAY Shutdown (a shutdown rule): the notification goes again on a new connection', async () => {
    sim.rules.add({ id: 'shutdown', match: { nthOnConnection: 3 }, action: { type: 'shutdown' }, times: 1 });
    const client = track(tokenClient(sim, key));
    const outcomes: Http2SendOutcome[] = [];
    for (let seq = 0; seq < 6; seq++) outcomes.push(await client.send(numbered(seq)));
    expect(tally(outcomes)).toEqual({ accepted: 6, rejected: 0, failed: 0 });
    const third = recordsOf(sim, outcomes[2].apnsId);
    expect(third.map((r) => [r.status, r.statusName])).toEqual([
      [503, 'Shutdown'],
      [200, null],
    ]);
    expect(third[0].connectionId).not.toBe(third[1].connectionId);
    acceptedOncePerOutcome(outcomes);
  });

  it('the control API shutting every connection down mid-stream loses nothing', async () => {
    sim.rules.add({ id: 'slow', action: { type: 'delay', ms: 10 } });
    const client = track(tokenClient(sim, key, { connections: 2 }));
    const sending = sendNumbered(client, 300);
    await sim.waitFor({ protocol: 'http2' }, { count: 50 });
    expect(sim.http2!.shutdown()).toBeGreaterThanOrEqual(1);
    const outcomes = await sending;
    expect(tally(outcomes)).toEqual({ accepted: 300, rejected: 0, failed: 0 });
    acceptedOncePerOutcome(outcomes);
    expect(client.stats().connections).toBeGreaterThanOrEqual(3);
  });
});

describe('no answer: reset streams and lost connections', () => {
  it('RST_STREAM: sent again, and flagged as a possible duplicate (the client cannot know)', async () => {
    sim.rules.add({ id: 'reset', action: { type: 'reset' }, times: 2 });
    const client = track(certClient(sim, { retry: NO_JITTER }));
    const outcome = await client.send(numbered(1));
    expect(outcome).toMatchObject({ status: 'accepted', attempts: 3, possibleDuplicate: true });
    expect(recordsOf(sim, outcome.apnsId).map((r) => r.outcome)).toEqual(['discarded', 'discarded', 'accepted']);
  });

  it('REFUSED_STREAM: sent again on the same connection at once, not counted as an attempt, not a possible duplicate', async () => {
    sim.rules.add({ id: 'refuse', action: { type: 'reset', errorCode: 7 }, times: 2 });
    const client = track(tokenClient(sim, key, { retry: NO_JITTER }));
    const resent: Http2ResentEvent[] = [];
    client.on('resent', (e) => resent.push(e));
    const outcome = await client.send(numbered(1));
    expect(outcome).toMatchObject({ status: 'accepted', attempts: 3, possibleDuplicate: false });
    expect(resent.map((e) => [e.kind, e.reason, e.delayMs])).toEqual(Array(2).fill(['unprocessed', 'REFUSED_STREAM', 0]));
    const records = recordsOf(sim, outcome.apnsId);
    expect(records.map((r) => r.outcome)).toEqual(['discarded', 'discarded', 'accepted']);
    expect(new Set(records.map((r) => r.connectionId)).size).toBe(1);
    expect(client.stats().connections).toBe(1);
  });

  it('RST_STREAM every time: failed after maxAttempts, with the reason', async () => {
    sim.rules.add({ id: 'reset', action: { type: 'reset' } });
    const client = track(certClient(sim, { retry: { ...NO_JITTER, initialDelayMs: 5, maxAttempts: 3 } }));
    const outcome = await client.send(numbered(1));
    expect(outcome.status).toBe('failed');
    if (outcome.status === 'failed') {
      expect(outcome.error).toMatchObject({ code: 'ERR_APNS_HTTP2_STREAM' });
      expect(outcome.error.message).toMatch(/no response after 3 attempt\(s\); last: stream reset \(HTTP\/2 error 2\)/);
    }
    expect(recordsOf(sim, outcome.apnsId)).toHaveLength(3);
  });

  it('a connection closed without a word (close rule): what it carried goes again on a new connection', async () => {
    sim.rules.add({ id: 'close', match: { nth: 10 }, action: { type: 'close' }, times: 1 });
    const client = track(certClient(sim));
    const outcomes = await sendNumbered(client, 40);
    expect(tally(outcomes)).toEqual({ accepted: 40, rejected: 0, failed: 0 });
    const records = recordsByOutcome(outcomes);
    // Nothing lost; a notification accepted twice was answered on the closed connection too late, and says so.
    outcomes.forEach((o, i) => {
      const accepted = records[i].filter((r) => r.outcome === 'accepted').length;
      expect(accepted).toBeGreaterThanOrEqual(1);
      if (accepted > 1) expect(o.possibleDuplicate).toBe(true);
    });
    expect(client.stats().connections).toBe(2);
  });
});
