import { once } from 'node:events';
import type { ClientHttp2Session } from 'node:http2';
import { connect as connectTls } from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SigningKey } from '../../../server/index.js';
import { sendFrames } from '../../support/provider-socket.js';
import { encodeNotification } from '../../../protocol/binary/index.js';
import { ALERT, TOKEN, bearer, close, open, send } from './support.js';

let sim: Simulator;
let key: SigningKey;
const sessions: ClientHttp2Session[] = [];

async function session(options: Parameters<typeof open>[1] = {}): Promise<ClientHttp2Session> {
  const s = await open(sim, options);
  sessions.push(s);
  return s;
}

/** The first GOAWAY: its error code, last stream id and JSON debug data. */
async function goawayOf(s: ClientHttp2Session): Promise<{ code: number; lastStreamId: number; data: unknown }> {
  const [code, lastStreamId, data] = (await once(s, 'goaway')) as [number, number, Buffer | undefined];
  return { code, lastStreamId, data: data === undefined || data.length === 0 ? null : JSON.parse(data.toString('utf8')) };
}

beforeAll(async () => {
  sim = await startSimulator({ http2: { lingerMs: 300 } });
  key = await sim.createSigningKey('TEAM000001', 'KEY0000001');
});
afterAll(async () => {
  for (const s of sessions) s.destroy();
  await sim.close();
});
beforeEach(() => {
  sim.rules.clear();
  sim.recorder.clear();
});

