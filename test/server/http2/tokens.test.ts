import { once } from 'node:events';
import type { ClientHttp2Session } from 'node:http2';
import { SignJWT, base64url } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signProviderToken } from '../../../protocol/http2/index.js';
import { startSimulator, type Simulator, type SigningKey } from '../../../server/index.js';
import { ALERT, bearer, nowSeconds, open, send } from './support.js';

// Provider-token authentication, case by case (docs/protocol/http2.md, Token authentication).

const UPDATE_INTERVAL_MS = 400;
let sim: Simulator;
let key: SigningKey;
const sessions: ClientHttp2Session[] = [];

async function session(servername?: string): Promise<ClientHttp2Session> {
  const s = await open(sim, { servername });
  sessions.push(s);
  return s;
}

const push = (s: ClientHttp2Session, authorization: string | undefined) =>
  send(s, { headers: { 'apns-topic': 'com.example.app', ...(authorization === undefined ? {} : { authorization }) }, body: ALERT });

async function reasonFor(authorization: string | undefined): Promise<string | null> {
  const reply = await push(await session(), authorization);
  return reply.status === 200 ? 'accepted' : String(reply.json?.reason);
}

/** A JWT with the given parts, signed (or not) as asked: for tokens no honest signer makes. */
function forged(header: object, claims: object, signature = 'c2lnbmF0dXJl'): string {
  const part = (value: object) => base64url.encode(JSON.stringify(value));
  return `${part(header)}.${part(claims)}.${signature}`;
}

beforeAll(async () => {
  sim = await startSimulator({ http2: { tokenUpdateIntervalMs: UPDATE_INTERVAL_MS, maxConcurrentStreams: 250 } });
  key = await sim.createSigningKey('TEAM000001', 'KEY0000001');
});
afterAll(async () => {
  for (const s of sessions) s.destroy();
  await sim.close();
});
beforeEach(() => sim.recorder.clear());

