import { Status } from '../../protocol/binary/index.js';

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
}

export type RuleAction =
  /** Reject with a status: the 6-byte error response, then the close. */
  | { type: 'reject'; status: number; delayMs?: number }
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

export interface RuleSpec {
  id?: string;
  /** A note for people reading the records. */
  description?: string;
  match?: RuleMatch;
  action: RuleAction;
  /** Fire at most this many times (default: no limit). */
  times?: number;
  /** Seed for `probability`; with a seed every run is the same. */
  seed?: number;
}

export interface Rule extends Required<Pick<RuleSpec, 'id' | 'action'>> {
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
const MATCH_KEYS = new Set(['token', 'tokenPrefix', 'identifier', 'topic', 'payloadField', 'nth', 'nthOnConnection', 'everyNth', 'probability']);

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
    throw new RuleError(`${where}.action must be an object with "type": one of ${RULE_ACTIONS.join(', ')}`);
  }
  switch (action.type) {
    case 'reject': {
      const status = nonNegativeInteger(action.status, `${where}.action.status`);
      if (status > 255) throw new RuleError(`${where}.action.status must fit in a byte (0..255); got ${status}`);
      if (action.delayMs !== undefined) nonNegativeInteger(action.delayMs, `${where}.action.delayMs`);
      break;
    }
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
      throw new RuleError(`${where}.action.type "${action.type}" is not one of ${RULE_ACTIONS.join(', ')}`);
  }
  const match = input.match ?? {};
  if (!isObject(match)) throw new RuleError(`${where}.match must be an object`);
  for (const key of Object.keys(match)) {
    if (!MATCH_KEYS.has(key)) throw new RuleError(`${where}.match.${key} is not a known condition (${[...MATCH_KEYS].join(', ')})`);
  }
  for (const key of ['token', 'tokenPrefix', 'topic'] as const) {
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
