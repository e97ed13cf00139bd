import { connect, type ClientHttp2Session } from 'node:http2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, startSimulator, type Simulator, type SigningKey } from '../../../server/index.js';
import { signProviderToken } from '../../../protocol/http2/index.js';
import { ALERT, TOKEN, bearer, open, send, type Reply } from './support.js';
import { FRAME, RawHttp2, frame, headerBlock } from './raw-frames.js';

// A token connection has one stream until a valid provider token (Apple: "APNs allows only one
// stream until you post a request with a valid authentication token"). Streams a client opened
// beyond it before it could read that limit (before it acknowledged the server's SETTINGS) are
// held and answered once the first token was judged; after the acknowledgement they are refused.

const TOPIC = 'com.example.app';
let sim: Simulator;
let key: SigningKey;
const sessions: ClientHttp2Session[] = [];
const raws: RawHttp2[] = [];

/** A session whose requests go out before the server's SETTINGS arrive (node's client allows 100 until then). */
function eager(target: Simulator = sim): ClientHttp2Session {
  const s = connect(`https://127.0.0.1:${target.ports.http2}`, { ca: target.credentials.ca, peerMaxConcurrentStreams: 100 });
  s.on('error', () => undefined);
  sessions.push(s);
  return s;
}

const push = (s: ClientHttp2Session, authorization: string, token = TOKEN) =>
  send(s, { path: `/3/device/${token}`, headers: { 'apns-topic': TOPIC, authorization }, body: ALERT });

const outcome = (r: PromiseSettledResult<Reply>) => (r.status === 'fulfilled' ? r.value.status : String((r.reason as Error).message));

beforeAll(async () => {
  sim = await startSimulator({ http2: { maxConcurrentStreams: 250 } });
  key = await sim.createSigningKey('TEAM000001', 'KEY0000001');
});
afterEach(() => {
  for (const s of sessions.splice(0)) s.destroy();
  for (const r of raws.splice(0)) r.close();
});
afterAll(async () => {
  await sim.close();
});

