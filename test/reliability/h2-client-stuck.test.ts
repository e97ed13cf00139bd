import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Http2Client } from '../../client/http2/index.js';
import { createCertificateAuthority, createProviderCertificate, createServerCertificate } from '../../server/certs/index.js';
import { Flag, FrameType, PREFACE, h2frame } from './h2-frames.js';
import { eventually } from './support.js';

// Issue 12, row 3, the client's side: a server whose frame the client cannot parse gets GOAWAY from
// the client, and node then stops reading that session and tells nobody. Http2Client must close it.

interface BadServer {
  server: Server;
  port: number;
  /** Per connection: the frame types the client sent, and whether the client closed it. */
  connections: { types: number[]; closed: boolean }[];
}

let bad: BadServer;
let tls: { ca: string; cert: string; key: string };

beforeAll(async () => {
  const ca = await createCertificateAuthority({ keyType: 'ec' });
  const serverPair = await createServerCertificate(ca);
  const client = await createProviderCertificate(ca, { topic: 'com.example.app', keyType: 'ec' });
  tls = { ca: ca.cert, cert: client.cert, key: client.key };
  const connections: BadServer['connections'] = [];
  // Speaks just enough HTTP/2: SETTINGS, then answers the first request with a header block HPACK cannot decode.
  const server = createServer({ key: serverPair.key, cert: serverPair.cert, ALPNProtocols: ['h2'] }, (socket: TLSSocket) => {
    const seen = { types: [] as number[], closed: false };
    connections.push(seen);
    socket.on('error', () => undefined);
    socket.on('close', () => (seen.closed = true));
    socket.write(h2frame(FrameType.SETTINGS, 0, 0));
    let buffered = Buffer.alloc(0);
    let prefaceSeen = false;
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!prefaceSeen) {
        if (buffered.length < PREFACE.length) return;
        buffered = buffered.subarray(PREFACE.length);
        prefaceSeen = true;
      }
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) break;
        const type = buffered[3];
        const flags = buffered[4];
        const streamId = buffered.readUInt32BE(5) & 0x7fffffff;
        buffered = buffered.subarray(9 + length);
        seen.types.push(type);
        if (type === FrameType.SETTINGS && (flags & Flag.ACK) === 0) socket.write(h2frame(FrameType.SETTINGS, Flag.ACK, 0));
        // 0x80: an indexed field with index 0, which RFC 7541 forbids.
        if (type === FrameType.HEADERS)
          socket.write(h2frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, streamId, Buffer.of(0x80)));
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  bad = { server, port: (server.address() as AddressInfo).port, connections };
});
afterAll(() => {
  bad?.server.close();
});

describe('Http2Client and a session node gave up after its own GOAWAY', () => {
  it('the request fails within a few seconds instead of waiting out its timeout, and the connection is closed', async () => {
    const client = new Http2Client({
      host: '127.0.0.1',
      port: bad.port,
      ...tls,
      servername: 'localhost',
      retry: { maxAttempts: 1 },
      requestTimeoutMs: 60_000,
    });
    const closed: unknown[] = [];
    client.on('closed', (event) => closed.push(event));
    client.on('error', () => undefined);
    const started = Date.now();
    const outcome = await client.send({ token: 'aa'.repeat(32), payload: { aps: { alert: 'hi' } } });
    const tookMs = Date.now() - started;
    process.stdout.write(`client: a stuck session failed its request after ${tookMs} ms\n`);
    expect(outcome.status).toBe('failed');
    expect(tookMs).toBeLessThan(10_000);
    if (outcome.status === 'failed') expect(outcome.error.message).toMatch(/stopped after a protocol error/);
    expect(await eventually(() => closed.length === 1 && bad.connections[0].closed, 2000)).toBe(true);
    // The client did send its GOAWAY before giving up on the session.
    expect(bad.connections[0].types).toContain(FrameType.GOAWAY);
    client.destroy();
  }, 20_000);
});
