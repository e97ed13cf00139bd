import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BinaryClient, type BinaryClientOptions, type SendOutcome } from '../../client/index.js';
import { encodeNotification } from '../../protocol/binary/index.js';
import { FRAME_SIZE, notification, notificationOfObject } from './frames.js';
import { rawSend } from './raw-sender.js';
import { cpuMs, row, trace, type Bench } from './types.js';

const ROUNDS = 3;
/** Under a second each on two busy cores: node-apn sends a few thousand a second, the others hundreds of thousands. */
const COUNTS = { apn: 4000, fast: 6000, client: 100_000 };
const TARGETS = { apn: 20, raw: 0.5, many: 0.8 };
/** sendMany's row: a sender with many notifications at once holds more of them, so it proves (and reconnects) every 10,000. */
const MANY_BUFFER = 10_000;

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
  const cli = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [cli, 'serve', '--port', '0', '--feedback-port', '0', '--http2-port', '0', '--control-port', '0', '--state', state, '--json'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const facts = await new Promise<Record<string, string | number>>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
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
  const connection = new apn.Connection({
    cert: c.cert,
    key: c.key,
    ca: c.ca,
    gateway: c.host,
    port: c.port,
    connectionTimeout: 10_000,
    ...options,
  });
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

/** Runs `send`, then checks with the simulator that every one of `count` notifications was accepted. */
async function timed(serve: Serve, what: string, count: number, send: () => Promise<number | void>): Promise<number> {
  const before = await serve.accepted();
  const started = performance.now();
  const cpu = process.cpuUsage();
  const accepted = await send();
  const seconds = (performance.now() - started) / 1000;
  trace(`${what}, ${count} notifications`, seconds * 1000, { sender: cpuMs(cpu) });
  if (accepted !== undefined && accepted !== count) throw new Error(`${what}: only ${accepted} of ${count} outcomes were accepted`);
  const taken = (await serve.accepted()) - before;
  if (taken !== count) throw new Error(`${what}: the simulator accepted ${taken} of ${count}`);
  return count / seconds;
}

/** The least a sender must do (raw-sender.ts), in this process as BinaryClient is. */
function raw(serve: Serve, count: number): Promise<number> {
  return timed(serve, 'raw sender', count, () => rawSend(serve.credentials, count, notificationOfObject));
}

/** The client as the README shows a memory-bounded sender: await enqueue() per notification, then flush(). */
function client(serve: Serve, count: number, options: Partial<BinaryClientOptions> = {}): Promise<number> {
  return timed(serve, `BinaryClient${options.bufferSize ? ` bufferSize ${options.bufferSize}` : ''}`, count, async () => {
    const sender = new BinaryClient({ ...serve.credentials, ...options });
    let accepted = 0;
    const count1 = (o: SendOutcome) => void (o.status === 'accepted' && accepted++);
    for (let i = 0; i < count; i++) {
      const { outcome } = await sender.enqueue(notificationOfObject(i));
      void outcome.then(count1);
    }
    await sender.close();
    return accepted;
  });
}

/** sendMany() over a generator: the notifications are made as the client has room for them. */
function many(serve: Serve, count: number, options: Partial<BinaryClientOptions> = {}): Promise<number> {
  return timed(serve, `BinaryClient sendMany${options.bufferSize ? ` bufferSize ${options.bufferSize}` : ''}`, count, async () => {
    const sender = new BinaryClient({ ...serve.credentials, ...options });
    let accepted = 0;
    await sender.sendMany(generate(count), { onOutcome: (o) => void (o.status === 'accepted' && accepted++) });
    await sender.close();
    return accepted;
  });
}

function* generate(count: number): Generator<ReturnType<typeof notificationOfObject>> {
  for (let i = 0; i < count; i++) yield notificationOfObject(i);
}

export const clientBench: Bench = {
  name: 'client',
  describe: `BinaryClient against node-apn 1.7.8 and the least a sender must do, each sending ${FRAME_SIZE}-byte command-2 frames to the same apns-mock serve (another process) until the simulator has accepted them all`,
  async run() {
    const size = encodeNotification({ ...notification(0), identifier: 1 }, 2).length;
    if (size !== FRAME_SIZE) throw new Error(`bench frame is ${size} bytes, not ${FRAME_SIZE}`);
    const state = await mkdtemp(join(tmpdir(), 'apns-mock-bench-'));
    const serve = await startServe(state);
    try {
      // One short run each first, so the timed ones run compiled code.
      await nodeApn(serve, 500);
      await nodeApn(serve, 500, { fastMode: true });
      await raw(serve, 20_000);
      await client(serve, 20_000);
      await many(serve, 20_000, { bufferSize: MANY_BUFFER });
      const best = { apn: 0, fast: 0, raw: 0, client: 0, many: 0 };
      // Interleaved rounds, the best of each, so drift in the machine's speed hits them alike.
      for (let round = 0; round < ROUNDS; round++) {
        best.apn = Math.max(best.apn, await nodeApn(serve, COUNTS.apn));
        best.fast = Math.max(best.fast, await nodeApn(serve, COUNTS.fast, { fastMode: true }));
        best.raw = Math.max(best.raw, await raw(serve, COUNTS.client));
        best.client = Math.max(best.client, await client(serve, COUNTS.client));
        best.many = Math.max(best.many, await many(serve, COUNTS.client, { bufferSize: MANY_BUFFER }));
      }
      const buffer = MANY_BUFFER.toLocaleString('en-US');
      return [
        row('node-apn 1.7.8, its defaults (one write a turn)', best.apn, 'notifications/s', null),
        row('node-apn 1.7.8, fastMode', best.fast, 'notifications/s', null),
        row(
          'the least a sender must do: stringify + layout into 64 KB writes, one connection, one marker',
          best.raw,
          'notifications/s',
          null,
        ),
        row('BinaryClient, defaults, await enqueue() each, vs node-apn defaults', best.client, 'notifications/s', best.apn, TARGETS.apn),
        row('BinaryClient, defaults, await enqueue() each, vs node-apn fastMode', best.client, 'notifications/s', best.fast),
        row(
          'BinaryClient, defaults, await enqueue() each, vs the least a sender must do',
          best.client,
          'notifications/s',
          best.raw,
          TARGETS.raw,
        ),
        row(
          `BinaryClient sendMany(generator), bufferSize ${buffer}, vs the least a sender must do`,
          best.many,
          'notifications/s',
          best.raw,
          TARGETS.many,
        ),
      ];
    } finally {
      serve.child.kill('SIGTERM');
      await once(serve.child, 'close');
      await rm(state, { recursive: true, force: true });
    }
  },
};
