import { X509Certificate } from 'node:crypto';
import { connect as connectHttp2 } from 'node:http2';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNotification } from '../../protocol/binary/index.js';
import {
  createCertificateAuthority,
  createProviderCertificate,
  loadOrCreateState,
  startSimulator,
  type PemPair,
  type Simulator,
} from '../../server/index.js';
import { attempt, closeOf, control, eventually, openTcp, seeded, watchInternalErrors } from './support.js';

const TOKEN = 'aa'.repeat(32);
const DAY = 86_400_000;
const frame = (identifier: number) => encodeNotification({ token: TOKEN, payload: { aps: { alert: `n${identifier}` } }, identifier }, 2);

let sim: Simulator;
let ca: PemPair;
let internal: unknown[];
/** EC keys: quick to make; the handshake is the same. */
const provider = (options: Partial<Parameters<typeof createProviderCertificate>[1]> = {}) =>
  createProviderCertificate(ca, { topic: 'com.example.app', keyType: 'ec', ...options });

beforeAll(async () => {
  sim = await startSimulator();
  ca = (await loadOrCreateState(sim.state)).ca;
  internal = watchInternalErrors(sim.gateway);
});
afterAll(async () => {
  await sim?.close();
});

/** A connection that completes and whose notification is recorded: the gateway still serves. */
async function stillServes(identifier: number): Promise<void> {
  const result = await attempt(sim.ports.gateway, { ...sim.credentials, write: frame(identifier), holdMs: 200 });
  expect(result).toMatchObject({ secure: true, kept: true, code: null });
  await sim.waitFor({ identifier, outcome: 'accepted' });
}

describe('bytes that are not a TLS handshake', () => {
  it('plain text, an HTTP request and seeded random bytes on the TLS port: each connection is closed, none becomes a session, and the gateway keeps serving', async () => {
    const random = seeded(8);
    const inputs = [
      Buffer.from('hello gateway\r\n'),
      Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'),
      Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
      ...Array.from({ length: 20 }, () =>
        Buffer.from(Array.from({ length: 1 + Math.floor(random() * 600) }, () => Math.floor(random() * 256))),
      ),
      // A TLS record header that announces a handshake of the largest size, then nothing more.
      Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff]),
    ];
    const before = sim.gateway.stats;
    const outcomes = [];
    for (const input of inputs) {
      const socket = await openTcp(sim.ports.gateway);
      const closed = closeOf(socket, 5000);
      socket.write(input);
      // The record header announcing 64 KB waits for the rest: closing our side ends it.
      if (input.length === 5) socket.end();
      outcomes.push(await closed);
    }
    expect(outcomes.map((o) => o.closed)).toEqual(inputs.map(() => true));
    // Whatever came back is at most a TLS alert record (content type 21), never application data.
    for (const o of outcomes) if (o.received.length > 0) expect(o.received[0]).toBe(21);
    expect(await eventually(() => sim.gateway.stats.handshakeFailures - before.handshakeFailures === inputs.length)).toBe(true);
    expect(sim.gateway.stats.opened).toBe(before.opened);
    expect(sim.gateway.connections()).toEqual([]);
    expect(await eventually(() => sim.gateway.socketCount === 0)).toBe(true);
    await stillServes(101);
    expect(internal).toEqual([]);
  });
});

