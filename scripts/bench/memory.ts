import { once } from 'node:events';
import { connect, type TLSSocket } from 'node:tls';
import { FRAME_SIZE, PAYLOAD_SIZE } from './frames.js';
import type { Memory, MemoryRequest, Started } from './memory-helper.js';
import { Helper } from './processes.js';
import { ceilingRow, marginRow, ratioCeilingRow, row, type Bench, type BenchRow } from './types.js';

const CONNECTIONS = 1000;
const RECORDS = 1_000_000;
const PER_CONNECTION_LIMIT = 64 * 1024;
const PER_CONNECTION_RATIO = 1.2;
const ROUNDS = 2;
const ABOVE_PAYLOAD_LIMIT = 300;
/** Handshakes in flight at once while the idle connections are opened. */
const OPENING = 50;

const helper = () => new Helper('./memory-helper.js', ['--expose-gc']);
const ask = <T>(h: Helper, request: MemoryRequest) => h.ask<T>(request);

async function openConnection(s: Started): Promise<TLSSocket> {
  const socket = connect({ host: '127.0.0.1', port: s.port, cert: s.cert, key: s.key, ca: s.ca });
  await once(socket, 'secureConnect');
  return socket;
}

async function openMany(s: Started, n: number): Promise<TLSSocket[]> {
  const sockets: TLSSocket[] = [];
  while (sockets.length < n)
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(OPENING, n - sockets.length) }, () => openConnection(s)))));
  return sockets;
}

/** Until the gateway holds `n` connections (its side of each handshake may finish after ours). */
async function held(h: Helper, n: number): Promise<Memory> {
  for (;;) {
    const m = await ask<Memory>(h, { kind: 'measure' });
    if (m.open === n) return m;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** RSS and heap + external per idle connection held by a fresh process started by `start`. */
async function perIdleConnection(start: 'start' | 'start-bare'): Promise<{ rss: number; heapAndExternal: number }> {
  const h = helper();
  const sockets: TLSSocket[] = [];
  try {
    const started = await ask<Started>(h, { kind: start });
    // A few connections first, so what the first ones set up once (code, caches) is in the baseline.
    for (const s of await openMany(started, 20)) s.destroy();
    const before = await held(h, 0);
    sockets.push(...(await openMany(started, CONNECTIONS)));
    const after = await held(h, CONNECTIONS);
    return { rss: (after.rss - before.rss) / CONNECTIONS, heapAndExternal: (after.heapAndExternal - before.heapAndExternal) / CONNECTIONS };
  } finally {
    for (const s of sockets) s.destroy();
    await h.close();
  }
}

async function idleConnections(): Promise<BenchRow[]> {
  const best = { bare: Infinity, bareHeap: Infinity, gateway: Infinity, gatewayHeap: Infinity };
  // Alternately, the least of each: RSS moves with what else the machine does.
  for (let round = 0; round < ROUNDS; round++) {
    const bare = await perIdleConnection('start-bare');
    best.bare = Math.min(best.bare, bare.rss);
    best.bareHeap = Math.min(best.bareHeap, bare.heapAndExternal);
    const gateway = await perIdleConnection('start');
    best.gateway = Math.min(best.gateway, gateway.rss);
    best.gatewayHeap = Math.min(best.gatewayHeap, gateway.heapAndExternal);
  }
  const n = CONNECTIONS.toLocaleString('en-US');
  return [
    row(`bare TLS server, client certificates, per idle connection (${n}, RSS)`, best.bare, 'bytes', null),
    row(`  of which JS heap + external`, best.bareHeap, 'bytes', null),
    ratioCeilingRow(
      `gateway process, per idle TLS connection (${n}, RSS) vs the bare server`,
      best.gateway,
      'bytes',
      best.bare,
      PER_CONNECTION_RATIO,
    ),
    ceilingRow(`  the same, in bytes`, best.gateway, 'bytes', PER_CONNECTION_LIMIT),
    row(`  of which JS heap + external`, best.gatewayHeap, 'bytes', best.bareHeap),
  ];
}

async function records(via: 'frames' | 'inputs'): Promise<{ perRecord: number; rate: number }> {
  const h = helper();
  try {
    const { bytes, ms } = await ask<{ bytes: number; ms: number }>(h, { kind: 'records', count: RECORDS, via });
    return { perRecord: bytes / RECORDS, rate: (RECORDS / ms) * 1000 };
  } finally {
    await h.close();
  }
}

export const memoryBench: Bench = {
  name: 'memory',
  describe: `the gateway process with ${CONNECTIONS.toLocaleString('en-US')} idle TLS connections (clients in another process); a Recorder holding ${RECORDS.toLocaleString('en-US')} records of ${FRAME_SIZE}-byte frames with ${PAYLOAD_SIZE}-byte payloads (heap + external)`,
  async run() {
    const rows = await idleConnections();
    const frames = await records('frames');
    const inputs = await records('inputs');
    rows.push(
      marginRow(
        `per recorded notification, as the gateway records (${FRAME_SIZE}-byte frame)`,
        frames.perRecord,
        'bytes',
        PAYLOAD_SIZE,
        ABOVE_PAYLOAD_LIMIT,
      ),
      marginRow(
        `per recorded notification, as a RecordInput with views (add(), push())`,
        inputs.perRecord,
        'bytes',
        PAYLOAD_SIZE,
        ABOVE_PAYLOAD_LIMIT,
      ),
      row(`  recording rate, frames (decode + record, no sockets)`, frames.rate, 'records/s', null),
    );
    return rows;
  },
};
