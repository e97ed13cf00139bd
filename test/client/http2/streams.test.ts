import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Http2Client, type Http2GoawayEvent, type Http2SettingsEvent } from '../../../client/index.js';
import { startSimulator, type SigningKey, type Simulator } from '../../../server/index.js';
import { KEY_ID, TEAM, TOKEN, TOPIC, certClient, numbered, recordsOf, sendNumbered, tally, tokenClient, watchStreams } from './support.js';

// Streams bounded by the server's SETTINGS, connections, idle pings, close and destroy.

/** SETTINGS_MAX_CONCURRENT_STREAMS of the simulator these tests share (once authenticated). */
const LIMIT = 6;
let s: Simulator;
let key: SigningKey;
/** Closes connections idle for 400 ms. */
let idle: Simulator;
let client: Http2Client | undefined;

beforeAll(async () => {
  [s, idle] = await Promise.all([
    startSimulator({ controlPort: false, http2: { maxConcurrentStreams: LIMIT } }),
    startSimulator({ controlPort: false, idleTimeoutMs: 400 }),
  ]);
  key = await s.createSigningKey(TEAM, KEY_ID);
});
afterAll(async () => {
  await Promise.all([s.close(), idle.close()]);
});
beforeEach(() => {
  s.rules.clear();
  s.recorder.clear();
});
afterEach(() => {
  client?.destroy();
  client = undefined;
});

describe('streams never exceed SETTINGS_MAX_CONCURRENT_STREAMS', () => {
  it(`certificate connection: 200 requests, at most ${LIMIT} open at once, and ${LIMIT} reached`, async () => {
    s.rules.add({ action: { type: 'delay', ms: 20 } });
    const watch = watchStreams(s);
    client = certClient(s);
    const outcomes = await sendNumbered(client, 200);
    expect(tally(outcomes)).toEqual({ accepted: 200, rejected: 0, failed: 0 });
    expect(watch.perConnection).toEqual([LIMIT]);
    expect(client.stats()).toMatchObject({ maxStreams: LIMIT, connections: 1, requests: 200, inFlight: 0, queued: 0 });
    watch.stop();
  });

  it('token connection: one stream until a token is accepted, then the raised limit', async () => {
    s.rules.add({ action: { type: 'delay', ms: 20 } });
    const watch = watchStreams(s);
    client = tokenClient(s, key);
    const connected: number[] = [];
    const settings: Http2SettingsEvent[] = [];
    client.on('connected', (e) => connected.push(e.maxConcurrentStreams));
    client.on('settings', (e) => settings.push(e));
    const outcomes = await sendNumbered(client, 50);
    expect(tally(outcomes).accepted).toBe(50);
    expect(connected).toEqual([1]);
    expect(settings.map((e) => e.maxConcurrentStreams)).toEqual([LIMIT]);
    // The first stream was alone; the limit went up during it (the 20 ms delay), so the next ones overlapped it.
    expect(watch.openAtArrival[0][0]).toBe(1);
    expect(watch.perConnection).toEqual([LIMIT]);
    watch.stop();
  });

  it('token connection whose token is never accepted: every request alone', async () => {
    const stranger = await s.createSigningKey('TEAM000002', 'KEY0000002');
    await s.keys.remove('KEY0000002');
    const watch = watchStreams(s);
    client = tokenClient(s, stranger);
    const outcomes = await sendNumbered(client, 20);
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason === 'InvalidProviderToken' && o.attempts === 1)).toBe(true);
    expect(watch.openAtArrival).toEqual([Array(20).fill(1)]);
    expect(client.stats().maxStreams).toBe(1);
    watch.stop();
  });

  it('three connections: each within its limit, each used, requests to the one with the fewest streams', async () => {
    s.rules.add({ action: { type: 'delay', ms: 20 } });
    const watch = watchStreams(s);
    client = certClient(s, { connections: 3 });
    const outcomes = await sendNumbered(client, 180);
    expect(tally(outcomes).accepted).toBe(180);
    expect(watch.perConnection).toEqual([LIMIT, LIMIT, LIMIT]);
    const perConnection = new Map<number, number>();
    for (const r of s.records({ protocol: 'http2' })) perConnection.set(r.connectionId, (perConnection.get(r.connectionId) ?? 0) + 1);
    expect([...perConnection.values()].every((n) => n >= 20)).toBe(true);
    expect(client.stats()).toMatchObject({ connections: 3, open: 3, maxStreams: LIMIT });
    watch.stop();
  });
});

