// What a big store and careless clients cost the control API: a list is streamed in chunks as
// the client takes them, so neither the event loop nor memory depends on how much is kept;
// a wait whose client went away is gone at once, and waits are capped.
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameDecoder, encodeNotification, type DecodedFrame } from '../../protocol/binary/index.js';
import { startSimulator, type RecordInput, type Simulator } from '../../server/index.js';

const RECORDS = 100_000;
const PAYLOAD_BYTES = 2048;
/**
 * Generous for a shared 2-core machine (measured 40-150 ms while other suites ran); building
 * the answer in one piece held the loop 15-18 s.
 */
const STALL_BOUND_MS = 500;

let sim: Simulator;
let port: number;

/** A binary frame with a 2 KB payload, as the gateway records it (token and payload are views into it). */
function largeInput(i: number): RecordInput {
  const filler = 'x'.repeat(PAYLOAD_BYTES - 40);
  const bytes = encodeNotification(
    { token: Buffer.alloc(32, i & 0xff), payload: `{"aps":{"alert":"n${String(i).padStart(6, '0')}"},"f":"${filler}"}`, identifier: i },
    2,
  );
  const frame = FrameDecoder.decodeAll(bytes).events[0] as DecodedFrame;
  const connection = { id: 1, protocol: 'binary' as const, peer: '127.0.0.1:1', topic: 'com.example.app', environment: 'development' };
  return { connection, command: 2, identifier: i, bytes, token: frame.token, payload: frame.payload, outcome: 'accepted' };
}

/** The longest the event loop was held while `work` ran, probed every 5 ms. */
async function longestStall<T>(work: () => Promise<T>): Promise<{ result: T; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last - 5);
    last = now;
  }, 5);
  try {
    const result = await work();
    return { result, stallMs };
  } finally {
    clearInterval(probe);
  }
}

/** GET `path`, counting bytes and lines without keeping the body. */
function download(
  path: string,
): Promise<{ status: number; headers: IncomingMessage['headers']; bytes: number; lines: number; tail: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      let bytes = 0;
      let lines = 0;
      let tail = '';
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
        tail = (tail + chunk.subarray(-64).toString('latin1')).slice(-64);
      });
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, bytes, lines, tail }));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens GET `path` and never reads the answer. */
function stalledClient(path: string): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      response.pause();
      resolve(req);
    });
    req.on('error', reject);
    req.end();
  });
}

const stats = async () => (await (await fetch(`${sim.controlUrl}/stats`)).json()) as { openWaits: number };

beforeAll(async () => {
  sim = await startSimulator({ http2Port: false, maxRecords: RECORDS });
  port = sim.ports.control!;
  for (let i = 1; i <= RECORDS; i++) sim.recorder.push(largeInput(i));
}, 120_000);
afterAll(async () => {
  await sim?.close();
});

