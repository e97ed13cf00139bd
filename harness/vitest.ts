/**
 * vitest matchers for the simulator's records. Importing this module extends vitest's
 * `expect` (`import 'apns-mock-gateway/vitest'`, in a test file or a setup file); the
 * matcher functions are exported too, as `apnsMatchers`, for `expect.extend` by hand.
 *
 *   expect(sim).toHaveReceived({ token, alert: 'Hello' });
 *   expect(sim).toHaveRejected({ token, status: 8 });
 *   await expect(sim).toEventuallyReceive({ token, count: 3 });
 *
 * `sim` is what `startSimulator()` returns, or anything with `records()`, or an array of records.
 */
import { expect, type MatcherState } from 'vitest';
import { FILTER_KEYS, RECORD_FILTERS, compileJsonFilter, type FilterSpec } from '../server/recorder/index.js';
import type { NotificationRecord, Outcome, RecordFilter } from '../server/recorder/index.js';
import type { FilterKey, MatcherFilterKey } from '../server/recorder/fields.js';
import { alertOf, formatRecordTable } from '../server/recorder/table.js';

/** Anything that lists records: a Simulator, a Recorder-backed object, or a test double of your own. */
export interface RecordSource {
  records(filter?: RecordFilter): NotificationRecord[];
}

/** A string (exact), a RegExp, or an asymmetric matcher such as `expect.stringContaining('x')`. */
export type TextMatcher = string | RegExp | { asymmetricMatch(other: unknown): boolean };

/**
 * The record filters an outcome's matchers take (RECORD_FILTERS' `matchers`): token, topic,
 * identifier, protocol, and status or priority. A token may also be given as its bytes.
 */
type FilterExpectation<O extends Outcome> = Omit<Pick<RecordFilter, MatcherFilterKey<O>>, 'token' | OwnKey> & {
  token?: string | Uint8Array;
};
/** Keys a matcher takes in its own, richer form (asymmetric matchers) than the filter of that name. */
type OwnKey = 'alert' | 'reason' | 'warnings';

interface CountExpectation {
  /** Exactly this many matching records; without it, at least one. */
  count?: number;
  /**
   * false: fail when any matching record's payload carries warnings (not JSON, no aps...);
   * true: only records with warnings match. Default: warnings are not looked at.
   */
  warnings?: boolean;
  /** Count flush markers too (a sender's deliberate status-2 probe, `marker: true`). Default false: they are left out. */
  markers?: boolean;
}

export interface ReceivedExpectation extends FilterExpectation<'accepted'>, CountExpectation {
  /** `aps.alert` when it is a string, else `aps.alert.body`. */
  alert?: TextMatcher;
  /** Compared with the parsed payload as `toMatchObject` does: the keys given must match. */
  payload?: Record<string, unknown>;
}

export interface RejectedExpectation extends FilterExpectation<'rejected'>, CountExpectation {
  /** Words of the record's reason. */
  reason?: TextMatcher;
  alert?: TextMatcher;
}

export type DiscardedExpectation = FilterExpectation<'discarded'> & CountExpectation;

export interface EventuallyOptions {
  /** How long to wait for the records. Default 3000 ms (below vitest's default 5 s test timeout). */
  timeout?: number;
  /** How often to look. Default 20 ms. */
  interval?: number;
}

interface Criterion {
  name: string;
  shown: string;
  test: (record: NotificationRecord) => boolean;
}

type AnyExpectation = ReceivedExpectation & RejectedExpectation;

/** Keys the matchers take beside the record filters: what a filter cannot say (alert, payload, reason's words). */
const OWN_KEYS: Record<Outcome, readonly string[]> = {
  accepted: ['alert', 'payload', 'warnings', 'markers'],
  rejected: ['reason', 'alert', 'warnings', 'markers'],
  discarded: ['warnings', 'markers'],
  incomplete: [],
};

