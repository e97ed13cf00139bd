import { Status } from '../../protocol/binary/index.js';
import { HTTP2_REASONS, binaryStatusForReason, isHttp2Reason, type Http2Reason } from '../../protocol/http2/index.js';

/** What a rule looks at; every given condition must hold. */
export interface RuleMatch {
  /** Hex token (spaces and case ignored). */
  token?: string;
  tokenPrefix?: string;
  identifier?: number;
  topic?: string;
  /** A payload field by dotted path (`aps.alert`, `aps.badge`); equals a value when given, else merely present. */
  payloadField?: { path: string; equals?: unknown };
  /** The nth notification the simulator judges (1-based, all connections). */
  nth?: number;
  /** The nth notification on its connection (1-based). */
  nthOnConnection?: number;
  /** Every nth notification (overall). */
  everyNth?: number;
  /** Matches with this probability (0..1), from the rule's seeded generator. */
  probability?: number;
  /** Only notifications that came by this protocol (default: both). */
  protocol?: 'binary' | 'http2';
  /** HTTP/2: the request's apns-id. */
  apnsId?: string;
  /** HTTP/2: the push type (apns-push-type, or the one the topic implies). */
  pushType?: string;
}

export type RuleAction =
  /**
   * Reject with a status: the 6-byte error response, then the close. On HTTP/2 the response
   * carries `reason` (given, or the one nearest the status); a rule given only a reason gets
   * the status nearest it for the binary gateway.
   */
  | { type: 'reject'; status: number; reason?: Http2Reason; delayMs?: number }
  /** Status 10 with the last accepted identifier; this notification and all after it are discarded. */
  | { type: 'shutdown'; delayMs?: number }
  /** Close the connection without a word; this notification and all after it are discarded. */
  | { type: 'close' }
  /** Delay this connection's next error response (the notification itself is judged as usual). */
  | { type: 'delay'; ms: number }
  /** Stop reading the connection for a time (the notification itself is accepted). */
  | { type: 'stall'; ms: number }
  /** Reset the connection after N more bytes arrive (0: at once, discarding this notification). */
  | { type: 'drop'; afterBytes?: number }
  /** Accept, and mark the token uninstalled: it appears in feedback for this topic and environment. */
  | { type: 'uninstall' };

export type RuleActionType = RuleAction['type'];
export const RULE_ACTIONS: readonly RuleActionType[] = ['reject', 'shutdown', 'close', 'delay', 'stall', 'drop', 'uninstall'];

/*
 * On the HTTP/2 API the actions above mean: reject, a response with the reason (410s with a
 * timestamp); shutdown, 503 Shutdown and then GOAWAY {"reason":"Shutdown"}; close, the
 * connection closed with no response to the request; drop, the connection cut without
 * GOAWAY or TLS close (afterBytes is not counted); delay, this response waits `ms`; stall,
 * the connection answers nothing for `ms`;
 * uninstall, as on the binary gateway. The actions below exist on HTTP/2 only: the binary
 * gateway passes over rules that have them.
 */
export type Http2RuleAction =
  /** GOAWAY whose debug data is `{"reason": reason}` (default Shutdown); this request and later ones are not processed. */
  | { type: 'goaway'; reason?: string; errorCode?: number; delayMs?: number }
  /** RST_STREAM on this request's stream (default error code 2, INTERNAL_ERROR). */
  | { type: 'reset'; errorCode?: number; delayMs?: number }
  /** More than `requests` notifications to one device token within `perMs`: 429 TooManyRequests. */
  | { type: 'rateLimit'; requests: number; perMs: number }
  /** From `afterMs` after the rule was added, for `forMs` (default: while it stays): 503 ServiceUnavailable (or `reason`). */
  | { type: 'outage'; afterMs?: number; forMs?: number; reason?: Http2Reason };

export type Http2RuleActionType = Http2RuleAction['type'];
export const HTTP2_RULE_ACTIONS: readonly Http2RuleActionType[] = ['goaway', 'reset', 'rateLimit', 'outage'];

/** Every action a rule may have. */
export type AnyRuleAction = RuleAction | Http2RuleAction;

/** A reject rule may be given only a reason (HTTP/2); its binary status is then derived. */
export type RuleActionSpec = Exclude<AnyRuleAction, { type: 'reject' }> | { type: 'reject'; status?: number; reason?: Http2Reason; delayMs?: number };

export interface RuleSpec {
  id?: string;
  /** A note for people reading the records. */
  description?: string;
  match?: RuleMatch;
  action: RuleActionSpec;
  /** Fire at most this many times (default: no limit). */
  times?: number;
  /** Seed for `probability`; with a seed every run is the same. */
  seed?: number;
}

/** A rule as the rule set keeps it; `Rule` (binary actions) is what the binary gateway is handed. */
export interface Rule<A extends AnyRuleAction = RuleAction> extends Required<Pick<RuleSpec, 'id'>> {
  action: A;
  description: string | null;
  match: RuleMatch;
  times: number | null;
  seed: number;
  fired: number;
}

