import { parsePayload, statusName, type DecodedFrame, type PayloadWarning } from '../../protocol/binary/index.js';

export type Outcome = 'accepted' | 'rejected' | 'discarded' | 'incomplete';
export const OUTCOMES: readonly Outcome[] = ['accepted', 'rejected', 'discarded', 'incomplete'];

export type Protocol = 'binary' | 'http2';

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

/** One notification as the library, the control API, the JSONL file and the CLI show it. */
export interface NotificationRecord {
  seq: number;
  /** ISO 8601 time of the decision. */
  time: string;
  protocol: Protocol;
  connectionId: number;
  peer: string;
  topic: string | null;
  environment: string | null;
  command: number | null;
  identifier: number | null;
  expiry: number | null;
  priority: number | null;
  /** Hex, lower case. */
  token: string | null;
  /** The payload as UTF-8 text (as received; may not be JSON). */
  payload: string | null;
  /** The payload parsed, or null when it is not JSON. */
  payloadJson: unknown;
  warnings: PayloadWarning[];
  outcome: Outcome;
  status: number | null;
  statusName: string | null;
  reason: string | null;
  /** Id of the fault rule that decided this outcome, if one did. */
  rule: string | null;
  /** The frame's bytes, hex (HTTP/2: the request body's). */
  bytes: string;
  /** HTTP/2 requests only; null on binary records. */
  http2: Http2RecordDetails | null;
}

export interface RecordInput {
  connection: ConnectionInfo;
  command: number | null;
  identifier?: number | null;
  expiry?: number | null;
  priority?: number | null;
  /** The frame's bytes (a view: the recorder copies them). */
  bytes: Buffer;
  /** Views into `bytes` (or separate buffers), when the frame got that far. */
  token?: Buffer | null;
  payload?: Buffer | null;
  outcome: Outcome;
  status?: number | null;
  reason?: string | null;
  rule?: string | null;
  /** Known already (strict mode computes them on the socket path); otherwise worked out when read. */
  warnings?: PayloadWarning[];
  /** The notification's own topic when it is not the connection's (HTTP/2: apns-topic). */
  topic?: string | null;
  http2?: Http2RecordDetails | null;
}

/**
 * A decoded binary frame to record: the command, priority, bytes, token and payload come
 * from the frame (the recorder copies them); the rest is as in RecordInput.
 */
export interface FrameRecordInput extends Omit<RecordInput, 'command' | 'priority' | 'bytes' | 'token' | 'payload' | 'topic' | 'http2'> {
  frame: DecodedFrame;
}

const NONE = -1;

/**
 * One record, as read from the Recorder, with its own copy of its bytes (never a view of a
 * socket chunk or of the recorder's slabs); the token and payload are views within them.
 * The JSON view (hex, parsed payload, warnings) is made when someone reads it.
 */
export class StoredRecord {
  constructor(
    readonly seq: number,
    readonly timeMs: number,
    readonly connection: ConnectionInfo,
    readonly command: number | null,
    readonly identifier: number | null,
    readonly expiry: number | null,
    readonly priority: number | null,
    readonly outcome: Outcome,
    readonly status: number | null,
    readonly reason: string | null,
    readonly rule: string | null,
    /** The frame's bytes (`length` of them), then any token or payload that was not within them. */
    private readonly data: Buffer,
    private readonly length: number,
    /** Offsets into `data`; -1 when absent. */
    private readonly tokenAt: number,
    private readonly tokenLength: number,
    private readonly payloadAt: number,
    private readonly payloadLength: number,
    private warningsKnown: PayloadWarning[] | undefined,
    private readonly ownTopic: string | null | undefined,
    readonly http2: Http2RecordDetails | null,
  ) {}

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

  toJSON(): NotificationRecord {
    const payload = this.payload;
    let payloadJson: unknown = null;
    let warnings = this.warningsKnown ?? [];
    if (payload !== null) {
      const parsed = parsePayload(payload, this.priority ?? 10);
      payloadJson = parsed.json ?? null;
      if (this.warningsKnown === undefined) warnings = parsed.warnings;
    }
    this.warningsKnown = warnings;
    return {
      seq: this.seq,
      time: new Date(this.timeMs).toISOString(),
      protocol: this.connection.protocol,
      connectionId: this.connection.id,
      peer: this.connection.peer,
      topic: this.topic,
      environment: this.connection.environment,
      command: this.command,
      identifier: this.identifier,
      expiry: this.expiry,
      priority: this.priority,
      token: this.tokenHex,
      payload: payload === null ? null : payload.toString('utf8'),
      payloadJson,
      warnings,
      outcome: this.outcome,
      status: this.status,
      statusName: this.http2 !== null ? this.http2.reason : this.status === null ? null : statusName(this.status),
      reason: this.reason,
      rule: this.rule,
      bytes: this.bytes.toString('hex'),
      http2: this.http2,
    };
  }
}