const hasWarnings = (r: NotificationRecord) => (r.warnings?.length ?? 0) > 0;
/** Records read back from an older file have no `marker` field. */
const isMarker = (r: NotificationRecord) => r.marker === true;

const filterKeysOf = (outcome: Outcome): FilterKey[] =>
  FILTER_KEYS.filter((key) => (RECORD_FILTERS[key] as FilterSpec).matchers?.includes(outcome));

const SENT: readonly Outcome[] = ['accepted', 'rejected', 'discarded'];

/** A matcher's keys: the filters every matcher takes, `count`, its own keys, then the filters only it takes. */
function knownKeys(outcome: Outcome): readonly string[] {
  const everyone = filterKeysOf(outcome).filter((key) => SENT.every((o) => filterKeysOf(o).includes(key)));
  const only = filterKeysOf(outcome).filter((key) => !everyone.includes(key));
  return [...everyone, 'count', ...OWN_KEYS[outcome], ...only];
}

const KNOWN_KEYS: Record<Outcome, readonly string[]> = {
  accepted: knownKeys('accepted'),
  rejected: knownKeys('rejected'),
  discarded: knownKeys('discarded'),
  incomplete: knownKeys('incomplete'),
};

const VERB: Record<Outcome, string> = { accepted: 'received', rejected: 'rejected', discarded: 'discarded', incomplete: 'cut off' };

function isRecordSource(value: unknown): value is RecordSource {
  return typeof value === 'object' && value !== null && typeof (value as RecordSource).records === 'function';
}

function recordsOf(received: unknown, filter: RecordFilter): NotificationRecord[] {
  if (Array.isArray(received)) return received as NotificationRecord[];
  if (isRecordSource(received)) return received.records(filter);
  throw new TypeError(
    `apns-mock-gateway matchers need the simulator (what startSimulator() returns), anything with records(), or an array of records; got ${received === null ? 'null' : typeof received}`,
  );
}

/** The expectation's record filters, a token given as bytes made hex (the table's filter makes it lower case). */
function filterOf(outcome: Outcome, e: AnyExpectation): RecordFilter {
  const filter: Record<string, unknown> = {};
  for (const key of filterKeysOf(outcome)) {
    const value = e[key as keyof AnyExpectation];
    if (value !== undefined)
      filter[key] = key === 'token' && typeof value !== 'string' ? Buffer.from(value as Uint8Array).toString('hex') : value;
  }
  return filter;
}

function describeText(expected: TextMatcher): string {
  if (typeof expected === 'string') return JSON.stringify(expected);
  if (expected instanceof RegExp) return String(expected);
  const named = expected as { toString?: () => string; sample?: unknown };
  return `${named.toString?.() ?? 'matcher'}${named.sample === undefined ? '' : `(${JSON.stringify(named.sample)})`}`;
}

function matchesText(state: MatcherState, actual: string | null, expected: TextMatcher): boolean {
  if (typeof expected === 'string') return actual === expected;
  if (expected instanceof RegExp) return actual !== null && expected.test(actual);
  return state.equals(actual, expected);
}

function checkExpectation(outcome: Outcome, expected: unknown, matcher: string): AnyExpectation {
  if (expected === undefined) return {};
  if (typeof expected !== 'object' || expected === null || Array.isArray(expected)) {
    throw new TypeError(
      `${matcher}() takes an object such as { token, ${outcome === 'accepted' ? 'alert' : 'status'} }; got ${JSON.stringify(expected)}`,
    );
  }
  const unknown = Object.keys(expected).filter((k) => !KNOWN_KEYS[outcome].includes(k));
  if (unknown.length > 0)
    throw new TypeError(`${matcher}() does not know ${unknown.join(', ')}; it takes ${KNOWN_KEYS[outcome].join(', ')}`);
  const { count, warnings, markers } = expected as AnyExpectation;
  if (count !== undefined && !(Number.isInteger(count) && count >= 0))
    throw new TypeError(`${matcher}(): count must be a whole number >= 0; got ${count}`);
  for (const [key, value] of Object.entries({ warnings, markers })) {
    if (value !== undefined && typeof value !== 'boolean')
      throw new TypeError(`${matcher}(): ${key} must be true or false; got ${JSON.stringify(value)}`);
  }
  return expected;
}

