import { parseDuration } from '../../../common/duration.js';
import { HTTP2_REASONS, isHttp2Reason, type Http2Reason } from '../../../protocol/http2/index.js';
import { RuleError, asRuleError } from '../error.js';

// Field checks shared by the action files; each throws a RuleError naming the field.

export function integerField(value: unknown, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RuleError(`${what} must be an integer >= ${min}; got ${JSON.stringify(value)}`);
  }
  if (value > max) throw new RuleError(`${what} must be at most ${max}; got ${value}`);
  return value;
}

/**
 * A duration in milliseconds: a whole number, or text such as "5s". Bounded by the longest
 * timer Node keeps: a larger one would fire after 1 ms.
 */
export function durationField(value: unknown, what: string, min = 0): number {
  if (typeof value !== 'number' && typeof value !== 'string')
    throw new RuleError(`${what} must be an integer >= ${min}; got ${JSON.stringify(value)}`);
  const ms = asRuleError(() => parseDuration(value, what));
  if (!Number.isInteger(ms) || ms < min) throw new RuleError(`${what} must be an integer >= ${min}; got ${JSON.stringify(value)}`);
  return ms;
}

export function optionalDuration(value: unknown, what: string, min = 0): number | undefined {
  return value === undefined ? undefined : durationField(value, what, min);
}

export function reasonField(value: unknown, what: string): Http2Reason {
  if (!isHttp2Reason(value))
    throw new RuleError(`${what} must be one of Apple's HTTP/2 reasons (${HTTP2_REASONS.join(', ')}); got ${JSON.stringify(value)}`);
  return value;
}

/** Copies the given fields that are set, so a kept action has no `undefined` members. */
export function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
