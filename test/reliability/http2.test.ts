import { once } from 'node:events';
import { connect as connectHttp2, type ClientHttp2Session } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, createProviderCertificate } from '../../server/certs/index.js';
import { startSimulator, type Simulator } from '../../server/index.js';
import { Flag, FrameType, h2frame, hpack, openRawH2, rstStream, type RawH2 } from './h2-frames.js';
import { eventually, watchProcess } from './support.js';

const TOKEN = 'aa'.repeat(32);
const BODY = JSON.stringify({ aps: { alert: 'hello' } });
const GOOD: [string, string][] = [
  [':method', 'POST'],
  [':scheme', 'https'],
  [':path', `/3/device/${TOKEN}`],
  [':authority', 'localhost'],
  ['apns-topic', 'com.example.app'],
];
const ERR = { PROTOCOL_ERROR: 0x1, INTERNAL_ERROR: 0x2, COMPRESSION_ERROR: 0x9, ENHANCE_YOUR_CALM: 0xb };

let sim: Simulator;
let watch: ReturnType<typeof watchProcess>;
const open: ClientHttp2Session[] = [];
const raws: RawH2[] = [];

beforeAll(async () => {
  sim = await startSimulator({ controlPort: false, maxRecords: 20_000 });
  watch = watchProcess();
});
afterAll(async () => {
  watch?.stop();
  for (const s of open) s.destroy();
  for (const r of raws) r.socket.destroy();
  await sim?.close();
});

async function session(): Promise<ClientHttp2Session> {
  const s = connectHttp2(sim.http2Url!, {
    ca: sim.credentials.ca,
    cert: sim.credentials.cert,
    key: sim.credentials.key,
    servername: 'localhost',
  });
  s.on('error', () => undefined);
  open.push(s);
  await once(s, 'remoteSettings');
  return s;
}

async function post(s: ClientHttp2Session): Promise<number> {
  const stream = s.request({ ':method': 'POST', ':path': `/3/device/${TOKEN}`, 'apns-topic': 'com.example.app' });
  stream.on('error', () => undefined);
  stream.end(BODY);
  const [headers] = (await once(stream, 'response')) as [Record<string, unknown>];
  stream.resume();
  await once(stream, 'close');
  return headers[':status'] as number;
}

/** A new connection still gets its notification accepted: the server keeps serving others. */
async function stillServes(): Promise<void> {
  const s = await session();
  expect(await post(s)).toBe(200);
  s.close();
}

async function raw(): Promise<RawH2> {
  const r = await openRawH2(sim.ports.http2!, sim.credentials);
  raws.push(r);
  return r;
}

/** What the server answered stream 1 with: its RST_STREAM code, a GOAWAY code, or a response. */
async function answerTo(r: RawH2, streamId = 1): Promise<{ rst: number | null; goaway: number | null; headers: boolean }> {
  await eventually(
    () =>
      r.frames.some(
        (f) =>
          (f.streamId === streamId && (f.type === FrameType.RST_STREAM || f.type === FrameType.HEADERS)) || f.type === FrameType.GOAWAY,
      ),
    5000,
  );
  const rst = r.frames.find((f) => f.streamId === streamId && f.type === FrameType.RST_STREAM);
  return {
    rst: rst ? rst.payload.readUInt32BE(0) : null,
    goaway: r.goawayCode(),
    headers: r.frames.some((f) => f.streamId === streamId && f.type === FrameType.HEADERS),
  };
}

