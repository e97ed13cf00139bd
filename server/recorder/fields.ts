/**
 * The table of record fields: every other part of the recorder, the control API's query, the
 * CLI's `expect` and `records` options and the vitest matchers are made from it.
 *
 * Adding a field: its entry in RECORD_FIELDS (how a record shows it); a column in
 * RECORD_COLUMNS or a rare value in RECORD_RARE when the store keeps it (numbers in a column,
 * what few records carry beside them); a filter in RECORD_FILTERS when records can be chosen
 * by it. Then the place that produces the value, and the test.
 */
import { statusName } from '../../protocol/binary/index.js';
import { NUMBER, NUMBER_OR_NULL, choiceColumn, type ColumnKind } from './column-kinds.js';
import {
  BOOLEAN,
  CASELESS_TEXT,
  HEX_TOKEN,
  TEXT,
  TEXT_PATTERN,
  anyOf,
  matchesTextPattern,
  oneOf,
  wholeNumber,
  type FilterValue,
} from './filter-values.js';
import { alertOf, shortToken } from './words.js';
import type { Http2RecordDetails, StoredRecord } from './record.js';

export type Outcome = 'accepted' | 'rejected' | 'discarded' | 'incomplete';
export const OUTCOMES: readonly Outcome[] = ['accepted', 'rejected', 'discarded', 'incomplete'];

export type Protocol = 'binary' | 'http2';
export const PROTOCOLS: readonly Protocol[] = ['binary', 'http2'];

export interface ColumnSpec<T = unknown> {
  kind: ColumnKind<T>;
  /** The store gives it (the record's time), not the input. */
  fromStore?: true;
  /** A decoded binary frame gives it (DecodedFrame's property of this name), not the input. */
  fromFrame?: true;
}

/**
 * What the store keeps in a typed-array column of its own, by the name RecordInput and
 * StoredRecord give it. Every record has a slot in each.
 */
export const RECORD_COLUMNS = {
  /** Milliseconds since the epoch of the decision; never earlier than the record before. */
  timeMs: { kind: NUMBER, fromStore: true },
  command: { kind: NUMBER_OR_NULL, fromFrame: true },
  identifier: { kind: NUMBER_OR_NULL },
  expiry: { kind: NUMBER_OR_NULL },
  priority: { kind: NUMBER_OR_NULL, fromFrame: true },
  status: { kind: NUMBER_OR_NULL },
  outcome: { kind: choiceColumn(OUTCOMES) },
} satisfies Record<string, ColumnSpec>;

export interface RareSpec<T = unknown> {
  /** Binary frames never carry it: recording a frame gives it null. */
  notOnFrames?: true;
  /** Only carries T for the types derived from the table. */
  type?: T;
}
const rare = <T>() => ({}) as RareSpec<T>;
const rareNotOnFrames = <T>() => ({ notOnFrames: true }) as RareSpec<T> & { notOnFrames: true };

/** What few records carry: kept, when given, in an object beside the record's connection. Null when not given. */
export const RECORD_RARE = {
  /** The words saying why. */
  reason: rare<string>(),
  /** Id of the fault rule that decided the outcome, if one did. */
  rule: rare<string>(),
  /** A sender's flush marker (Pushy's, `apns-mock send`'s): true; null on every other record. */
  marker: rare<true>(),
  http2: rareNotOnFrames<Http2RecordDetails>(),
};

/**
 * One notification as the library, the control API, the JSONL file and the CLI show it: each
 * field of NotificationRecord, in this order, and how it is read from a StoredRecord.
 */
