export interface ReconnectOptions {
  /** Wait before the first retry. Default 100 ms. */
  initialDelayMs?: number;
  /** Longest wait. Default 5000 ms. */
  maxDelayMs?: number;
  /** Growth per consecutive failure. Default 2. */
  factor?: number;
  /**
   * Consecutive failures (refused, TLS errors, a lone notification met by a silent close)
   * after which every waiting notification fails. Default 5.
   */
  retries?: number;
  /** Wait a random 50..100% of the delay, so many clients do not reconnect in step. Default false. */
  jitter?: boolean;
}

export type Backoff = Required<ReconnectOptions>;

export function backoffOf(options: ReconnectOptions = {}): Backoff {
  const b: Backoff = {
    initialDelayMs: options.initialDelayMs ?? 100,
    maxDelayMs: options.maxDelayMs ?? 5000,
    factor: options.factor ?? 2,
    retries: options.retries ?? 5,
    jitter: options.jitter ?? false,
  };
  for (const [name, value] of Object.entries(b)) {
    if (typeof value === 'number' && !(Number.isFinite(value) && value >= 0))
      throw new RangeError(`reconnect.${name} must be a number >= 0; got ${value}`);
  }
  if (b.factor < 1) throw new RangeError(`reconnect.factor must be >= 1; got ${b.factor}`);
  return b;
}

/** Wait before the next connection after `failures` consecutive failures (0: none). */
export function backoffDelay(b: Backoff, failures: number, random: () => number = Math.random): number {
  if (failures <= 0) return 0;
  const delay = Math.min(b.maxDelayMs, b.initialDelayMs * b.factor ** (failures - 1));
  return b.jitter ? delay * (0.5 + random() / 2) : delay;
}
