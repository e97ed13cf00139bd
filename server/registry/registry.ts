import { InputError } from '../../common/errors.js';
import { normalizeToken } from '../../common/token.js';
import type { ApnsEnvironment } from '../certs/index.js';

export interface DeviceRegistration {
  token: string;
  /** null: valid for every topic. */
  topic: string | null;
  /** null: valid in both environments. */
  environment: ApnsEnvironment | null;
}

export interface UninstalledToken {
  token: string;
  topic: string | null;
  environment: ApnsEnvironment | null;
  /** UNIX seconds: when the app was learnt to be gone (the feedback tuple's timestamp). */
  timestamp: number;
}

/** A token the HTTP/2 API answers with 410: the app was uninstalled, or the token expired. */
export interface GoneToken extends UninstalledToken {
  reason: 'Unregistered' | 'ExpiredToken';
}

export interface RegistryOptions {
  /** Only registered tokens are valid; others get status 8. Default false (every 32-byte token is valid). */
  strict?: boolean;
}

/** Feedback tuples carry the time as a u32 of UNIX seconds. */
export const MAX_FEEDBACK_TIMESTAMP = 0xffff_ffff;

/** A gone token's time as given (scenario file, library): whole UNIX seconds a feedback tuple can carry. */
export function parseFeedbackTimestamp(value: unknown, what = 'timestamp'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_FEEDBACK_TIMESTAMP) {
    throw new InputError(`${what} must be UNIX seconds (an integer from 0 to ${MAX_FEEDBACK_TIMESTAMP}); got ${JSON.stringify(value)}`);
  }
  return value;
}

function scopeMatches(
  entry: { topic: string | null; environment: ApnsEnvironment | null },
  topic: string | null,
  environment: string | null,
): boolean {
  return (entry.topic === null || entry.topic === topic) && (entry.environment === null || entry.environment === environment);
}

/**
 * Which device tokens are valid where, and which apps were uninstalled. Open by default:
 * an unregistered token is valid anywhere, a registered one only for its topic and
 * environment (a sandbox token sent to production gets status 8, as Apple answered).
 */
export class DeviceRegistry {
  strict: boolean;
  private readonly registered = new Map<string, DeviceRegistration[]>();
  private uninstalled: UninstalledToken[] = [];
  /** Uninstalled and expired tokens, kept after the feedback service handed them out. */
  private gone: GoneToken[] = [];

  constructor(options: RegistryOptions = {}) {
    this.strict = options.strict ?? false;
  }

  register(token: string, scope: { topic?: string | null; environment?: ApnsEnvironment | null } = {}): DeviceRegistration {
    const entry: DeviceRegistration = { token: normalizeToken(token), topic: scope.topic ?? null, environment: scope.environment ?? null };
    const list = this.registered.get(entry.token) ?? [];
    if (!list.some((e) => e.topic === entry.topic && e.environment === entry.environment)) list.push(entry);
    this.registered.set(entry.token, list);
    // Registered again: the app is back.
    this.gone = this.gone.filter((e) => !(e.token === entry.token && e.topic === entry.topic && e.environment === entry.environment));
    return entry;
  }

  unregister(token: string): boolean {
    return this.registered.delete(normalizeToken(token));
  }

  devices(): DeviceRegistration[] {
    return [...this.registered.values()].flat();
  }

  /** True while every token is valid everywhere (nothing registered, not strict): no token needs looking up. */
  get open(): boolean {
    return !this.strict && this.registered.size === 0;
  }

  /** Token validity for the provider's topic and environment (status 8 when false). */
  isValid(tokenHex: string, topic: string | null, environment: string | null): boolean {
    const list = this.registered.get(tokenHex);
    if (list === undefined) return !this.strict;
    return list.some((entry) => scopeMatches(entry, topic, environment));
  }

  /** The app behind the token was removed: the token appears in feedback for its topic and environment. */
  uninstall(
    token: string,
    scope: { topic?: string | null; environment?: ApnsEnvironment | null; timestamp?: number } = {},
  ): UninstalledToken {
    const entry: UninstalledToken = {
      token: normalizeToken(token),
      topic: scope.topic ?? null,
      environment: scope.environment ?? null,
      timestamp: scope.timestamp === undefined ? Math.floor(Date.now() / 1000) : parseFeedbackTimestamp(scope.timestamp),
    };
    this.uninstalled = this.uninstalled.filter(
      (e) => !(e.token === entry.token && e.topic === entry.topic && e.environment === entry.environment),
    );
    this.uninstalled.push(entry);
    this.markGone({ ...entry, reason: 'Unregistered' });
    return entry;
  }

  /** The token expired: the HTTP/2 API answers 410 ExpiredToken (no feedback entry). */
  expire(token: string, scope: { topic?: string | null; environment?: ApnsEnvironment | null; timestamp?: number } = {}): GoneToken {
    const entry: GoneToken = {
      token: normalizeToken(token),
      topic: scope.topic ?? null,
      environment: scope.environment ?? null,
      timestamp: scope.timestamp === undefined ? Math.floor(Date.now() / 1000) : parseFeedbackTimestamp(scope.timestamp),
      reason: 'ExpiredToken',
    };
    this.markGone(entry);
    return entry;
  }

  private markGone(entry: GoneToken): void {
    this.gone = this.gone.filter((e) => !(e.token === entry.token && e.topic === entry.topic && e.environment === entry.environment));
    this.gone.push(entry);
  }

  /** A token's registrations (every scope it was registered for); empty when none. */
  registrations(tokenHex: string): DeviceRegistration[] {
    return [...(this.registered.get(normalizeToken(tokenHex)) ?? [])];
  }

  /** Uninstalled or expired entries of a token (every scope), newest last. */
  goneEntries(tokenHex: string): GoneToken[] {
    // Asked for every HTTP/2 request: with nothing gone, the token need not even be normalized.
    if (this.gone.length === 0) return [];
    const token = normalizeToken(tokenHex);
    return this.gone.filter((e) => e.token === token);
  }

  pendingFeedback(topic?: string | null, environment?: string | null): UninstalledToken[] {
    if (topic === undefined && environment === undefined) return [...this.uninstalled];
    return this.uninstalled.filter((e) => scopeMatches(e, topic ?? null, environment ?? null));
  }

  /** The feedback list for a provider, cleared once read (Apple's feedback service). */
  takeFeedback(topic: string | null, environment: string | null): UninstalledToken[] {
    const taken = this.pendingFeedback(topic, environment);
    this.uninstalled = this.uninstalled.filter((e) => !taken.includes(e));
    return taken;
  }

  clear(): void {
    this.registered.clear();
    this.uninstalled = [];
    this.gone = [];
  }
}
