import type { ClientHttp2Session } from 'node:http2';
import { once } from 'node:events';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEVICE_REASONS, http2StatusOf, type Http2Reason } from '../../../protocol/http2/index.js';
import {
  createCertificateAuthority,
  createProviderCertificate,
  startSimulator,
  type PemPair,
  type Simulator,
  type SigningKey,
} from '../../../server/index.js';
import { ALERT, OTHER_TOKEN, TOKEN, bearer, close, nowSeconds, open, send, type Reply, type Send } from './support.js';

// Every reason of Apple's table (docs/protocol/http2.md, Response), each earned by a request that
// deserves it. IdleTimeout is the one Apple sends in GOAWAY rather than in a response; the
// 500 and the 503s have no request that earns them from a healthy server, so rules make them.

let sim: Simulator;
let key: SigningKey;
const produced = new Set<string>();
const sessions: ClientHttp2Session[] = [];

async function session(options: Parameters<typeof open>[1] = {}): Promise<ClientHttp2Session> {
  const s = await open(sim, options);
  sessions.push(s);
  return s;
}

/** Checks what every error response carries, and notes the reason as produced. */
function expectReason(reply: Reply, reason: Http2Reason): void {
  expect({ status: reply.status, reason: reply.json?.reason }).toEqual({ status: http2StatusOf(reason), reason });
  expect(reply.headers['content-type']).toBe('application/json');
  // None of these requests carries an apns-id: the one the service makes is upper case (test/server/http2/apple-answers.test.ts).
  expect(reply.headers['apns-id']).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
  produced.add(reason);
}

let cert: ClientHttp2Session;
const viaCert = (request: Send) => send(cert, { ...request, headers: { 'apns-topic': 'com.example.app', ...request.headers } });
const viaToken = async (request: Send, signing: SigningKey = key, s?: ClientHttp2Session) =>
  send(s ?? (await session()), {
    ...request,
    headers: { 'apns-topic': 'com.example.app', authorization: await bearer(signing), ...request.headers },
  });

beforeAll(async () => {
  sim = await startSimulator({ http2: { tokenUpdateIntervalMs: 60_000 } });
  key = await sim.createSigningKey('TEAM000001', 'KEY0000001');
  cert = await session({ cert: sim.credentials });
});
afterAll(async () => {
  for (const s of sessions) s.destroy();
  await sim.close();
});
beforeEach(() => {
  sim.rules.clear();
  sim.devices.clear();
  sim.devices.strict = false;
});