describe('a burst on a fresh token connection', () => {
  it('is held, not refused: every stream answered in order, the held ones with a warning that says what to do', async () => {
    sim.recorder.clear();
    const s = eager();
    const authorization = await bearer(key);
    const replies = await Promise.all(Array.from({ length: 10 }, () => push(s, authorization)));
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(replies[0].headers['x-apns-mock-reason']).toBeUndefined();
    for (const r of replies.slice(1))
      expect(r.headers['x-apns-mock-reason']).toMatch(/^held, then answered: .*only one stream until.*retry REFUSED_STREAM/);
    const records = await sim.waitFor({ protocol: 'http2', outcome: 'accepted' }, { count: 10 });
    expect(records.map((r) => r.http2!.streamId)).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    expect(records[0].warnings).toEqual([]);
    for (const r of records.slice(1)) expect(r.warnings.map((w) => w.code)).toEqual(['stream-held-until-token']);
    expect(s.remoteSettings.maxConcurrentStreams).toBe(250);
  });

  it('whose first token is refused: the held streams get the same answer', async () => {
    sim.recorder.clear();
    const s = eager();
    const stranger = `bearer ${await signProviderToken({ teamId: 'TEAM000001', keyId: 'KEYUNKNOWN', privateKey: generateSigningKeyPair().privateKey })}`;
    const replies = await Promise.all(Array.from({ length: 4 }, () => push(s, stranger)));
    expect(replies.map((r) => [r.status, r.json?.reason])).toEqual(Array(4).fill([403, 'InvalidProviderToken']));
    expect(s.remoteSettings.maxConcurrentStreams).toBe(1);
  });

  it('whose first stream fails before its token is read: the next held one takes its place', async () => {
    const s = eager();
    const authorization = await bearer(key);
    const first = send(s, { path: '/3/nowhere', headers: { authorization }, body: ALERT });
    const rest = Array.from({ length: 3 }, () => push(s, authorization));
    expect((await first).json?.reason).toBe('BadPath');
    expect((await Promise.all(rest)).map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it("with earlyStreams 'refuse': the streams beyond the first are refused (REFUSED_STREAM), as before", async () => {
    const strict = await startSimulator({ http2: { earlyStreams: 'refuse' } });
    try {
      const k = await strict.createSigningKey('TEAM000001', 'KEY0000001');
      const s = eager(strict);
      const authorization = await bearer(k);
      const results = await Promise.allSettled([push(s, authorization), push(s, authorization), push(s, authorization)]);
      expect(results.map(outcome)).toEqual([200, expect.stringMatching(/REFUSED_STREAM/), expect.stringMatching(/REFUSED_STREAM/)]);
    } finally {
      await strict.close();
    }
  });

  it('announces one stream in its first SETTINGS, and refuses a second stream opened after acknowledging it', async () => {
    sim.recorder.clear();
    const raw = await RawHttp2.open(sim.ports.http2!, sim.credentials.ca);
    raws.push(raw);
    await raw.waitFor((f) => f.type === FRAME.SETTINGS && (f.flags & 1) === 0);
    expect(raw.firstStreamLimit()).toBe(1);
    raw.write(frame(FRAME.SETTINGS, 1, 0));
    // The server's acknowledgement of ours says it read our ACK before anything later.
    await raw.waitFor((f) => f.type === FRAME.SETTINGS && (f.flags & 1) === 1);
    const headers = (authorization: string) =>
      headerBlock([
        [':method', 'POST'],
        [':scheme', 'https'],
        [':authority', 'localhost'],
        [':path', `/3/device/${TOKEN}`],
        ['apns-topic', TOPIC],
        ['authorization', authorization],
      ]);
    const authorization = await bearer(key);
    // END_HEADERS (0x4) without END_STREAM: both streams stay open.
    raw.write(frame(FRAME.HEADERS, 0x4, 1, headers(authorization)), frame(FRAME.HEADERS, 0x4, 3, headers(authorization)));
    const reset = await raw.waitFor((f) => f.type === FRAME.RST_STREAM && f.streamId === 3);
    expect(reset.payload.readUInt32BE(0)).toBe(7);
    const [record] = await sim.waitFor({ protocol: 'http2', outcome: 'discarded' });
    expect(record.reason).toMatch(/REFUSED_STREAM.*after the client acknowledged/);
    raw.write(frame(FRAME.DATA, 0x1, 1, Buffer.from(JSON.stringify(ALERT))));
    const response = await raw.waitFor((f) => f.type === FRAME.HEADERS && f.streamId === 1);
    expect(response.payload.length).toBeGreaterThan(0);
  });
});

describe('the one-stream SETTINGS, written before the session', () => {
  const headers = (authorization: string) =>
    headerBlock([
      [':method', 'POST'],
      [':scheme', 'https'],
      [':authority', 'localhost'],
      [':path', `/3/device/${TOKEN}`],
      ['apns-topic', TOPIC],
      ['authorization', authorization],
    ]);

  it('splits one write at the ACK: streams before it held and answered, a stream after it refused', async () => {
    sim.recorder.clear();
    const raw = await RawHttp2.open(sim.ports.http2!, sim.credentials.ca);
    raws.push(raw);
    await raw.waitFor((f) => f.type === FRAME.SETTINGS && (f.flags & 1) === 0);
    const authorization = await bearer(key);
    const body = Buffer.from(JSON.stringify(ALERT));
    raw.write(
      frame(FRAME.HEADERS, 0x4, 1, headers(authorization)),
      frame(FRAME.HEADERS, 0x4, 3, headers(authorization)),
      frame(FRAME.SETTINGS, 1, 0),
      frame(FRAME.HEADERS, 0x4, 5, headers(authorization)),
      frame(FRAME.DATA, 0x1, 1, body),
      frame(FRAME.DATA, 0x1, 3, body),
    );
    const reset = await raw.waitFor((f) => f.type === FRAME.RST_STREAM && f.streamId === 5);
    expect(reset.payload.readUInt32BE(0)).toBe(7);
    await raw.waitFor((f) => f.type === FRAME.HEADERS && f.streamId === 1);
    await raw.waitFor((f) => f.type === FRAME.HEADERS && f.streamId === 3);
    const records = await sim.waitFor({ protocol: 'http2', outcome: 'accepted' }, { count: 2 });
    expect(records.map((r) => r.warnings.map((w) => w.code))).toEqual([[], ['stream-held-until-token']]);
    // The session's own SETTINGS came after ours and announces no stream limit of its own.
    const settings = raw.frames.filter((f) => f.type === FRAME.SETTINGS && (f.flags & 1) === 0);
    expect(settings.length).toBeGreaterThanOrEqual(2);
    expect(raw.firstStreamLimit()).toBe(1);
    expect(raw.frames.some((f) => f.type === FRAME.GOAWAY)).toBe(false);
  });

  it('is listed at once, and a client that never acknowledges it gets GOAWAY SETTINGS_TIMEOUT', async () => {
    const quick = await startSimulator({ http2: { prefaceTimeoutMs: 300 } });
    try {
      const raw = await RawHttp2.open(quick.ports.http2!, quick.credentials.ca);
      raws.push(raw);
      await raw.waitFor((f) => f.type === FRAME.SETTINGS && (f.flags & 1) === 0);
      expect(quick.http2!.connections()).toHaveLength(1);
      const goAway = await raw.waitFor((f) => f.type === FRAME.GOAWAY);
      expect(goAway.payload.readUInt32BE(4)).toBe(4);
      const deadline = Date.now() + 2000;
      while (quick.http2!.connections().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(quick.http2!.connections()).toHaveLength(0);
    } finally {
      await quick.close();
    }
  });
});

describe('a client certificate that does not verify', () => {
  it('makes a token connection: one stream, BadCertificate without a token, and its summary says so', async () => {
    const other = await startSimulator({ http2Port: 0 });
    try {
      const stranger = other.credentials;
      const s = await open(sim, { cert: stranger });
      sessions.push(s);
      expect(s.remoteSettings.maxConcurrentStreams).toBe(1);
      const summary = sim.http2!.connections().at(-1)!;
      expect(summary).toMatchObject({ auth: 'token', certificate: 'unverified', maxConcurrentStreams: 1 });
      const reply = await send(s, { headers: { 'apns-topic': TOPIC }, body: ALERT });
      expect([reply.status, reply.json?.reason]).toEqual([403, 'BadCertificate']);
      expect(reply.headers['x-apns-mock-reason']).toMatch(/does not verify/);
      expect((await push(s, await bearer(key))).status).toBe(200);
    } finally {
      await other.close();
    }
  });
});

describe('options', () => {
  it("badEnvironmentKeyReason: 'BadEnvironmentKeyInToken' names a key of the other environment so", async () => {
    const other = await startSimulator({ http2: { badEnvironmentKeyReason: 'BadEnvironmentKeyInToken' } });
    try {
      const production = await other.createSigningKey('TEAM000002', 'KEY0000002', 'production');
      const s = await open(other);
      sessions.push(s);
      const reply = await push(s, await bearer(production));
      expect([reply.status, reply.json?.reason]).toEqual([403, 'BadEnvironmentKeyInToken']);
    } finally {
      await other.close();
    }
    await expect(startSimulator({ http2: { badEnvironmentKeyReason: 'Nope' as never } })).rejects.toThrow(/badEnvironmentKeyReason/);
  });

  it('x-apns-mock-reason: ASCII, one line, bounded; explainHeader false leaves it out', async () => {
    const s = await open(sim);
    sessions.push(s);
    const reply = await push(s, 'bearer x.y.z');
    const value = String(reply.headers['x-apns-mock-reason']);
    expect(value).toMatch(/^[\x20-\x7e]{1,512}$/);
    const quiet = await startSimulator({ http2: { explainHeader: false } });
    try {
      const q = await open(quiet);
      sessions.push(q);
      const plain = await push(q, 'bearer x.y.z');
      expect(plain.json?.reason).toBe('InvalidProviderToken');
      expect(plain.headers['x-apns-mock-reason']).toBeUndefined();
    } finally {
      await quiet.close();
    }
  });
});
