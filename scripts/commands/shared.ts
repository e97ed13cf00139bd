/** Bad options or input a person can fix: printed without a stack, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parses "5s", "250ms", "2m" or a bare number of milliseconds. */
export function parseDuration(text: string | number, option: string): number {
  if (typeof text === 'number') {
    if (Number.isFinite(text) && text >= 0) return text;
    throw new UsageError(`--${option} must be a duration such as 500ms, 5s or 2m; got ${text}`);
  }
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new UsageError(`--${option} must be a duration such as 500ms, 5s or 2m; got "${text}"`);
  const value = Number(match[1]);
  const unit = match[2] ?? 'ms';
  return unit === 'ms' ? value : unit === 's' ? value * 1000 : value * 60_000;
}

/** Validates a TCP port option: 0 (a free port) to 65535. */
export function parsePort(value: unknown, option: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--${option} must be a port number from 0 to 65535; got "${String(value)}"`);
  }
  return port;
}