describe('400', () => {
  it('BadCollapseId: apns-collapse-id over 64 bytes (64 pass)', async () => {
    expect((await viaCert({ headers: { 'apns-collapse-id': 'c'.repeat(64) }, body: ALERT })).status).toBe(200);
    expectReason(await viaCert({ headers: { 'apns-collapse-id': 'c'.repeat(65) }, body: ALERT }), 'BadCollapseId');
  });

  it('BadDeviceToken: a token that is not hex, of a length no token has, or for the other environment', async () => {
    expectReason(await viaCert({ path: '/3/device/not-hex', body: ALERT }), 'BadDeviceToken');
    expectReason(await viaCert({ path: `/3/device/${'ab'.repeat(8)}`, body: ALERT }), 'BadDeviceToken');
    sim.devices.register(OTHER_TOKEN, { environment: 'production' });
    expectReason(await viaCert({ path: `/3/device/${OTHER_TOKEN}`, body: ALERT }), 'BadDeviceToken');
    sim.devices.strict = true;
    expectReason(await viaCert({ body: ALERT }), 'BadDeviceToken');
    sim.devices.register(TOKEN, { topic: 'com.example.app', environment: 'development' });
    expect((await viaCert({ body: ALERT })).status).toBe(200);
  });

  it('BadExpirationDate: apns-expiration that is not UNIX seconds', async () => {
    expect((await viaCert({ headers: { 'apns-expiration': '0' }, body: ALERT })).status).toBe(200);
    expectReason(await viaCert({ headers: { 'apns-expiration': 'tomorrow' }, body: ALERT }), 'BadExpirationDate');
  });

  it('BadMessageId: apns-id that is not a canonical lower-case UUID; the response carries a fresh one', async () => {
    const reply = await viaCert({ headers: { 'apns-id': 'ABCDEF12-0000-0000-0000-000000000000' }, body: ALERT });
    expectReason(reply, 'BadMessageId');
    expect(reply.headers['apns-id']).not.toBe('ABCDEF12-0000-0000-0000-000000000000');
    expectReason(await viaCert({ headers: { 'apns-id': 'not-a-uuid' }, body: ALERT }), 'BadMessageId');
  });

  it('BadPriority: not 10, 5 or 1; a background push at 10', async () => {
    expectReason(await viaCert({ headers: { 'apns-priority': '7' }, body: ALERT }), 'BadPriority');
    const background = { aps: { 'content-available': 1 } };
    expectReason(await viaCert({ headers: { 'apns-push-type': 'background', 'apns-priority': '10' }, body: background }), 'BadPriority');
    expect((await viaCert({ headers: { 'apns-push-type': 'background', 'apns-priority': '5' }, body: background })).status).toBe(200);
  });

  it('BadTopic: a topic the certificate does not allow', async () => {
    expectReason(await viaCert({ headers: { 'apns-topic': 'com.other.app' }, body: ALERT }), 'BadTopic');
    // The UID's .voip and .complication forms are the certificate's too.
    expect((await viaCert({ headers: { 'apns-topic': 'com.example.app.voip', 'apns-push-type': 'voip' }, body: ALERT })).status).toBe(200);
    expect((await viaCert({ headers: { 'apns-topic': 'com.example.app.complication' }, body: ALERT })).status).toBe(200);
  });

  it('DeviceTokenNotForTopic: a token registered to another app', async () => {
    sim.devices.register(OTHER_TOKEN, { topic: 'com.other.app' });
    expectReason(await viaCert({ path: `/3/device/${OTHER_TOKEN}`, body: ALERT }), 'DeviceTokenNotForTopic');
  });

  it('DuplicateHeaders: apns-topic twice', async () => {
    expectReason(await viaCert({ headers: { 'apns-topic': ['com.example.app', 'com.example.app'] }, body: ALERT }), 'DuplicateHeaders');
  });

  it('InvalidPushType: an unknown push type, a payload or a topic suffix that does not fit the one given', async () => {
    expectReason(await viaCert({ headers: { 'apns-push-type': 'email' }, body: ALERT }), 'InvalidPushType');
    expectReason(await viaCert({ headers: { 'apns-push-type': 'background', 'apns-priority': '5' }, body: ALERT }), 'InvalidPushType');
    // As the service answers (apnotic#87, PyAPNs2#87, apns2#23): see test/server/http2/apple-answers.test.ts.
    expectReason(await viaCert({ headers: { 'apns-push-type': 'voip' }, body: ALERT }), 'InvalidPushType');
    const alertToVoip = { 'apns-topic': 'com.example.app.voip', 'apns-push-type': 'alert' };
    expectReason(await viaCert({ headers: alertToVoip, body: ALERT }), 'InvalidPushType');
  });

  it('MissingDeviceToken: no token in the :path', async () => {
    expectReason(await viaCert({ path: '/3/device/', body: ALERT }), 'MissingDeviceToken');
  });

  it('MissingTopic: a certificate with several topics, or a provider token, and no apns-topic', async () => {
    const multi = await sim.createCredentials('com.multi.app', 'development', ['com.multi.app.voip', 'com.multi.widget']);
    const s = await session({ cert: multi });
    expectReason(await send(s, { body: ALERT }), 'MissingTopic');
    expect((await send(s, { headers: { 'apns-topic': 'com.multi.widget' }, body: ALERT })).status).toBe(200);
    expectReason(await send(await session(), { headers: { authorization: await bearer(key) }, body: ALERT }), 'MissingTopic');
    // One topic on the certificate: apns-topic may be left out.
    expect((await send(cert, { body: ALERT })).status).toBe(200);
  });

  it('PayloadEmpty: no body', async () => {
    expectReason(await viaCert({}), 'PayloadEmpty');
  });

  it('TopicDisallowed: a provider key limited to other apps', async () => {
    const limited = await sim.createSigningKey('TEAM000001', 'KEYLIMITED', undefined, ['com.example.app']);
    expect((await viaToken({ body: ALERT }, limited)).status).toBe(200);
    expectReason(await viaToken({ headers: { 'apns-topic': 'com.other.app' }, body: ALERT }, limited), 'TopicDisallowed');
  });
});