describe('idle connections', () => {
  it('a PING after pingIntervalMs idle keeps a connection the server would close as idle', async () => {
    client = certClient(idle, { pingIntervalMs: 100 });
    const first = await client.send(numbered(1));
    await new Promise((r) => setTimeout(r, 1000));
    const second = await client.send(numbered(2));
    const [a, b] = [recordsOf(idle, first.apnsId)[0], recordsOf(idle, second.apnsId)[0]];
    expect(b.connectionId).toBe(a.connectionId);
    expect(client.stats()).toMatchObject({ connections: 1 });
    expect(client.stats().pings).toBeGreaterThanOrEqual(5);
  });

  it('without pings the server sends GOAWAY IdleTimeout, and the next notification goes on a new connection', async () => {
    client = certClient(idle, { pingIntervalMs: false });
    const goaways: Http2GoawayEvent[] = [];
    client.on('goaway', (e) => goaways.push(e));
    const first = await client.send(numbered(1));
    await new Promise((r) => setTimeout(r, 1000));
    const second = await client.send(numbered(2));
    expect(second.status).toBe('accepted');
    expect(recordsOf(idle, second.apnsId)[0].connectionId).not.toBe(recordsOf(idle, first.apnsId)[0].connectionId);
    // Its first GOAWAY says why; node's graceful close may follow with a second, without debug data.
    expect(goaways[0]).toMatchObject({ reason: 'IdleTimeout', errorCode: 0, lastStreamId: 1 });
    expect(client.stats()).toMatchObject({ connections: 2, pings: 0 });
  });
});

describe('close and destroy', () => {
  it('close() waits for every outcome, then closes the connections', async () => {
    s.rules.add({ action: { type: 'delay', ms: 30 } });
    client = certClient(s, { connections: 2 });
    const outcomes = Array.from({ length: 60 }, (_, i) => client!.send(numbered(i)));
    await client.close();
    const settled = await Promise.race([Promise.all(outcomes), new Promise((r) => setTimeout(() => r('pending'), 0))]);
    expect(settled).not.toBe('pending');
    expect(tally(settled as Awaited<(typeof outcomes)[number]>[]).accepted).toBe(60);
    expect(client.stats()).toMatchObject({ open: 0, inFlight: 0, queued: 0 });
    await expect(client.send(numbered(61))).rejects.toMatchObject({ code: 'ERR_APNS_CLIENT_CLOSED' });
    // The simulator saw both connections end.
    const used = new Set(s.records({ protocol: 'http2' }).map((r) => r.connectionId));
    expect(used.size).toBe(2);
    await new Promise((r) => setTimeout(r, 50));
    expect(s.http2!.connections().filter((c) => used.has(c.id))).toEqual([]);
  });

  it('destroy() fails what has no answer yet with ClientClosedError', async () => {
    s.rules.add({ action: { type: 'stall', ms: 5000 } });
    client = certClient(s);
    const outcomes = Array.from({ length: 5 }, (_, i) => client!.send(numbered(i)));
    await s.waitFor({ protocol: 'http2' }, { count: 5 });
    client.destroy();
    const settled = await Promise.all(outcomes);
    expect(settled.map((o) => [o.status, o.status === 'failed' && (o.error as NodeJS.ErrnoException).code])).toEqual(
      Array(5).fill(['failed', 'ERR_APNS_CLIENT_CLOSED']),
    );
  });

  it('nothing listening: failed with GatewayUnreachableError after the reconnect attempts', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    await new Promise((r) => server.close(r));
    client = new Http2Client({
      host: '127.0.0.1',
      port,
      cert: s.credentials.cert,
      key: s.credentials.key,
      ca: s.credentials.ca,
      reconnect: { initialDelayMs: 5, retries: 2 },
    });
    const outcome = await client.send({ token: TOKEN, topic: TOPIC, payload: { aps: {} } });
    expect(outcome.status).toBe('failed');
    if (outcome.status === 'failed') {
      expect(outcome.error).toMatchObject({ code: 'ERR_APNS_UNREACHABLE' });
      expect((outcome.error.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    }
    expect(client.stats()).toMatchObject({ connections: 3, requests: 0 });
  });

  it('a request without a response within requestTimeoutMs is cancelled and sent again, flagged as a possible duplicate', async () => {
    // The simulator accepts and records at once, then holds the response back.
    s.rules.add({ id: 'slow', action: { type: 'delay', ms: 400 }, times: 1 });
    client = certClient(s, { requestTimeoutMs: 100 });
    const outcome = await client.send(numbered(1));
    expect(outcome).toMatchObject({ status: 'accepted', attempts: 2, possibleDuplicate: true });
    expect(recordsOf(s, outcome.apnsId).map((r) => [r.outcome, r.rule])).toEqual([
      ['accepted', 'slow'],
      ['accepted', null],
    ]);
  });
});
