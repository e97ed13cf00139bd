import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:tls';
import { encodeErrorResponse } from '../../protocol/binary/index.js';
import { loadOrCreateState, startSimulator, tlsServerOptions, type Simulator } from '../../server/index.js';
import { FRAME_SIZE, MARKER } from './frames.js';
import { Helper } from './processes.js';
import type { SendJob, SendResult } from './sender.js';
import { cpuMs, row, trace, type Bench, type BenchRow } from './types.js';

const ROUNDS = 3;
/** Each measured run lasts about this long, whatever the speed of the machine. */
const RUN_MS = 1200;
const TARGET = 0.7;

/**
 * The floor for any binary gateway: a TLS server with the gateway's TLS settings that only
 * counts the bytes (so the frames) each connection brings, and answers the marker once
 * every byte arrived. What it costs is TLS, the sockets and Node's streams.
 */
class CountingServer {
  private readonly server: Server;
  expectedBytes = 0;
  frames = 0;

  constructor(tls: { key: string; cert: string; ca: string }) {
    this.server = createServer(tlsServerOptions({ tls }), (socket) => {
      socket.setNoDelay(true);
      let bytes = 0;
      socket.on('data', (chunk: Buffer) => {
        if (socket.writableEnded) return;
        bytes += chunk.length;
        if (bytes >= this.expectedBytes) {
          this.frames += Math.floor((bytes - MARKER.length) / FRAME_SIZE);
          socket.end(encodeErrorResponse(2, 0));
        }
      });
      socket.on('error', () => undefined);
    });
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

interface Target {
  name: string;
  port: number;
  /** Runs before each send: what the server must count. */
  prepare(job: SendJob): void;
  /** After the send: the frames the server took (for the gateway: accepted and recorded). */
  taken(): number;
}

async function measure(
  sender: Helper,
  base: Omit<SendJob, 'port' | 'connections' | 'framesPerConnection'>,
  target: Target,
  connections: number,
  frames: number,
): Promise<number> {
  const job: SendJob = { ...base, port: target.port, connections, framesPerConnection: Math.max(1, Math.round(frames / connections)) };
  target.prepare(job);
  const before = target.taken();
  const cpu = process.cpuUsage();
  const result = await sender.ask<SendResult>(job);
  trace(`${target.name}, ${connections} connection(s), ${frames} frames`, result.ms, { sender: result.cpuMs, server: cpuMs(cpu) });
  const sent = job.connections * job.framesPerConnection;
  const taken = target.taken() - before;
  if (taken !== sent) throw new Error(`the server took ${taken} of ${sent} frames`);
  return (sent / result.ms) * 1000;
}

/** Two short runs (the first so the second runs compiled code) to learn the rate, then the frame count that makes a run last RUN_MS. */
async function calibrate(run: (frames: number) => Promise<number>): Promise<number> {
  await run(50_000);
  const rate = await run(100_000);
  return Math.max(100_000, Math.round((rate * RUN_MS) / 1000));
}

export const ingestBench: Bench = {
  name: 'ingest',
  describe: `binary gateway: ${FRAME_SIZE}-byte command-2 frames from a sender in another process, accepted and recorded, against a TLS server that only counts them`,
  async run() {
    const sim: Simulator = await startSimulator({ controlPort: false, http2Port: false });
    const sender = new Helper('./sender.js');
    const certs = await loadOrCreateState(sim.state);
    const counting = new CountingServer({ key: certs.server.key, cert: certs.server.cert, ca: certs.ca.cert });
    try {
      const { cert, key, ca } = sim.credentials;
      const base = { host: '127.0.0.1', cert, key, ca };
      const raw: Target = {
        name: 'raw TLS',
        port: await counting.listen(),
        prepare: (job) => void (counting.expectedBytes = job.framesPerConnection * FRAME_SIZE + MARKER.length),
        taken: () => counting.frames,
      };
      const gateway: Target = {
        name: 'gateway',
        port: sim.ports.gateway,
        prepare: () => undefined,
        taken: () => sim.recorder.stats().accepted,
      };
      const rows: BenchRow[] = [];
      for (const connections of [1, 8]) {
        const rawFrames = await calibrate((n) => measure(sender, base, raw, connections, n));
        const gatewayFrames = await calibrate((n) => measure(sender, base, gateway, connections, n));
        const best = { raw: 0, gateway: 0 };
        // Interleaved, the best of each, so drift in the machine's speed hits both alike.
        for (let round = 0; round < ROUNDS; round++) {
          best.raw = Math.max(best.raw, await measure(sender, base, raw, connections, rawFrames));
          best.gateway = Math.max(best.gateway, await measure(sender, base, gateway, connections, gatewayFrames));
        }
        const what = connections === 1 ? '1 connection' : `${connections} connections`;
        rows.push(row(`raw TLS, counting only, ${what}`, best.raw, 'frames/s', null));
        rows.push(row(`gateway ingest (accepted + recorded), ${what}`, best.gateway, 'notifications/s', best.raw, TARGET));
      }
      return rows;
    } finally {
      await sender.close();
      await counting.close();
      await sim.close();
    }
  },
};
