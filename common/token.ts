import { InputError } from './errors.js';

/** Apple's device tokens were 32 bytes; newer ones are longer. 100 bytes bounds what is kept. */
export const MAX_TOKEN_BYTES = 100;

/**
 * A device token as people paste it (`<aa bb ...>`, spaces, colons, upper case) made into
 * the one spelling records, rules, the registry and filters compare: lower-case hex.
 */
export function normalizeToken(token: string): string {
  return token.replace(/[\s<>:]/g, '').toLowerCase();
}

/** True for a non-empty, even-length run of hex digits. */
export function isHexToken(hex: string): boolean {
  return hex.length > 0 && hex.length % 2 === 0 && /^[0-9a-f]+$/i.test(hex);
}

/**
 * Normalises and checks a device token given by a user (control API, scenario file, rule,
 * CLI): hex, whole bytes, at most MAX_TOKEN_BYTES. `what` names the input in the error.
 */
export function parseDeviceToken(token: unknown, what = 'token'): string {
  if (typeof token !== 'string') throw new InputError(`${what} must be a hex string; got ${token === null ? 'null' : typeof token}`);
  const hex = normalizeToken(token);
  if (hex.length === 0) throw new InputError(`${what} is empty: give the device token as hex`);
  if (!/^[0-9a-f]+$/.test(hex))
    throw new InputError(`${what} must be hex digits (0-9, a-f); got "${token.length > 80 ? `${token.slice(0, 80)}...` : token}"`);
  if (hex.length % 2 !== 0) throw new InputError(`${what} has an odd number of hex digits (${hex.length}): every byte needs two`);
  if (hex.length / 2 > MAX_TOKEN_BYTES)
    throw new InputError(`${what} is ${hex.length / 2} bytes; at most ${MAX_TOKEN_BYTES} are taken (Apple's are 32)`);
  return hex;
}