describe('403', () => {
  it('BadCertificate: a client certificate from another CA', async () => {
    const strangerCa = await createCertificateAuthority();
    const stranger: PemPair = await createProviderCertificate(strangerCa, { topic: 'com.example.app', keyType: 'ec' });
    expectReason(
      await send(await session({ cert: stranger }), { headers: { 'apns-topic': 'com.example.app' }, body: ALERT }),
      'BadCertificate',
    );
  });

  it('BadCertificateEnvironment: a production certificate on the development API', async () => {
    const production = await sim.createCredentials('com.example.app', 'production');
    expectReason(await send(await session({ cert: production }), { body: ALERT }), 'BadCertificateEnvironment');
  });

  it('ExpiredProviderToken: iat more than an hour ago', async () => {
    const reply = await send(await session(), {
      headers: { 'apns-topic': 'com.example.app', authorization: await bearer(key, nowSeconds() - 3601) },
      body: ALERT,
    });
    expectReason(reply, 'ExpiredProviderToken');
  });

  it('Forbidden: a revoked key', async () => {
    const revoked = await sim.createSigningKey('TEAM000001', 'KEYREVOKED');
    await sim.keys.revoke('KEYREVOKED');
    expectReason(await viaToken({ body: ALERT }, revoked), 'Forbidden');
  });

  it('InvalidProviderToken: not a JWT', async () => {
    expectReason(
      await send(await session(), { headers: { 'apns-topic': 'com.example.app', authorization: 'bearer not.a-jwt' }, body: ALERT }),
      'InvalidProviderToken',
    );
  });

  it('MissingProviderToken: no certificate and no authorization header', async () => {
    expectReason(await send(await session(), { headers: { 'apns-topic': 'com.example.app' }, body: ALERT }), 'MissingProviderToken');
  });

  it('UnrelatedKeyIdInToken: another key on a connection bound to a key', async () => {
    const other = await sim.createSigningKey('TEAM000001', 'KEY0000002');
    const s = await session();
    expect((await viaToken({ body: ALERT }, key, s)).status).toBe(200);
    expectReason(await viaToken({ body: ALERT }, other, s), 'UnrelatedKeyIdInToken');
  });

  it('BadEnvironmentKeyIdInToken: a production-only key on the development API', async () => {
    const production = await sim.createSigningKey('TEAM000001', 'KEYPRODUCT', 'production');
    expectReason(await viaToken({ body: ALERT }, production), 'BadEnvironmentKeyIdInToken');
  });
});

