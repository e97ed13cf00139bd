import { normalizeToken, parseDeviceToken } from '../../common/token.js';
import type { Http2Reason } from '../../protocol/http2/index.js';
import { RULE_ACTIONS, ruleActionDefinition, type RuleAction } from './actions/index.js';
import { RuleError, asRuleError } from './error.js';

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

/** A rule's action as given: a reject rule may be given only a reason (its binary status is then derived). */
export type RuleActionSpec =
  Exclude<RuleAction, { type: 'reject' }> | { type: 'reject'; status?: number; reason?: Http2Reason; delayMs?: number };

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

/** A rule as the rule set keeps it. */
export interface Rule<A extends RuleAction = RuleAction> extends Required<Pick<RuleSpec, 'id'>> {
  action: A;
  description: string | null;
  match: RuleMatch;
  times: number | null;
  seed: number;
  fired: number;
}

/** A rule checked and made canonical: its action's fields parsed, its tokens lower-case hex. */
export interface ParsedRuleSpec extends RuleSpec {
  action: RuleAction;
  match: RuleMatch;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const MATCH_KEYS = new Set([
  'token',
  'tokenPrefix',
  'identifier',
  'topic',
  'payloadField',
  'nth',
  'nthOnConnection',
  'everyNth',
  'probability',
  'protocol',
  'apnsId',
  'pushType',
]);

function integer(value: unknown, what: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RuleError(`${what} must be an integer >= ${min}; got ${JSON.stringify(value)}`);
  }
  return value;
}

function parseAction(input: unknown, where: string): RuleAction {
  if (!isObject(input) || typeof input.type !== 'string') {
    throw new RuleError(`${where} must be an object with "type": one of ${RULE_ACTIONS.join(', ')}`);
  }
  const definition = ruleActionDefinition(input.type);
  if (definition === undefined) throw new RuleError(`${where}.type "${input.type}" is not one of ${RULE_ACTIONS.join(', ')}`);
  return definition.parse(input, where);
}

function parseMatch(input: unknown, where: string): RuleMatch {
  if (!isObject(input)) throw new RuleError(`${where} must be an object`);
  for (const key of Object.keys(input)) {
    if (!MATCH_KEYS.has(key)) throw new RuleError(`${where}.${key} is not a known condition (${[...MATCH_KEYS].join(', ')})`);
  }
  const match = { ...input } as RuleMatch;
  if (match.protocol !== undefined && match.protocol !== 'binary' && match.protocol !== 'http2') {
    throw new RuleError(`${where}.protocol must be "binary" or "http2"`);
  }
  for (const key of ['token', 'tokenPrefix', 'topic', 'apnsId', 'pushType'] as const) {
    if (match[key] !== undefined && typeof match[key] !== 'string') throw new RuleError(`${where}.${key} must be a string`);
  }
  if (match.token !== undefined) match.token = asRuleError(() => parseDeviceToken(match.token, `${where}.token`));
  if (match.tokenPrefix !== undefined) {
    // A prefix may end inside a byte, so an odd number of digits is fine.
    match.tokenPrefix = normalizeToken(match.tokenPrefix);
    if (!/^[0-9a-f]*$/.test(match.tokenPrefix)) throw new RuleError(`${where}.tokenPrefix must be hex digits (0-9, a-f)`);
  }
  if (match.identifier !== undefined) integer(match.identifier, `${where}.identifier`);
  for (const key of ['nth', 'nthOnConnection', 'everyNth'] as const) {
    if (match[key] !== undefined) integer(match[key], `${where}.${key}`, 1);
  }
  if (match.probability !== undefined) {
    const p = match.probability;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RuleError(`${where}.probability must be a number from 0 to 1`);
  }
  if (match.payloadField !== undefined && (!isObject(match.payloadField) || typeof match.payloadField.path !== 'string')) {
    throw new RuleError(`${where}.payloadField must be {"path": "aps.alert", "equals": ...}`);
  }
  return match;
}

/** Checks a rule from any source (library, scenario file, control API), says what is wrong, and returns it canonical. */
export function parseRuleSpec(input: unknown, where = 'rule'): ParsedRuleSpec {
  if (!isObject(input)) throw new RuleError(`${where} must be an object with "action" (and optionally "match")`);
  const action = parseAction(input.action, `${where}.action`);
  const match = parseMatch(input.match ?? {}, `${where}.match`);
  if (input.times !== undefined) integer(input.times, `${where}.times`, 1);
  if (input.seed !== undefined) integer(input.seed, `${where}.seed`);
  if (input.id !== undefined && typeof input.id !== 'string') throw new RuleError(`${where}.id must be a string`);
  if (input.description !== undefined && typeof input.description !== 'string')
    throw new RuleError(`${where}.description must be a string`);
  return { ...(input as unknown as RuleSpec), action, match };
}
