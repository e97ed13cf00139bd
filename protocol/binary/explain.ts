import {
  Command,
  DEFAULT_LIMITS,
  FRAME_HEADER,
  ITEM_HEADER,
  ItemId,
  Priority,
  TOKEN_LENGTH,
  statusName,
  type Limits,
} from './constants.js';
import { DecodedFrame, FrameDecoder, type DecodeEvent, type IncompleteFrame } from './decoder.js';
import { encodeErrorResponse } from './encoder.js';
import { BinaryProtocolError, ItemStructureError, UnknownCommandError, type FrameField } from './errors.js';
import { parsePayload, validateNotification, type PayloadWarning } from './validate.js';

export interface ExplainedField {
  name: string;
  /** Offset of the field's first byte in the explained input. */
  offset: number;
  /** Bytes of the field present in the input (fewer than declared when the input ends inside it). */
  length: number;
  hex: string;
  meaning: string;
  value?: unknown;
  /** Set on the field the verdict is about. */
  problem?: string;
}

export type ExplainedOutcome = 'accepted' | 'rejected' | 'incomplete' | 'unparsable';

export interface ExplainedVerdict {
  outcome: ExplainedOutcome;
  status: number | null;
  statusName: string | null;
  /** The identifier the gateway would echo (command 1 and 2); null for command 0 and unreadable frames. */
  identifier: number | null;
  /**
   * The identifier the frame carries (command 1, or command 2's item 3), null when it has none:
   * it differs from `identifier` when the error response echoes 0 (a frame judged at its header,
   * a missing token).
   */
  frameIdentifier: number | null;
  /** Set when strict mode decided the rejection (a payload warning; Apple documented no status for it). */
  strictMode?: true;
  reason: string;
  hints: string[];
  /** Hex of the 6-byte error response the gateway sends, or null when Apple closes silently (command 0, unknown command, incomplete). */
  errorResponse: string | null;
}

export interface ExplainedFrame {
  offset: number;
  length: number;
  command: number | null;
  commandName: string | null;
  fields: ExplainedField[];
  /** The payload as laid out by the length fields, when all of it is in the input. */
  payload?: { text: string; json?: unknown; warnings: PayloadWarning[] };
  verdict: ExplainedVerdict;
}

export interface Explanation {
  frames: ExplainedFrame[];
  /** True when there is at least one frame and the gateway would accept every one. */
  accepted: boolean;
  summary: string;
}

export interface ExplainOptions {
  limits?: Partial<Limits>;
  /** Judge payload warnings as the gateway's strict mode does (status 7). */
  strict?: boolean;
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
/** How far from where the length fields put it a `{` is still taken as the payload's. */
const MISALIGN_SEARCH = 96;
/** Closer than this, a `{` is trusted even when the input ends before its payload does. */
const MISALIGN_NEAR = 16;

const COMMAND_MEANING: Record<number, string> = {
  [Command.Simple]: 'simple notification: token, payload',
  [Command.Enhanced]: 'enhanced notification: identifier, expiry, token, payload',
  [Command.Frame]: 'frame of items',
  [Command.ErrorResponse]: "error response: the gateway's reply, never sent to it",
};

const COMMAND_LABEL: Record<number, string> = {
  [Command.Simple]: 'simple',
  [Command.Enhanced]: 'enhanced',
  [Command.Frame]: 'frame',
};

const ITEM_FIELD: Record<number, string> = {
  [ItemId.DeviceToken]: 'device token',
  [ItemId.Payload]: 'payload',
  [ItemId.Identifier]: 'identifier',
  [ItemId.Expiry]: 'expiry',
  [ItemId.Priority]: 'priority',
};

const FIELD_LABEL: Record<string, string> = {
  'token length': 'token',
  'payload length': 'payload',
};

const fmt = (n: number) => n.toLocaleString('en-US');
const plural = (n: number, word: string) => `${fmt(n)} ${word}${n === 1 ? '' : 's'}`;

function spacedHex(bytes: Buffer): string {
  return bytes.toString('hex').replace(/(..)(?!$)/g, '$1 ');
}

function expiryMeaning(expiry: number): string {
  if (expiry === 0) return '0: try once, do not store';
  return `${new Date(expiry * 1000).toISOString().replace('.000Z', 'Z')} (UNIX seconds)`;
}

function priorityMeaning(priority: number): string {
  if (priority === Priority.Immediate) return '10: send now';
  if (priority === Priority.PowerConserving) return '5: power-conserving';
  return `${priority}: not a priority APNs defines (5 or 10)`;
}

/** Where the input stopped inside a frame: the field it stopped in, and what that field's length field declared. */
interface Cut {
  name: string;
  offset: number;
  expected: number;
  arrived: number;
  declaredBy?: { name: string; offset: number };
  /** Fields that were still to come. */
  after: string[];
}

interface ItemLayout {
  id: number;
  header: ExplainedField;
  data?: ExplainedField;
  /** Offset just past the item's data as its length field declares it. */
  declaredEnd: number;
}

/** Lays out the fields of one frame from its bytes, as its length fields declare them. */
class Layout {
  readonly fields: ExplainedField[] = [];
  readonly items: ItemLayout[] = [];
  cut: Cut | null = null;
  p: number;

  constructor(
    readonly bytes: Buffer,
    readonly start: number,
    /** Offset just past the last byte of this frame in the input. */
    readonly end: number,
  ) {
    this.p = start;
  }