describe('404, 405, 410, 413', () => {
  it('BadPath: no such endpoint', async () => {
    expectReason(await viaCert({ path: `/3/devices/${TOKEN}`, body: ALERT }), 'BadPath');
  });

  it('MethodNotAllowed: GET on /3/device', async () => {
    expectReason(await viaCert({ method: 'GET' }), 'MethodNotAllowed');
  });

  it('Unregistered: an uninstalled token, with the time in milliseconds', async () => {
    sim.devices.uninstall(TOKEN, { topic: 'com.example.app', timestamp: 1_700_000_000 });
    const reply = await viaCert({ body: ALERT });
    expectReason(reply, 'Unregistered');
    expect(reply.json).toEqual({ reason: 'Unregistered', timestamp: 1_700_000_000_000 });
    // The feedback service handing it out does not bring the token back.
    sim.devices.takeFeedback('com.example.app', 'development');
    expectReason(await viaCert({ body: ALERT }), 'Unregistered');
    sim.devices.register(TOKEN, { topic: 'com.example.app' });
    expect((await viaCert({ body: ALERT })).status).toBe(200);
  });

  it('ExpiredToken: an expired token, with the time in milliseconds', async () => {
    sim.devices.expire(TOKEN, { timestamp: 1_800_000_000 });
    const reply = await viaCert({ body: ALERT });
    expectReason(reply, 'ExpiredToken');
    expect(reply.json).toEqual({ reason: 'ExpiredToken', timestamp: 1_800_000_000_000 });
  });

  it('PayloadTooLarge: 4097 bytes; VoIP takes 5120', async () => {
    const sized = (n: number) => JSON.stringify({ aps: { alert: 'x'.repeat(n - 20) } });
    expect(Buffer.byteLength(sized(4096))).toBe(4096);
    expect((await viaCert({ body: sized(4096) })).status).toBe(200);
    expectReason(await viaCert({ body: sized(4097) }), 'PayloadTooLarge');
    const voip = { 'apns-topic': 'com.example.app.voip', 'apns-push-type': 'voip' };
    expect((await viaCert({ headers: voip, body: sized(5120) })).status).toBe(200);
    expectReason(await viaCert({ headers: voip, body: sized(5121) }), 'PayloadTooLarge');
  });
});

describe('429, 500, 503', () => {
  it('TooManyProviderTokenUpdates: a second token on a connection within the update interval', async () => {
    const s = await session();
    expect(
      (await send(s, { headers: { 'apns-topic': 'com.example.app', authorization: await bearer(key, nowSeconds() - 10) }, body: ALERT }))
        .status,
    ).toBe(200);
    expectReason(
      await send(s, { headers: { 'apns-topic': 'com.example.app', authorization: await bearer(key, nowSeconds()) }, body: ALERT }),
      'TooManyProviderTokenUpdates',
    );
  });

  it('TooManyRequests: more notifications to one token than a rate rule allows', async () => {
    sim.rules.add({ match: { protocol: 'http2' }, action: { type: 'rateLimit', requests: 2, perMs: 60_000 } });
    expect((await viaCert({ body: ALERT })).status).toBe(200);
    expect((await viaCert({ body: ALERT })).status).toBe(200);
    expectReason(await viaCert({ body: ALERT }), 'TooManyRequests');
    expect((await viaCert({ path: `/3/device/${OTHER_TOKEN}`, body: ALERT })).status).toBe(200);
  });

  it('InternalServerError (a rule: a healthy server does not fail)', async () => {
    sim.rules.add({ action: { type: 'reject', reason: 'InternalServerError' } });
    expectReason(await viaCert({ body: ALERT }), 'InternalServerError');
  });

  it('ServiceUnavailable (an outage rule)', async () => {
    sim.rules.add({ action: { type: 'outage' } });
    expectReason(await viaCert({ body: ALERT }), 'ServiceUnavailable');
  });

  it('Shutdown (a shutdown rule): 503 Shutdown, then GOAWAY', async () => {
    const s = await session({ cert: sim.credentials });
    const goaway = once(s, 'goaway');
    sim.rules.add({ action: { type: 'shutdown' } });
    expectReason(await send(s, { body: ALERT }), 'Shutdown');
    const [, , data] = (await goaway) as [number, number, Buffer];
    expect(JSON.parse(data.toString())).toEqual({ reason: 'Shutdown' });
  });
});

describe('IdleTimeout', () => {
  it('goes in the GOAWAY of a connection left idle', async () => {
    const idle = await startSimulator({ http2: { idleTimeoutMs: 300 } });
    try {
      const s = await open(idle, { cert: idle.credentials });
      expect((await send(s, { body: ALERT })).status).toBe(200);
      const [code, , data] = (await once(s, 'goaway')) as [number, number, Buffer];
      expect(code).toBe(0);
      expect(JSON.parse(data.toString())).toEqual({ reason: 'IdleTimeout' });
      produced.add('IdleTimeout');
      await close(s);
    } finally {
      await idle.close();
    }
  });
});

it('every reason of the table was produced above', () => {
  expect([...produced].sort()).toEqual([...DEVICE_REASONS].sort());
});