describe('a token is accepted', () => {
  it('when ES256-signed with a registered key: the record names the team and key, never the signature', async () => {
    const authorization = await bearer(key);
    const reply = await push(await session(), authorization);
    expect(reply.status).toBe(200);
    const [record] = await sim.waitFor({ protocol: 'http2', outcome: 'accepted' });
    expect(record.http2).toMatchObject({ auth: 'token', teamId: 'TEAM000001', keyId: 'KEY0000001', status: 200 });
    const signature = authorization.split('.')[2];
    expect(record.http2!.headers.authorization).toBe(`${authorization.slice(0, authorization.length - signature.length)}…`);
    expect(JSON.stringify(record)).not.toContain(signature);
  });

  it('with "Bearer" in any case and made by the .p8 PEM as Apple issues it', async () => {
    const jwt = await signProviderToken({ teamId: key.teamId, keyId: key.keyId, privateKey: key.privateKey });
    expect(key.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(await reasonFor(`Bearer ${jwt}`)).toBe('accepted');
  });

  it('59 minutes after iat', async () => {
    expect(await reasonFor(await bearer(key, nowSeconds() - 59 * 60))).toBe('accepted');
  });
});

describe('a token is refused', () => {
  it('MissingProviderToken without the header, or with an empty one', async () => {
    expect(await reasonFor(undefined)).toBe('MissingProviderToken');
    expect(await reasonFor('')).toBe('MissingProviderToken');
  });

  it('InvalidProviderToken for a token that is not a bearer JWT', async () => {
    const jwt = (await bearer(key)).slice('bearer '.length);
    expect(await reasonFor(jwt)).toBe('InvalidProviderToken');
    expect(await reasonFor(`basic ${jwt}`)).toBe('InvalidProviderToken');
    expect(await reasonFor('bearer a.b')).toBe('InvalidProviderToken');
  });

  it('InvalidProviderToken for alg other than ES256 (HS256, none)', async () => {
    const hs256 = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: key.keyId })
      .setIssuer(key.teamId)
      .setIssuedAt()
      .sign(new TextEncoder().encode('a shared secret of 32 bytes!!!!!'));
    expect(await reasonFor(`bearer ${hs256}`)).toBe('InvalidProviderToken');
    expect(await reasonFor(`bearer ${forged({ alg: 'none', kid: key.keyId }, { iss: key.teamId, iat: nowSeconds() })}`)).toBe(
      'InvalidProviderToken',
    );
  });

  it('InvalidProviderToken for a kid or iss that is not 10 characters, or no iat', async () => {
    const { importPKCS8 } = await import('jose');
    const privateKey = await importPKCS8(key.privateKey, 'ES256');
    const make = async (kid: string, iss: string | undefined, iat: number | undefined) => {
      const jwt = new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid });
      if (iss !== undefined) jwt.setIssuer(iss);
      if (iat !== undefined) jwt.setIssuedAt(iat);
      return `bearer ${await jwt.sign(privateKey)}`;
    };
    expect(await reasonFor(await make('KEY00001', key.teamId, nowSeconds()))).toBe('InvalidProviderToken');
    expect(await reasonFor(await make(key.keyId, 'TEAM01', nowSeconds()))).toBe('InvalidProviderToken');
    expect(await reasonFor(await make(key.keyId, undefined, nowSeconds()))).toBe('InvalidProviderToken');
    expect(await reasonFor(await make(key.keyId, key.teamId, undefined))).toBe('InvalidProviderToken');
    expect(await reasonFor(await make(key.keyId, key.teamId, nowSeconds()))).toBe('accepted');
  });

  it('InvalidProviderToken for an unknown key id, or a key id of another team', async () => {
    const unknown = await signProviderToken({ teamId: key.teamId, keyId: 'KEYUNKNOWN', privateKey: key.privateKey });
    expect(await reasonFor(`bearer ${unknown}`)).toBe('InvalidProviderToken');
    const otherTeam = await signProviderToken({ teamId: 'TEAM000099', keyId: key.keyId, privateKey: key.privateKey });
    expect(await reasonFor(`bearer ${otherTeam}`)).toBe('InvalidProviderToken');
  });

  it('InvalidProviderToken for a signature by another key, or a tampered token', async () => {
    const impostor = await sim.createSigningKey('TEAM000002', 'KEYIMPOSTR');
    const wrongKey = await signProviderToken({ teamId: key.teamId, keyId: key.keyId, privateKey: impostor.privateKey });
    expect(await reasonFor(`bearer ${wrongKey}`)).toBe('InvalidProviderToken');
    const [header, , signature] = (await bearer(key)).slice('bearer '.length).split('.');
    const claims = base64url.encode(JSON.stringify({ iss: key.teamId, iat: nowSeconds() - 1 }));
    expect(await reasonFor(`bearer ${header}.${claims}.${signature}`)).toBe('InvalidProviderToken');
  });

  it('InvalidProviderToken for an iat far in the future', async () => {
    expect(await reasonFor(await bearer(key, nowSeconds() + 3600))).toBe('InvalidProviderToken');
  });

  it('ExpiredProviderToken an hour after iat', async () => {
    expect(await reasonFor(await bearer(key, nowSeconds() - 3601))).toBe('ExpiredProviderToken');
  });

  it('Forbidden for a revoked key', async () => {
    const revoked = await sim.createSigningKey('TEAM000001', 'KEYREVOKED');
    const s = await session();
    expect((await push(s, await bearer(revoked))).status).toBe(200);
    await sim.keys.revoke('KEYREVOKED');
    const reply = await push(s, await bearer(revoked));
    expect([reply.status, reply.json?.reason]).toEqual([403, 'Forbidden']);
  });
});