function criteriaFor(state: MatcherState, outcome: Outcome, e: AnyExpectation): Criterion[] {
  const list: Criterion[] = [{ name: 'outcome', shown: outcome, test: (r) => r.outcome === outcome }];
  const filter = filterOf(outcome, e);
  for (const key of FILTER_KEYS) {
    if (filter[key] === undefined) continue;
    const spec = RECORD_FILTERS[key] as FilterSpec;
    list.push({ name: key, shown: spec.phrase(spec.value.normalize(filter[key])), test: compileJsonFilter({ [key]: filter[key] }) });
  }
  if (e.alert !== undefined) {
    const alert = e.alert;
    list.push({ name: 'alert', shown: `alert ${describeText(alert)}`, test: (r) => matchesText(state, alertOf(r.payloadJson), alert) });
  }
  if (e.reason !== undefined) {
    const reason = e.reason;
    const test =
      typeof reason === 'string'
        ? (r: NotificationRecord) => (r.reason ?? '').includes(reason)
        : (r: NotificationRecord) => matchesText(state, r.reason, reason);
    list.push({ name: 'reason', shown: `reason ${describeText(reason)}`, test });
  }
  if (e.warnings === true) list.push({ name: 'warnings', shown: 'payload warnings', test: hasWarnings });
  if (e.markers !== true) list.push({ name: 'marker', shown: '', test: (r) => !isMarker(r) });
  if (e.payload !== undefined) {
    const payload = e.payload;
    const testers = [state.utils.iterableEquality, state.utils.subsetEquality];
    list.push({
      name: 'payload',
      shown: `payload like ${JSON.stringify(payload)}`,
      test: (r) => r.payloadJson !== null && state.equals(r.payloadJson, payload, testers),
    });
  }
  return list;
}

/** The part of the expectation the simulator can filter on itself, so a wait does not re-read every record. */
function pushdown(outcome: Outcome, e: AnyExpectation): RecordFilter {
  return { outcome, ...filterOf(outcome, e), ...(e.markers === true ? {} : { marker: false }) };
}

interface Verdict {
  pass: boolean;
  message: () => string;
  matched: number;
}

function judge(
  state: MatcherState,
  received: unknown,
  outcome: Outcome,
  expected: AnyExpectation,
  matcher: string,
): Verdict & { enough: boolean } {
  const criteria = criteriaFor(state, outcome, expected);
  const all = (r: NotificationRecord) => criteria.every((c) => c.test(r));
  const matched = recordsOf(received, pushdown(outcome, expected)).filter(all);
  const want = expected.count;
  // `warnings: false` is a gate on what matched, not a filter: a warned record fails the assertion rather than being passed over.
  const warned = expected.warnings === false ? matched.filter(hasWarnings) : [];
  const pass = (want === undefined ? matched.length > 0 : matched.length === want) && warned.length === 0;
  const what = [...criteria.slice(1).map((c) => c.shown), ...(expected.warnings === false ? ['no payload warnings'] : [])]
    .filter((shown) => shown !== '')
    .join(', ');
  const subject = `${want === undefined ? 'a notification' : `exactly ${want} notification(s)`}${what ? ` with ${what}` : ''}`;
  const message = () => {
    const everything = recordsOf(received, {}).filter((r) => expected.markers === true || !isMarker(r));
    if (warned.length > 0 && !state.isNot) {
      const note = { title: 'warnings', cell: (r: NotificationRecord) => (r.warnings ?? []).map((w) => w.message).join('; ') };
      return [
        `${matcher}: expected the simulator to have ${VERB[outcome]} ${subject},`,
        `but ${warned.length} of the ${matched.length} matching record(s) carry payload warnings:`,
        formatRecordTable(warned, { note }),
      ].join('\n');
    }
    const differs = {
      title: 'differs in',
      cell: (r: NotificationRecord) =>
        criteria
          .filter((c) => !c.test(r))
          .map((c) => c.name)
          .join(', ') || '(matches)',
    };
    if (state.isNot) {
      return [
        `${matcher}: expected the simulator not to have ${VERB[outcome]} ${subject.replace(/^exactly /, '')},`,
        `but ${matched.length} record(s) match:`,
        formatRecordTable(matched),
      ].join('\n');
    }
    return [
      `${matcher}: expected the simulator to have ${VERB[outcome]} ${subject},`,
      `but ${matched.length} of ${everything.length} record(s) match${matched.length > 0 ? ` (seq ${matched.map((r) => r.seq).join(', ')})` : ''}. What it has:`,
      formatRecordTable(everything, { note: differs }),
    ].join('\n');
  };
  return { pass, message, matched: matched.length, enough: matched.length >= (want ?? 1) };
}

