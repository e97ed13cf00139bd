import type { DecodedFrame } from '../../protocol/binary/index.js';
import { HAS_EXTRA, NO_WARNINGS, readParts, resizeColumns, writeFrame, writeInput, type Columns, type Extra } from './columns.js';
import { StoredRecord, type ConnectionInfo, type FrameRecordInput, type RecordInput } from './record.js';

const NONE = -1;
const FIRST_SLAB = 16 * 1024;
const MAX_SLAB = 256 * 1024;
/** Bigger records get a buffer of their own rather than leave a slab's tail unused. */
const OWN_BUFFER = MAX_SLAB / 8;
const FIRST_CAPACITY = 1024;

/**
 * The records a Recorder keeps, newest last, at most `limit` of them (the oldest go first).
 *
 * Kept as columns, not objects: typed arrays for the numbers (one per field of RECORD_COLUMNS), one
 * pointer per record (its connection, shared by every record of it, or the rare extras),
 * and the bytes copied back to back into slabs of 16-256 KB. A slab whose records have all
 * been dropped is written again, so a full store allocates nothing: new memory outside the
 * JS heap makes V8 run full collections, and a socket path recording a million frames a
 * minute spent a sixth of its time in them. A StoredRecord, made only when one is read, has
 * its own copy of its bytes.
 */
export class RecordStore {
  private capacity = 0;
  /** Slot of the oldest record. */
  private head = 0;
  private count = 0;
  /** Sequence number of the oldest record kept (of the next one when none are kept). */
  firstSeq = 1;
  /** Records dropped to make room. */
  dropped = 0;

  private columns: Columns = resizeColumns(null, 0, 0, 0, 0);
  private slab: (Buffer | undefined)[] = [];
  private meta: (ConnectionInfo | Extra | undefined)[] = [];

  private current: Buffer = Buffer.alloc(0);
  private used = 0;
  /** Sequence number of the newest record with bytes in `current`. */
  private currentLast = 0;
  /** Slabs written full, oldest first, with the newest record each holds: free once that one is dropped. */
  private retired: { slab: Buffer; last: number }[] = [];
  private retiredHead = 0;
  /** The slab of the last adopted chunk: a decoder may still be reading it, so it is never written again. */
  private adoptedSlab: Buffer | null = null;
  /** Where the last reserve() left room. */
  private reservedAt = 0;
  /** The last chunk adopt() copied into `current`, at `adoptedAt`. */
  private adopted: Buffer | null = null;
  private adoptedAt = 0;
  private adoptedTimeMs = 0;
  private lastTimeMs = 0;
  private nextSlabSize = FIRST_SLAB;

  constructor(readonly limit: number) {}

  get size(): number {
    return this.count;
  }

  /** Sequence number the next record gets. */
  get nextSeq(): number {
    return this.firstSeq + this.count;
  }

  /** Stores a record (copying its bytes) and returns its sequence number; drops the oldest when full. */
  push(input: RecordInput, timeMs: number): number {
    const slot = this.claim();
    const bytes = input.bytes;
    const token = input.token ?? null;
    const payload = input.payload ?? null;
    const tokenInside = token !== null && within(token, bytes);
    const payloadInside = payload !== null && within(payload, bytes);
    const size =
      bytes.length + (token === null || tokenInside ? 0 : token.length) + (payload === null || payloadInside ? 0 : payload.length);
    const slab = this.reserve(size);
    const at = this.reservedAt;
    let end = at + bytes.copy(slab, at);
    let tokenAt = NONE;
    if (token !== null) {
      if (tokenInside) tokenAt = token.byteOffset - bytes.byteOffset;
      else {
        tokenAt = end - at;
        end += token.copy(slab, end);
      }
    }
    let payloadAt = NONE;
    if (payload !== null) {
      if (payloadInside) payloadAt = payload.byteOffset - bytes.byteOffset;
      else {
        payloadAt = end - at;
        payload.copy(slab, end);
      }
    }
    this.place(slot, slab, at, bytes.length, tokenAt, token === null ? 0 : token.length, payloadAt, payload === null ? 0 : payload.length);
    this.keep(slot, writeInput(this.columns, slot, input, this.timeOf(timeMs)), input);
    const seq = this.seqOf(slot);
    if (slab === this.current) this.currentLast = seq;
    return seq;
  }

