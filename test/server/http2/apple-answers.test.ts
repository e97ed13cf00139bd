import { mkdtemp, rm } from 'node:fs/promises';
import type { ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Http2Client } from '../../../client/index.js';
import { retryVerdict } from '../../../client/http2/retry.js';
import { encodeNotification } from '../../../protocol/binary/index.js';
import {
  UNDOCUMENTED_REASONS,
  http2StatusOf,
  isHttp2Reason,
  readProviderToken,
  type ProviderTokenFields,
} from '../../../protocol/http2/index.js';
import { ConnectionAuth } from '../../../server/http2/auth.js';
import { startSimulator, writeProviderBundle, type ProviderCredentials, type Simulator, type SigningKey } from '../../../server/index.js';
import { runCli } from '../../support/cli-process.js';
import { ALERT, TOKEN, bearer, open, send, type Reply, type Send } from './support.js';

// Issue 13: where the simulator answered otherwise than Apple's service, each case over real TLS
// (ALPN h2 for HTTP/2) with the source of the answer beside it. docs/protocol/http2.md states the choices.

const APP = 'com.example.app';
const UPPER_UUID = /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/;
const SILENT = { aps: { 'content-available': 1 } };
const LIVE_ACTIVITY = { aps: { event: 'update', 'content-state': { score: 1 }, timestamp: 1 } };

let sim: Simulator;
let key: SigningKey;
/** A certificate for the app with every push type's topic listed, location and Live Activities among them. */
let everyTopic: ProviderCredentials;
const sessions: ClientHttp2Session[] = [];

async function session(options: Parameters<typeof open>[1] = {}): Promise<ClientHttp2Session> {
  const s = await open(sim, options);
  sessions.push(s);
  return s;
}

const expectAnswer = (reply: Reply, status: number, reason?: string) =>
  expect({ status: reply.status, reason: reply.json?.reason }).toEqual({ status, reason });
const viaCert = async (request: Send, credentials: ProviderCredentials = sim.credentials) =>
  send(await session({ cert: credentials }), { ...request, headers: { 'apns-topic': APP, ...request.headers } });
const viaToken = async (request: Send) =>
  send(await session(), { ...request, headers: { 'apns-topic': APP, authorization: await bearer(key), ...request.headers } });

beforeAll(async () => {
  sim = await startSimulator({ controlPort: false });
  key = await sim.createSigningKey('TEAM000001', 'KEY0000001');
  everyTopic = await sim.createCredentials(APP, 'development', [`${APP}.voip`, `${APP}.location-query`, `${APP}.push-type.liveactivity`]);
});
afterAll(async () => {
  for (const s of sessions) s.destroy();
  await sim.close();
});
beforeEach(() => {
  sim.recorder.clear();
  sim.rules.clear();
});

describe('a push type that does not fit the topic: 400 InvalidPushType', () => {
  // Not BadTopic: the service answers InvalidPushType, as client projects logged it: ostinelli/apnotic#87
  // (alert to a VoIP certificate's topic), Pr0Ger/PyAPNs2#87 (alert or background with VoIP), AndrewBarba/apns2#23.
  const mismatches: [string, Send][] = [
    ['alert to <bundle>.voip', { headers: { 'apns-topic': `${APP}.voip`, 'apns-push-type': 'alert' }, body: ALERT }],
    [
      'background to <bundle>.voip',
      { headers: { 'apns-topic': `${APP}.voip`, 'apns-push-type': 'background', 'apns-priority': '5' }, body: SILENT },
    ],
    ['voip to the bare bundle id', { headers: { 'apns-push-type': 'voip' }, body: ALERT }],
    ['complication to <bundle>.voip', { headers: { 'apns-topic': `${APP}.voip`, 'apns-push-type': 'complication' }, body: ALERT }],
  ];
  for (const [what, request] of mismatches) {
    it(`${what}, over a certificate and over a provider token`, async () => {
      expectAnswer(await viaCert(request), 400, 'InvalidPushType');
      expectAnswer(await viaToken(request), 400, 'InvalidPushType');
    });
  }

  it('the fitting pairs still pass; a topic the certificate does not allow is still BadTopic', async () => {
    expectAnswer(await viaCert({ headers: { 'apns-topic': `${APP}.voip`, 'apns-push-type': 'voip' }, body: ALERT }), 200);
    expectAnswer(await viaToken({ headers: { 'apns-push-type': 'background', 'apns-priority': '5' }, body: SILENT }), 200);
    expectAnswer(
      await viaCert({ headers: { 'apns-topic': 'com.other.app.voip', 'apns-push-type': 'alert' }, body: ALERT }),
      400,
      'BadTopic',
    );
    const [record] = sim.records({ protocol: 'http2', outcome: 'rejected' });
    expect(record).toMatchObject({ status: 400, topic: 'com.other.app.voip' });
  });
});