function sync(outcome: Outcome, matcher: string) {
  return function (this: MatcherState, received: unknown, expected?: AnyExpectation) {
    const { pass, message } = judge(this, received, outcome, checkExpectation(outcome, expected, matcher), matcher);
    return { pass, message };
  };
}

function eventually(outcome: Outcome, matcher: string) {
  return async function (this: MatcherState, received: unknown, expected?: AnyExpectation, options: EventuallyOptions = {}) {
    const e = checkExpectation(outcome, expected, matcher);
    const timeout = options.timeout ?? 3000;
    const interval = options.interval ?? 20;
    const deadline = Date.now() + timeout;
    let verdict = judge(this, received, outcome, e, matcher);
    // `.not` waits the whole time: it asserts that nothing matching arrives meanwhile.
    while (!verdict.enough && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(interval, Math.max(1, deadline - Date.now()))));
      verdict = judge(this, received, outcome, e, matcher);
    }
    const { pass, message } = verdict;
    return { pass, message: () => (verdict.enough || this.isNot ? message() : `${message()}\n(waited ${timeout} ms)`) };
  };
}

/** The matchers, for `expect.extend(apnsMatchers)` where importing this module is not enough. */
export const apnsMatchers = {
  toHaveReceived: sync('accepted', 'toHaveReceived'),
  toHaveRejected: sync('rejected', 'toHaveRejected'),
  toHaveDiscarded: sync('discarded', 'toHaveDiscarded'),
  toEventuallyReceive: eventually('accepted', 'toEventuallyReceive'),
  toEventuallyReject: eventually('rejected', 'toEventuallyReject'),
};

expect.extend(apnsMatchers);

export interface ApnsMatchers<R = unknown> {
  /** Accepted notifications matching: at least one, or exactly `count`. */
  toHaveReceived(expected?: ReceivedExpectation): R;
  /** Rejected notifications matching (status, reason, token...). */
  toHaveRejected(expected?: RejectedExpectation): R;
  /** Notifications discarded because an earlier one on their connection failed. */
  toHaveDiscarded(expected?: DiscardedExpectation): R;
  /** Waits (polling) until the notifications have been received; then as toHaveReceived. */
  toEventuallyReceive(expected?: ReceivedExpectation, options?: EventuallyOptions): Promise<R>;
  /** Waits until the notifications have been rejected; then as toHaveRejected. */
  toEventuallyReject(expected?: RejectedExpectation, options?: EventuallyOptions): Promise<R>;
}

declare module 'vitest' {
  // The augmentation vitest documents for custom matchers: an interface that only extends.
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Matchers<T = any> extends ApnsMatchers<T> {}
}

export { alertOf, formatRecordTable } from '../server/recorder/table.js';