  /**
   * Stores a decoded binary frame without making views of it. A frame decoded from the
   * buffer `adopt()` returned last is already in a slab and is not copied again.
   */
  pushFrame(input: FrameRecordInput): number {
    const slot = this.claim();
    const frame: DecodedFrame = input.frame;
    let slab: Buffer;
    let at: number;
    let timeMs: number;
    if (frame.source === this.adopted) {
      slab = this.current;
      at = this.adoptedAt + frame.start;
      timeMs = this.adoptedTimeMs;
    } else {
      timeMs = Date.now();
      slab = this.reserve(frame.length);
      at = this.reservedAt;
      frame.source.copy(slab, at, frame.start, frame.start + frame.length);
    }
    this.place(
      slot,
      slab,
      at,
      frame.length,
      frame.tokenStart - frame.start,
      frame.tokenLength,
      frame.payloadStart - frame.start,
      frame.payloadLength,
    );
    this.keep(slot, writeFrame(this.columns, slot, input, frame, this.timeOf(timeMs)), input);
    const seq = this.seqOf(slot);
    if (slab === this.current) this.currentLast = seq;
    return seq;
  }

  /**
   * A copy of a socket chunk, in a slab: frames decoded from it are recorded by pushFrame()
   * without a copy each, one copy of the whole chunk in their place, and with the time it
   * arrived: a clock read cost a third of recording a frame on a 2-core VM.
   */
  adopt(chunk: Buffer): Buffer {
    if (chunk.length > OWN_BUFFER) return chunk;
    const slab = this.reserve(chunk.length);
    this.adoptedAt = this.reservedAt;
    chunk.copy(slab, this.adoptedAt);
    this.adoptedSlab = slab;
    this.adoptedTimeMs = Date.now();
    this.adopted = slab.subarray(this.adoptedAt, this.adoptedAt + chunk.length);
    return this.adopted;
  }

  /** The slot for the next record: the columns grow up to the limit, then the oldest record goes. */
  private claim(): number {
    if (this.count === this.capacity) {
      if (this.capacity < Math.max(1, this.limit)) this.grow();
      else this.dropOldest();
    }
    const slot = (this.head + this.count) % this.capacity;
    this.count++;
    return slot;
  }

  private seqOf(slot: number): number {
    return this.firstSeq + ((slot - this.head + this.capacity) % this.capacity);
  }

  private place(
    slot: number,
    slab: Buffer,
    at: number,
    length: number,
    tokenAt: number,
    tokenLength: number,
    payloadAt: number,
    payloadLength: number,
  ): void {
    const columns = this.columns;
    this.slab[slot] = slab;
    columns.at[slot] = at;
    columns.length[slot] = length;
    columns.tokenAt[slot] = tokenAt;
    columns.tokenLength[slot] = tokenLength;
    columns.payloadAt[slot] = payloadAt;
    columns.payloadLength[slot] = payloadLength;
  }

  /**
   * Frames take their chunk's arrival time, other records the clock: a record is never older
   * than the one before it, so time order is sequence order everywhere records are shown.
   */
  private timeOf(timeMs: number): number {
    this.lastTimeMs = timeMs > this.lastTimeMs ? timeMs : this.lastTimeMs;
    return this.lastTimeMs;
  }

  /** Keeps the record's connection, or its extras when it has some, in its pointer slot. */
  private keep(slot: number, extra: Extra | null, input: RecordInput | FrameRecordInput): void {
    if (extra !== null) {
      this.columns.flags[slot] = HAS_EXTRA;
      this.meta[slot] = extra;
    } else {
      this.columns.flags[slot] = input.warnings === undefined ? 0 : NO_WARNINGS;
      this.meta[slot] = input.connection;
    }
  }