describe(`GET /records and /records.jsonl with ${RECORDS} records of 2 KB`, () => {
  it('/records.jsonl streams every record with the event loop never held long, in bounded memory', async () => {
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
    const started = performance.now();
    const { result, stallMs } = await longestStall(() => download('/records.jsonl'));
    clearInterval(sampler);
    const seconds = (performance.now() - started) / 1000;
    const growthMb = (rssPeak - rssBefore) / 2 ** 20;
    console.log(
      `GET /records.jsonl: ${RECORDS} records, ${(result.bytes / 2 ** 20).toFixed(0)} MB in ${seconds.toFixed(1)} s; ` +
        `longest stall ${stallMs.toFixed(0)} ms; RSS +${growthMb.toFixed(0)} MB`,
    );
    expect(result.status).toBe(200);
    expect(result.lines).toBe(RECORDS);
    expect(result.tail).toMatch(/"http2":null}\n$/);
    expect(stallMs).toBeLessThan(STALL_BOUND_MS);
    // The answer is far larger than this; what grows is the client's side and the garbage collector's slack.
    expect(growthMb).toBeLessThan(result.bytes / 2 ** 20 / 4);
  }, 180_000);

  it('/records pages through all of them, 10,000 at a time, each page a JSON array with the next cursor', async () => {
    let since = 0;
    let total = 0;
    let pages = 0;
    let longest = 0;
    for (;;) {
      const { result, stallMs } = await longestStall(() => download(`/records?limit=10000&since=${since}`));
      longest = Math.max(longest, stallMs);
      expect(result.status).toBe(200);
      expect(result.tail.endsWith('}\n]\n')).toBe(true);
      // One record a line, between a line with "[" and one with "]".
      total += result.lines - 2;
      pages++;
      const next = result.headers['x-next-since'];
      if (next === undefined) break;
      since = Number(next);
    }
    console.log(`GET /records: ${pages} pages of at most 10,000; longest stall ${longest.toFixed(0)} ms`);
    expect(total).toBe(RECORDS);
    expect(pages).toBe(10);
    expect(longest).toBeLessThan(STALL_BOUND_MS);
  }, 180_000);

  it('20 clients that never read cost the server a few MB, not the answer: each waits for its socket to drain', async () => {
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const clients = await Promise.all(
      Array.from({ length: 20 }, (_, i) => stalledClient(i % 2 === 0 ? '/records.jsonl' : '/records?limit=10000')),
    );
    // Time for any server that ignores backpressure to pile up what it would write.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const growthMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    console.log(`20 clients that never read: RSS +${growthMb.toFixed(0)} MB`);
    // Each answer is 80-800 MB; buffered whole, 20 of them would be gigabytes.
    expect(growthMb).toBeLessThan(150);
    // The API still answers, at once.
    const { result: health, stallMs } = await longestStall(() => download('/health'));
    expect(health.status).toBe(200);
    expect(stallMs).toBeLessThan(STALL_BOUND_MS);
    for (const client of clients) client.destroy();
  }, 60_000);
});

describe('GET /records/wait', () => {
  it(`a wait looks through the ${RECORDS} kept records a stretch at a time, the event loop free between`, async () => {
    const { result, stallMs } = await longestStall(() => download(`/records/wait?identifier=${RECORDS}&timeout=30s`));
    console.log(`GET /records/wait over ${RECORDS} kept records: longest stall ${stallMs.toFixed(0)} ms`);
    expect(result.status).toBe(200);
    expect(stallMs).toBeLessThan(STALL_BOUND_MS);
  }, 60_000);

  it('1000 waits whose clients went away are gone right after; above 1000 open a wait is 503', async () => {
    // No record has this identifier: the waits stay open. `since` spares each a look through the 100k kept.
    const path = `/records/wait?identifier=4000000000&since=${sim.recorder.lastSeq}&timeout=10m`;
    const waits: ClientRequest[] = [];
    for (let i = 0; i < 1000; i++) {
      const req = request({ host: '127.0.0.1', port, path, agent: false });
      req.on('error', () => {});
      req.end();
      waits.push(req);
    }
    await expect.poll(async () => (await stats()).openWaits, { timeout: 20_000 }).toBe(1000);
    const refused = await fetch(`${sim.controlUrl}${path}`);
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({
      code: 'ERR_APNS_CONTROL_TOO_MANY_WAITS',
      error: expect.stringMatching(/1000 waits are open/),
    });

    const closedAt = performance.now();
    for (const req of waits) req.destroy();
    await expect.poll(async () => (await stats()).openWaits, { timeout: 5_000, interval: 10 }).toBe(0);
    console.log(`1000 waits dropped ${(performance.now() - closedAt).toFixed(0)} ms after their clients closed`);
    // And a wait works again.
    const ok = await fetch(`${sim.controlUrl}/records/wait?count=1&timeout=1s`);
    expect(ok.status).toBe(200);
  }, 60_000);
});