describe('location and liveactivity over a certificate: refused with 400 InvalidPushType', () => {
  // Apple, "Sending notification requests to APNs": "The location push type supports only token-based
  // authentication"; Live Activities the same (WWDC23, "Update Live Activities with push notifications").
  // Apple's table has no reason for it: InvalidPushType is the closest (README, HTTP/2 provider API).
  const location: Send = { headers: { 'apns-topic': `${APP}.location-query`, 'apns-push-type': 'location' }, body: { aps: {} } };
  const liveActivity: Send = {
    headers: { 'apns-topic': `${APP}.push-type.liveactivity`, 'apns-push-type': 'liveactivity' },
    body: LIVE_ACTIVITY,
  };

  it('location: refused even when the certificate lists <bundle>.location-query; taken with a provider token', async () => {
    expect(everyTopic.topic).toBe(APP);
    const refused = await viaCert(location, everyTopic);
    expectAnswer(refused, 400, 'InvalidPushType');
    // The topic alone makes it a location push too.
    expectAnswer(await viaCert({ ...location, headers: { 'apns-topic': `${APP}.location-query` } }, everyTopic), 400, 'InvalidPushType');
    expectAnswer(await viaToken(location), 200);
    const records = sim.records({ protocol: 'http2' });
    expect(records.map((r) => [r.outcome, r.http2!.auth, r.http2!.reason])).toEqual([
      ['rejected', 'certificate', 'InvalidPushType'],
      ['rejected', 'certificate', 'InvalidPushType'],
      ['accepted', 'token', null],
    ]);
    expect(records[0].reason).toMatch(/token-based authentication only/);
  });

  it('liveactivity: refused over a certificate that lists <bundle>.push-type.liveactivity; taken with a provider token', async () => {
    expectAnswer(await viaCert(liveActivity, everyTopic), 400, 'InvalidPushType');
    expectAnswer(await viaToken(liveActivity), 200);
  });

  it('the other push types of that certificate still pass', async () => {
    expectAnswer(await viaCert({ headers: { 'apns-topic': `${APP}.voip`, 'apns-push-type': 'voip' }, body: ALERT }, everyTopic), 200);
    expectAnswer(await viaCert({ headers: { 'apns-push-type': 'alert' }, body: ALERT }, everyTopic), 200);
  });
});

describe('apns-id', () => {
  // The service makes an upper-case UUID when the request has none, as logged responses show
  // (AndrewBarba/apns2#95, Edujugon/PushNotification#170); apns_erl_sim upper-cases too.
  it('made by the service: upper case, in the response and in the record', async () => {
    const accepted = await viaCert({ body: ALERT });
    const rejected = await viaCert({ headers: { 'apns-priority': '7' }, body: ALERT });
    for (const reply of [accepted, rejected]) expect(reply.headers['apns-id']).toMatch(UPPER_UUID);
    expect(sim.records({ protocol: 'http2' }).map((r) => r.http2!.apnsId)).toEqual([
      accepted.headers['apns-id'],
      rejected.headers['apns-id'],
    ]);
    expect(sim.records({ apnsId: String(accepted.headers['apns-id']) })).toHaveLength(1);
  });

  it("the client's own: echoed and recorded as sent", async () => {
    const id = '0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d';
    const reply = await viaCert({ headers: { 'apns-id': id }, body: ALERT });
    expect(reply.headers['apns-id']).toBe(id);
    expect(sim.records({ protocol: 'http2' }).map((r) => r.http2!.apnsId)).toEqual([id]);
  });

  it('Http2Client reports the apns-id the response carries, the one it sent', async () => {
    const { cert, key: privateKey, ca } = sim.credentials;
    const client = new Http2Client({ host: '127.0.0.1', port: sim.ports.http2!, cert, key: privateKey, ca });
    try {
      const id = '11111111-2222-4333-8444-555555555555';
      expect(await client.send({ token: TOKEN, payload: ALERT, id })).toMatchObject({ status: 'accepted', apnsId: id });
      const made = await client.send({ token: TOKEN, payload: ALERT });
      expect(sim.records({ protocol: 'http2' }).map((r) => r.http2!.apnsId)).toEqual([id, made.apnsId]);
    } finally {
      await client.close();
    }
  });
});