  /** The record with this sequence number, or null when it is not kept. */
  get(seq: number): StoredRecord | null {
    const index = seq - this.firstSeq;
    if (!(index >= 0 && index < this.count)) return null;
    const slot = (this.head + index) % this.capacity;
    const { at, length, tokenAt, tokenLength, payloadAt, payloadLength } = this.columns;
    // A token or payload that was not within the bytes follows them in the slab.
    const extent = Math.max(
      length[slot],
      tokenAt[slot] === NONE ? 0 : tokenAt[slot] + tokenLength[slot],
      payloadAt[slot] === NONE ? 0 : payloadAt[slot] + payloadLength[slot],
    );
    const data = Buffer.from(this.slab[slot]!.subarray(at[slot], at[slot] + extent));
    return new StoredRecord(readParts(this.columns, slot, seq, data, this.meta[slot]!));
  }

  /** Drops the oldest records until at most `keep` are left. */
  trim(keep: number): void {
    while (this.count > keep) this.dropOldest();
  }

  /** Forgets every record; sequence numbers go on from where they were. */
  clear(): void {
    this.firstSeq += this.count;
    this.count = 0;
    this.head = 0;
    this.resize(0);
    this.current = Buffer.alloc(0);
    this.used = 0;
    this.adopted = null;
    this.adoptedSlab = null;
    this.retired = [];
    this.retiredHead = 0;
    this.nextSlabSize = FIRST_SLAB;
  }

  private dropOldest(): void {
    const slot = this.head;
    this.slab[slot] = undefined;
    this.meta[slot] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    this.firstSeq++;
    this.dropped++;
  }

  private grow(): void {
    const limit = Math.max(1, this.limit);
    this.resize(Math.min(limit, Math.max(FIRST_CAPACITY, this.capacity * 2)));
  }

  /** New columns of `capacity` slots holding the kept records from slot 0 on. */
  private resize(capacity: number): void {
    const head = this.head;
    const old = this.capacity;
    const count = this.count;
    this.columns = resizeColumns(this.columns, capacity, head, old, count);
    const slab: (Buffer | undefined)[] = new Array(capacity).fill(undefined);
    const meta: (ConnectionInfo | Extra | undefined)[] = new Array(capacity).fill(undefined);
    for (let i = 0; i < count; i++) {
      slab[i] = this.slab[(head + i) % old];
      meta[i] = this.meta[(head + i) % old];
    }
    this.slab = slab;
    this.meta = meta;
    this.capacity = capacity;
    this.head = 0;
  }

  /** A buffer with `size` free bytes at `this.reservedAt`. */
  private reserve(size: number): Buffer {
    if (size > OWN_BUFFER) {
      this.reservedAt = 0;
      // Unpooled, so the record pins nothing but its own bytes.
      return Buffer.allocUnsafeSlow(size);
    }
    if (this.used + size > this.current.length) {
      if (this.current.length > 0) this.retired.push({ slab: this.current, last: this.currentLast });
      this.adopted = null;
      this.current = this.reusable() ?? Buffer.allocUnsafeSlow(this.nextSlabSize);
      this.nextSlabSize = Math.min(MAX_SLAB, this.nextSlabSize * 2);
      this.used = 0;
    }
    this.reservedAt = this.used;
    this.used += size;
    return this.current;
  }

  /** The oldest retired slab once none of its records is kept; smaller ones (the first few) are left to the GC. */
  private reusable(): Buffer | null {
    while (this.retiredHead < this.retired.length) {
      const oldest = this.retired[this.retiredHead];
      if (oldest.last >= this.firstSeq || oldest.slab === this.adoptedSlab) return null;
      this.retiredHead++;
      if (this.retiredHead >= 64 && this.retiredHead * 2 >= this.retired.length) {
        this.retired = this.retired.slice(this.retiredHead);
        this.retiredHead = 0;
      }
      if (oldest.slab.length >= this.nextSlabSize) return oldest.slab;
    }
    return null;
  }
}

function within(part: Buffer, whole: Buffer): boolean {
  const at = part.byteOffset - whole.byteOffset;
  return part.buffer === whole.buffer && at >= 0 && at + part.length <= whole.length;
}
