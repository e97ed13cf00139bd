import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { ServerHttp2Stream } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Http2Client, type Http2SendOutcome } from '../../../client/index.js';
import { startSimulator, writeProviderBundle, type SigningKey, type Simulator } from '../../../server/index.js';
import { KEY_ID, TEAM, TOKEN, TOPIC, certClient, recordsOf, tokenClient } from './support.js';

// Token and certificate authentication against the simulator over real TLS, and what the
// client does with answers that must not be retried.

let sim: Simulator;
/** Another simulator: its own CA, so its certificates are strangers to `sim`. */
let other: Simulator;
let key: SigningKey;
let dir: string;
const clients: Http2Client[] = [];
const track = (c: Http2Client) => (clients.push(c), c);

beforeAll(async () => {
  [sim, other] = await Promise.all([startSimulator({ controlPort: false }), startSimulator({ controlPort: false, http2Port: false })]);
  key = await sim.createSigningKey(TEAM, KEY_ID);
  dir = await mkdtemp(join(tmpdir(), 'apns-h2-auth-'));
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all([sim.close(), other.close()]);
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  sim.recorder.clear();
  sim.rules.clear();
  sim.devices.clear();
});

describe('token authentication', () => {
  it('is accepted and recorded with its team, key and every header the notification gave', async () => {
    const client = track(tokenClient(sim, key));
    const outcome = await client.send({
      token: TOKEN,
      topic: TOPIC,
      payload: { aps: { alert: 'Hello' } },
      pushType: 'alert',
      priority: 5,
      expiration: new Date(1_900_000_000_000),
      collapseId: 'scores',
    });
    expect(outcome).toMatchObject({ status: 'accepted', attempts: 1, possibleDuplicate: false });
    if (outcome.status !== 'accepted') return;
    expect(outcome.apnsId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(outcome.apnsUniqueId).toMatch(/^[0-9a-f-]{36}$/);
    const [record] = recordsOf(sim, outcome.apnsId);
    expect(record).toMatchObject({
      outcome: 'accepted',
      token: TOKEN,
      topic: TOPIC,
      priority: 5,
      expiry: 1_900_000_000,
      payloadJson: { aps: { alert: 'Hello' } },
    });
    expect(record.http2).toMatchObject({
      auth: 'token',
      teamId: TEAM,
      keyId: KEY_ID,
      pushType: 'alert',
      collapseId: 'scores',
      apnsUniqueId: outcome.apnsUniqueId,
      status: 200,
    });
    expect(client.stats()).toMatchObject({ requests: 1, accepted: 1, tokens: 1, connections: 1 });
  });

  it('reads the .p8 from a path, and keeps the apns-id it was given', async () => {
    const path = join(dir, `AuthKey_${KEY_ID}.p8`);
    await writeFile(path, key.privateKey);
    const client = track(tokenClient(sim, key, { token: { teamId: TEAM, keyId: KEY_ID, key: path } }));
    const id = randomUUID();
    const outcome = await client.send({ token: TOKEN, topic: TOPIC, payload: '{"aps":{"alert":"text as given"}}', id });
    expect(outcome).toMatchObject({ status: 'accepted', apnsId: id });
    expect(recordsOf(sim, id)).toMatchObject([
      { outcome: 'accepted', payload: '{"aps":{"alert":"text as given"}}', http2: { keyId: KEY_ID } },
    ]);
  });

  it('one provider token serves every connection opened within the refresh window', async () => {
    // Slow answers keep streams open, so the client opens its three connections and uses each.
    sim.rules.add({ action: { type: 'delay', ms: 100 } });
    const client = track(tokenClient(sim, key, { connections: 3 }));
    const wave = (n: number) =>
      Promise.all(Array.from({ length: n }, (_, i) => client.send({ token: TOKEN, topic: TOPIC, payload: { aps: {}, i } })));
    // The first connection takes the first wave (it was the only one ready); the others open meanwhile.
    const outcomes = [...(await wave(10)), ...(await wave(30))];
    expect(outcomes.every((o) => o.status === 'accepted')).toBe(true);
    expect(client.stats()).toMatchObject({ tokens: 1, connections: 3 });
    expect(new Set(sim.records({ protocol: 'http2' }).map((r) => r.connectionId)).size).toBe(3);
  });
});

describe('certificate authentication', () => {
  it('with a PEM certificate and key: accepted and recorded under the certificate topic', async () => {
    const client = track(certClient(sim));
    const outcome = await client.send({ token: TOKEN, payload: { aps: { alert: 'cert' } } });
    expect(outcome.status).toBe('accepted');
    expect(recordsOf(sim, outcome.apnsId)).toMatchObject([
      { outcome: 'accepted', topic: TOPIC, http2: { auth: 'certificate', teamId: null, status: 200 } },
    ]);
    expect(client.stats().tokens).toBe(0);
  });

  it('with a .p12 and its passphrase', async () => {
    const bundle = await writeProviderBundle(
      join(dir, 'p12'),
      sim.credentials,
      { cert: sim.credentials.ca, key: '' },
      { passphrase: 'secret' },
    );
    const client = track(
      new Http2Client({
        host: '127.0.0.1',
        port: sim.ports.http2!,
        pfx: await readFile(bundle.p12),
        passphrase: 'secret',
        ca: sim.credentials.ca,
      }),
    );
    expect((await client.send({ token: TOKEN, payload: { aps: {} } })).status).toBe('accepted');
    expect(sim.records({ protocol: 'http2', outcome: 'accepted' })[0].http2!.auth).toBe('certificate');
  });

  it('a certificate another CA signed: 403 BadCertificate, not retried', async () => {
    const client = track(certClient(sim, { cert: other.credentials.cert, key: other.credentials.key }));
    const outcome = await client.send({ token: TOKEN, payload: { aps: {} } });
    expect(outcome).toMatchObject({ status: 'rejected', statusCode: 403, reason: 'BadCertificate', attempts: 1 });
    // The simulator's own explanation (x-apns-mock-reason), which Apple does not send.
    expect(outcome).toMatchObject({
      explanation: expect.stringMatching(/^the client certificate does not verify against the simulator's CA/),
    });
    expect(recordsOf(sim, outcome.apnsId)).toHaveLength(1);
  });

  it('a server certificate the client does not trust: failed at once with the TLS error', async () => {
    // Trusts only the other simulator's CA.
    const client = track(certClient(sim, { ca: other.credentials.ca }));
    const outcome = await client.send({ token: TOKEN, payload: { aps: {} } });
    expect(outcome.status).toBe('failed');
    if (outcome.status === 'failed') {
      expect(outcome.error).toMatchObject({ code: 'ERR_APNS_UNREACHABLE' });
      expect(outcome.error.message).toMatch(/TLS .* failed/);
    }
    expect(client.stats()).toMatchObject({ connections: 1, requests: 0 });
  });
});

describe('answers that are never retried: exactly one request each', () => {
  const once = async (prepare: () => void, notification: Partial<Parameters<Http2Client['send']>[0]> = {}): Promise<Http2SendOutcome> => {
    prepare();
    const client = track(tokenClient(sim, key, { retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 5 } }));
    const outcome = await client.send({ token: TOKEN, topic: TOPIC, payload: { aps: { alert: 'x' } }, ...notification });
    await client.close();
    expect(recordsOf(sim, outcome.apnsId)).toHaveLength(1);
    expect(outcome.attempts).toBe(1);
    return outcome;
  };

  it('BadDeviceToken (a token of the other environment)', async () => {
    const outcome = await once(() => sim.devices.register(TOKEN, { environment: 'production' }));
    expect(outcome).toMatchObject({ status: 'rejected', statusCode: 400, reason: 'BadDeviceToken' });
  });

  it('Unregistered, with the 410 timestamp in milliseconds', async () => {
    const outcome = await once(() => sim.devices.uninstall(TOKEN, { timestamp: 1_700_000_000 }));
    expect(outcome).toMatchObject({ status: 'rejected', statusCode: 410, reason: 'Unregistered', timestamp: 1_700_000_000_000 });
  });

  it('DeviceTokenNotForTopic', async () => {
    const outcome = await once(() => sim.devices.register(TOKEN, { topic: 'com.example.other' }));
    expect(outcome).toMatchObject({ status: 'rejected', statusCode: 400, reason: 'DeviceTokenNotForTopic' });
  });

  it('PayloadTooLarge', async () => {
    const outcome = await once(() => undefined, { payload: { aps: { alert: 'x'.repeat(4200) } } });
    expect(outcome).toMatchObject({ status: 'rejected', statusCode: 413, reason: 'PayloadTooLarge' });
  });

  for (const reason of ['ExpiredToken', 'Forbidden', 'BadTopic', 'TopicDisallowed'] as const) {
    it(`${reason} (a rule)`, async () => {
      const outcome = await once(() => sim.rules.add({ action: { type: 'reject', reason } }));
      expect(outcome).toMatchObject({ status: 'rejected', reason });
    });
  }
});

describe('provider token timing', () => {
  it('refreshes on one connection after refreshMs, never sooner than the update interval, never stale', async () => {
    const timed = await startSimulator({ controlPort: false, http2: { tokenUpdateIntervalMs: 400, tokenLifetimeMs: 2500 } });
    const signer = await timed.createSigningKey(TEAM, KEY_ID);
    const seen: { session: object; at: number; jwt: string }[] = [];
    timed.http2!.server.on('stream', (stream: ServerHttp2Stream, headers) => {
      seen.push({ session: stream.session!, at: Date.now(), jwt: String(headers.authorization).slice('bearer '.length) });
    });
    try {
      const client = tokenClient(timed, signer, {
        token: { teamId: TEAM, keyId: KEY_ID, key: signer.privateKey, refreshMs: 1000, updateIntervalMs: 400, lifetimeMs: 2500 },
      });
      const outcomes: Http2SendOutcome[] = [];
      const started = Date.now();
      while (Date.now() - started < 3200) {
        outcomes.push(await client.send({ token: TOKEN, topic: TOPIC, payload: { aps: {} } }));
        await new Promise((r) => setTimeout(r, 50));
      }
      await client.close();
      // The simulator answers a token change within 400 ms with TooManyProviderTokenUpdates and a token past 2500 ms with ExpiredProviderToken.
      expect(timed.records({ outcome: 'rejected' }).map((r) => r.statusName)).toEqual([]);
      expect(outcomes.every((o) => o.status === 'accepted' && o.attempts === 1)).toBe(true);
      expect(new Set(seen.map((s) => s.session)).size).toBe(1);
      const changes = seen.filter((s, i) => i === 0 || s.jwt !== seen[i - 1].jwt);
      expect(changes.length).toBeGreaterThanOrEqual(3);
      expect(new Set(seen.map((s) => s.jwt)).size).toBe(changes.length);
      // Each token is used for about refreshMs (1000 ms from its signing; requests about 50 ms apart), then never again.
      for (let i = 1; i < changes.length; i++) {
        expect(changes[i].at - changes[i - 1].at).toBeGreaterThanOrEqual(900);
        expect(changes[i].at - changes[i - 1].at).toBeLessThan(1500);
      }
      for (const s of seen) expect(s.at - (decodeJwt(s.jwt).iat as number) * 1000).toBeLessThan(2500);
      expect(client.stats().tokens).toBe(changes.length);
    } finally {
      await timed.close();
    }
  });

  it('ExpiredProviderToken: a new token, on a new connection, once', async () => {
    // The client believes tokens last 6 s; this simulator holds them good for 1.5 s.
    const strict = await startSimulator({ controlPort: false, http2: { tokenLifetimeMs: 1500, tokenUpdateIntervalMs: 100 } });
    const signer = await strict.createSigningKey(TEAM, KEY_ID);
    try {
      const client = tokenClient(strict, signer, {
        token: { teamId: TEAM, keyId: KEY_ID, key: signer.privateKey, refreshMs: 4000, updateIntervalMs: 100, lifetimeMs: 6000 },
      });
      expect((await client.send({ token: TOKEN, topic: TOPIC, payload: { aps: {} } })).status).toBe('accepted');
      await new Promise((r) => setTimeout(r, 1600));
      const outcome = await client.send({ token: TOKEN, topic: TOPIC, payload: { aps: {} } });
      expect(outcome).toMatchObject({ status: 'accepted', attempts: 2, possibleDuplicate: false });
      const records = recordsOf(strict, outcome.apnsId);
      expect(records.map((r) => [r.outcome, r.statusName])).toEqual([
        ['rejected', 'ExpiredProviderToken'],
        ['accepted', null],
      ]);
      expect(records[0].connectionId).not.toBe(records[1].connectionId);
      expect(client.stats()).toMatchObject({ tokens: 2, connections: 2 });
      await client.close();
    } finally {
      await strict.close();
    }
  });

  it('ExpiredProviderToken again after the new token: rejected, after exactly two requests', async () => {
    const strict = await startSimulator({ controlPort: false, http2: { tokenLifetimeMs: 1 } });
    const signer = await strict.createSigningKey(TEAM, KEY_ID);
    try {
      const client = tokenClient(strict, signer);
      const outcome = await client.send({ token: TOKEN, topic: TOPIC, payload: { aps: {} } });
      // iat is whole seconds: a token is older than 1 ms unless sent in the very millisecond its second began.
      expect(outcome).toMatchObject({ status: 'rejected', statusCode: 403, reason: 'ExpiredProviderToken', attempts: 2 });
      expect(recordsOf(strict, outcome.apnsId)).toHaveLength(2);
      await client.close();
    } finally {
      await strict.close();
    }
  });
});

describe('options', () => {
  const token = () => ({ teamId: TEAM, keyId: KEY_ID, key: key.privateKey });

  it("Apple's hosts by environment, port 443 unless told (Apple also serves 2197)", () => {
    expect(new Http2Client({ environment: 'sandbox', token: token() }).endpoint).toEqual({ host: 'api.sandbox.push.apple.com', port: 443 });
    expect(new Http2Client({ environment: 'production', port: 2197, token: token() }).endpoint).toEqual({
      host: 'api.push.apple.com',
      port: 2197,
    });
    expect(() => new Http2Client({ token: token() })).toThrow(/give a host/);
  });

  it('refuses what cannot work, when it is made', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const at = { host: '127.0.0.1', port: 1 };
    expect(() => new Http2Client({ ...at })).toThrow(/provider certificate|token/);
    expect(() => new Http2Client({ ...at, token: token(), cert: sim.credentials.cert, key: sim.credentials.key })).toThrow(/not both/);
    expect(() => new Http2Client({ ...at, token: { ...token(), key: rsa } })).toThrow(/P-256/);
    expect(() => new Http2Client({ ...at, token: { ...token(), key: join(dir, 'missing.p8') } })).toThrow(
      /cannot read the provider key .*ENOENT/,
    );
    expect(() => new Http2Client({ ...at, token: { ...token(), teamId: 'TEAM' } })).toThrow(/teamId must be 10/);
    expect(() => new Http2Client({ ...at, token: { ...token(), refreshMs: 10 * 60_000 } })).toThrow(
      /refreshMs must be from updateIntervalMs/,
    );
    expect(() => new Http2Client({ ...at, token: { ...token(), refreshMs: 60 * 60_000 } })).toThrow(/refreshMs/);
    expect(() => new Http2Client({ ...at, token: token(), connections: 0 })).toThrow(/connections/);
    expect(new Http2Client({ ...at, token: { ...token(), refreshMs: 20 * 60_000 } }).endpoint.port).toBe(1);
  });

  it('send() refuses a token that is not hex and a missing payload, and everything after close()', async () => {
    const client = tokenClient(sim, key);
    await expect(client.send({ token: 'zz', payload: {} })).rejects.toThrow(/device token in hex/);
    await expect(client.send({ token: TOKEN } as never)).rejects.toThrow(/needs a payload/);
    await expect(client.send({ token: TOKEN, topic: 'com.example.app\r\nx-injected: 1', payload: {} })).rejects.toMatchObject({
      code: 'ERR_INVALID_CHAR',
    });
    await client.close();
    await expect(client.send({ token: TOKEN, payload: {} })).rejects.toMatchObject({ code: 'ERR_APNS_CLIENT_CLOSED' });
    expect(client.stats()).toMatchObject({ requests: 0, connections: 0 });
  });
});