describe('HTTP/2 abuse: the abusive stream or connection is refused, the server keeps serving', () => {
  it('a well-formed request over the hand-written frames is answered (the frames below differ from it in one thing)', async () => {
    const r = await raw();
    r.write(
      Buffer.concat([
        h2frame(FrameType.HEADERS, Flag.END_HEADERS, 1, hpack(GOOD)),
        h2frame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from(BODY)),
      ]),
    );
    expect(await answerTo(r)).toEqual({ rst: null, goaway: null, headers: true });
  });

  const malformed: [string, [string, string][], number][] = [
    ['an upper-case header name', [...GOOD, ['Apns-Priority', '10']], ERR.PROTOCOL_ERROR],
    ['no :path', GOOD.filter(([n]) => n !== ':path'), ERR.PROTOCOL_ERROR],
    ['a pseudo-header after a regular one', [...GOOD.filter(([n]) => n !== ':path'), [':path', `/3/device/${TOKEN}`]], ERR.PROTOCOL_ERROR],
    ['a connection-specific header', [...GOOD, ['connection', 'keep-alive']], ERR.PROTOCOL_ERROR],
    ['an unknown pseudo-header', [...GOOD.slice(0, 1), [':protocol', 'x'], ...GOOD.slice(1)], ERR.PROTOCOL_ERROR],
  ];
  for (const [what, fields, code] of malformed) {
    it(`malformed headers, ${what}: the stream is reset with PROTOCOL_ERROR`, async () => {
      const r = await raw();
      r.write(
        Buffer.concat([
          h2frame(FrameType.HEADERS, Flag.END_HEADERS, 1, hpack(fields)),
          h2frame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from(BODY)),
        ]),
      );
      const answer = await answerTo(r);
      expect(answer.headers).toBe(false);
      expect(answer.rst ?? answer.goaway).toBe(code);
      await stillServes();
    });
  }

  it('a header block HPACK cannot decode: GOAWAY COMPRESSION_ERROR, and the server keeps serving', async () => {
    const r = await raw();
    // 0x80: an indexed field with index 0, which RFC 7541 forbids.
    r.write(h2frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, Buffer.of(0x80)));
    expect(await eventually(() => r.goawayCode() !== null)).toBe(true);
    expect(r.goawayCode()).toBe(ERR.COMPRESSION_ERROR);
    await stillServes();
  });

  // After a GOAWAY for a connection error node stops reading the socket and tells the session
  // nothing (a bare node:http2 server does the same): the server finds such sessions itself
  // (common/h2-liveness.ts) and closes them, as RFC 9113, section 5.4.1, says it must.
  it('a connection that got GOAWAY for a connection error is closed by the server, whether the client stays or goes', async () => {
    const stays = await raw();
    const goes = await raw();
    const stuckBefore = sim.http2!.stats.stuckClosed;
    for (const r of [stays, goes]) r.write(h2frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, Buffer.of(0x80)));
    await eventually(() => stays.goawayCode() !== null && goes.goawayCode() !== null);
    goes.socket.destroy();
    const started = Date.now();
    expect(await eventually(() => !sim.http2!.connections().some((c) => c.peer === goes.peer || c.peer === stays.peer), 4000)).toBe(true);
    await Promise.race([stays.closed, new Promise((resolve) => setTimeout(resolve, 1000))]);
    expect(stays.socket.destroyed).toBe(true);
    expect(sim.http2!.stats.stuckClosed).toBeGreaterThanOrEqual(stuckBefore + 2);
    process.stdout.write(`stuck sessions closed ${Date.now() - started} ms after the client closed\n`);
    await stillServes();
  });

  it('a client that sends GOAWAY with an error code and stays: the server closes the connection', async () => {
    const r = await raw();
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(ERR.PROTOCOL_ERROR, 4);
    r.write(h2frame(FrameType.GOAWAY, 0, 0, payload));
    await Promise.race([r.closed, new Promise((resolve) => setTimeout(resolve, 4000))]);
    expect(r.socket.destroyed).toBe(true);
    expect(await eventually(() => !sim.http2!.connections().some((c) => c.peer === r.peer), 1000)).toBe(true);
  });

  it('a client certificate that does not verify proves nothing: one stream, as for a token connection', async () => {
    const strangerCa = await createCertificateAuthority();
    const stranger = await createProviderCertificate(strangerCa, { topic: 'com.example.app', keyType: 'ec' });
    const s = connectHttp2(sim.http2Url!, { ca: sim.credentials.ca, cert: stranger.cert, key: stranger.key, servername: 'localhost' });
    s.on('error', () => undefined);
    open.push(s);
    await once(s, 'remoteSettings');
    expect(s.remoteSettings.maxConcurrentStreams).toBe(1);
    const verified = await session();
    expect(verified.remoteSettings.maxConcurrentStreams).toBeGreaterThan(1);
    s.close();
    verified.close();
  });

  it('oversized header blocks: 100 KB in one header, and 1,000 header fields, are refused without a response', async () => {
    const big = await raw();
    const block = hpack([...GOOD, ['x-big', 'a'.repeat(100_000)]]);
    // HEADERS then CONTINUATION frames of at most 16 KB each (the default SETTINGS_MAX_FRAME_SIZE).
    const pieces = [];
    for (let at = 0; at < block.length; at += 16_384) pieces.push(block.subarray(at, at + 16_384));
    big.write(
      Buffer.concat(
        pieces.map((p, i) =>
          h2frame(
            i === 0 ? FrameType.HEADERS : FrameType.CONTINUATION,
            i === pieces.length - 1 ? Flag.END_HEADERS | Flag.END_STREAM : 0,
            1,
            p,
          ),
        ),
      ),
    );
    const bigAnswer = await answerTo(big);
    expect(bigAnswer.headers).toBe(false);
    expect(bigAnswer.rst ?? bigAnswer.goaway).not.toBeNull();

    const many = await raw();
    many.write(
      h2frame(
        FrameType.HEADERS,
        Flag.END_HEADERS | Flag.END_STREAM,
        1,
        hpack([...GOOD, ...Array.from({ length: 1000 }, (_, i) => [`x-h${i}`, 'v'] as [string, string])]),
      ),
    );
    const manyAnswer = await answerTo(many);
    expect(manyAnswer.headers).toBe(false);
    // node resets the stream (ENHANCE_YOUR_CALM) or, some runs, ends the connection (INTERNAL_ERROR).
    expect([ERR.ENHANCE_YOUR_CALM, ERR.INTERNAL_ERROR]).toContain(manyAnswer.rst ?? manyAnswer.goaway);
    await stillServes();
  });

  it('a header block that never ends (CONTINUATION frames, 4 MB, no END_HEADERS) does not hold the connection open', async () => {
    const r = await raw();
    r.write(h2frame(FrameType.HEADERS, 0, 1, hpack(GOOD)));
    const filler = h2frame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(16_384, 0x41));
    for (let i = 0; i < 256 && !r.socket.destroyed; i++) {
      if (!r.socket.write(filler)) await Promise.race([once(r.socket, 'drain'), r.closed]);
    }
    await Promise.race([r.closed, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    expect(r.socket.destroyed || r.goawayCode() !== null).toBe(true);
    await stillServes();
  });

  it('streams reset mid-body are recorded as incomplete, and the same connection goes on serving', async () => {
    const before = sim.records({ protocol: 'http2', outcome: 'incomplete' }).length;
    const r = await raw();
    const frames: Buffer[] = [];
    for (let id = 1; id <= 19; id += 2) {
      frames.push(
        h2frame(FrameType.HEADERS, Flag.END_HEADERS, id, hpack(GOOD)),
        h2frame(FrameType.DATA, 0, id, Buffer.from(BODY.slice(0, 10))),
        rstStream(id),
      );
    }
    frames.push(
      h2frame(FrameType.HEADERS, Flag.END_HEADERS, 21, hpack(GOOD)),
      h2frame(FrameType.DATA, Flag.END_STREAM, 21, Buffer.from(BODY)),
    );
    r.write(Buffer.concat(frames));
    expect(await answerTo(r, 21)).toEqual({ rst: null, goaway: null, headers: true });
    expect(await eventually(() => sim.records({ protocol: 'http2', outcome: 'incomplete' }).length === before + 10)).toBe(true);
    const incomplete = sim.records({ protocol: 'http2', outcome: 'incomplete' }).slice(before);
    for (const record of incomplete) expect(record.reason).toBe('the stream closed before the request ended (10 body byte(s) received)');
    expect(sim.records({ protocol: 'http2', outcome: 'accepted' }).at(-1)?.http2?.streamId).toBe(21);
  });

  it('rapid resets: 5,000 streams opened and reset at once on one connection; the server answers another connection meanwhile and stays whole', async () => {
    const r = await raw();
    const open = hpack(GOOD);
    const burst: Buffer[] = [];
    for (let i = 0; i < 5000; i++) {
      const id = 1 + 2 * i;
      burst.push(h2frame(FrameType.HEADERS, Flag.END_HEADERS, id, open), rstStream(id));
    }
    const good = await session();
    r.write(Buffer.concat(burst));
    const statuses = await Promise.all(Array.from({ length: 5 }, () => post(good)));
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    await Promise.race([r.closed, new Promise((resolve) => setTimeout(resolve, 3000))]);
    // node either serves every reset stream (each recorded as incomplete) or ends the connection with a GOAWAY.
    const served = r.frames.filter((f) => f.type === FrameType.RST_STREAM || f.type === FrameType.HEADERS).length;
    process.stdout.write(
      `rapid reset: GOAWAY code ${r.goawayCode()}, ${served} stream frames back, ${sim.records({ protocol: 'http2', outcome: 'incomplete' }).length} incomplete records\n`,
    );
    r.socket.destroy();
    good.close();
    await stillServes();
  });

  it('afterwards: no connection left, no fault escaped', async () => {
    for (const r of raws) r.socket.destroy();
    for (const s of open) s.destroy();
    expect(await eventually(() => sim.http2!.connections().length === 0)).toBe(true);
    expect(watch.errors).toEqual([]);
  });
});