export const RECORD_FIELDS = {
  seq: (r) => r.seq,
  /** ISO 8601 time of the decision. */
  time: (r) => new Date(r.timeMs).toISOString(),
  protocol: (r): Protocol => r.connection.protocol,
  connectionId: (r) => r.connection.id,
  /** "address:port" of the sender. */
  peer: (r) => r.connection.peer,
  /** Its own (HTTP/2 apns-topic) or its connection's. */
  topic: (r) => r.topic,
  environment: (r) => r.connection.environment,
  command: (r) => r.command,
  identifier: (r) => r.identifier,
  expiry: (r) => r.expiry,
  priority: (r) => r.priority,
  /** Hex, lower case. */
  token: (r) => r.tokenHex,
  /** The payload as UTF-8 text (as received; may not be JSON). */
  payload: (r) => r.payload?.toString('utf8') ?? null,
  /** The payload parsed, or null when it is not JSON. */
  payloadJson: (r): unknown => r.payloadJson,
  warnings: (r) => r.warnings,
  outcome: (r): Outcome => r.outcome,
  /** Binary: the status byte of the error response. HTTP/2: the HTTP status, null when none was sent. */
  status: (r) => r.status,
  /** Binary: the status byte's name. HTTP/2: Apple's reason (`BadDeviceToken`), null on 200. */
  statusName: (r) => (r.http2 !== null ? r.http2.reason : r.status === null ? null : statusName(r.status)),
  /** The words saying why. */
  reason: (r) => r.reason,
  /** Id of the fault rule that decided this outcome, if one did. */
  rule: (r) => r.rule,
  /**
   * A sender's flush marker: the deliberately bad frame (command 1, no token, no payload) whose
   * status-2 answer proves every notification before it accepted. Recorded as it was (rejected,
   * status 2); counters, `expect` and the matchers leave it out unless asked.
   */
  marker: (r): boolean => r.marker === true,
  /** The frame's bytes, hex (HTTP/2: the request body's). */
  bytes: (r) => r.bytes.toString('hex'),
  /** HTTP/2 requests only; null on binary records. */
  http2: (r) => r.http2,
} satisfies Record<string, (record: StoredRecord) => unknown>;

export type FieldName = keyof typeof RECORD_FIELDS;
export type FieldValue<F extends FieldName> = ReturnType<(typeof RECORD_FIELDS)[F]>;

export interface FilterSpec<F extends FieldName = FieldName, T = any> {
  /** The field a record is chosen by. */
  field: F;
  value: FilterValue<T>;
  /** Its name in the control API's query and on the command line, when not the filter's own. */
  param?: string;
  /** Whether a record's field matches; default: equal to the value. */
  test?: (field: FieldValue<F>, value: T) => boolean;
  /** The filter in words, in "records with ...": `token aaaa…aaaa`. */
  phrase: (value: T) => string;
  /** On the command line's --help. */
  describe: string;
  /** Outcomes whose matchers (toHaveReceived: accepted...) take it as a key. */
  matchers?: readonly Outcome[];
}
// `const` keeps which matchers take a filter in its type, for the matchers' own types.
const filter = <F extends FieldName, T, const M extends readonly Outcome[] = readonly []>(spec: FilterSpec<F, T> & { matchers?: M }) =>
  spec;

/** Matchers of notifications that reached a verdict, or were discarded unjudged. */
const SENT = ['accepted', 'rejected', 'discarded'] as const;

