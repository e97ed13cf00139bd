import {
  Command,
  DEFAULT_PRIORITY,
  ENHANCED_HEADER,
  ERROR_RESPONSE_LENGTH,
  FEEDBACK_TUPLE_HEADER,
  FRAME_HEADER,
  ITEM_HEADER,
  ItemId,
  SIMPLE_HEADER,
  type NotificationCommand,
} from './constants.js';

/** Bytes given as a Buffer, or a string: hex for tokens, UTF-8 for payloads. */
export type TokenInput = Buffer | Uint8Array | string;
export type PayloadInput = Buffer | Uint8Array | string | object;

export function tokenBytes(token: TokenInput): Buffer {
  if (typeof token === 'string') return Buffer.from(token.replace(/[\s:<>]/g, ''), 'hex');
  return Buffer.isBuffer(token) ? token : Buffer.from(token);
}

export function payloadBytes(payload: PayloadInput): Buffer {
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  if (Buffer.isBuffer(payload)) return payload;
  if (payload instanceof Uint8Array) return Buffer.from(payload);
  return Buffer.from(JSON.stringify(payload), 'utf8');
}

export interface SimpleFrameFields {
  token: TokenInput;
  payload: PayloadInput;
  /** Overrides the token length field (to build malformed frames); defaults to the token's length. */
  tokenLength?: number;
  /** Overrides the payload length field; defaults to the payload's length. */
  payloadLength?: number;
}

export interface EnhancedFrameFields extends SimpleFrameFields {
  identifier?: number;
  /** UNIX seconds; 0 = try once, do not store. */
  expiry?: number;
}

/** Command 0: `u8 0` `u16 tokenLen` `token` `u16 payloadLen` `payload`. */
export function encodeSimple(fields: SimpleFrameFields): Buffer {
  return encodeLegacy(Command.Simple, fields, 0, 0);
}

/** Command 1: `u8 1` `u32 identifier` `u32 expiry` `u16 tokenLen` `token` `u16 payloadLen` `payload`. */
export function encodeEnhanced(fields: EnhancedFrameFields): Buffer {
  return encodeLegacy(Command.Enhanced, fields, fields.identifier ?? 0, fields.expiry ?? 0);
}

function encodeLegacy(command: 0 | 1, fields: SimpleFrameFields, identifier: number, expiry: number): Buffer {
  const token = tokenBytes(fields.token);
  const payload = payloadBytes(fields.payload);
  const header = command === Command.Simple ? SIMPLE_HEADER : ENHANCED_HEADER;
  const out = Buffer.allocUnsafe(header + token.length + 2 + payload.length);
  out[0] = command;
  let p = 1;
  if (command === Command.Enhanced) {
    out.writeUInt32BE(identifier >>> 0, 1);
    out.writeUInt32BE(expiry >>> 0, 5);
    p = 9;
  }
  out.writeUInt16BE(fields.tokenLength ?? token.length, p);
  p += 2;
  p += token.copy(out, p);
  out.writeUInt16BE(fields.payloadLength ?? payload.length, p);
  p += 2;
  payload.copy(out, p);
  return out;
}

/** One command-2 item, written as given: any id, any order, repeats allowed. */
export interface FrameItem {
  id: number;
  data: Buffer | Uint8Array;
  /** Overrides the item length field; defaults to the data's length. */
  length?: number;
}

/** Command 2 from raw items. `frameLength` overrides the declared length (malformed frames). */
export function encodeFrame(items: readonly FrameItem[], frameLength?: number): Buffer {
  let body = 0;
  for (const item of items) body += ITEM_HEADER + item.data.length;
  const out = Buffer.allocUnsafe(FRAME_HEADER + body);
  out[0] = Command.Frame;
  out.writeUInt32BE((frameLength ?? body) >>> 0, 1);
  let p = FRAME_HEADER;
  for (const item of items) {
    out[p] = item.id;
    out.writeUInt16BE(item.length ?? item.data.length, p + 1);
    out.set(item.data, p + ITEM_HEADER);
    p += ITEM_HEADER + item.data.length;
  }
  return out;
}

function u32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}

/** A notification in the shape a sender thinks of it; encoded in whichever command. */
export interface Notification {
  token: TokenInput;
  payload: PayloadInput;
  identifier?: number;
  expiry?: number;
  priority?: number;
}

/**
 * The items a command-2 frame carries for a notification, in the order real clients wrote
 * them: token, payload, identifier, then expiry and priority only when they say something
 * (node-apn 1.x left them out unless expiry > 0 or priority != 10).
 */
export function frameItemsOf(n: Notification, options: { alwaysExpiry?: boolean; alwaysPriority?: boolean } = {}): FrameItem[] {
  const items: FrameItem[] = [
    { id: ItemId.DeviceToken, data: tokenBytes(n.token) },
    { id: ItemId.Payload, data: payloadBytes(n.payload) },
    { id: ItemId.Identifier, data: u32(n.identifier ?? 0) },
  ];
  if (options.alwaysExpiry || (n.expiry ?? 0) > 0) items.push({ id: ItemId.Expiry, data: u32(n.expiry ?? 0) });
  const priority = n.priority ?? DEFAULT_PRIORITY;
  if (options.alwaysPriority || priority !== DEFAULT_PRIORITY) items.push({ id: ItemId.Priority, data: Buffer.of(priority) });
  return items;
}

