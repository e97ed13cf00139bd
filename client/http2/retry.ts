/**
 * What to do with an answer other than 200 (docs/protocol/http2.md, retry guidance):
 * - 'final': report it. Every 4xx but those below: the request itself is wrong, or the device
 *   token is (BadDeviceToken, DeviceTokenNotForTopic, Forbidden, ExpiredToken, Unregistered,
 *   PayloadTooLarge...); sending it again cannot change the answer. So too InvalidPushType (a push
 *   type that does not fit the topic, or location and liveactivity over a certificate) and
 *   BadPriority (priority 10 on a payload that is only content-available), and both spellings of a
 *   key for the other environment (BadEnvironmentKeyIdInToken, BadEnvironmentKeyInToken): the retry
 *   guidance backs off on 429 and 5xx only.
 * - 'new-token': 403 ExpiredProviderToken: sign a new provider token and send again, once.
 * - 'new-connection': this connection cannot take the request (429 TooManyProviderTokenUpdates:
 *   it refuses a new token for 20 minutes; 400 IdleTimeout); send it on another connection.
 * - 'backoff': 429 TooManyRequests and every 5xx: wait, longer each time, and send again.
 *   503 Shutdown also retires the connection, which the server is closing.
 */
export type RetryVerdict = 'final' | 'new-token' | 'new-connection' | 'backoff';

export function retryVerdict(statusCode: number, reason: string | null): RetryVerdict {
  if (statusCode === 403 && reason === 'ExpiredProviderToken') return 'new-token';
  if (statusCode === 429 && reason === 'TooManyProviderTokenUpdates') return 'new-connection';
  if (statusCode === 400 && reason === 'IdleTimeout') return 'new-connection';
  if (statusCode === 429 || statusCode >= 500) return 'backoff';
  return 'final';
}

/** Answers after which the connection takes no new streams. */
export function retiresConnection(statusCode: number, reason: string | null): boolean {
  return (
    (statusCode === 503 && reason === 'Shutdown') ||
    retryVerdict(statusCode, reason) === 'new-connection' ||
    retryVerdict(statusCode, reason) === 'new-token'
  );
}

export interface RetryOptions {
  /**
   * Attempts in all for a notification answered 429 or 5xx, or left without an answer that
   * may have been processed (a reset stream, a lost connection, a timeout). Default 5.
   * Requests the server did not process (REFUSED_STREAM, above a GOAWAY's last stream id) are
   * sent again without counting, up to `unprocessedLimit` times.
   */
  maxAttempts?: number;
  /** Wait before the first retry after a 429 or 5xx. Default 500 ms. */
  initialDelayMs?: number;
  /** Longest wait. Default 30,000 ms. */
  maxDelayMs?: number;
  /** Growth per retry. Default 2. */
  factor?: number;
  /** Wait a random 50..100% of the delay, so many senders do not retry in step. Default true. */
  jitter?: boolean;
  /** Times a notification may be sent again unprocessed before it fails. Default 10. */
  unprocessedLimit?: number;
}

export type RetryPolicy = Required<RetryOptions>;

export function retryPolicyOf(options: RetryOptions = {}): RetryPolicy {
  const p: RetryPolicy = {
    maxAttempts: options.maxAttempts ?? 5,
    initialDelayMs: options.initialDelayMs ?? 500,
    maxDelayMs: options.maxDelayMs ?? 30_000,
    factor: options.factor ?? 2,
    jitter: options.jitter ?? true,
    unprocessedLimit: options.unprocessedLimit ?? 10,
  };
  for (const name of ['initialDelayMs', 'maxDelayMs', 'unprocessedLimit'] as const) {
    const value = p[name];
    if (!(typeof value === 'number' && Number.isFinite(value) && value >= 0))
      throw new RangeError(`retry.${name} must be a number >= 0; got ${String(value)}`);
  }
  if (!Number.isInteger(p.maxAttempts) || p.maxAttempts < 1)
    throw new RangeError(`retry.maxAttempts must be a whole number >= 1; got ${String(p.maxAttempts)}`);
  if (!(typeof p.factor === 'number' && p.factor >= 1)) throw new RangeError(`retry.factor must be >= 1; got ${String(p.factor)}`);
  return p;
}

/** Wait before retry number `retry` (1: the first). */
export function retryDelay(p: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const delay = Math.min(p.maxDelayMs, p.initialDelayMs * p.factor ** Math.max(0, retry - 1));
  return p.jitter ? delay * (0.5 + random() / 2) : delay;
}
