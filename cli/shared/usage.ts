import { InputError } from '../../common/errors.js';
import { parseDuration as parseDurationValue } from '../../common/duration.js';

/** Bad options or input a person can fix: printed without a stack, exit code 2. */
export class UsageError extends InputError {
  constructor(message: string) {
    super(message, 'ERR_APNS_USAGE');
  }
}

/** Parses "5s", "250ms", "2m", "2h" or a bare number of milliseconds, for option `--option`. */
export function parseDuration(text: string | number, option: string): number {
  return parseDurationValue(text, `--${option}`);
}

/** Validates a TCP port option: 0 (a free port) to 65535. */
export function parsePort(value: unknown, option: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--${option} must be a port number from 0 to 65535; got "${String(value)}"`);
  }
  return port;
}
