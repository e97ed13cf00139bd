import { once } from 'node:events';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { signProviderToken } from '../../protocol/http2/index.js';
import { loadOrCreateState, startSimulator } from '../../server/index.js';
import { notification } from './frames.js';
import type { LoadJob, LoadResult } from './http2-load.js';
import { Helper } from './processes.js';
import { cpuMs, row, trace, type Bench } from './types.js';

const ROUNDS = 4;
const RUN_MS = 1200;
const TARGET = 0.9;
const SESSIONS = 2;
const CONCURRENCY = 50;
const TOPIC = 'com.example.app';

/** The floor for any HTTP/2 API: node:http2 over the same TLS, taking each request's body and answering 200. */
async function bareServer(tls: {
  key: string;
  cert: string;
}): Promise<{ server: Http2SecureServer; port: number; requests: () => number }> {
  let requests = 0;
  const server = createSecureServer({ ...tls, settings: { maxConcurrentStreams: 1000 } }, undefined);
  server.on('stream', (stream) => {
    stream.on('data', () => undefined);
    stream.on('end', () => {
      requests++;
      stream.respond({ ':status': 200 }, { endStream: true });
    });
    stream.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, requests: () => requests };
}

export const http2Bench: Bench = {
  name: 'http2',
  describe: `HTTP/2 requests (provider token, ${SESSIONS} connections x ${CONCURRENCY} streams) from a load generator in another process: the simulator's HTTP/2 API (every check, the JWT, a record each) against a bare node:http2 server answering 200`,
  async run() {
    const sim = await startSimulator({ controlPort: false });
    const load = new Helper('./http2-load.js');
    const certs = await loadOrCreateState(sim.state);
    const bare = await bareServer({ key: certs.server.key, cert: certs.server.cert });
    try {
      const key = await sim.createSigningKey('TEAM000001', 'KEY0000001');
      const authorization = `bearer ${await signProviderToken({ teamId: key.teamId, keyId: key.keyId, privateKey: key.privateKey })}`;
      const base = {
        ca: sim.credentials.ca,
        authorization,
        topic: TOPIC,
        body: notification(0).payload as string,
        sessions: SESSIONS,
        concurrency: CONCURRENCY,
      };
      const measure = async (port: number, taken: () => number, requests: number): Promise<number> => {
        const before = taken();
        const cpu = process.cpuUsage();
        const result = await load.ask<LoadResult>({ ...base, port, requests } satisfies LoadJob);
        trace(`${port === bare.port ? 'bare node:http2' : 'simulator'}, ${requests} requests`, result.ms, {
          generator: result.cpuMs,
          server: cpuMs(cpu),
        });
        if (result.failures > 0) throw new Error(`${result.failures} of ${requests} requests were not answered 200`);
        // The first request of each connection authenticates it, before the clock starts.
        if (taken() - before !== requests + SESSIONS)
          throw new Error(`the server took ${taken() - before} of ${requests + SESSIONS} requests`);
        return (requests / result.ms) * 1000;
      };
      const simTaken = () => sim.recorder.stats().accepted;
      const sized = (rate: number) => Math.max(5000, Math.round((rate * RUN_MS) / 1000));
      const counts = {
        bare: sized(await measure(bare.port, bare.requests, 5000)),
        sim: sized(await measure(sim.ports.http2!, simTaken, 5000)),
      };
      const best = { bare: 0, sim: 0 };
      for (let round = 0; round < ROUNDS; round++) {
        best.bare = Math.max(best.bare, await measure(bare.port, bare.requests, counts.bare));
        best.sim = Math.max(best.sim, await measure(sim.ports.http2!, simTaken, counts.sim));
      }
      return [
        row('bare node:http2 server, 200 to each request', best.bare, 'requests/s', null),
        row('simulator HTTP/2 API, provider token, every check, recorded', best.sim, 'requests/s', best.bare, TARGET),
      ];
    } finally {
      await load.close();
      await new Promise<void>((resolve) => bare.server.close(() => resolve()));
      await sim.close();
    }
  },
};