describe('environments', () => {
  it('BadEnvironmentKeyIdInToken for a key of the other environment; the key works where it belongs (by SNI)', async () => {
    const production = await sim.createSigningKey('TEAM000001', 'KEYPRODUCT', 'production');
    expect(await reasonFor(await bearer(production))).toBe('BadEnvironmentKeyIdInToken');
    const toProduction = await session('api.push.apple.com');
    const reply = await push(toProduction, await bearer(production));
    expect(reply.status).toBe(200);
    // apns-unique-id is for the development environment only.
    expect(reply.headers['apns-unique-id']).toBeUndefined();
    const [record] = await sim.waitFor({ outcome: 'accepted' });
    expect(record.environment).toBe('production');
    const sandbox = await session('api.sandbox.push.apple.com');
    const development = await sim.createSigningKey('TEAM000001', 'KEYDEVELOP', 'development');
    expect((await push(sandbox, await bearer(development))).headers['apns-unique-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect((await push(toProduction, await bearer(key))).status).toBe(403);
  });
});

describe('one team and key per connection', () => {
  it('UnrelatedKeyIdInToken for another key of the same team or of another team; a new connection takes it', async () => {
    const sameTeam = await sim.createSigningKey('TEAM000001', 'KEYSAMETEA');
    const otherTeam = await sim.createSigningKey('TEAM000002', 'KEYOTHERTE');
    const s = await session();
    expect((await push(s, await bearer(key))).status).toBe(200);
    for (const other of [sameTeam, otherTeam]) {
      const reply = await push(s, await bearer(other));
      expect([reply.status, reply.json?.reason]).toEqual([403, 'UnrelatedKeyIdInToken']);
    }
    expect(sim.http2!.connections().find((c) => c.teamId === 'TEAM000001' && c.keyId === 'KEY0000001')).toBeDefined();
    expect((await push(await session(), await bearer(otherTeam))).status).toBe(200);
  });

  it('a failed token does not bind the connection', async () => {
    const s = await session();
    expect((await push(s, await bearer(key, nowSeconds() - 4000))).json?.reason).toBe('ExpiredProviderToken');
    const other = await sim.createSigningKey('TEAM000003', 'KEYUNBOUND');
    expect((await push(s, await bearer(other))).status).toBe(200);
  });
});

describe('token updates', () => {
  it('TooManyProviderTokenUpdates for a new token within the interval; the current one still works; after the interval the new one is taken', async () => {
    const s = await session();
    const first = await bearer(key, nowSeconds() - 30);
    const second = await bearer(key, nowSeconds() - 20);
    expect((await push(s, first)).status).toBe(200);
    const refused = await push(s, second);
    expect([refused.status, refused.json?.reason]).toEqual([429, 'TooManyProviderTokenUpdates']);
    expect((await push(s, first)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, UPDATE_INTERVAL_MS + 50));
    expect((await push(s, second)).status).toBe(200);
    const third = await bearer(key, nowSeconds() - 10);
    expect((await push(s, third)).json?.reason).toBe('TooManyProviderTokenUpdates');
    // The refusal did not take the place of the current token.
    expect((await push(s, second)).status).toBe(200);
  });

  it('the same token on many connections is one token per connection', async () => {
    const authorization = await bearer(key);
    const replies = await Promise.all([session(), session(), session()].map(async (s) => push(await s, authorization)));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
  });
});

describe('the stream limit', () => {
  it('is 1 on a token connection until a valid token, then the configured maximum', async () => {
    const s = await session();
    expect(s.remoteSettings.maxConcurrentStreams).toBe(1);
    expect(sim.http2!.connections().at(-1)!.maxConcurrentStreams).toBe(1);
    expect((await push(s, undefined)).json?.reason).toBe('MissingProviderToken');
    expect((await push(s, 'bearer x.y.z')).json?.reason).toBe('InvalidProviderToken');
    expect(s.remoteSettings.maxConcurrentStreams).toBe(1);
    const raised = once(s, 'remoteSettings');
    expect((await push(s, await bearer(key))).status).toBe(200);
    const [settings] = (await raised) as [{ maxConcurrentStreams: number }];
    expect(settings.maxConcurrentStreams).toBe(250);
    expect(s.remoteSettings.maxConcurrentStreams).toBe(250);
    expect(sim.http2!.connections().find((c) => c.keyId === 'KEY0000001' && c.maxConcurrentStreams === 250)).toBeDefined();
  });

  it('is the maximum from the first SETTINGS on a certificate connection', async () => {
    const s = await open(sim, { cert: sim.credentials });
    sessions.push(s);
    expect(s.remoteSettings.maxConcurrentStreams).toBe(250);
    const replies = await Promise.all(Array.from({ length: 50 }, () => send(s, { body: ALERT })));
    expect(replies.every((r) => r.status === 200)).toBe(true);
  });
  // Streams beyond the limit, held or refused: early-streams.test.ts.
});
