// A fresh process for the memory rows, started with --expose-gc: the figures are deltas of
// its own memory, with nothing else of the bench's in it.
import { FrameDecoder, type DecodeEvent, type DecodedFrame } from '../../protocol/binary/index.js';
import { createServer, type Server } from 'node:tls';
import { Recorder, loadOrCreateState, startSimulator, tlsServerOptions, type ConnectionInfo, type Simulator } from '../../server/index.js';
import { FRAME_SIZE, frameBlock } from './frames.js';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serveHelper } from './processes.js';

export type MemoryRequest =
  { kind: 'start' } | { kind: 'start-bare' } | { kind: 'measure' } | { kind: 'records'; count: number; via: 'frames' | 'inputs' };

export interface Memory {
  rss: number;
  heapAndExternal: number;
  /** Binary connections the gateway (or the bare server) holds. */
  open: number;
}

export interface Started {
  port: number;
  cert: string;
  key: string;
  ca: string;
}

/** A typical TLS record's worth of plaintext: frames fall across the chunks' ends, as on a socket. */
const CHUNK = 16 * 1024;

let sim: Simulator | null = null;
/** The baseline: a TLS server with the gateway's settings (client certificates required) that holds connections and does nothing else. */
let bare: { server: Server; open: number } | null = null;

function settle(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('the memory helper needs --expose-gc');
  for (let i = 0; i < 3; i++) gc();
}

function measure(): Memory {
  settle();
  const m = process.memoryUsage();
  return { rss: m.rss, heapAndExternal: m.heapUsed + m.external, open: bare?.open ?? sim?.gateway.stats.open ?? 0 };
}

/**
 * Records `count` notifications as the gateway does ('frames': chunks adopted, frames
 * pushed without views) or as the HTTP/2 API does ('inputs': a RecordInput with views);
 * returns the memory they hold, in bytes, and how long it took.
 */
function records(count: number, via: 'frames' | 'inputs'): { bytes: number; ms: number } {
  const connection: ConnectionInfo = {
    id: 1,
    protocol: 'binary',
    peer: '127.0.0.1:50000',
    topic: 'com.example.bench',
    environment: 'development',
  };
  const block = frameBlock();
  const chunks: Buffer[] = [];
  for (let at = 0; at < block.length; at += CHUNK) chunks.push(block.subarray(at, at + CHUNK));
  const before = measure().heapAndExternal;
  const started = performance.now();
  const recorder = new Recorder({ maxRecords: count });
  const decoder = new FrameDecoder();
  const sink =
    via === 'frames'
      ? (event: DecodeEvent) => {
          const frame = event as DecodedFrame;
          recorder.pushFrame({ connection, frame, identifier: frame.identifier, expiry: frame.expiry, outcome: 'accepted' });
        }
      : (event: DecodeEvent) => {
          const frame = event as DecodedFrame;
          recorder.push({
            connection,
            command: 2,
            identifier: frame.identifier,
            expiry: frame.expiry,
            priority: frame.priority,
            bytes: frame.bytes,
            token: frame.token,
            payload: frame.payload,
            outcome: 'accepted',
          });
        };
  while (recorder.size < count) {
    for (const chunk of chunks) decoder.push(via === 'frames' ? recorder.adopt(chunk) : chunk, sink);
  }
  const ms = performance.now() - started;
  const after = measure().heapAndExternal;
  if (recorder.stats().total < count || recorder.find({ since: recorder.lastSeq - 1 })[0].bytes.length !== FRAME_SIZE)
    throw new Error('the records are not what was sent');
  return { bytes: after - before, ms };
}

serveHelper<MemoryRequest>(async (request) => {
  switch (request.kind) {
    case 'start': {
      sim = await startSimulator({ controlPort: false, http2Port: false });
      const { cert, key, ca } = sim.credentials;
      return { port: sim.ports.gateway, cert, key, ca } satisfies Started;
    }
    case 'start-bare': {
      // The same process as the gateway's (a simulator in it, idle), plus the bare server the connections go to.
      sim = await startSimulator({ controlPort: false, http2Port: false });
      const state = await loadOrCreateState(sim.state);
      const server = createServer(
        tlsServerOptions({ tls: { key: state.server.key, cert: state.server.cert, ca: state.ca.cert } }),
        (socket) => {
          bare!.open++;
          socket.on('error', () => undefined);
          socket.on('close', () => bare!.open--);
        },
      );
      bare = { server, open: 0 };
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { cert, key, ca } = sim.credentials;
      return { port: (server.address() as AddressInfo).port, cert, key, ca } satisfies Started;
    }
    case 'measure':
      return measure();
    case 'records':
      return records(request.count, request.via);
  }
});
