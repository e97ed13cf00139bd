import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BinaryClient, type BinaryClientOptions } from '../../client/index.js';
import { encodeNotification } from '../../protocol/binary/index.js';
import { FRAME_SIZE, notification } from './frames.js';
import { cpuMs, row, trace, type Bench } from './types.js';

const ROUNDS = 3;
/** About a second each on two busy cores: node-apn sends a few thousand a second, BinaryClient tens of thousands. */
const COUNTS = { apn: 4000, fast: 6000, client: 30_000 };
const TARGET = 20;

interface Credentials {
  host: string;
  port: number;
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

interface Serve {
  child: ChildProcess;
  credentials: Credentials;
  /** Notifications the simulator has accepted so far, from its control API. */
  accepted(): Promise<number>;
}

/** The parts of node-apn 1.x this bench uses (it ships no types). */
interface ApnConnection {
  pushNotification(notification: object, recipient: string): void;
  shutdown(): void;
  sockets: { destroy(): void }[];
  on(event: string, listener: (...args: unknown[]) => void): void;
}
interface Apn {
  Connection: new (options: Record<string, unknown>) => ApnConnection;
  Notification: new (payload?: Record<string, unknown>) => { expiry: number };
}

/** The simulator in its own process, as a user runs it: `apns-mock serve` on free ports. */
async function startServe(state: string): Promise<Serve> {
  const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', '--feedback-port', '0', '--http2-port', '0', '--control-port', '0', '--state', state, '--json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const facts = await new Promise<Record<string, string | number>>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
    });
    child.once('close', (code) => reject(new Error(`apns-mock serve exited with ${code}`)));
  });
  const [cert, key, ca] = await Promise.all([facts.cert, facts.key, facts.ca].map((p) => readFile(String(p))));
  const stats = `http://127.0.0.1:${facts.control}/stats`;
  return {
    child,
    credentials: { host: '127.0.0.1', port: Number(facts.gateway), cert, key, ca },
    accepted: async () => ((await (await fetch(stats)).json()) as { records: { accepted: number } }).records.accepted,
  };
}

/**
 * node-apn 1.7.8 as our interop suite runs it: it sends from its own queue and says when it
 * wrote, never when the gateway took a notification, so the run ends when the simulator has
 * accepted them all.
 */
async function nodeApn(serve: Serve, count: number, options: Record<string, unknown> = {}): Promise<number> {
  const apn = createRequire(import.meta.url)('apn') as Apn;
  const c = serve.credentials;
  const connection = new apn.Connection({ cert: c.cert, key: c.key, ca: c.ca, gateway: c.host, port: c.port, connectionTimeout: 10_000, ...options });
  const failures: unknown[] = [];
  connection.on('transmissionError', (code) => failures.push(code));
  connection.on('error', (error) => failures.push(error));
  const before = await serve.accepted();
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const n = notification(i);
    // The same frame as BinaryClient sends: this payload, the expiry, priority 10 left out.
    const note = new apn.Notification(JSON.parse(n.payload as string) as Record<string, unknown>);
    note.expiry = n.expiry!;
    connection.pushNotification(note, (n.token as Buffer).toString('hex'));
  }
  while ((await serve.accepted()) < before + count) {
    if (failures.length > 0) throw new Error(`node-apn failed: ${String(failures[0])}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const seconds = (performance.now() - started) / 1000;
  trace(`node-apn${options.fastMode ? ' fastMode' : ''}, ${count} notifications`, seconds * 1000, { sender: cpuMs(cpu) });
  connection.shutdown();
  for (const socket of connection.sockets) socket.destroy();
  return count / seconds;
}

/** The client as a memory-bounded sender uses it: await enqueue() per notification, then flush(). */
async function client(serve: Serve, count: number, options: Partial<BinaryClientOptions> = {}): Promise<{ rate: number; connections: number }> {
  const sender = new BinaryClient({ ...serve.credentials, ...options });
  const started = performance.now();
  const cpu = process.cpuUsage();
  let accepted = 0;
  for (let i = 0; i < count; i++) {
    const { outcome } = await sender.enqueue(notification(i));
    void outcome.then((o) => {
      if (o.status === 'accepted') accepted++;
    });
  }
  await sender.flush();
  const seconds = (performance.now() - started) / 1000;
  trace(`BinaryClient${options.bufferSize ? ` bufferSize ${options.bufferSize}` : ''}, ${count} notifications`, seconds * 1000, { sender: cpuMs(cpu) });
  const { connections } = sender.stats();
  await sender.close();
  if (accepted !== count) throw new Error(`only ${accepted} of ${count} notifications were accepted`);
  return { rate: count / seconds, connections };
}

export const clientBench: Bench = {
  name: 'client',
  describe: `BinaryClient against node-apn 1.7.8, each sending ${FRAME_SIZE}-byte command-2 frames to the same apns-mock serve (another process) until the simulator has accepted them all`,
  async run() {
    const size = encodeNotification({ ...notification(0), identifier: 1 }, 2).length;
    if (size !== FRAME_SIZE) throw new Error(`bench frame is ${size} bytes, not ${FRAME_SIZE}`);
    const state = await mkdtemp(join(tmpdir(), 'apns-mock-bench-'));
    const serve = await startServe(state);
    try {
      // One short run each first, so the timed ones run compiled code.
      await nodeApn(serve, 500);
      await nodeApn(serve, 500, { fastMode: true });
      await client(serve, 5000);
      const best = { apn: 0, fast: 0, client: 0, oneConnection: 0 };
      let connections = { client: 0, oneConnection: 0 };
      // Interleaved rounds, the best of each, so drift in the machine's speed hits them alike.
      for (let round = 0; round < ROUNDS; round++) {
        best.apn = Math.max(best.apn, await nodeApn(serve, COUNTS.apn));
        best.fast = Math.max(best.fast, await nodeApn(serve, COUNTS.fast, { fastMode: true }));
        const bounded = await client(serve, COUNTS.client);
        const one = await client(serve, COUNTS.client, { bufferSize: COUNTS.client, idleFlushMs: false });
        best.client = Math.max(best.client, bounded.rate);
        best.oneConnection = Math.max(best.oneConnection, one.rate);
        connections = { client: bounded.connections, oneConnection: one.connections };
      }
      return [
        row('node-apn 1.7.8, its defaults (one write a turn)', best.apn, 'notifications/s', null),
        row('node-apn 1.7.8, fastMode', best.fast, 'notifications/s', null),
        row(`BinaryClient, defaults (bufferSize 1000: a proof every 1000, ${connections.client} connections) vs node-apn defaults`, best.client, 'notifications/s', best.apn, TARGET),
        row(`BinaryClient, defaults vs node-apn fastMode`, best.client, 'notifications/s', best.fast),
        row(`BinaryClient, bufferSize ${COUNTS.client.toLocaleString('en-US')} (${connections.oneConnection} connection) vs node-apn defaults`, best.oneConnection, 'notifications/s', best.apn),
      ];
    } finally {
      serve.child.kill('SIGTERM');
      await once(serve.child, 'close');
      await rm(state, { recursive: true, force: true });
    }
  },
};