/** Encodes a notification as command 0, 1 or 2 (default 2). */
export function encodeNotification(n: Notification, command: NotificationCommand = Command.Frame): Buffer {
  if (command === Command.Simple) return encodeSimple(n);
  if (command === Command.Enhanced) return encodeEnhanced(n);
  return encodeFrameNotification(n);
}

/**
 * Command 2 for a notification, the items `frameItemsOf` lists, sized first and written into
 * one allocation: the client's hot path, where a Buffer per item and a copy of each cost more
 * than the rest of sending.
 */
function encodeFrameNotification(n: Notification): Buffer {
  const tokenHex = typeof n.token === 'string' ? n.token.replace(/[\s:<>]/g, '') : null;
  const token = tokenHex === null ? tokenBytes(n.token) : null;
  const tokenLength = tokenHex === null ? token!.length : tokenHex.length >>> 1;
  const payloadText = typeof n.payload === 'string' ? n.payload : isBytes(n.payload) ? null : JSON.stringify(n.payload);
  const payload = payloadText === null ? payloadBytes(n.payload) : null;
  const payloadLength = payloadText === null ? payload!.length : Buffer.byteLength(payloadText, 'utf8');
  const expiry = n.expiry ?? 0;
  const priority = n.priority ?? DEFAULT_PRIORITY;
  const body =
    ITEM_HEADER * 3 +
    tokenLength +
    payloadLength +
    4 +
    (expiry > 0 ? ITEM_HEADER + 4 : 0) +
    (priority !== DEFAULT_PRIORITY ? ITEM_HEADER + 1 : 0);
  const out = Buffer.allocUnsafe(FRAME_HEADER + body);
  out[0] = Command.Frame;
  out.writeUInt32BE(body, 1);
  let p = FRAME_HEADER;
  out[p] = ItemId.DeviceToken;
  out.writeUInt16BE(tokenLength, p + 1);
  p += ITEM_HEADER;
  const tokenWritten = tokenHex === null ? token!.copy(out, p) : out.write(tokenHex, p, tokenLength, 'hex');
  // Hex that stops early (a character that is not hex) takes the general path, which reads it as Buffer.from does.
  if (tokenWritten !== tokenLength) return encodeFrame(frameItemsOf(n));
  p += tokenWritten;
  out[p] = ItemId.Payload;
  out.writeUInt16BE(payloadLength, p + 1);
  p += ITEM_HEADER;
  p += payloadText === null ? payload!.copy(out, p) : out.write(payloadText, p, payloadLength, 'utf8');
  out[p] = ItemId.Identifier;
  out.writeUInt16BE(4, p + 1);
  out.writeUInt32BE((n.identifier ?? 0) >>> 0, p + ITEM_HEADER);
  p += ITEM_HEADER + 4;
  if (expiry > 0) {
    out[p] = ItemId.Expiry;
    out.writeUInt16BE(4, p + 1);
    out.writeUInt32BE(expiry >>> 0, p + ITEM_HEADER);
    p += ITEM_HEADER + 4;
  }
  if (priority !== DEFAULT_PRIORITY) {
    out[p] = ItemId.Priority;
    out.writeUInt16BE(1, p + 1);
    out[p + ITEM_HEADER] = priority;
  }
  return out;
}

const isBytes = (value: unknown): value is Uint8Array => value instanceof Uint8Array;

/** The 6-byte error response: `u8 8` `u8 status` `u32 identifier`, written in one piece. */
export function encodeErrorResponse(status: number, identifier: number): Buffer {
  const out = Buffer.allocUnsafe(ERROR_RESPONSE_LENGTH);
  out[0] = Command.ErrorResponse;
  out[1] = status;
  out.writeUInt32BE(identifier >>> 0, 2);
  return out;
}

export interface ErrorResponse {
  status: number;
  identifier: number;
}

/** Reads a 6-byte error response; null when the bytes are not one. */
export function decodeErrorResponse(bytes: Buffer): ErrorResponse | null {
  if (bytes.length < ERROR_RESPONSE_LENGTH || bytes[0] !== Command.ErrorResponse) return null;
  return { status: bytes[1], identifier: bytes.readUInt32BE(2) };
}

export interface FeedbackTuple {
  /** UNIX seconds: when the gateway learnt the app was gone. */
  timestamp: number;
  token: Buffer;
}

