import { X509Certificate } from 'node:crypto';
import { connect as connectHttp2 } from 'node:http2';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCertificateAuthority,
  createProviderCertificate,
  loadOrCreateState,
  startSimulator,
  type PemPair,
  type RefusedConnection,
  type Simulator,
} from '../../../server/index.js';
import { attempt, eventually, openTcp, closeOf } from '../../reliability/support.js';

const DAY = 86_400_000;

let sim: Simulator;
let ca: PemPair;
let stranger: PemPair;
let strangerCa: X509Certificate;

/** The refusals logged since `from` (an id), once `count` have arrived. */
async function refusalsAfter(from: number, count: number): Promise<RefusedConnection[]> {
  expect(await eventually(() => sim.refusals.total >= from + count)).toBe(true);
  return sim.refusals.list().filter((r) => r.id > from);
}

beforeAll(async () => {
  sim = await startSimulator();
  ca = (await loadOrCreateState(sim.state)).ca;
  const otherCa = await createCertificateAuthority({ keyType: 'ec', commonName: 'Another apns-mock CA' });
  strangerCa = new X509Certificate(otherCa.cert);
  stranger = await createProviderCertificate(otherCa, { topic: 'com.example.app', keyType: 'ec' });
});
afterAll(async () => {
  await sim?.close();
});