describe('TLS and ALPN', () => {
  it('negotiates h2 by ALPN', async () => {
    const s = await session({ cert: sim.credentials });
    expect(s.alpnProtocol).toBe('h2');
    expect((await send(s, { body: ALERT })).status).toBe(200);
    const [record] = await sim.waitFor({ protocol: 'http2' });
    expect(sim.http2!.connections().find((c) => c.id === record.connectionId)).toMatchObject({
      alpn: 'h2',
      auth: 'certificate',
      protocol: 'http2',
    });
  });

  it('serves a client that speaks HTTP/2 over TLS without ALPN, with a certificate or a provider token', async () => {
    const before = sim.http2!.stats.withoutAlpn;
    const withCert = await session({ cert: sim.credentials, alpn: false });
    expect((await send(withCert, { body: ALERT })).status).toBe(200);
    const withToken = await session({ alpn: false });
    expect(withToken.remoteSettings.maxConcurrentStreams).toBe(1);
    expect(
      (await send(withToken, { headers: { 'apns-topic': 'com.example.app', authorization: await bearer(key) }, body: ALERT })).status,
    ).toBe(200);
    expect(withToken.remoteSettings.maxConcurrentStreams).toBe(1000);
    expect(sim.http2!.stats.withoutAlpn).toBe(before + 2);
    const records = await sim.waitFor({ protocol: 'http2', outcome: 'accepted' }, { count: 2 });
    const alpns = records.map((r) => sim.http2!.connections().find((c) => c.id === r.connectionId)?.alpn);
    expect(alpns).toEqual([null, null]);
  });

  it('answers an HTTP/1.1 request without ALPN with 505 and closes', async () => {
    const before = sim.http2!.stats.notHttp2;
    const socket = connectTls({ host: '127.0.0.1', port: sim.ports.http2!, ca: sim.credentials.ca, servername: 'localhost' });
    await once(socket, 'secureConnect');
    expect(socket.alpnProtocol).toBe(false);
    socket.write('GET /3/device HTTP/1.1\r\nHost: localhost\r\n\r\n');
    let text = '';
    socket.setEncoding('utf8').on('data', (d: string) => (text += d));
    await once(socket, 'close');
    expect(text).toMatch(/^HTTP\/1\.1 505 /);
    expect(sim.http2!.stats.notHttp2).toBe(before + 1);
  });

  it("reports a client without ALPN that does not speak HTTP/2 as a refused connection ('wrong-protocol')", async () => {
    const refused = once(sim.http2!, 'refused');
    const logged = sim.refusals.list().length;
    const socket = connectTls({ host: '127.0.0.1', port: sim.ports.http2!, ca: sim.credentials.ca, servername: 'localhost' });
    await once(socket, 'secureConnect');
    socket.write('GET /3/device HTTP/1.1\r\nHost: localhost\r\n\r\n');
    socket.resume();
    const [facts] = (await refused) as [Record<string, unknown>];
    expect(facts).toMatchObject({ reason: 'wrong-protocol', certificate: null, trustedCa: null, errorCode: null, closed: true });
    expect(facts.message).toMatch(/HTTP\/2 connection preface.*505/);
    expect(facts.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    const entry = sim.refusals
      .list()
      .slice(logged)
      .find((r) => r.reason === 'wrong-protocol');
    expect(entry).toMatchObject({ service: 'http2', reason: 'wrong-protocol', closed: true });
    await once(socket, 'close');
  });

  it('refuses a client that offers only http/1.1 by ALPN', async () => {
    const socket = connectTls({
      host: '127.0.0.1',
      port: sim.ports.http2!,
      ca: sim.credentials.ca,
      servername: 'localhost',
      ALPNProtocols: ['http/1.1'],
    });
    const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    expect(error.code ?? error.message).toMatch(/NO_APPLICATION_PROTOCOL|no application protocol/i);
  });
});

describe('GOAWAY', () => {
  it('a goaway rule: JSON debug data with the reason; the request is not processed and is recorded discarded', async () => {
    const s = await session({ cert: sim.credentials });
    expect((await send(s, { body: ALERT })).status).toBe(200);
    sim.rules.add({
      id: 'away',
      match: { protocol: 'http2', nthOnConnection: 2 },
      action: { type: 'goaway', reason: 'TooManyErrors', errorCode: 0 },
    });
    const goaway = goawayOf(s);
    await expect(send(s, { body: ALERT })).rejects.toThrow(/REFUSED_STREAM/);
    const { code, lastStreamId, data } = await goaway;
    expect({ code, lastStreamId, data }).toEqual({ code: 0, lastStreamId: 3, data: { reason: 'TooManyErrors' } });
    const [record] = await sim.waitFor({ outcome: 'discarded' });
    expect(record).toMatchObject({ rule: 'away', status: null, statusName: null, protocol: 'http2' });
    expect(record.reason).toContain('GOAWAY {"reason":"TooManyErrors"}');
    await once(s, 'close');
  });

  it('the control API shuts HTTP/2 connections down with GOAWAY Shutdown, and lists them beside the binary ones', async () => {
    const s = await session();
    expect((await send(s, { headers: { 'apns-topic': 'com.example.app', authorization: await bearer(key) }, body: ALERT })).status).toBe(
      200,
    );
    await sendFrames(sim.ports.gateway, sim.credentials, encodeNotification({ token: TOKEN, payload: ALERT, identifier: 1 }, 2), 200);
    const [http2Record, binaryRecord] = await sim.waitFor({}, { count: 2 });
    expect([http2Record.protocol, binaryRecord.protocol]).toEqual(['http2', 'binary']);
    // One counter of connection ids for both protocols.
    expect(http2Record.connectionId).not.toBe(binaryRecord.connectionId);
    const listed = (await (await fetch(`${sim.controlUrl}/connections`)).json()) as {
      id: number;
      protocol: string;
      auth?: string;
      keyId?: string;
    }[];
    expect(listed.find((c) => c.id === http2Record.connectionId)).toMatchObject({
      protocol: 'http2',
      auth: 'token',
      keyId: 'KEY0000001',
      teamId: 'TEAM000001',
    });
    const goaway = goawayOf(s);
    const response = await fetch(`${sim.controlUrl}/connections/${http2Record.connectionId}/shutdown`, { method: 'POST' });
    expect(await response.json()).toEqual({ shutdown: 1 });
    expect((await goaway).data).toEqual({ reason: 'Shutdown' });
    await once(s, 'close');
    const stats = (await (await fetch(`${sim.controlUrl}/stats`)).json()) as { http2: number; http2Connections: { opened: number } };
    expect(stats.http2).toBe(sim.ports.http2);
    expect(stats.http2Connections.opened).toBeGreaterThan(0);
  });

  it('closing the simulator sends GOAWAY Shutdown', async () => {
    const other = await startSimulator();
    const s = await open(other, { cert: other.credentials });
    expect((await send(s, { body: ALERT })).status).toBe(200);
    const goaway = goawayOf(s);
    await other.close();
    expect((await goaway).data).toEqual({ reason: 'Shutdown' });
    s.destroy();
  });
});

describe('responses', () => {
  it('echo apns-id, or make an upper-case UUID; carry apns-unique-id in development', async () => {
    const s = await session({ cert: sim.credentials });
    const id = '0a1b2c3d-0000-4000-8000-00000000000f';
    const echoed = await send(s, { headers: { 'apns-id': id }, body: ALERT });
    expect(echoed.headers['apns-id']).toBe(id);
    const made = await send(s, { body: ALERT });
    // Upper case, as the service makes it (AndrewBarba/apns2#95, Edujugon/PushNotification#170).
    expect(made.headers['apns-id']).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    expect(made.headers['apns-unique-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(made.body).toBe('');
    const error = await send(s, { headers: { 'apns-id': id, 'apns-priority': '3' }, body: ALERT });
    expect([error.headers['apns-id'], error.json]).toEqual([id, { reason: 'BadPriority' }]);
  });

  it('in production carry no apns-unique-id', async () => {
    const production = await startSimulator({ environment: 'production', http2: { environment: 'production' } });
    try {
      const s = await open(production, { cert: production.credentials });
      const reply = await send(s, { body: ALERT });
      expect(reply.status).toBe(200);
      expect(reply.headers['apns-id']).toBeDefined();
      expect(reply.headers['apns-unique-id']).toBeUndefined();
      await close(s);
    } finally {
      await production.close();
    }
  });
});
