import type { TLSSocket } from 'node:tls';
import {
  DEFAULT_BAD_ENVIRONMENT_KEY_REASON,
  Http2Header,
  PROVIDER_TOKEN_LIFETIME_MS,
  PROVIDER_TOKEN_UPDATE_INTERVAL_MS,
  certificateTopics,
  checkProviderTokenAge,
  headerValue,
  http2Rejection,
  readProviderToken,
  verifyProviderTokenSignature,
  type BadEnvironmentKeyReason,
  type HeaderValue,
  type Http2Rejection,
  type ProviderTokenFields,
  type TopicAuthority,
} from '../../protocol/http2/index.js';
import type { ApnsEnvironment, ProviderIdentity } from '../certs/index.js';
import type { KeyStore, ProviderKey } from '../keys/index.js';

export type AuthMode = 'certificate' | 'token';

export interface Authenticated {
  mode: AuthMode;
  authority: TopicAuthority;
  teamId: string | null;
  keyId: string | null;
}

export interface TokenPolicy {
  keys: KeyStore;
  /** ExpiredProviderToken after this. Default one hour. */
  lifetimeMs?: number;
  /** A new token within this of the last one: TooManyProviderTokenUpdates. Default 20 minutes. */
  updateIntervalMs?: number;
  /**
   * The reason for a key of the other environment: 'BadEnvironmentKeyIdInToken' (Apple's table, the
   * default) or 'BadEnvironmentKeyInToken' (what the service was seen sending, kylebrowning/APNSwift#229).
   */
  badEnvironmentKeyReason?: BadEnvironmentKeyReason;
}

/** Tokens whose signature was checked on this connection; a client reuses one for many requests. */
const VERIFIED_KEPT = 8;

/** A token whose signature verified with `key`: the answer to each request with it that passes the checks against the clock and the connection. */
interface Verified {
  key: ProviderKey;
  answer: Authenticated;
}

/**
 * How one connection proves who it is. A client certificate makes it a certificate
 * connection (the authorization header is then ignored, as Apple does); without one, every
 * request carries a provider token, and the connection is bound to the first valid token's
 * team and key.
 */
export class ConnectionAuth {
  readonly mode: AuthMode;
  private readonly certificateProblem: Http2Rejection | null = null;
  private readonly certificateAuthority: TopicAuthority | null = null;
  /** A client certificate that did not verify: the answer to this connection's requests without a token. */
  readonly unverifiedCertificate: Http2Rejection | null = null;
  /** Token connections: the team and key the connection is bound to. */
  bound: { teamId: string; keyId: string } | null = null;
  private currentJwt: string | null = null;
  private currentSince = 0;
  /** Tokens whose signature verified on this connection, with their key and what a request with one is told. */
  private readonly verified = new Map<string, Verified>();
  private certificateAnswer: Authenticated | null = null;

  constructor(
    socket: TLSSocket,
    readonly identity: ProviderIdentity,
    readonly environment: ApnsEnvironment,
    private readonly policy: TokenPolicy,
    /** Called once, when the first valid token binds the connection. */
    private readonly onBound: () => void,
  ) {
    const presented = socket.getPeerX509Certificate() !== undefined;
    // A certificate that does not verify proves nothing: the connection is a token connection
    // (one stream until a valid token); its requests without a token are answered BadCertificate.
    const verified = presented && socket.authorized;
    this.mode = verified ? 'certificate' : 'token';
    if (presented && !verified) {
      this.unverifiedCertificate = http2Rejection(
        'BadCertificate',
        `the client certificate does not verify against the simulator's CA (${String(socket.authorizationError)})`,
      );
    }
    if (!verified) return;
    if (identity.environment !== 'unknown' && identity.environment !== environment) {
      this.certificateProblem = http2Rejection(
        'BadCertificateEnvironment',
        `the certificate is for ${identity.environment}; this connection is to the ${environment} environment`,
      );
    }
    this.certificateAuthority = {
      kind: 'certificate',
      uid: identity.topic,
      topics: certificateTopics(identity.topic, identity.topics),
      several: identity.topics.length > 1,
    };
  }

  private lastAuthorization: string | undefined;
  private lastFields: ProviderTokenFields | null = null;