describe('refused connections are events with a reason', () => {
  it('binary gateway: a certificate from another CA names its issuer and the trusted CA, by subject and SHA-256', async () => {
    const from = sim.refusals.total;
    await attempt(sim.ports.gateway, { ...stranger, ca: sim.credentials.ca });
    const [refusal] = await refusalsAfter(from, 1);
    const trusted = new X509Certificate(ca.cert);
    expect(refusal).toMatchObject({
      service: 'binary',
      reason: 'unknown-ca',
      closed: true,
      certificate: { issuer: strangerCa.subject.split('\n').join(', '), fingerprint256: new X509Certificate(stranger.cert).fingerprint256 },
      trustedCa: { subject: trusted.subject.split('\n').join(', '), fingerprint256: trusted.fingerprint256 },
    });
    expect(refusal.message).toContain(trusted.fingerprint256);
    expect(refusal.message).toContain('apns-mock certs');
    expect(refusal.peer).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('binary gateway: no certificate, an expired one, one not yet valid, and bytes that are not TLS', async () => {
    const from = sim.refusals.total;
    await attempt(sim.ports.gateway, { ca: sim.credentials.ca });
    const expired = await createProviderCertificate(ca, {
      topic: 'com.example.app',
      keyType: 'ec',
      notBefore: new Date(Date.now() - 30 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    await attempt(sim.ports.gateway, { ...expired, ca: sim.credentials.ca });
    const early = await createProviderCertificate(ca, {
      topic: 'com.example.app',
      keyType: 'ec',
      notBefore: new Date(Date.now() + DAY),
      notAfter: new Date(Date.now() + 30 * DAY),
    });
    await attempt(sim.ports.gateway, { ...early, ca: sim.credentials.ca });
    const plain = await openTcp(sim.ports.gateway);
    const closed = closeOf(plain, 5000);
    plain.end('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await closed;
    const refusals = await refusalsAfter(from, 4);
    expect(refusals.map((r) => [r.service, r.reason])).toEqual([
      ['binary', 'no-certificate'],
      ['binary', 'expired'],
      ['binary', 'not-yet-valid'],
      ['binary', 'not-tls'],
    ]);
    expect(refusals[0].message).toContain('--cert');
    expect(refusals[1].message).toContain(new Date(new X509Certificate(expired.cert).validTo).toISOString());
  });

  it('feedback service: a certificate from another CA', async () => {
    const from = sim.refusals.total;
    await attempt(sim.ports.feedback, { ...stranger, ca: sim.credentials.ca });
    const [refusal] = await refusalsAfter(from, 1);
    expect(refusal).toMatchObject({ service: 'feedback', reason: 'unknown-ca', closed: true });
  });

  it('HTTP/2 API: a certificate from another CA is kept but refused per request; bytes that are not TLS are dropped', async () => {
    const from = sim.refusals.total;
    const session = connectHttp2(sim.http2Url!, {
      ca: sim.credentials.ca,
      cert: stranger.cert,
      key: stranger.key,
      servername: 'localhost',
    });
    session.on('error', () => {});
    await once(session, 'connect');
    session.close();
    const plain = await openTcp(sim.ports.http2!);
    const closed = closeOf(plain, 5000);
    plain.end('hello\r\n');
    await closed;
    const refusals = await refusalsAfter(from, 2);
    expect(refusals[0]).toMatchObject({ service: 'http2', reason: 'unknown-ca', closed: false });
    expect(refusals[0].message).toContain('403 BadCertificate');
    expect(refusals[1]).toMatchObject({ service: 'http2', reason: 'not-tls' });
  });

  it('the control API lists them (GET /connections/refused), counts them in /stats and streams each as a `refused` event', async () => {
    const events = new AbortController();
    const stream = await fetch(`${sim.controlUrl}/events?backlog=0`, { signal: events.signal });
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const from = sim.refusals.total;
    await attempt(sim.ports.gateway, { ca: sim.credentials.ca });
    while (!/event: refused\ndata: .*\n\n/.test(text)) text += (await reader.read()).value ?? '';
    events.abort();
    const hello = JSON.parse(/event: hello\ndata: (.*)\n/.exec(text)![1]) as { refused: RefusedConnection[] };
    expect(hello.refused.length).toBe(from);
    const live = JSON.parse(/event: refused\ndata: (.*)\n/.exec(text)![1]) as RefusedConnection;
    expect(live).toMatchObject({ id: from + 1, service: 'binary', reason: 'no-certificate' });

    const listed = (await (await fetch(`${sim.controlUrl}/connections/refused`)).json()) as { total: number; refused: RefusedConnection[] };
    expect(listed.total).toBe(from + 1);
    expect(listed.refused.at(-1)).toEqual(live);
    const stats = (await (await fetch(`${sim.controlUrl}/stats`)).json()) as {
      refusedConnections: { total: number; byReason: Record<string, number> };
    };
    expect(stats.refusedConnections.total).toBe(from + 1);
    expect(stats.refusedConnections.byReason['unknown-ca']).toBeGreaterThanOrEqual(3);
  });
});

describe('refusals only a configured gateway makes', () => {
  let alerting: Simulator;
  beforeAll(async () => {
    alerting = await startSimulator({ certificateAlerts: true, gatewayEnvironment: 'production', http2Port: false, controlPort: false });
  });
  afterAll(async () => {
    await alerting?.close();
  });

  it('certificate alerts (the handshake tap): revoked and another CA; the wrong environment: dropped after the handshake', async () => {
    const state = (await loadOrCreateState(alerting.state)).ca;
    const doomed = await createProviderCertificate(state, { topic: 'com.example.app', keyType: 'ec', environment: 'production' });
    await alerting.revokeCertificate(doomed.cert);
    await attempt(alerting.ports.gateway, { ...doomed, ca: alerting.credentials.ca });
    await attempt(alerting.ports.gateway, { ...stranger, ca: alerting.credentials.ca });
    await attempt(alerting.ports.gateway, { ...alerting.credentials, ca: alerting.credentials.ca, holdMs: 300 });
    expect(await eventually(() => alerting.refusals.total >= 3)).toBe(true);
    const refusals = alerting.refusals.list();
    expect(refusals.map((r) => r.reason)).toEqual(['revoked', 'unknown-ca', 'wrong-environment']);
    expect(refusals[0].message).toContain('certificate revoked');
    expect(refusals[1].trustedCa?.fingerprint256).toBe(new X509Certificate(state.cert).fingerprint256);
    expect(refusals[2].message).toContain('plays production');
  });
});
