import type { ColumnKind } from './column-kinds.js';
import { parsePayload, type DecodedFrame, type PayloadWarning } from '../../protocol/binary/index.js';
import { compile } from './compile.js';
import { RECORD_COLUMNS, RECORD_FIELDS, RECORD_RARE, type FieldName, type FieldValue, type Outcome, type Protocol } from './fields.js';

export { OUTCOMES, PROTOCOLS, type Outcome, type Protocol } from './fields.js';

/**
 * What an HTTP/2 request carried and what it was answered. On HTTP/2 records `status` is the
 * HTTP status (200 when accepted; null when the request got no response: GOAWAY, RST_STREAM,
 * a closed connection), `statusName` Apple's reason (`BadDeviceToken`; null on 200), and
 * `reason` the words saying why.
 */
export interface Http2RecordDetails {
  method: string;
  path: string;
  authority: string | null;
  /** The request headers; a provider token's signature is cut off. */
  headers: Record<string, string>;
  streamId: number;
  /** Sent in the response: the one given, or the one made. */
  apnsId: string;
  /** Development environment only. */
  apnsUniqueId: string | null;
  pushType: string | null;
  collapseId: string | null;
  /** Broadcasts. */
  channelId: string | null;
  /** null when no response was sent. */
  status: number | null;
  /** Apple's reason in the response body; null on success. */
  reason: string | null;
  /** The 410 body's timestamp, milliseconds. */
  timestamp: number | null;
  auth: 'certificate' | 'token' | null;
  teamId: string | null;
  keyId: string | null;
}

/** Who sent: one object per connection, shared by its records. */
export interface ConnectionInfo {
  id: number;
  protocol: Protocol;
  /** "address:port" of the sender. */
  peer: string;
  topic: string | null;
  environment: string | null;
}

/** One notification as the library, the control API, the JSONL file and the CLI show it: the fields of RECORD_FIELDS. */
export type NotificationRecord = { [F in FieldName]: FieldValue<F> };

/** What the store keeps in columns, as StoredRecord gives it. */
export type ColumnValues = {
  [K in keyof typeof RECORD_COLUMNS]: (typeof RECORD_COLUMNS)[K]['kind'] extends ColumnKind<infer T> ? T : never;
};
/** What few records carry; null when not given. */
export type RareValues = { [K in keyof typeof RECORD_RARE]: NonNullable<(typeof RECORD_RARE)[K]['type']> | null };
type StoreGiven = {
  [K in keyof typeof RECORD_COLUMNS]: (typeof RECORD_COLUMNS)[K] extends { fromStore: true } ? K : never;
}[keyof typeof RECORD_COLUMNS];
type FrameGiven = {
  [K in keyof typeof RECORD_COLUMNS]: (typeof RECORD_COLUMNS)[K] extends { fromFrame: true } ? K : never;
}[keyof typeof RECORD_COLUMNS];
type NotOnFrames = {
  [K in keyof typeof RECORD_RARE]: (typeof RECORD_RARE)[K] extends { notOnFrames: true } ? K : never;
}[keyof typeof RECORD_RARE];

/** A record's column values as given to the recorder: every one but those the store or the frame give; null or left out when none. */
type ColumnInput = { [K in Exclude<keyof ColumnValues, StoreGiven | 'outcome'>]?: ColumnValues[K] | null };

export interface RecordInput extends ColumnInput, Partial<RareValues> {
  connection: ConnectionInfo;
  outcome: Outcome;
  /** The frame's bytes (a view: the recorder copies them). */
  bytes: Buffer;
  /** Views into `bytes` (or separate buffers), when the frame got that far. */
  token?: Buffer | null;
  payload?: Buffer | null;
  /** Known already (strict mode computes them on the socket path); otherwise worked out when read. */
  warnings?: PayloadWarning[];
  /** The notification's own topic when it is not the connection's (HTTP/2: apns-topic). */
  topic?: string | null;
}

/**
 * A decoded binary frame to record: the bytes, token and payload (and the columns marked
 * fromFrame) come from the frame (the recorder copies them); the rest is as in RecordInput.
 */
export interface FrameRecordInput extends Omit<RecordInput, FrameGiven | NotOnFrames | 'bytes' | 'token' | 'payload' | 'topic'> {
  frame: DecodedFrame;
}

