import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { connect as connectHttp2 } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../server/index.js';
import { Flag, FrameType, h2frame, openRawH2 } from './h2-frames.js';
import { eventually, watchProcess } from './support.js';

// Issue 12, row 3: connections that each sent one bad frame stayed in CLOSE-WAIT for good, until the fd limit.

const CONNECTIONS = 2000;
const CONCURRENCY = 40;
const FLOOD_BUDGET_MS = 90_000;
const TOKEN = 'aa'.repeat(32);

let sim: Simulator;
let watch: ReturnType<typeof watchProcess>;

beforeAll(async () => {
  sim = await startSimulator({ controlPort: false, http2Port: 0, maxRecords: 1000 });
  watch = watchProcess();
});
afterAll(async () => {
  watch?.stop();
  await sim?.close();
});

/** Open descriptors of this process: the simulator runs in it. */
const openFds = () => readdirSync('/proc/self/fd').length;

async function served(): Promise<number> {
  const s = connectHttp2(sim.http2Url!, {
    ca: sim.credentials.ca,
    cert: sim.credentials.cert,
    key: sim.credentials.key,
    servername: 'localhost',
  });
  s.on('error', () => undefined);
  try {
    const stream = s.request({ ':method': 'POST', ':path': `/3/device/${TOKEN}`, 'apns-topic': 'com.example.app' });
    stream.on('error', () => undefined);
    stream.end(JSON.stringify({ aps: { alert: 'after the flood' } }));
    const [headers] = (await once(stream, 'response')) as [Record<string, unknown>];
    stream.resume();
    return headers[':status'] as number;
  } finally {
    s.close();
    await once(s, 'close');
  }
}

/** One connection: TLS with ALPN h2, the preface, then a header block HPACK cannot decode; closed once GOAWAY came. */
async function badFrame(): Promise<boolean> {
  const r = await openRawH2(sim.ports.http2!, sim.credentials);
  r.write(h2frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, Buffer.of(0x80)));
  const goaway = await eventually(() => r.goawayCode() !== null || r.socket.destroyed, 5000);
  r.socket.destroy();
  return goaway && r.goawayCode() !== null;
}

describe('HTTP/2: a flood of connections that each send one bad frame', () => {
  it(
    `${CONNECTIONS} connections: each gets GOAWAY, the descriptors come back to where they were, and a normal client is served`,
    async () => {
      expect(await served()).toBe(200);
      await eventually(() => sim.http2!.connections().length === 0);
      const baseline = openFds();
      const started = Date.now();
      let opened = 0;
      let goaways = 0;
      let peak = baseline;
      const worker = async () => {
        while (opened < CONNECTIONS && Date.now() - started < FLOOD_BUDGET_MS) {
          opened++;
          if (await badFrame()) goaways++;
          if (opened % 100 === 0) peak = Math.max(peak, openFds());
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      const floodMs = Date.now() - started;
      peak = Math.max(peak, openFds());
      const afterFlood = Date.now();
      const back = await eventually(() => openFds() <= baseline && sim.http2!.connections().length === 0, 10_000);
      const settleMs = Date.now() - afterFlood;
      process.stdout.write(
        `bad-frame flood: ${opened} connections in ${floodMs} ms, ${goaways} GOAWAY; fds ${baseline} before, ${peak} at the peak, ` +
          `${openFds()} ${settleMs} ms after (stuck sessions closed: ${sim.http2!.stats.stuckClosed})\n`,
      );
      expect(opened).toBeGreaterThanOrEqual(CONNECTIONS / 2);
      expect(goaways).toBe(opened);
      expect(back).toBe(true);
      expect(await served()).toBe(200);
      expect(watch.errors).toEqual([]);
    },
    FLOOD_BUDGET_MS + 30_000,
  );
});
