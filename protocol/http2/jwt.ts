import type { KeyObject } from 'node:crypto';
import { compactVerify, decodeJwt, decodeProtectedHeader, importPKCS8, SignJWT } from 'jose';
import { KEY_ID_LENGTH, PROVIDER_TOKEN_LIFETIME_MS, TEAM_ID_LENGTH } from './constants.js';
import { http2Rejection, type Http2Rejection } from './reasons.js';

/*
 * Provider tokens (docs/protocol/http2.md, Token authentication): `authorization: bearer <JWT>`, the
 * JWT signed ES256 with the team's P-256 key; header `alg` ES256 and `kid` (10 characters);
 * claims `iss` (the 10-character team id) and `iat` (seconds). Apple ignores other claims,
 * `exp` included, so only these are read. The checks run in this order:
 *   1. the header is present                      MissingProviderToken
 *   2. `bearer <three base64url parts>`            InvalidProviderToken
 *   3. alg ES256, kid and iss 10 characters, iat   InvalidProviderToken
 *   4. (server) the key is known and not revoked   InvalidProviderToken, Forbidden
 *   5. the signature verifies with that key        InvalidProviderToken
 *   6. iat not older than an hour                  ExpiredProviderToken
 *   7. (server) the key's environment, the connection's team and key, the update rate:
 *      BadEnvironmentKeyIdInToken, UnrelatedKeyIdInToken, TooManyProviderTokenUpdates
 */

export interface ProviderTokenFields {
  /** The JWT itself. */
  jwt: string;
  keyId: string;
  teamId: string;
  /** UNIX seconds. */
  issuedAt: number;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const ID = /^[A-Za-z0-9]+$/;

/** Steps 1-3: reads the token's fields, unverified. */
export function readProviderToken(authorization: string | undefined): ProviderTokenFields | Http2Rejection {
  if (authorization === undefined || authorization.trim() === '') {
    return http2Rejection(
      'MissingProviderToken',
      'no client certificate and no authorization header: send "authorization: bearer <provider token>"',
    );
  }
  const match = /^bearer\s+(\S+)$/i.exec(authorization.trim());
  if (match === null) return http2Rejection('InvalidProviderToken', 'the authorization header is not "bearer <provider token>"');
  const jwt = match[1];
  if (!JWT_SHAPE.test(jwt)) return http2Rejection('InvalidProviderToken', 'the provider token is not a JWT (three base64url parts)');
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jwt);
    claims = decodeJwt(jwt);
  } catch (error) {
    return http2Rejection('InvalidProviderToken', `the provider token cannot be decoded: ${(error as Error).message}`);
  }
  if (header.alg !== 'ES256')
    return http2Rejection('InvalidProviderToken', `the provider token's alg is ${JSON.stringify(header.alg)}; APNs takes ES256 only`);
  const kid = header.kid;
  if (typeof kid !== 'string' || kid.length !== KEY_ID_LENGTH || !ID.test(kid)) {
    return http2Rejection(
      'InvalidProviderToken',
      `the provider token's kid ${JSON.stringify(kid)} is not a ${KEY_ID_LENGTH}-character key id`,
    );
  }
  const iss = claims.iss;
  if (typeof iss !== 'string' || iss.length !== TEAM_ID_LENGTH || !ID.test(iss)) {
    return http2Rejection(
      'InvalidProviderToken',
      `the provider token's iss ${JSON.stringify(iss)} is not a ${TEAM_ID_LENGTH}-character team id`,
    );
  }
  const iat = claims.iat;
  if (typeof iat !== 'number' || !Number.isInteger(iat) || iat < 0) {
    return http2Rejection('InvalidProviderToken', `the provider token's iat ${JSON.stringify(iat)} is not UNIX seconds`);
  }
  return { jwt, keyId: kid, teamId: iss, issuedAt: iat };
}

/** Step 5: true when the ES256 signature verifies with the key. */
export async function verifyProviderTokenSignature(jwt: string, publicKey: KeyObject): Promise<boolean> {
  try {
    await compactVerify(jwt, publicKey, { algorithms: ['ES256'] });
    return true;
  } catch {
    return false;
  }
}

/** A token issued further ahead than this is refused: the clocks cannot be that far apart. */
export const PROVIDER_TOKEN_CLOCK_SKEW_MS = 5 * 60_000;

/** Step 6: ExpiredProviderToken an hour after `iat` (or after `lifetimeMs`). */
export function checkProviderTokenAge(issuedAt: number, nowMs: number, lifetimeMs = PROVIDER_TOKEN_LIFETIME_MS): Http2Rejection | null {
  const ageMs = nowMs - issuedAt * 1000;
  if (ageMs > lifetimeMs) {
    return http2Rejection(
      'ExpiredProviderToken',
      `the provider token was issued ${Math.round(ageMs / 1000)} s ago; it is good for ${Math.round(lifetimeMs / 1000)} s`,
    );
  }
  if (-ageMs > PROVIDER_TOKEN_CLOCK_SKEW_MS) {
    return http2Rejection('InvalidProviderToken', `the provider token's iat is ${Math.round(-ageMs / 1000)} s in the future`);
  }
  return null;
}

export interface SignProviderTokenOptions {
  teamId: string;
  keyId: string;
  /** The .p8 contents (PKCS#8 PEM) or a private KeyObject. */
  privateKey: string | KeyObject;
  /** UNIX seconds; default now. */
  issuedAt?: number;
}

/** A provider token as Apple's documentation makes it: ES256, kid, iss and iat. */
export async function signProviderToken(options: SignProviderTokenOptions): Promise<string> {
  const key = typeof options.privateKey === 'string' ? await importPKCS8(options.privateKey, 'ES256') : options.privateKey;
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: options.keyId })
    .setIssuer(options.teamId)
    .setIssuedAt(options.issuedAt ?? Math.floor(Date.now() / 1000))
    .sign(key);
}