/** Everything a StoredRecord is made of, by name. */
export interface StoredRecordParts extends ColumnValues, RareValues {
  seq: number;
  connection: ConnectionInfo;
  /** The notification's own topic; undefined when it is its connection's. */
  ownTopic: string | null | undefined;
  /** The payload's warnings when known on recording (strict mode); undefined: worked out when read. */
  warningsKnown: PayloadWarning[] | undefined;
  /** The frame's bytes (`length` of them), then any token or payload that was not within them. */
  data: Buffer;
  length: number;
  /** Offsets into `data`; -1 when absent. */
  tokenAt: number;
  tokenLength: number;
  payloadAt: number;
  payloadLength: number;
}

const NONE = -1;
const PART_NAMES = [
  ...['seq', 'connection', 'ownTopic', 'warningsKnown', 'data', 'length', 'tokenAt', 'tokenLength', 'payloadAt', 'payloadLength'],
  ...Object.keys(RECORD_COLUMNS),
  ...Object.keys(RECORD_RARE),
];
/** Sets each part as the record's own property, in one order for every record (so all share one shape). */
const assignParts = compile<(record: StoredRecord, parts: StoredRecordParts) => void>(
  ['record', 'parts'],
  PART_NAMES.map((name) => `record.${name} = parts.${name};`),
  null,
);
/** The record as JSON: one object literal, each field read as the table says. */
const toJson = compile<(record: StoredRecord) => NotificationRecord>(
  ['record'],
  ['return {', ...Object.keys(RECORD_FIELDS).map((name) => `  ${name}: constants.${name}(record),`), '};'],
  RECORD_FIELDS,
);

// The column and rare values are StoredRecord's own properties, named as in the table: the constructor sets them.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- declares what assignParts sets
export interface StoredRecord extends Readonly<ColumnValues>, Readonly<RareValues> {}

/**
 * One record, as read from the Recorder, with its own copy of its bytes (never a view of a
 * socket chunk or of the recorder's slabs); the token and payload are views within them.
 * The JSON view (hex, parsed payload, warnings) is made when someone reads it.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class StoredRecord {
  declare readonly seq: number;
  declare readonly connection: ConnectionInfo;
  declare private readonly ownTopic: string | null | undefined;
  declare private warningsKnown: PayloadWarning[] | undefined;
  declare private readonly data: Buffer;
  declare private readonly length: number;
  declare private readonly tokenAt: number;
  declare private readonly tokenLength: number;
  declare private readonly payloadAt: number;
  declare private readonly payloadLength: number;

  constructor(parts: StoredRecordParts) {
    assignParts(this, parts);
  }

  /** The frame's bytes (HTTP/2: the request body). */
  get bytes(): Buffer {
    return this.data.subarray(0, this.length);
  }

  /** The notification's topic: its own (HTTP/2) or its connection's. */
  get topic(): string | null {
    return this.ownTopic !== undefined ? this.ownTopic : this.connection.topic;
  }

  get token(): Buffer | null {
    return this.tokenAt === NONE ? null : this.data.subarray(this.tokenAt, this.tokenAt + this.tokenLength);
  }

  get payload(): Buffer | null {
    return this.payloadAt === NONE ? null : this.data.subarray(this.payloadAt, this.payloadAt + this.payloadLength);
  }

  get tokenHex(): string | null {
    return this.token?.toString('hex') ?? null;
  }

  /** The payload parsed (a new object each time), or null when it is not JSON. */
  get payloadJson(): unknown {
    const payload = this.payload;
    if (payload === null) return null;
    const parsed = parsePayload(payload, this.priority ?? 10);
    this.warningsKnown ??= parsed.warnings;
    return parsed.json ?? null;
  }

  /** What is wrong with the payload (not JSON, no aps...); worked out once. */
  get warnings(): PayloadWarning[] {
    if (this.warningsKnown === undefined) {
      const payload = this.payload;
      this.warningsKnown = payload === null ? [] : parsePayload(payload, this.priority ?? 10).warnings;
    }
    return this.warningsKnown;
  }

  toJSON(): NotificationRecord {
    return toJson(this);
  }
}