/** Which records a list, a wait or an assertion is about: RecordFilter's keys; every given one must match. */
export const RECORD_FILTERS = {
  /** Hex; spaces, `<>`, colons and case are ignored. */
  token: filter({
    field: 'token',
    value: HEX_TOKEN,
    phrase: (token) => `token ${shortToken(token)}`,
    describe: 'Device token, hex (spaces and case ignored)',
    matchers: SENT,
  }),
  /** One outcome or several (any of them). */
  outcome: filter({
    field: 'outcome',
    value: anyOf(OUTCOMES),
    test: (outcome, wanted) => (Array.isArray(wanted) ? wanted.includes(outcome) : outcome === wanted),
    phrase: (outcome) => [outcome].flat().join(' or '),
    describe: `${OUTCOMES.join(', ')}, or several comma-separated`,
  }),
  topic: filter({ field: 'topic', value: TEXT, phrase: (topic) => `topic ${topic}`, describe: 'Topic (bundle id)', matchers: SENT }),
  /** Records after this sequence number. */
  since: filter({
    field: 'seq',
    value: wholeNumber(0),
    test: (seq, since) => seq > since,
    phrase: (since) => `after seq ${since}`,
    describe: 'Only records after this sequence number',
  }),
  connectionId: filter({
    field: 'connectionId',
    value: wholeNumber(1),
    param: 'connection',
    phrase: (id) => `connection ${id}`,
    describe: 'Only records of this connection id',
  }),
  identifier: filter({
    field: 'identifier',
    value: wholeNumber(0),
    phrase: (identifier) => `identifier ${identifier}`,
    describe: 'Notification identifier',
    matchers: SENT,
  }),
  status: filter({
    field: 'status',
    value: wholeNumber(0),
    phrase: (status) => `status ${status}`,
    describe: 'Status of rejected records: the APNs status byte (8: invalid token); HTTP/2, the HTTP status',
    matchers: ['rejected'],
  }),
  command: filter({
    field: 'command',
    value: wholeNumber(0),
    phrase: (command) => `command ${command}`,
    describe: 'Binary frame command (1, 2)',
  }),
  priority: filter({
    field: 'priority',
    value: wholeNumber(0),
    phrase: (priority) => `priority ${priority}`,
    describe: 'Priority (10: immediately, 5: power-saving)',
    matchers: ['accepted'],
  }),
  /** Which API it came through. */
  protocol: filter({
    field: 'protocol',
    value: oneOf(PROTOCOLS),
    phrase: (protocol) => `protocol ${protocol}`,
    describe: 'Only records that came through this API',
    matchers: SENT,
  }),
  /** HTTP/2: the apns-id sent in the response (case is ignored). */
  apnsId: filter({
    field: 'http2',
    value: CASELESS_TEXT,
    test: (http2, id) => http2 !== null && http2.apnsId.toLowerCase() === id,
    phrase: (id) => `apns-id ${id}`,
    describe: 'HTTP/2: the apns-id of the response',
  }),
  /** The alert a person would see (`aps.alert`, or its `body`): a substring, or a /regex/. */
  alert: filter({
    field: 'payloadJson',
    value: TEXT_PATTERN,
    test: (json, pattern) => matchesTextPattern(pattern, alertOf(json)),
    phrase: (pattern) => `alert ${pattern.startsWith('/') ? pattern : JSON.stringify(pattern)}`,
    describe: 'Alert text (aps.alert or aps.alert.body): a substring, or /regex/ with flags',
  }),
  /** The record's reason: a substring, or a /regex/. */
  reason: filter({
    field: 'reason',
    value: TEXT_PATTERN,
    test: (reason, pattern) => matchesTextPattern(pattern, reason),
    phrase: (pattern) => `reason ${pattern.startsWith('/') ? pattern : JSON.stringify(pattern)}`,
    describe: "The record's reason (why it was rejected, discarded...): a substring, or /regex/ with flags",
  }),
  /** Flush markers only (true) or none (false); `expect` and the matchers take false unless asked. */
  marker: filter({
    field: 'marker',
    value: BOOLEAN,
    test: (marker, wanted) => (marker === true) === wanted,
    phrase: (marker) => (marker ? 'flush markers only' : 'no flush markers'),
    describe: "Flush markers (a sender's deliberate status-2 probe) only, or --no-marker: none",
  }),
  /** Records whose payload has warnings (true: not JSON, no aps...) or has none (false). */
  warned: filter({
    field: 'warnings',
    value: BOOLEAN,
    // Read back from an older file, a record may lack the field.
    test: (warnings, wanted) => (warnings?.length ?? 0) > 0 === wanted,
    phrase: (warned) => (warned ? 'payload warnings' : 'no payload warnings'),
    describe: 'Only records whose payload has warnings (not JSON, no aps...), or --no-warned: only clean ones',
  }),
};

export type FilterKey = keyof typeof RECORD_FILTERS;
type FilterValueOf<K extends FilterKey> = (typeof RECORD_FILTERS)[K] extends FilterSpec<any, infer T> ? T : never;

/** Which records a list, a wait or an assertion is about; every given field must match. */
export type RecordFilter = { [K in FilterKey]?: FilterValueOf<K> };

/** The filters the matchers of this outcome take as keys (toHaveReceived: accepted). */
export type MatcherFilterKey<O extends Outcome> = {
  [K in FilterKey]: (typeof RECORD_FILTERS)[K] extends { matchers?: readonly (infer M)[] } ? (O extends M ? K : never) : never;
}[FilterKey];

/** The filter keys, in the table's order. */
export const FILTER_KEYS = Object.keys(RECORD_FILTERS) as FilterKey[];

/** A filter's name in the control API's query and on the command line. */
export const paramOf = (key: FilterKey): string => (RECORD_FILTERS[key] as FilterSpec).param ?? key;