describe('only content-available, no apns-push-type, at priority 10: 400 BadPriority', () => {
  // Apple's header table (up to 2021): "It's an error to specify this priority for a notification whose
  // payload contains the content-available key"; apns_erl_sim answers 400 BadPriority.
  it('at the default priority and at an explicit 10, over a certificate and a provider token', async () => {
    expectAnswer(await viaCert({ body: SILENT }), 400, 'BadPriority');
    expectAnswer(await viaCert({ headers: { 'apns-priority': '10' }, body: SILENT }), 400, 'BadPriority');
    expectAnswer(await viaToken({ body: { ...SILENT, custom: 'kept outside aps' } }), 400, 'BadPriority');
  });

  it('passes at priority 5 or 1, with anything else in aps, or as a background push at 5', async () => {
    expectAnswer(await viaCert({ headers: { 'apns-priority': '5' }, body: SILENT }), 200);
    expectAnswer(await viaCert({ headers: { 'apns-priority': '1' }, body: SILENT }), 200);
    expectAnswer(await viaCert({ body: { aps: { 'content-available': 1, badge: 2 } } }), 200);
    expectAnswer(await viaCert({ headers: { 'apns-push-type': 'background', 'apns-priority': '5' }, body: SILENT }), 200);
  });
});

describe('a provider key for the other environment', () => {
  // Apple's table: 403 BadEnvironmentKeyIdInToken, the default. The service was seen sending
  // BadEnvironmentKeyInToken (kylebrowning/APNSwift#229): an option, and a reason clients can read.
  it('403 BadEnvironmentKeyIdInToken by default', async () => {
    const production = await sim.createSigningKey('TEAM000001', 'KEYPRODONL', 'production');
    const reply = await send(await session(), { headers: { 'apns-topic': APP, authorization: await bearer(production) }, body: ALERT });
    expectAnswer(reply, 403, 'BadEnvironmentKeyIdInToken');
  });

  it('BadEnvironmentKeyInToken when told so (badEnvironmentKeyReason); in the reasons table, not in Apple’s', async () => {
    expect(UNDOCUMENTED_REASONS).toEqual(['BadEnvironmentKeyInToken']);
    expect([isHttp2Reason('BadEnvironmentKeyInToken'), http2StatusOf('BadEnvironmentKeyInToken')]).toEqual([true, 403]);
    expect(retryVerdict(403, 'BadEnvironmentKeyInToken')).toBe('final');
    const production = await sim.createSigningKey('TEAM000001', 'KEYPRODTWO', 'production');
    const fields = readProviderToken(await bearer(production)) as ProviderTokenFields;
    const tokenSocket = { getPeerX509Certificate: () => undefined } as unknown as TLSSocket;
    const identity = { topic: null, topics: [], environment: 'unknown', commonName: null, serialNumber: '' } as never;
    const reasonWith = async (badEnvironmentKeyReason?: 'BadEnvironmentKeyIdInToken' | 'BadEnvironmentKeyInToken') => {
      const auth = new ConnectionAuth(tokenSocket, identity, 'development', { keys: sim.keys, badEnvironmentKeyReason }, () => undefined);
      const answer = await auth.authenticate({ authorization: `bearer ${fields.jwt}` });
      return 'reason' in answer ? answer.reason : 'authenticated';
    };
    expect(await reasonWith()).toBe('BadEnvironmentKeyIdInToken');
    expect(await reasonWith('BadEnvironmentKeyInToken')).toBe('BadEnvironmentKeyInToken');
    expect(await reasonWith('BadEnvironmentKeyIdInToken')).toBe('BadEnvironmentKeyIdInToken');
  });
});

describe('Http2Client: the new answers are final, as the retry guidance says (only 429 and 5xx are retried)', () => {
  it('InvalidPushType and BadPriority: one attempt each, one record each', async () => {
    const { cert, key: privateKey, ca } = sim.credentials;
    const client = new Http2Client({
      host: '127.0.0.1',
      port: sim.ports.http2!,
      cert,
      key: privateKey,
      ca,
      retry: { initialDelayMs: 10, maxDelayMs: 50 },
    });
    try {
      const mismatch = await client.send({ token: TOKEN, topic: `${APP}.voip`, pushType: 'alert', payload: ALERT });
      const silent = await client.send({ token: TOKEN, payload: SILENT });
      expect(mismatch).toMatchObject({ status: 'rejected', statusCode: 400, reason: 'InvalidPushType', attempts: 1 });
      expect(silent).toMatchObject({ status: 'rejected', statusCode: 400, reason: 'BadPriority', attempts: 1 });
      expect(sim.records({ protocol: 'http2' })).toHaveLength(2);
    } finally {
      await client.close();
    }
    for (const reason of ['InvalidPushType', 'BadPriority']) expect(retryVerdict(400, reason)).toBe('final');
  });
});