  private push(name: string, offset: number, length: number, meaning: string, value?: unknown): ExplainedField {
    const field: ExplainedField = { name, offset, length, hex: this.bytes.toString('hex', offset, offset + length), meaning };
    if (value !== undefined) field.value = value;
    this.fields.push(field);
    return field;
  }

  /** A fixed-size integer field; null when the input ends inside it. */
  uint(name: string, size: 1 | 2 | 4, meaning: (value: number) => string, after: string[]): number | null {
    if (this.cut) return null;
    const offset = this.p;
    const arrived = Math.max(0, Math.min(size, this.end - offset));
    if (arrived < size) {
      if (arrived > 0) this.push(name, offset, arrived, `${arrived} of ${size} bytes`);
      this.cut = { name, offset, expected: size, arrived, after };
      this.p = this.end;
      return null;
    }
    const value = size === 1 ? this.bytes[offset] : size === 2 ? this.bytes.readUInt16BE(offset) : this.bytes.readUInt32BE(offset);
    this.push(name, offset, size, meaning(value), value);
    this.p += size;
    return value;
  }

  /** A field whose length another field declared; `limit` stops it at a frame's declared end. */
  data(
    name: string,
    declared: number,
    declaredBy: { name: string; offset: number },
    describe: (bytes: Buffer, whole: boolean) => { meaning: string; value?: unknown },
    after: string[],
    limit = Infinity,
  ): ExplainedField | null {
    if (this.cut) return null;
    const offset = this.p;
    const wanted = Math.min(declared, Math.max(0, limit - offset));
    const arrived = Math.max(0, Math.min(wanted, this.end - offset));
    this.p = offset + declared;
    if (arrived < wanted) this.cut = { name, offset, expected: declared, arrived, declaredBy, after };
    if (arrived === 0 && declared > 0) return null;
    const view = this.bytes.subarray(offset, offset + arrived);
    const { meaning, value } = describe(view, arrived === declared);
    return this.push(name, offset, arrived, meaning, value);
  }

  /** Bytes that belong to no field (after an unknown command byte). */
  rest(name: string, meaning: string): void {
    if (this.p < this.end) this.push(name, this.p, this.end - this.p, meaning);
    this.p = this.end;
  }

