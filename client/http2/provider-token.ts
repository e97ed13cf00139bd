import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  KEY_ID_LENGTH,
  PROVIDER_TOKEN_LIFETIME_MS,
  PROVIDER_TOKEN_UPDATE_INTERVAL_MS,
  TEAM_ID_LENGTH,
  signProviderToken,
} from '../../protocol/http2/index.js';

/** Token authentication: a provider token (ES256 JWT) signed with the team's .p8 key. */
export interface ProviderTokenOptions {
  /** 10 characters: the JWT's `iss`. */
  teamId: string;
  /** 10 characters: the JWT's `kid`. */
  keyId: string;
  /** The .p8 file's contents (PKCS#8 PEM), or its path. */
  key: string | Buffer;
  /**
   * A connection moves to a new token once its token is this old. Apple: between 20 and 60
   * minutes (`updateIntervalMs` to `lifetimeMs`). Default 50 minutes.
   */
  refreshMs?: number;
  /**
   * The least time between two tokens on one connection: APNs answers a faster change with 429
   * TooManyProviderTokenUpdates. Default 20 minutes; lower only for a simulator told so.
   */
  updateIntervalMs?: number;
  /** APNs answers ExpiredProviderToken to a token older than this. Default 60 minutes. */
  lifetimeMs?: number;
}

export interface ProviderToken {
  /** `bearer <JWT>`, the authorization header. */
  header: string;
  /** When it was signed; its `iat` is this in whole seconds, so APNs counts it up to a second older. */
  issuedAtMs: number;
}

/** What one connection holds: the token it sends and since when. */
export interface ConnectionTokenState {
  token: ProviderToken | null;
  /** When the connection first sent `token`. */
  since: number;
}

const ID = /^[A-Za-z0-9]+$/;

function keyOf(input: string | Buffer): KeyObject {
  let pem: string | Buffer = input;
  if (typeof input === 'string' && !input.includes('-----BEGIN')) {
    try {
      pem = readFileSync(input);
    } catch (error) {
      throw new TypeError(`cannot read the provider key ${input}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
        cause: error,
      });
    }
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new TypeError(
      `the provider key is not a PEM private key (a .p8 holds "-----BEGIN PRIVATE KEY-----"): ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new TypeError('the provider key must be a P-256 (ES256) key, as Apple issues in .p8 files');
  }
  return key;
}

/**
 * Signs provider tokens and hands them to connections so that no connection changes token
 * sooner than `updateIntervalMs` after its last change, nor sends one older than `refreshMs`:
 * a connection takes the newest token only while that token is at most
 * `refreshMs - updateIntervalMs` old (else a new one is signed), so by the time it must move on,
 * it has held the token at least `updateIntervalMs`.
 */
export class ProviderTokens {
  readonly teamId: string;
  readonly keyId: string;
  readonly refreshMs: number;
  readonly updateIntervalMs: number;
  readonly lifetimeMs: number;
  signed = 0;
  private readonly key: KeyObject;
  private latest: ProviderToken | null = null;
  private signing: Promise<ProviderToken> | null = null;

  constructor(options: ProviderTokenOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('token must be { teamId, keyId, key }');
    for (const [name, value, length] of [
      ['teamId', options.teamId, TEAM_ID_LENGTH],
      ['keyId', options.keyId, KEY_ID_LENGTH],
    ] as const) {
      if (typeof value !== 'string' || value.length !== length || !ID.test(value)) {
        throw new TypeError(`token.${name} must be ${length} letters or digits; got ${JSON.stringify(value)}`);
      }
    }
    this.teamId = options.teamId;
    this.keyId = options.keyId;
    this.key = keyOf(options.key);
    this.updateIntervalMs = options.updateIntervalMs ?? PROVIDER_TOKEN_UPDATE_INTERVAL_MS;
    this.lifetimeMs = options.lifetimeMs ?? PROVIDER_TOKEN_LIFETIME_MS;
    this.refreshMs = options.refreshMs ?? 50 * 60_000;
    for (const name of ['updateIntervalMs', 'lifetimeMs', 'refreshMs'] as const) {
      if (!(Number.isFinite(this[name]) && this[name] > 0))
        throw new RangeError(`token.${name} must be a number of milliseconds > 0; got ${String(this[name])}`);
    }
    // iat is whole seconds, so APNs may count a token up to a second older than it is.
    if (this.refreshMs < this.updateIntervalMs || this.refreshMs + 1000 >= this.lifetimeMs) {
      throw new RangeError(
        `token.refreshMs must be from updateIntervalMs (${this.updateIntervalMs}) to a second short of lifetimeMs (${this.lifetimeMs}); got ${this.refreshMs}`,
      );
    }
  }

  /** The authorization header for a request on a connection; a promise when a token must be signed first. */
  headerFor(state: ConnectionTokenState, now = Date.now()): string | Promise<string> {
    const held = state.token;
    if (held !== null && (now - held.issuedAtMs < this.refreshMs || now - state.since < this.updateIntervalMs)) return held.header;
    const usable =
      this.latest !== null && now - this.latest.issuedAtMs <= this.refreshMs - this.updateIntervalMs && this.latest !== held
        ? this.latest
        : null;
    if (usable !== null) return this.adopt(state, held, usable);
    return this.sign().then((token) => this.adopt(state, held, token));
  }

  /** After ExpiredProviderToken: the token is not handed out again. */
  discard(header: string): void {
    if (this.latest?.header === header) this.latest = null;
  }

  private adopt(state: ConnectionTokenState, held: ProviderToken | null, token: ProviderToken): string {
    // Another request on the connection may have moved it on meanwhile.
    if (state.token === held) {
      state.token = token;
      state.since = Date.now();
    }
    return state.token!.header;
  }

  private sign(): Promise<ProviderToken> {
    this.signing ??= (async () => {
      try {
        const issuedAtMs = Date.now();
        const jwt = await signProviderToken({
          teamId: this.teamId,
          keyId: this.keyId,
          privateKey: this.key,
          issuedAt: Math.floor(issuedAtMs / 1000),
        });
        this.signed++;
        this.latest = { header: `bearer ${jwt}`, issuedAtMs };
        return this.latest;
      } finally {
        this.signing = null;
      }
    })();
    return this.signing;
  }
}