describe('apns-mock send --http2: the new answers are reported once, exit 1', () => {
  // The built CLI (dist/), with the certificate `serve` writes: as test/cli/send-http2.test.ts sets it up.
  let cliSim: Simulator;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'apns-h2-answers-'));
    cliSim = await startSimulator({ state: join(dir, 'state'), controlPort: false });
    const client = join(dir, 'state', 'client');
    await writeProviderBundle(client, cliSim.credentials, { cert: cliSim.credentials.ca, key: '' }, { baseName: cliSim.credentials.topic });
  });
  afterAll(async () => {
    await cliSim.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('InvalidPushType (alert to <bundle>.voip) and BadPriority (content-available alone at 10): one attempt each', async () => {
    const http2 = ['send', '--http2', '--state', join(dir, 'state'), '--port', String(cliSim.ports.http2), '--token', TOKEN, '--json'];
    const mismatch = await runCli([...http2, '--topic', `${APP}.voip`, '--push-type', 'alert', '--alert', 'x']);
    const silent = await runCli([...http2, '--payload', JSON.stringify(SILENT)]);
    for (const [result, reason] of [
      [mismatch, 'InvalidPushType'],
      [silent, 'BadPriority'],
    ] as const) {
      expect(result.code).toBe(1);
      const [line] = result.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(line).toMatchObject({ status: 'rejected', reason, attempts: 1 });
    }
    expect(cliSim.records({ protocol: 'http2' }).map((r) => r.http2!.reason)).toEqual(['InvalidPushType', 'BadPriority']);
  });
});

describe('binary gateway: a certificate for the other environment', () => {
  // Apple completed the TLS handshake, then dropped the connection (docs/protocol/binary.md). Destroying the
  // socket in the secure handler lost the server's last TLS 1.2 handshake message: the client saw ECONNRESET.
  let production: Simulator;
  beforeAll(async () => {
    production = await startSimulator({ gatewayEnvironment: 'production', http2Port: false, controlPort: false });
  });
  afterAll(async () => {
    await production.close();
  });

  interface Attempt {
    secure: boolean;
    protocol: string | null;
    ended: boolean;
    error: string | null;
  }

  /** A certificate to the production gateway; writes a notification once secure, and closes after `holdMs` if the server did not. */
  const attempt = (credentials: ProviderCredentials, maxVersion: 'TLSv1.2' | 'TLSv1.3', identifier: number, holdMs = 3000) =>
    new Promise<Attempt>((resolve) => {
      const { cert, key: privateKey, ca } = credentials;
      const socket = connectTls({
        host: '127.0.0.1',
        port: production.ports.gateway,
        cert,
        key: privateKey,
        ca,
        servername: 'localhost',
        maxVersion,
      });
      const result: Attempt = { secure: false, protocol: null, ended: false, error: null };
      socket.on('secureConnect', () => {
        Object.assign(result, { secure: true, protocol: socket.getProtocol() });
        socket.write(encodeNotification({ token: TOKEN, payload: ALERT, identifier }, 2));
      });
      const hold = setTimeout(() => socket.destroy(), holdMs);
      socket.on('end', () => (result.ended = true));
      socket.on('error', (error: NodeJS.ErrnoException) => (result.error = error.code ?? error.message));
      socket.on('close', () => {
        clearTimeout(hold);
        resolve(result);
      });
    });

  it('TLS 1.2 and 1.3: the handshake completes, then the server ends the connection; nothing written is taken', async () => {
    const development = await production.createCredentials(APP, 'development');
    const results: Attempt[] = [];
    for (let i = 0; i < 5; i++) results.push(await attempt(development, 'TLSv1.2', i), await attempt(development, 'TLSv1.3', 100 + i));
    const expected = (protocol: string) => ({ secure: true, protocol, ended: true, error: null });
    expect(results).toEqual(Array.from({ length: 5 }, () => [expected('TLSv1.2'), expected('TLSv1.3')]).flat());
    expect(production.records()).toEqual([]);
    // A certificate for this environment is served on the same gateway.
    const served = await attempt(await production.createCredentials(APP, 'production'), 'TLSv1.2', 200, 300);
    expect(served).toMatchObject({ secure: true, protocol: 'TLSv1.2', ended: false });
    expect((await production.waitFor({ identifier: 200 })).map((r) => r.outcome)).toEqual(['accepted']);
  });
});