  /** One command-2 item: its header (id and length) as one field, then its data. False when the walk must stop. */
  item(bodyEnd: number): boolean {
    const offset = this.p;
    const left = bodyEnd - offset;
    const id = this.bytes[offset];
    const name = ITEM_FIELD[id] ?? 'item data';
    const size = Math.min(left, ITEM_HEADER);
    const arrived = Math.min(size, this.end - offset);
    if (left < ITEM_HEADER || arrived < ITEM_HEADER) {
      const meaning =
        left < ITEM_HEADER
          ? `${plural(left, 'byte')} left in the frame; an item header needs ${ITEM_HEADER}`
          : `item ${id} (${ITEM_FIELD[id] ?? 'unknown'}); the input ends inside its header`;
      const header = this.push('item header', offset, arrived, meaning, { id });
      this.items.push({ id, header, declaredEnd: bodyEnd });
      if (arrived < size) this.cut = { name: 'item header', offset, expected: size, arrived, after: left < ITEM_HEADER ? [] : [name] };
      this.p = left < ITEM_HEADER ? bodyEnd : this.end;
      return false;
    }
    const length = this.bytes.readUInt16BE(offset + 1);
    const overrun = offset + ITEM_HEADER + length > bodyEnd;
    const header = this.push(
      'item header',
      offset,
      ITEM_HEADER,
      `item ${id} (${ITEM_FIELD[id] ?? 'unknown'}), ${plural(length, 'byte')}${overrun ? `; the frame has ${fmt(bodyEnd - offset - ITEM_HEADER)} left` : ''}`,
      { id, length },
    );
    this.p = offset + ITEM_HEADER;
    const item: ItemLayout = { id, header, declaredEnd: offset + ITEM_HEADER + length };
    this.items.push(item);
    const data = this.data(
      name,
      length,
      { name: 'item header', offset },
      (view, whole) => describeItem(id, view, whole, length),
      [],
      bodyEnd,
    );
    if (data !== null) item.data = data;
    if (overrun) this.p = bodyEnd;
    return this.cut === null;
  }
}

function describeToken(view: Buffer, whole: boolean, declared: number): { meaning: string; value?: unknown } {
  const hex = view.toString('hex');
  if (!whole) return { meaning: `${fmt(view.length)} of ${plural(declared, 'token byte')}`, value: hex };
  if (declared === TOKEN_LENGTH) return { meaning: `${TOKEN_LENGTH}-byte device token`, value: hex };
  return { meaning: `${plural(declared, 'byte')} (a device token is ${TOKEN_LENGTH})`, value: hex };
}

function describePayload(view: Buffer, whole: boolean, declared: number): { meaning: string; value?: unknown } {
  const text = view.toString('utf8');
  if (!whole) return { meaning: `${fmt(view.length)} of ${plural(declared, 'payload byte')} are in the input`, value: text };
  const { json } = parsePayload(view, Priority.Immediate);
  return { meaning: json === undefined ? `${plural(declared, 'byte')}, not JSON` : `${plural(declared, 'byte')} of JSON`, value: text };
}

function describeItem(id: number, view: Buffer, whole: boolean, declared: number): { meaning: string; value?: unknown } {
  switch (id) {
    case ItemId.DeviceToken:
      return describeToken(view, whole, declared);
    case ItemId.Payload:
      return describePayload(view, whole, declared);
    case ItemId.Identifier:
      if (view.length === 4) return { meaning: 'echoed in an error response', value: view.readUInt32BE(0) };
      break;
    case ItemId.Expiry:
      if (view.length === 4) {
        const expiry = view.readUInt32BE(0);
        return { meaning: expiryMeaning(expiry), value: expiry };
      }
      break;
    case ItemId.Priority:
      if (view.length === 1) return { meaning: priorityMeaning(view[0]), value: view[0] };
      break;
    default:
      return { meaning: `${plural(view.length, 'byte')} of an item APNs does not define` };
  }
  return { meaning: `${plural(view.length, 'byte')}${whole ? '' : ` of ${fmt(declared)}`}` };
}

function layoutLegacy(bytes: Buffer, start: number, end: number, command: 0 | 1): Layout {
  const l = new Layout(bytes, start, end);
  l.uint('command', 1, (c) => `${c}: ${COMMAND_MEANING[c]}`, []);
  if (command === Command.Enhanced) {
    l.uint('identifier', 4, () => 'echoed in an error response', ['expiry', 'token length', 'device token', 'payload length', 'payload']);
    l.uint('expiry', 4, expiryMeaning, ['token length', 'device token', 'payload length', 'payload']);
  }
  const tokenLengthOffset = l.p;
  const tokenLength = l.uint('token length', 2, (n) => `${plural(n, 'token byte')} follow`, ['device token', 'payload length', 'payload']);
  if (tokenLength === null) return l;
  l.data('device token', tokenLength, { name: 'token length', offset: tokenLengthOffset }, (v, w) => describeToken(v, w, tokenLength), [
    'payload length',
    'payload',
  ]);
  if (l.cut) return l;
  const payloadLengthOffset = l.p;
  const payloadLength = l.uint('payload length', 2, (n) => `${plural(n, 'payload byte')} follow`, ['payload']);
  if (payloadLength === null) return l;
  l.data(
    'payload',
    payloadLength,
    { name: 'payload length', offset: payloadLengthOffset },
    (v, w) => describePayload(v, w, payloadLength),
    [],
  );
  return l;
}

function layoutFrame(bytes: Buffer, start: number, end: number): Layout {
  const l = new Layout(bytes, start, end);
  l.uint('command', 1, (c) => `${c}: ${COMMAND_MEANING[c]}`, []);
  const frameLength = l.uint('frame length', 4, (n) => `${plural(n, 'byte')} of items follow`, ['items']);
  if (frameLength === null) return l;
  const bodyEnd = start + FRAME_HEADER + frameLength;
  while (l.p < bodyEnd) {
    if (l.p >= end) {
      l.cut = {
        name: 'items',
        offset: l.p,
        expected: bodyEnd - l.p,
        arrived: 0,
        declaredBy: { name: 'frame length', offset: start + 1 },
        after: [],
      };
      break;
    }
    if (!l.item(bodyEnd)) break;
  }
  return l;
}

function layoutUnknown(bytes: Buffer, start: number, end: number): Layout {
  const l = new Layout(bytes, start, end);
  l.uint('command', 1, (c) => `${c}: ${COMMAND_MEANING[c] ?? 'not a command APNs defines'}`, []);
  l.rest('unparsed', 'bytes the gateway cannot frame after an unknown command');
  return l;
}

function layoutOf(bytes: Buffer, start: number, end: number): Layout {
  const command = bytes[start];
  if (command === Command.Simple || command === Command.Enhanced) return layoutLegacy(bytes, start, end, command);
  if (command === Command.Frame) return layoutFrame(bytes, start, end);
  return layoutUnknown(bytes, start, end);
}

/**
 * The command-2 item the decoder stopped at. The decoder checks items in order and stops at
 * the first bad one, so the first prefix of items it refuses ends with that item.
 */
function failingItem(bytes: Buffer, start: number, items: readonly ItemLayout[], limits: Limits): ItemLayout | undefined {
  for (let k = 0; k < items.length - 1; k++) {
    const through = Math.min(items[k].declaredEnd, bytes.length);
    const prefix = Buffer.allocUnsafe(through - start);
    bytes.copy(prefix, 0, start, through);
    prefix.writeUInt32BE(through - start - FRAME_HEADER, 1);
    const { events } = FrameDecoder.decodeAll(prefix, { limits });
    if (events[0] instanceof ItemStructureError) return items[k];
  }
  return items[items.length - 1];
}

function problemField(
  layout: Layout,
  field: FrameField,
  command: number,
  bytes: Buffer,
  start: number,
  limits: Limits,
): ExplainedField | undefined {
  const byName = (name: string) => layout.fields.find((f) => f.name === name);
  const itemHeader = (id: number) => layout.items.find((i) => i.id === id)?.header;
  switch (field) {
    case 'command':
      return byName('command');
    case 'frameLength':
      return byName('frame length');
    case 'item':
      return failingItem(bytes, start, layout.items, limits)?.header;
    case 'tokenLength':
      return command === Command.Frame ? itemHeader(ItemId.DeviceToken) : byName('token length');
    case 'payloadLength':
      return command === Command.Frame ? itemHeader(ItemId.Payload) : byName('payload length');
    case 'token':
      return command === Command.Frame ? undefined : byName('device token');
    case 'payload':
      return byName('payload');
    case 'priority':
      return layout.items.find((i) => i.id === ItemId.Priority)?.data;
  }
}

/** Command 2's payload item when it declares more than the limit: the reason a frame is over the largest valid length. */
function oversizedPayload(layout: Layout, command: number, limits: Limits): { header: ExplainedField; words: string } | null {
  if (command !== Command.Frame) return null;
  const item = layout.items.find((i) => i.id === ItemId.Payload);
  const declared = (item?.header.value as { length?: number } | undefined)?.length;
  if (item === undefined || declared === undefined || declared <= limits.framePayload) return null;
  return { header: item.header, words: `payload ${fmt(declared)} bytes, limit ${fmt(limits.framePayload)}` };
}

/** Where a JSON object that starts at `from` closes, reading strings and escapes; -1 when it does not close before `to`. */
function objectEnd(bytes: Buffer, from: number, to: number): number {
  let depth = 0;
  let inString = false;
  for (let i = from; i < to; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === OPEN_BRACE || c === 0x5b) depth++;
    else if (c === CLOSE_BRACE || c === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/** A `{` away from where the length fields put the payload, with a length in front of it that fits. */
interface Misalignment {
  /** Where the payload (its `{`) should start by the length fields. */
  expected: number;
  /** Where the `{` is. */
  actual: number;
  /** The length in front of the `{` (the real payload length). */
  realLength: number;
  realLengthOffset: number;
  /** Whether the real payload is wholly in the input and closes where its length says. */
  confirmed: boolean;
  /** The field that is longer (shift > 0) or shorter than its length field says. */
  culprit: ExplainedField;
  culpritName: string;
}

/** Offsets of `{` nearest to `expected` first, within [lowest + 2, highest), that `accept` takes. */
function findBrace(bytes: Buffer, expected: number, lowest: number, highest: number, accept: (at: number) => boolean): number[] {
  const found: number[] = [];
  for (let d = 1; d <= MISALIGN_SEARCH; d++) {
    for (const at of [expected + d, expected - d]) {
      if (at - 2 < lowest || at >= highest || bytes[at] !== OPEN_BRACE) continue;
      if (accept(at)) found.push(at);
    }
  }
  return found;
}

function realPayloadFits(bytes: Buffer, at: number, length: number, near: boolean): { ok: boolean; confirmed: boolean } {
  if (length < 2) return { ok: false, confirmed: false };
  if (at + length <= bytes.length) {
    const confirmed = bytes[at + length - 1] === CLOSE_BRACE && objectEnd(bytes, at, at + length) === at + length;
    return { ok: confirmed, confirmed };
  }
  return { ok: near, confirmed: false };
}

function legacyMisalignment(bytes: Buffer, layout: Layout): Misalignment | null {
  const token = layout.fields.find((f) => f.name === 'device token');
  const tokenLengthField = layout.fields.find((f) => f.name === 'token length');
  if (!token || !tokenLengthField) return null;
  const expected = tokenLengthField.offset + 2 + (tokenLengthField.value as number) + 2;
  if (expected < bytes.length && bytes[expected] === OPEN_BRACE) return null;
  const payloadLength = layout.fields.find((f) => f.name === 'payload length');
  // A frame that declares no payload and has none meant it (Pushy's flush frame).
  if (payloadLength?.value === 0) return null;
  for (const at of findBrace(bytes, expected, token.offset, Math.min(layout.end, bytes.length), (a) => {
    const length = bytes.readUInt16BE(a - 2);
    return realPayloadFits(bytes, a, length, Math.abs(a - expected) <= MISALIGN_NEAR).ok;
  })) {
    const realLength = bytes.readUInt16BE(at - 2);
    return {
      expected,
      actual: at,
      realLength,
      realLengthOffset: at - 2,
      confirmed: realPayloadFits(bytes, at, realLength, true).confirmed,
      culprit: token,
      culpritName: 'token',
    };
  }
  return null;
}

/** Command 2: a payload item header (`02 len`) and its `{` near where an earlier item's declared end puts the next item. */
function frameMisalignment(bytes: Buffer, layout: Layout, sane: readonly ItemLayout[], bodyEnd: number): Misalignment | null {
  const headers = new Set(layout.items.map((i) => i.header.offset));
  if (sane.some((i) => i.id === ItemId.Payload && i.data && bytes[i.data.offset] === OPEN_BRACE)) return null;
  const limit = Math.min(bodyEnd, bytes.length);
  let best: Misalignment | null = null;
  for (let q = layout.start + FRAME_HEADER; q + ITEM_HEADER < limit; q++) {
    if (bytes[q] !== ItemId.Payload || bytes[q + ITEM_HEADER] !== OPEN_BRACE || headers.has(q)) continue;
    const realLength = bytes.readUInt16BE(q + 1);
    for (const item of sane) {
      if (!item.data) continue;
      const shift = q - item.declaredEnd;
      if (shift === 0 || Math.abs(shift) > MISALIGN_SEARCH || item.header.offset >= q) continue;
      const fits = realPayloadFits(bytes, q + ITEM_HEADER, realLength, Math.abs(shift) <= MISALIGN_NEAR);
      if (!fits.ok) continue;
      if (best === null || Math.abs(shift) < Math.abs(best.actual - best.expected)) {
        best = {
          expected: item.declaredEnd + ITEM_HEADER,
          actual: q + ITEM_HEADER,
          realLength,
          realLengthOffset: q + 1,
          confirmed: fits.confirmed,
          culprit: item.data,
          culpritName: `item ${item.id} (${ITEM_FIELD[item.id] ?? 'unknown'})`,
        };
      }
    }
  }
  return best;
}

function misalignmentHints(bytes: Buffer, m: Misalignment): { lead: string; hints: string[] } {
  const shift = m.actual - m.expected;
  const by = plural(Math.abs(shift), 'byte');
  const lead =
    shift > 0
      ? `the ${m.culpritName} is ${by} longer than its length field: the payload's '{' starts at offset ${m.actual}, ${by} after where the length fields put it (offset ${m.expected})`
      : `the ${m.culpritName} is ${by} shorter than its length field: the payload's '{' starts at offset ${m.actual}, ${by} before where the length fields put it (offset ${m.expected})`;
  const hints = [lead];
  const real = `the real payload length ${spacedHex(bytes.subarray(m.realLengthOffset, m.realLengthOffset + 2))} (${fmt(m.realLength)}) sits at offset ${m.realLengthOffset}`;
  hints.push(
    `every field after the ${m.culpritName} is read ${by} ${shift > 0 ? 'early' : 'late'}; ${real}${m.confirmed ? ` and the ${plural(m.realLength, 'byte')} from the '{' close the JSON` : ''}`,
  );
  if (m.confirmed) {
    hints.push(`the real payload: ${bytes.toString('utf8', m.actual, m.actual + m.realLength)}`);
  }
  if (m.culpritName === 'token' || m.culpritName.startsWith('item 1 ')) {
    const actualToken = m.culprit.offset + TOKEN_LENGTH + shift;
    const tokenBytes = bytes.subarray(m.culprit.offset, Math.min(actualToken, bytes.length));
    if (shift === TOKEN_LENGTH && /^[0-9a-fA-F]+$/.test(tokenBytes.toString('latin1'))) {
      hints.push('the token was sent as 64 hex characters instead of the 32 bytes they spell: decode the hex before sending');
    } else if (shift > 0) {
      hints.push(
        `a token written as hex with spaces and packed with PHP's pack('H*', ...) grows like this: each space becomes a 0 nibble, so every two spaces add a byte; remove the spaces before packing`,
      );
    }
  }
  return { lead, hints };
}

function describeCut(layout: Layout, cut: Cut): string {
  const arrivedInFrame = layout.end - layout.start;
  let text = `frame ends after ${plural(arrivedInFrame, 'byte')}`;
  const frameLength = layout.fields.find((f) => f.name === 'frame length');
  if (frameLength && typeof frameLength.value === 'number') {
    const body = arrivedInFrame - FRAME_HEADER;
    text += `; the frame length field at offset ${frameLength.offset} says ${plural(frameLength.value, 'byte')} of items follow, ${fmt(body)} arrived`;
    if (cut.name !== 'items') {
      const of =
        cut.declaredBy?.name === 'item header'
          ? `the ${plural(cut.expected, 'byte')} its item header declares`
          : plural(cut.expected, 'byte');
      text += `; it stops inside the ${cut.name} at offset ${cut.offset} (${fmt(cut.arrived)} of ${of})`;
    }
    return text;
  }
  if (cut.declaredBy) {
    const what = FIELD_LABEL[cut.declaredBy.name] ?? cut.name;
    text += `; the ${cut.declaredBy.name} field at offset ${cut.declaredBy.offset} says ${fmt(cut.expected)} ${what} bytes follow, ${fmt(cut.arrived)} arrived`;
  } else {
    text += `, inside the ${cut.name} field at offset ${cut.offset} (${plural(cut.expected, 'byte')}; ${fmt(cut.arrived)} arrived)`;
  }
  if (cut.after.length > 0) text += `; the ${cut.after.join(', ')} ${cut.after.length === 1 ? 'has' : 'have'} not arrived`;
  return text;
}

interface FrameContext {
  bytes: Buffer;
  start: number;
  end: number;
  limits: Limits;
  strict: boolean;
}

/** The payload field when all the bytes its length field declares are in the input. */
function wholePayload(layout: Layout, command: number): ExplainedField | undefined {
  if (command === Command.Frame) {
    const item = layout.items.find((i) => i.id === ItemId.Payload);
    const declared = (item?.header.value as { length?: number } | undefined)?.length;
    return item?.data && item.data.length === declared ? item.data : undefined;
  }
  const field = layout.fields.find((f) => f.name === 'payload');
  const declared = layout.fields.find((f) => f.name === 'payload length')?.value;
  return field && field.length === declared ? field : undefined;
}

function explainFrame(ctx: FrameContext, event: DecodeEvent | IncompleteFrame): ExplainedFrame {
  const { bytes, start, end, limits } = ctx;
  const layout = layoutOf(bytes, start, end);
  const command = bytes[start];
  const known = command === Command.Simple || command === Command.Enhanced || command === Command.Frame;
  const frame: ExplainedFrame = {
    offset: start,
    length: end - start,
    command,
    commandName: known ? COMMAND_LABEL[command] : null,
    fields: layout.fields,
    verdict: {
      outcome: 'incomplete',
      status: null,
      statusName: null,
      identifier: null,
      frameIdentifier: null,
      reason: '',
      hints: [],
      errorResponse: null,
    },
  };
  const verdict = frame.verdict;
  const identifierField =
    layout.fields.find((f) => f.name === 'identifier' && typeof f.value === 'number') ??
    layout.items.find((i) => i.id === ItemId.Identifier && typeof i.data?.value === 'number')?.data;
  if (command !== Command.Simple && identifierField) verdict.frameIdentifier = identifierField.value as number;
  const payload = wholePayload(layout, command);
  if (payload) {
    const priorityItem = layout.items.find((i) => i.id === ItemId.Priority)?.data?.value;
    const view = bytes.subarray(payload.offset, payload.offset + payload.length);
    const parsed = parsePayload(view, typeof priorityItem === 'number' ? priorityItem : Priority.Immediate);
    frame.payload = { text: view.toString('utf8'), warnings: parsed.warnings };
    if (parsed.json !== undefined) frame.payload.json = parsed.json;
  }

  const mark = (field: ExplainedField | undefined, problem: string) => {
    if (field) field.problem = problem;
  };

  if (event instanceof DecodedFrame) {
    const result = validateNotification(
      { command: event.command, identifier: event.identifier, token: event.token, payload: event.payload, priority: event.priority },
      { limits, strict: ctx.strict },
    );
    verdict.identifier = event.command === Command.Simple ? null : event.identifier;
    if (result.accepted) {
      verdict.outcome = 'accepted';
      verdict.reason = `accepted: ${plural(event.token.length, 'token byte')}, ${plural(event.payload.length, 'payload byte')}, priority ${event.priority}; the gateway sends nothing back`;
      for (const w of result.warnings) {
        verdict.hints.push(`warning: ${w.message}; accepted, but strict mode rejects it with status 7`);
      }
      if (result.warnings.length > 0)
        verdict.reason += ` (${plural(result.warnings.length, 'warning')}: ${result.warnings.map((w) => w.message).join('; ')})`;
    } else {
      verdict.outcome = 'rejected';
      verdict.status = result.status;
      verdict.statusName = result.statusName;
      verdict.identifier = event.command === Command.Simple ? null : result.identifier;
      verdict.reason = result.reason;
      mark(problemField(layout, result.field, command, bytes, start, limits), result.reason);
      if (ctx.strict && result.field === 'payload' && (frame.payload?.warnings.length ?? 0) > 0) {
        // Apple rejected none of these; the status is the simulator's, and the words say so.
        verdict.strictMode = true;
        verdict.reason = `${result.reason} (status ${result.status} ${result.statusName} is the simulator's choice: Apple documented no status for it)`;
        verdict.hints.push(
          'strict mode decided this: without --strict (the gateway without strict mode) the frame is accepted with a warning',
        );
      }
    }
  } else if (event instanceof UnknownCommandError) {
    verdict.outcome = 'unparsable';
    verdict.reason = event.message;
    mark(layout.fields[0], event.message);
    if (command === Command.ErrorResponse) {
      verdict.hints.push('command 8 is the error response the gateway sends; these bytes look like the other direction of the connection');
    } else if (command === OPEN_BRACE || (command >= 0x20 && command < 0x7f)) {
      verdict.hints.push(`the byte reads as the character '${String.fromCharCode(command)}': text where a frame's command byte should be`);
    }
    if (end - start > 1)
      verdict.hints.push(
        `the ${plural(end - start - 1, 'byte')} after it cannot be framed: the gateway stops reading and closes the connection`,
      );
  } else if (event instanceof BinaryProtocolError) {
    verdict.outcome = 'rejected';
    verdict.status = event.status;
    verdict.statusName = event.status === null ? null : statusName(event.status);
    verdict.identifier = command === Command.Simple ? null : event.identifier;
    verdict.reason = event.message;
    const oversized = event.field === 'frameLength' ? oversizedPayload(layout, command, limits) : null;
    if (oversized !== null) {
      // The frame is too long because its payload is: the payload is what the sender must fix.
      verdict.reason = `${oversized.words}; ${event.message}`;
      mark(oversized.header, oversized.words);
    } else mark(problemField(layout, event.field, command, bytes, start, limits), event.message);
    if (layout.cut) {
      verdict.hints.push(
        `the input ends inside this frame (${describeCut(layout, layout.cut)}); the gateway rejects it without waiting for the rest`,
      );
    }
  } else {
    verdict.outcome = 'incomplete';
    verdict.identifier = command === Command.Simple ? null : ((identifierField?.value as number | undefined) ?? null);
    const cut: Cut = layout.cut ?? {
      name: 'frame',
      offset: start,
      expected: event.neededBytes,
      arrived: end - start,
      after: [],
    };
    verdict.reason = describeCut(layout, cut);
    const cutField = layout.fields.find((f) => f.offset === cut.offset && f.name === cut.name);
    const problem = `the input ends here: ${fmt(cut.arrived)} of ${plural(cut.expected, 'byte')} arrived`;
    if (cutField) cutField.problem = problem;
    else
      layout.fields.push({
        name: cut.name,
        offset: cut.offset,
        length: 0,
        hex: '',
        meaning: `${plural(cut.expected, 'byte')} expected`,
        problem,
      });
    verdict.hints.push(
      'a connection that closes inside a frame leaves it incomplete: the gateway sends nothing and records the bytes that arrived',
    );
  }

  if (verdict.frameIdentifier !== null && verdict.identifier !== null && verdict.frameIdentifier !== verdict.identifier) {
    const why =
      event instanceof BinaryProtocolError && event.field === 'frameLength'
        ? 'the gateway judges the frame length at the header, before it reads the items'
        : 'Apple answered a frame without a device token with identifier 0';
    verdict.hints.push(
      `the frame's identifier is ${verdict.frameIdentifier}, but the error response carries ${verdict.identifier}: ${why}`,
    );
  }

  if (verdict.outcome === 'rejected' && verdict.status !== null) {
    if (command === Command.Simple) {
      verdict.hints.push(
        `command 0 carries no identifier, so the gateway sends no error response: it closes the connection (recorded with status ${verdict.status})`,
      );
    } else {
      verdict.errorResponse = encodeErrorResponse(verdict.status, verdict.identifier ?? 0).toString('hex');
    }
  }

  const misalignment = known ? misalignmentOf(ctx, layout, command) : null;
  if (misalignment) {
    const { lead, hints } = misalignmentHints(bytes, misalignment);
    verdict.hints.unshift(...hints);
    verdict.reason = `${verdict.reason}; ${lead}`;
  }
  return frame;
}

function misalignmentOf(ctx: FrameContext, layout: Layout, command: number): Misalignment | null {
  if (command !== Command.Frame) return legacyMisalignment(ctx.bytes, layout);
  const frameLength = layout.fields.find((f) => f.name === 'frame length')?.value;
  if (typeof frameLength !== 'number') return null;
  const bodyEnd = ctx.start + FRAME_HEADER + frameLength;
  // Items from the one the verdict marks on were read from the wrong place, if anything was.
  const marked = layout.items.findIndex((i) => i.header.problem !== undefined);
  const sane = marked >= 0 ? layout.items.slice(0, marked) : layout.items;
  return frameMisalignment(ctx.bytes, layout, sane, bodyEnd);
}

function summarize(frames: readonly ExplainedFrame[], total: number): string {
  if (frames.length === 0) return 'no bytes: nothing to explain';
  const counts = new Map<string, number>();
  for (const f of frames) counts.set(f.verdict.outcome, (counts.get(f.verdict.outcome) ?? 0) + 1);
  const parts = (['accepted', 'rejected', 'incomplete', 'unparsable'] as const)
    .filter((o) => counts.has(o))
    .map((o) => `${counts.get(o)} ${o}`);
  let text = `${plural(frames.length, 'frame')} in ${plural(total, 'byte')}: ${parts.join(', ')}`;
  const first = frames.find((f) => f.verdict.outcome !== 'accepted');
  if (first) {
    const status = first.verdict.status === null ? '' : ` (status ${first.verdict.status} ${first.verdict.statusName})`;
    text += `; frame at offset ${first.offset} ${first.verdict.outcome}${status}: ${first.verdict.reason}`;
  }
  return text;
}

/**
 * An annotated breakdown of any bytes sent to the gateway, well formed or not: each frame's
 * fields where the length fields put them, and the verdict the gateway gives, taken from the
 * same decoder and validation the gateway runs.
 */
export function explain(input: Buffer | Uint8Array, options: ExplainOptions = {}): Explanation {
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const strict = options.strict ?? false;
  const events: DecodeEvent[] = [];
  const decoder = new FrameDecoder({ limits });
  decoder.push(bytes, (event) => events.push(event));
  const incomplete = decoder.end();
  const located: { start: number; event: DecodeEvent | IncompleteFrame }[] = events.map((event) => ({ start: event.streamOffset, event }));
  if (incomplete) located.push({ start: incomplete.streamOffset, event: incomplete });
  const frames = located.map(({ start, event }, i) => {
    const end = i + 1 < located.length ? located[i + 1].start : bytes.length;
    return explainFrame({ bytes, start, end, limits, strict }, event);
  });
  const closing = frames.findIndex((f) => f.verdict.outcome === 'rejected' || f.verdict.outcome === 'unparsable');
  if (closing >= 0 && closing < frames.length - 1) {
    const after = frames.length - closing - 1;
    frames[closing].verdict.hints.push(
      `the gateway closes the connection after this frame: the ${plural(after, 'frame')} after it would be discarded and must be resent on a new connection`,
    );
  }
  return {
    frames,
    accepted: frames.length > 0 && frames.every((f) => f.verdict.outcome === 'accepted'),
    summary: summarize(frames, bytes.length),
  };
}

const BYTES_PER_LINE = 16;
/** Longer fields show their first lines only; the JSON output keeps every byte. */
const MAX_HEX_LINES = 2;
const PAYLOAD_PREVIEW = 2000;

interface Palette {
  bad: (s: string) => string;
  good: (s: string) => string;
  warn: (s: string) => string;
  dim: (s: string) => string;
  bold: (s: string) => string;
}

const ansi = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;
const COLORS: Palette = { bad: ansi(31, 39), good: ansi(32, 39), warn: ansi(33, 39), dim: ansi(2, 22), bold: ansi(1, 22) };
const PLAIN: Palette = { bad: (s) => s, good: (s) => s, warn: (s) => s, dim: (s) => s, bold: (s) => s };

function hexLines(hex: string): { lines: string[]; hidden: number } {
  const total = hex.length / 2;
  const lines: string[] = [];
  for (let i = 0; i < total && lines.length < MAX_HEX_LINES; i += BYTES_PER_LINE) {
    lines.push(spacedHex(Buffer.from(hex.slice(i * 2, (i + BYTES_PER_LINE) * 2), 'hex')));
  }
  return { lines, hidden: Math.max(0, total - MAX_HEX_LINES * BYTES_PER_LINE) };
}

function verdictLine(frame: ExplainedFrame, c: Palette): string {
  const v = frame.verdict;
  switch (v.outcome) {
    case 'accepted': {
      const id = v.identifier === null ? '' : `, identifier ${v.identifier}`;
      return `${c.good('ACCEPTED')}${id}; the gateway sends nothing back`;
    }
    case 'rejected': {
      const own = v.frameIdentifier ?? v.identifier;
      const echoed = v.identifier !== null && own !== v.identifier ? ` (echoed as ${v.identifier})` : '';
      const id = own === null ? '' : `, identifier ${own}${echoed}`;
      const response =
        v.errorResponse === null
          ? 'no error response: the gateway closes the connection'
          : `error response ${spacedHex(Buffer.from(v.errorResponse, 'hex'))}, then the gateway closes the connection`;
      return `${c.bad('REJECTED')} status ${v.status} ${v.statusName}${v.strictMode ? ' (strict mode)' : ''}${id}; ${response}`;
    }
    case 'incomplete': {
      const id = v.frameIdentifier === null ? '' : `, identifier ${v.frameIdentifier}`;
      return `${c.warn('INCOMPLETE')}${id}; the gateway sends nothing and waits for the rest`;
    }
    case 'unparsable':
      return `${c.bad('UNPARSABLE')}; no error response: the gateway closes the connection`;
  }
}

function payloadLines(frame: ExplainedFrame): string[] {
  if (!frame.payload) return [];
  const { text, json } = frame.payload;
  const shown = json !== undefined ? JSON.stringify(json, null, 2) : JSON.stringify(text);
  const clipped = shown.length > PAYLOAD_PREVIEW ? `${shown.slice(0, PAYLOAD_PREVIEW)} …` : shown;
  return clipped.split('\n');
}

/** The explanation as aligned text for a person, the failing field marked with ✗. */
export function formatExplanation(e: Explanation, options: { color?: boolean } = {}): string {
  const c = options.color ? COLORS : PLAIN;
  const out: string[] = [];
  const offsetWidth = Math.max(6, ...e.frames.flatMap((f) => f.fields.map((x) => String(x.offset).length)));
  const hexWidth = BYTES_PER_LINE * 3 - 1;
  e.frames.forEach((frame, index) => {
    const nameWidth = Math.max(5, ...frame.fields.map((f) => f.name.length));
    const command =
      frame.command === null
        ? 'no command byte'
        : `command ${frame.command}${frame.commandName ? ` (${frame.commandName})` : ' (unknown)'}`;
    out.push(c.bold(`frame ${index + 1} at offset ${frame.offset}: ${command}, ${plural(frame.length, 'byte')}`));
    out.push(
      c.dim(`  ${' '.repeat(2)}${'offset'.padStart(offsetWidth)}  ${'bytes'.padEnd(hexWidth)}  ${'field'.padEnd(nameWidth)}  meaning`),
    );
    const blank = ' '.repeat(4 + offsetWidth + 2);
    for (const field of frame.fields) {
      const { lines, hidden } = hexLines(field.hex);
      const marker = field.problem !== undefined ? c.bad('✗ ') : '  ';
      const first = `${'  '}${marker}${c.dim(String(field.offset).padStart(offsetWidth))}  ${(lines[0] ?? '(none)').padEnd(hexWidth)}  ${field.name.padEnd(nameWidth)}  ${field.meaning}`;
      out.push(field.problem !== undefined ? first.replace(field.name.padEnd(nameWidth), c.bad(field.name.padEnd(nameWidth))) : first);
      for (const line of lines.slice(1)) out.push(`${blank}${line}`);
      if (hidden > 0) out.push(`${blank}${c.dim(`… ${plural(hidden, 'more byte')}`)}`);
      if (field.problem !== undefined) out.push(`${blank}${c.bad(`^ ${field.problem}`)}`);
    }
    const label = (s: string) => `  ${s.padEnd(8)} `;
    out.push(`${label('verdict')}${verdictLine(frame, c)}`);
    out.push(`${label('reason')}${frame.verdict.reason}`);
    for (const hint of frame.verdict.hints) out.push(`${label('hint')}${c.warn(hint)}`);
    const payload = payloadLines(frame);
    if (payload.length > 0) {
      const kind = frame.payload?.json !== undefined ? 'payload' : 'payload';
      out.push(`${label(kind)}${payload[0]}`);
      for (const line of payload.slice(1)) out.push(`${' '.repeat(11)}${line}`);
      for (const w of frame.payload?.warnings ?? []) out.push(`${label('warning')}${c.warn(w.message)}`);
    }
    out.push('');
  });
  out.push(`${e.accepted ? c.good('summary') : c.bad('summary')}  ${e.summary}`);
  return `${out.join('\n')}\n`;
}

/**
 * What the gateway does about a frame, in words, for the pages that show a verdict (the
 * inspector and the HTML report): the words before the error response's bytes, those bytes
 * (hex, or null when none is sent) and the words after them.
 */
export function verdictWords(v: ExplainedVerdict): { lead: string; errorResponse: string | null; tail: string } {
  const id = v.identifier === null ? '' : `, identifier ${v.identifier}`;
  const closes = 'no error response: the gateway closes the connection';
  switch (v.outcome) {
    case 'accepted':
      return { lead: ` ${id.slice(2)}${id ? '; ' : ''}the gateway sends nothing back`, errorResponse: null, tail: '' };
    case 'rejected':
      return v.errorResponse === null
        ? { lead: ` status ${v.status} ${v.statusName}${id}; ${closes}`, errorResponse: null, tail: '' }
        : {
            lead: ` status ${v.status} ${v.statusName}${id}; error response `,
            errorResponse: v.errorResponse,
            tail: ', then the gateway closes the connection',
          };
    case 'incomplete':
      return { lead: ' the gateway sends nothing and waits for the rest', errorResponse: null, tail: '' };
    case 'unparsable':
      return { lead: ` ${closes}`, errorResponse: null, tail: '' };
  }
}