/** A feedback tuple: `u32 timestamp` `u16 tokenLen` `token`. */
export function encodeFeedbackTuple(tuple: { timestamp: number; token: TokenInput }): Buffer {
  const token = tokenBytes(tuple.token);
  const out = Buffer.allocUnsafe(FEEDBACK_TUPLE_HEADER + token.length);
  out.writeUInt32BE(tuple.timestamp >>> 0, 0);
  out.writeUInt16BE(token.length, 4);
  token.copy(out, FEEDBACK_TUPLE_HEADER);
  return out;
}

export function encodeFeedbackTuples(tuples: readonly { timestamp: number; token: TokenInput }[]): Buffer {
  return Buffer.concat(tuples.map(encodeFeedbackTuple));
}

/**
 * Frames laid out back to back in one buffer: `room(size)` makes sure `size` bytes fit at
 * `used`, starting a new buffer when they do not (the old one stays with whoever holds it).
 */
export interface FrameSink {
  buffer: Buffer;
  used: number;
  room(size: number): void;
}

/**
 * Writes a notification's frame, with this identifier, at `sink.used` (advanced past it) and
 * returns where it starts in `sink.buffer`. The same bytes as `encodeNotification`, with no allocation of its own for
 * command 2 with a hex or byte token: a sender's hot path, where a Buffer per frame and a copy
 * of it into the write cost more than the layout.
 */
export function writeNotification(n: Notification, identifier: number, command: NotificationCommand, sink: FrameSink): number {
  if (command !== Command.Frame) return copyInto(sink, encodeNotification({ ...n, identifier }, command));
  const token = n.token;
  const hex = typeof token === 'string' ? token : null;
  // An odd length or a separator (spaces, colons, `<…>`) takes the general path, which strips them.
  if (hex !== null ? (hex.length & 1) === 1 : !(token instanceof Uint8Array))
    return copyInto(sink, encodeNotification({ ...n, identifier }, command));
  const tokenLength = hex !== null ? hex.length >>> 1 : (token as Uint8Array).length;
  const payload = n.payload;
  const bytes = payload instanceof Uint8Array ? payload : null;
  const text = bytes !== null ? null : typeof payload === 'string' ? payload : (JSON.stringify(payload) as string | undefined);
  if (text === undefined) return copyInto(sink, encodeNotification({ ...n, identifier }, command));
  const expiry = n.expiry ?? 0;
  const priority = n.priority ?? DEFAULT_PRIORITY;
  const fixed =
    FRAME_HEADER +
    ITEM_HEADER * 3 +
    tokenLength +
    4 +
    (expiry > 0 ? ITEM_HEADER + 4 : 0) +
    (priority !== DEFAULT_PRIORITY ? ITEM_HEADER + 1 : 0);
  // UTF-8 takes at most 3 bytes per UTF-16 unit: with that much room the text is written once and measured as it goes.
  sink.room(fixed + (bytes !== null ? bytes.length : text!.length * 3));
  const out = sink.buffer;
  const start = sink.used;
  let p = start + FRAME_HEADER;
  out[p] = ItemId.DeviceToken;
  out[p + 1] = tokenLength >>> 8;
  out[p + 2] = tokenLength & 0xff;
  p += ITEM_HEADER;
  if (hex !== null) {
    if (out.write(hex, p, tokenLength, 'hex') !== tokenLength) return copyInto(sink, encodeNotification({ ...n, identifier }, command));
  } else {
    out.set(token as Uint8Array, p);
  }
  p += tokenLength;
  const payloadLength = bytes !== null ? (out.set(bytes, p + ITEM_HEADER), bytes.length) : out.write(text!, p + ITEM_HEADER, 'utf8');
  if (payloadLength > 0xffff || tokenLength > 0xffff)
    throw new RangeError(`a command-2 item holds at most 65535 bytes; got ${Math.max(payloadLength, tokenLength)}`);
  out[p] = ItemId.Payload;
  out[p + 1] = payloadLength >>> 8;
  out[p + 2] = payloadLength & 0xff;
  p += ITEM_HEADER + payloadLength;
  out[p] = ItemId.Identifier;
  out[p + 1] = 0;
  out[p + 2] = 4;
  out.writeUInt32BE(identifier >>> 0, p + ITEM_HEADER);
  p += ITEM_HEADER + 4;
  if (expiry > 0) {
    out[p] = ItemId.Expiry;
    out[p + 1] = 0;
    out[p + 2] = 4;
    out.writeUInt32BE(expiry >>> 0, p + ITEM_HEADER);
    p += ITEM_HEADER + 4;
  }
  if (priority !== DEFAULT_PRIORITY) {
    out[p] = ItemId.Priority;
    out[p + 1] = 0;
    out[p + 2] = 1;
    out[p + ITEM_HEADER] = priority;
    p += ITEM_HEADER + 1;
  }
  out[start] = Command.Frame;
  out.writeUInt32BE(p - start - FRAME_HEADER, start + 1);
  sink.used = p;
  return start;
}

function copyInto(sink: FrameSink, frame: Buffer): number {
  sink.room(frame.length);
  const start = sink.used;
  frame.copy(sink.buffer, start);
  sink.used = start + frame.length;
  return start;
}