export class RuleError extends Error {
  override name = 'RuleError';
  readonly code = 'ERR_APNS_RULE';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const MATCH_KEYS = new Set(['token', 'tokenPrefix', 'identifier', 'topic', 'payloadField', 'nth', 'nthOnConnection', 'everyNth', 'probability', 'protocol', 'apnsId', 'pushType']);
const ALL_ACTIONS = [...RULE_ACTIONS, ...HTTP2_RULE_ACTIONS];

function reasonOf(value: unknown, what: string): Http2Reason {
  if (!isHttp2Reason(value)) throw new RuleError(`${what} must be one of Apple's HTTP/2 reasons (${HTTP2_REASONS.join(', ')}); got ${JSON.stringify(value)}`);
  return value;
}

/** The binary status of a reject rule: given, or the one nearest its reason. */
export function rejectStatus(action: { status?: number; reason?: Http2Reason }): number {
  return action.status ?? binaryStatusForReason(action.reason!);
}

function nonNegativeInteger(value: unknown, what: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RuleError(`${what} must be an integer >= ${min}; got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks a rule from any source (library, scenario file, control API) and says what is wrong. */
export function parseRuleSpec(input: unknown, where = 'rule'): RuleSpec {
  if (!isObject(input)) throw new RuleError(`${where} must be an object with "action" (and optionally "match")`);
  const action = input.action;
  if (!isObject(action) || typeof action.type !== 'string') {
    throw new RuleError(`${where}.action must be an object with "type": one of ${ALL_ACTIONS.join(', ')}`);
  }
  switch (action.type) {
    case 'reject': {
      if (action.reason !== undefined) reasonOf(action.reason, `${where}.action.reason`);
      if (action.status !== undefined || action.reason === undefined) {
        const status = nonNegativeInteger(action.status, `${where}.action.status`);
        if (status > 255) throw new RuleError(`${where}.action.status must fit in a byte (0..255); got ${status}`);
      }
      if (action.delayMs !== undefined) nonNegativeInteger(action.delayMs, `${where}.action.delayMs`);
      break;
    }
    case 'goaway':
      if (action.reason !== undefined && (typeof action.reason !== 'string' || action.reason === '')) throw new RuleError(`${where}.action.reason must be a non-empty string`);
      if (action.errorCode !== undefined) nonNegativeInteger(action.errorCode, `${where}.action.errorCode`);
      if (action.delayMs !== undefined) nonNegativeInteger(action.delayMs, `${where}.action.delayMs`);
      break;
    case 'reset':
      if (action.errorCode !== undefined) nonNegativeInteger(action.errorCode, `${where}.action.errorCode`);
      if (action.delayMs !== undefined) nonNegativeInteger(action.delayMs, `${where}.action.delayMs`);
      break;
    case 'rateLimit':
      nonNegativeInteger(action.requests, `${where}.action.requests`);
      nonNegativeInteger(action.perMs, `${where}.action.perMs`, 1);
      break;
    case 'outage':
      if (action.afterMs !== undefined) nonNegativeInteger(action.afterMs, `${where}.action.afterMs`);
      if (action.forMs !== undefined) nonNegativeInteger(action.forMs, `${where}.action.forMs`, 1);
      if (action.reason !== undefined) reasonOf(action.reason, `${where}.action.reason`);
      break;
    case 'shutdown':
      if (action.delayMs !== undefined) nonNegativeInteger(action.delayMs, `${where}.action.delayMs`);
      break;
    case 'delay':
    case 'stall':
      nonNegativeInteger(action.ms, `${where}.action.ms`);
      break;
    case 'drop':
      if (action.afterBytes !== undefined) nonNegativeInteger(action.afterBytes, `${where}.action.afterBytes`);
      break;
    case 'close':
    case 'uninstall':
      break;
    default:
      throw new RuleError(`${where}.action.type "${action.type}" is not one of ${ALL_ACTIONS.join(', ')}`);
  }
  const match = input.match ?? {};
  if (!isObject(match)) throw new RuleError(`${where}.match must be an object`);
  for (const key of Object.keys(match)) {
    if (!MATCH_KEYS.has(key)) throw new RuleError(`${where}.match.${key} is not a known condition (${[...MATCH_KEYS].join(', ')})`);
  }
  if (match.protocol !== undefined && match.protocol !== 'binary' && match.protocol !== 'http2') {
    throw new RuleError(`${where}.match.protocol must be "binary" or "http2"`);
  }
  for (const key of ['token', 'tokenPrefix', 'topic', 'apnsId', 'pushType'] as const) {
    if (match[key] !== undefined && typeof match[key] !== 'string') throw new RuleError(`${where}.match.${key} must be a string`);
  }
  if (match.identifier !== undefined) nonNegativeInteger(match.identifier, `${where}.match.identifier`);
  for (const key of ['nth', 'nthOnConnection', 'everyNth'] as const) {
    if (match[key] !== undefined) nonNegativeInteger(match[key], `${where}.match.${key}`, 1);
  }
  if (match.probability !== undefined) {
    const p = match.probability;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RuleError(`${where}.match.probability must be a number from 0 to 1`);
  }
  if (match.payloadField !== undefined && (!isObject(match.payloadField) || typeof match.payloadField.path !== 'string')) {
    throw new RuleError(`${where}.match.payloadField must be {"path": "aps.alert", "equals": ...}`);
  }
  if (input.times !== undefined) nonNegativeInteger(input.times, `${where}.times`, 1);
  if (input.seed !== undefined) nonNegativeInteger(input.seed, `${where}.seed`);
  if (input.id !== undefined && typeof input.id !== 'string') throw new RuleError(`${where}.id must be a string`);
  if (input.description !== undefined && typeof input.description !== 'string') throw new RuleError(`${where}.description must be a string`);
  return input as unknown as RuleSpec;
}

export { Status };