  /**
   * Judged at once (no promise) when the connection is a certificate connection or the token's
   * signature was verified on it before, as a provider's tokens almost always were: the checks
   * against the clock, the environment, the connection's team and key and the update rate run
   * for every request all the same. A promise only when a key must be looked up and a signature
   * verified.
   */
  authenticate(
    headers: Readonly<Record<string, HeaderValue>>,
    nowMs = Date.now(),
  ): Authenticated | Http2Rejection | Promise<Authenticated | Http2Rejection> {
    if (this.mode === 'certificate') {
      if (this.certificateProblem !== null) return this.certificateProblem;
      return (this.certificateAnswer ??= { mode: 'certificate', authority: this.certificateAuthority!, teamId: null, keyId: null });
    }
    const authorization = headerValue(headers, Http2Header.Authorization);
    if (authorization === undefined && this.unverifiedCertificate !== null) return this.unverifiedCertificate;
    // A connection sends the same token for 20 to 60 minutes: its fields are read once, not per request.
    let fields: ProviderTokenFields | Http2Rejection;
    if (authorization !== undefined && authorization === this.lastAuthorization && this.lastFields !== null) {
      fields = this.lastFields;
    } else {
      fields = readProviderToken(authorization);
      if ('reason' in fields) return fields;
      this.lastAuthorization = authorization;
      this.lastFields = fields;
    }
    const known = this.verified.get(fields.jwt);
    if (known !== undefined && !known.key.revoked) return this.judgeToken(fields, known, nowMs);
    const read = fields;
    return this.keyFor(read).then((key) => ('reason' in key ? key : this.judgeToken(read, key, nowMs)));
  }

  /** Steps 6 and 7 for a token whose key is known and whose signature verifies. */
  private judgeToken(fields: ProviderTokenFields, verified: Verified, nowMs: number): Authenticated | Http2Rejection {
    const { key } = verified;
    const age = checkProviderTokenAge(fields.issuedAt, nowMs, this.policy.lifetimeMs ?? PROVIDER_TOKEN_LIFETIME_MS);
    if (age !== null) return age;
    if (!key.environments.includes(this.environment)) {
      const reason = this.policy.badEnvironmentKeyReason ?? DEFAULT_BAD_ENVIRONMENT_KEY_REASON;
      const environments = key.environments.join(' and ');
      return http2Rejection(reason, `key ${key.keyId} is for ${environments}; this connection is to the ${this.environment} environment`);
    }
    if (this.bound !== null && (this.bound.keyId !== fields.keyId || this.bound.teamId !== fields.teamId)) {
      return http2Rejection(
        'UnrelatedKeyIdInToken',
        `this connection belongs to team ${this.bound.teamId}, key ${this.bound.keyId}; the token is team ${fields.teamId}, key ${fields.keyId}`,
      );
    }
    if (fields.jwt !== this.currentJwt) {
      const interval = this.policy.updateIntervalMs ?? PROVIDER_TOKEN_UPDATE_INTERVAL_MS;
      if (this.currentJwt !== null && nowMs - this.currentSince < interval) {
        return http2Rejection(
          'TooManyProviderTokenUpdates',
          `a new provider token ${Math.round((nowMs - this.currentSince) / 1000)} s after the last one; a connection takes one per ${Math.round(interval / 1000)} s`,
        );
      }
      this.currentJwt = fields.jwt;
      this.currentSince = nowMs;
    }
    if (this.bound === null) {
      this.bound = { teamId: fields.teamId, keyId: fields.keyId };
      this.onBound();
    }
    return verified.answer;
  }

  /** Steps 4 and 5 of the token checks: a known, unrevoked key whose signature verifies. */
  private async keyFor(fields: ProviderTokenFields): Promise<Verified | Http2Rejection> {
    const known = this.verified.get(fields.jwt);
    if (known !== undefined && !known.key.revoked) return known;
    const unknown = http2Rejection(
      'InvalidProviderToken',
      `no key ${fields.keyId} of team ${fields.teamId} is registered (apns-mock keys, or KeyStore.add)`,
    );
    let key = await this.policy.keys.lookup(fields.keyId);
    if (key === null || key.teamId !== fields.teamId) return unknown;
    if (key.revoked) return http2Rejection('Forbidden', `key ${key.keyId} was revoked`);
    if (!(await verifyProviderTokenSignature(fields.jwt, key.key))) {
      // The key may have been made again under the same id by another process.
      const again = await this.policy.keys.reload(fields.keyId);
      if (
        again === null ||
        again.publicKey === key.publicKey ||
        again.teamId !== fields.teamId ||
        !(await verifyProviderTokenSignature(fields.jwt, again.key))
      ) {
        return http2Rejection('InvalidProviderToken', `the provider token's signature does not verify with key ${fields.keyId}`);
      }
      key = again;
    }
    const verified: Verified = {
      key,
      answer: { mode: 'token', authority: { kind: 'token', bundles: key.topics }, teamId: fields.teamId, keyId: fields.keyId },
    };
    this.verified.set(fields.jwt, verified);
    if (this.verified.size > VERIFIED_KEPT) this.verified.delete(this.verified.keys().next().value!);
    return verified;
  }

  /** The authority for broadcast bundles: TopicMismatch when the credentials are not for it. */
  allowsBundle(authority: TopicAuthority, bundle: string): boolean {
    return authority.kind === 'certificate'
      ? authority.topics.includes(bundle)
      : authority.bundles === null || authority.bundles.includes(bundle);
  }
}