describe('client certificates', () => {
  it('a handshake without a certificate fails with the certificate-required alert (TLS 1.3) or handshake failure (TLS 1.2)', async () => {
    const tls13 = await attempt(sim.ports.gateway, { ca: sim.credentials.ca });
    expect(tls13.code).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    const tls12 = await attempt(sim.ports.gateway, { ca: sim.credentials.ca, maxVersion: 'TLSv1.2' });
    expect(tls12.secure).toBe(false);
    expect(tls12.code).toBe('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE');
    expect(sim.gateway.connections()).toEqual([]);
  });

  it('an expired certificate: the handshake fails; node closes without an alert, so the client sees a reset or a close', async () => {
    const expired = await provider({ notBefore: new Date(Date.now() - 30 * DAY), notAfter: new Date(Date.now() - DAY) });
    const failures = sim.gateway.stats.handshakeFailures;
    const result = await attempt(sim.ports.gateway, { ...expired, ca: sim.credentials.ca, write: frame(1) });
    expect(result.kept).toBe(false);
    expect(result.received.length).toBe(0);
    expect(result.code === null || result.code === 'ECONNRESET').toBe(true);
    expect(await eventually(() => sim.gateway.stats.handshakeFailures > failures)).toBe(true);
    expect(sim.records({ identifier: 1 })).toEqual([]);
  });

  it('revoked through the control API: the next handshake fails with the certificate-revoked alert; other certificates still connect', async () => {
    const doomed = await provider();
    const serial = new X509Certificate(doomed.cert).serialNumber;
    const before = await attempt(sim.ports.gateway, { ...doomed, ca: sim.credentials.ca, write: frame(201), holdMs: 200 });
    expect(before).toMatchObject({ secure: true, kept: true, protocol: 'TLSv1.3' });
    await sim.waitFor({ identifier: 201 });

    const revoked = await control(sim, 'POST', '/certificates/revoke', { serial: serial.toLowerCase() });
    expect(revoked.status).toBe(201);
    expect(revoked.json).toMatchObject({ serialNumber: serial, fingerprint256: null });
    expect((await control(sim, 'GET', '/certificates/revoked')).json).toEqual([revoked.json]);

    const refusedBefore = sim.gateway.stats.certificatesRefused;
    const after = await attempt(sim.ports.gateway, { ...doomed, ca: sim.credentials.ca, write: frame(202) });
    expect(after.secure).toBe(false);
    expect(after.code).toBe('ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED');
    expect(after.message).toMatch(/certificate revoked/);
    expect(sim.gateway.stats.certificatesRefused).toBe(refusedBefore + 1);
    expect(sim.records({ identifier: 202 })).toEqual([]);

    // While a certificate is revoked, handshakes are TLS 1.2 (the client's certificate travels in clear there).
    const other = await attempt(sim.ports.gateway, { ...sim.credentials, write: frame(203), holdMs: 200 });
    expect(other).toMatchObject({ secure: true, kept: true, protocol: 'TLSv1.2', code: null });
    await sim.waitFor({ identifier: 203, outcome: 'accepted' });
    expect(internal).toEqual([]);
  });

  it('revoked by fingerprint with the library method: a session saved before the revocation cannot be resumed', async () => {
    const doomed = await provider();
    let saved: Buffer | undefined;
    const first = await attempt(sim.ports.gateway, {
      ...doomed,
      ca: sim.credentials.ca,
      maxVersion: 'TLSv1.2',
      holdMs: 200,
      onSession: (s) => (saved = s),
    });
    expect(first).toMatchObject({ secure: true, kept: true });
    expect(saved).toBeDefined();
    // The session resumes while the certificate is good.
    const resumed = await attempt(sim.ports.gateway, {
      ...doomed,
      ca: sim.credentials.ca,
      maxVersion: 'TLSv1.2',
      holdMs: 200,
      session: saved,
    });
    expect(resumed).toMatchObject({ secure: true, kept: true, reused: true });

    await sim.revokeCertificate({ fingerprint256: new X509Certificate(doomed.cert).fingerprint256.replace(/:/g, '').toLowerCase() });
    const again = await attempt(sim.ports.gateway, { ...doomed, ca: sim.credentials.ca, maxVersion: 'TLSv1.2', session: saved });
    expect(again.secure).toBe(false);
    expect(again.code).toBe('ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED');
  });

  it('the control API refuses a revocation that names nothing, or no certificate', async () => {
    expect((await control(sim, 'POST', '/certificates/revoke', {})).status).toBe(400);
    expect((await control(sim, 'POST', '/certificates/revoke', { serial: 'not hex' })).status).toBe(400);
    expect(
      (await control(sim, 'POST', '/certificates/revoke', { cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }))
        .status,
    ).toBe(400);
  });

  it('the HTTP/2 API answers a revoked certificate BadCertificate (OpenSSL checks the CRL there)', async () => {
    const doomed = await provider();
    await sim.revokeCertificate(doomed.cert);
    const session = connectHttp2(sim.http2Url!, { ca: sim.credentials.ca, cert: doomed.cert, key: doomed.key, servername: 'localhost' });
    session.on('error', () => undefined);
    const stream = session.request({ ':method': 'POST', ':path': `/3/device/${TOKEN}`, 'apns-topic': 'com.example.app' });
    stream.end(JSON.stringify({ aps: { alert: 'x' } }));
    let body = '';
    stream.setEncoding('utf8').on('data', (d: string) => (body += d));
    const [headers] = (await once(stream, 'response')) as [Record<string, unknown>];
    await once(stream, 'end');
    session.close();
    expect(headers[':status']).toBe(403);
    expect(JSON.parse(body)).toEqual({ reason: 'BadCertificate' });
    expect(sim.records({ protocol: 'http2' }).at(-1)?.reason).toMatch(/CERT_REVOKED/);
  });
});

describe('with certificateAlerts, refused certificates get the TLS alert Apple sent', () => {
  let strict: Simulator;
  let strictCa: PemPair;
  beforeAll(async () => {
    strict = await startSimulator({ certificateAlerts: true, controlPort: false, http2Port: false });
    strictCa = (await loadOrCreateState(strict.state)).ca;
  });
  afterAll(async () => {
    await strict?.close();
  });

  it('expired: certificate expired; not yet valid: bad certificate; another CA: unknown CA; a good one connects over TLS 1.2', async () => {
    const make = (options: Partial<Parameters<typeof createProviderCertificate>[1]>, issuer: PemPair = strictCa) =>
      createProviderCertificate(issuer, { topic: 'com.example.app', keyType: 'ec', ...options });
    const expired = await make({ notBefore: new Date(Date.now() - 30 * DAY), notAfter: new Date(Date.now() - DAY) });
    const early = await make({ notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 30 * DAY) });
    const stranger = await make({}, await createCertificateAuthority({ keyType: 'ec' }));
    const port = strict.ports.gateway;
    expect((await attempt(port, { ...expired, ca: strict.credentials.ca })).code).toBe('ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED');
    expect((await attempt(port, { ...early, ca: strict.credentials.ca })).code).toBe('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE');
    expect((await attempt(port, { ...stranger, ca: strict.credentials.ca })).code).toBe('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA');
    const good = await attempt(port, { ...strict.credentials, write: frame(7), holdMs: 200 });
    expect(good).toMatchObject({ secure: true, kept: true, protocol: 'TLSv1.2' });
    await strict.waitFor({ identifier: 7, outcome: 'accepted' });
    expect(strict.gateway.stats.certificatesRefused).toBe(3);
  });
});
