// A sender in its own process: the benches that measure a server start it with fork() and
// drive it over the IPC channel, so the server's process does nothing but serve.
import { once } from 'node:events';
import { connect, type TLSSocket } from 'node:tls';
import { BLOCK_FRAMES, FRAME_SIZE, MARKER, frameBlock } from './frames.js';
import { serveHelper } from './processes.js';

export interface SendJob {
  host: string;
  port: number;
  ca: string;
  cert: string;
  key: string;
  connections: number;
  /** Frames written on each connection, then the marker. */
  framesPerConnection: number;
}

export interface SendResult {
  /** From the first write to the last connection's reply to its marker. */
  ms: number;
  /** CPU time the sender used meanwhile. */
  cpuMs: number;
  replies: number;
}

const WRITE = 64_000;

async function open(job: SendJob): Promise<TLSSocket> {
  const socket = connect({ host: job.host, port: job.port, ca: job.ca, cert: job.cert, key: job.key });
  socket.setNoDelay(true);
  await once(socket, 'secureConnect');
  return socket;
}

/** Writes the frames in 64,000-byte pieces, waiting for 'drain' as any sender must; resolves at the reply. */
async function send(socket: TLSSocket, block: Buffer, frames: number): Promise<void> {
  const reply = new Promise<void>((resolve, reject) => {
    socket.once('data', () => resolve());
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('the server closed before it replied to the marker')));
  });
  let left = frames * FRAME_SIZE;
  while (left > 0) {
    const n = Math.min(left, WRITE);
    left -= n;
    if (!socket.write(n === block.length ? block : block.subarray(0, n))) await once(socket, 'drain');
  }
  socket.write(MARKER);
  await reply;
}

async function run(job: SendJob): Promise<SendResult> {
  const block = frameBlock();
  if (block.length !== WRITE || BLOCK_FRAMES * FRAME_SIZE !== WRITE) throw new Error('the frame block must be one write');
  const sockets = await Promise.all(Array.from({ length: job.connections }, () => open(job)));
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(sockets.map((s) => send(s, block, job.framesPerConnection)));
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  for (const s of sockets) s.destroy();
  return { ms, cpuMs: (used.user + used.system) / 1000, replies: sockets.length };
}

serveHelper(run);
