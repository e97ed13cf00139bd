import type { DecodedFrame } from '../../protocol/binary/index.js';
import {
  HAS_EXTRA,
  NO_WARNINGS,
  readLayout,
  readParts,
  resizeRows,
  writeFrame,
  writeInput,
  writeLayout,
  type Extra,
  type Rows,
} from './columns.js';
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
 * Kept as columns, not objects: typed arrays for the numbers (one per field of RECORD_COLUMNS,
 * and the id of the slab holding the bytes: an index, so there is no reference per record for
 * the GC to walk or a write barrier to track), one pointer per record (its connection, shared by
 * every record of it, or the rare extras), and the bytes copied back to back into slabs of
 * 16-256 KB. A slab whose records have all been dropped is written again, so a full store
 * allocates nothing: new memory outside the JS heap makes V8 run full collections, and a
 * socket path recording a million frames a minute spent a sixth of its time in them. (Keeping
 * each TLS chunk whole instead of copying it saves the copy but costs more: 192 full
 * collections in a bench run against 131.) A StoredRecord, made only when one is read, has its
 * own copy of its bytes.
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
  /** Slabs of ours ever allocated: a full store stops allocating. */
  slabsAllocated = 0;

  private rows: Rows = resizeRows(null, 0, 0, 0, 0);
  private meta: (ConnectionInfo | Extra | undefined)[] = [];

  /** Slabs by id (a record's `slab` column), with the newest record each holds. */
  private slabs: (Buffer | undefined)[] = [];
  private slabLast: number[] = [];
  /** Ours to write again once let go (not a buffer of one big record). */
  private slabOurs: boolean[] = [];
  private freeIds: number[] = [];
  /** Ids of slabs that take no more records, oldest first: each is let go once its newest record is dropped. */
  private retired: number[] = [];
  private retiredHead = 0;
  /** Our slabs let go, to be written again. */
  private spare: Buffer[] = [];

  private current: Buffer = Buffer.alloc(0);
  private currentId = NONE;
  private used = 0;
  /** Where the last reserve() left room. */
  private reservedAt = 0;
  /** The last chunk adopt() copied (into `current`, at `adoptedAt`), its slab id and when it arrived. */
  private adopted: Buffer | null = null;
  private adoptedId = NONE;
  private adoptedAt = 0;
  private adoptedTimeMs = 0;
  /** Our slab holding the chunk being decoded, if it was copied: not written again until the next chunk. */
  private copiedInto: Buffer | null = null;
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
    const seq = this.nextSeq - 1;
    const bytes = input.bytes;
    const token = input.token ?? null;
    const payload = input.payload ?? null;
    const tokenInside = token !== null && within(token, bytes);
    const payloadInside = payload !== null && within(payload, bytes);
    const size =
      bytes.length + (token === null || tokenInside ? 0 : token.length) + (payload === null || payloadInside ? 0 : payload.length);
    const id = this.reserve(size, seq);
    const slab = this.slabs[id]!;
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
    const flags = this.keep(slot, writeInput(this.rows, slot, input, this.timeOf(timeMs)), input);
    writeLayout(
      this.rows,
      slot,
      flags,
      id,
      at,
      bytes.length,
      tokenAt,
      token === null ? 0 : token.length,
      payloadAt,
      payload === null ? 0 : payload.length,
    );
    return seq;
  }

  /**
   * Stores a decoded binary frame without making views of it. A frame decoded from the
   * buffer `adopt()` returned last is already in a slab and is not copied again.
   */
  pushFrame(input: FrameRecordInput): number {
    const slot = this.claim();
    const seq = this.nextSeq - 1;
    const frame: DecodedFrame = input.frame;
    let id: number;
    let at: number;
    let timeMs: number;
    if (frame.source === this.adopted) {
      id = this.adoptedId;
      this.slabLast[id] = seq;
      at = this.adoptedAt + frame.start;
      timeMs = this.adoptedTimeMs;
    } else {
      timeMs = Date.now();
      id = this.reserve(frame.length, seq);
      at = this.reservedAt;
      frame.source.copy(this.slabs[id]!, at, frame.start, frame.start + frame.length);
    }
    const flags = this.keep(slot, writeFrame(this.rows, slot, input, frame, this.timeOf(timeMs)), input);
    writeLayout(
      this.rows,
      slot,
      flags,
      id,
      at,
      frame.length,
      frame.tokenStart - frame.start,
      frame.tokenLength,
      frame.payloadStart - frame.start,
      frame.payloadLength,
    );
    return seq;
  }

  /**
   * A copy of a socket chunk, in a slab: frames decoded from it are recorded by pushFrame()
   * without a copy each, one copy of the whole chunk in their place, and with the time it
   * arrived: a clock read cost a third of recording a frame on a 2-core VM.
   */
  adopt(chunk: Buffer): Buffer {
    // The slab of the chunk before takes no more records unless it is the one being filled.
    const previous = this.adoptedId;
    this.adoptedId = NONE;
    this.adopted = null;
    if (previous !== NONE && previous !== this.currentId) this.retired.push(previous);
    // Its decoder is done with it: push() decodes a chunk whole before the next arrives.
    this.copiedInto = null;
    this.letGo();
    this.adoptedTimeMs = Date.now();
    if (chunk.length > OWN_BUFFER) return chunk;
    this.adoptedId = this.reserve(chunk.length, this.nextSeq - 1);
    this.adoptedAt = this.reservedAt;
    const slab = this.slabs[this.adoptedId]!;
    chunk.copy(slab, this.adoptedAt);
    this.copiedInto = slab;
    this.adopted = slab.subarray(this.adoptedAt, this.adoptedAt + chunk.length);
    return this.adopted;
  }

  /** The slot for the next record: the columns grow up to the limit, then the oldest record goes. */
  private claim(): number {
    if (this.count === this.capacity) {
      if (this.capacity < Math.max(1, this.limit)) this.grow();
      else this.dropOldest();
    }
    const slot = this.head + this.count;
    this.count++;
    // Not `%`: a division per record showed in the profile.
    return slot < this.capacity ? slot : slot - this.capacity;
  }

  /**
   * Frames take their chunk's arrival time, other records the clock: a record is never older
   * than the one before it, so time order is sequence order everywhere records are shown.
   */
  private timeOf(timeMs: number): number {
    this.lastTimeMs = timeMs > this.lastTimeMs ? timeMs : this.lastTimeMs;
    return this.lastTimeMs;
  }

  /** Keeps the record's connection, or its extras when it has some, in its pointer slot; returns its flags. */
  private keep(slot: number, extra: Extra | null, input: RecordInput | FrameRecordInput): number {
    if (extra !== null) {
      this.meta[slot] = extra;
      return HAS_EXTRA;
    }
    this.meta[slot] = input.connection;
    return input.warnings === undefined ? 0 : NO_WARNINGS;
  }

  /** The record with this sequence number, or null when it is not kept. */
  get(seq: number): StoredRecord | null {
    const index = seq - this.firstSeq;
    if (!(index >= 0 && index < this.count)) return null;
    const slot = (this.head + index) % this.capacity;
    const { slab, at, length, tokenAt, tokenLength, payloadAt, payloadLength } = readLayout(this.rows, slot);
    // A token or payload that was not within the bytes follows them in the slab.
    const extent = Math.max(length, tokenAt === NONE ? 0 : tokenAt + tokenLength, payloadAt === NONE ? 0 : payloadAt + payloadLength);
    const data = Buffer.from(this.slabs[slab]!.subarray(at, at + extent));
    return new StoredRecord(readParts(this.rows, slot, seq, data, this.meta[slot]!));
  }

  /** Drops the oldest records until at most `keep` are left. */
  trim(keep: number): void {
    if (this.count <= keep) return;
    while (this.count > keep) this.dropOldest();
    this.letGo();
  }

  /** Forgets every record; sequence numbers go on from where they were. */
  clear(): void {
    this.firstSeq += this.count;
    this.count = 0;
    this.head = 0;
    this.resize(0);
    this.slabs = [];
    this.slabLast = [];
    this.slabOurs = [];
    this.freeIds = [];
    this.retired = [];
    this.retiredHead = 0;
    this.spare = [];
    this.current = Buffer.alloc(0);
    this.currentId = NONE;
    this.used = 0;
    this.adopted = null;
    this.adoptedId = NONE;
    this.copiedInto = null;
    this.nextSlabSize = FIRST_SLAB;
  }

  private dropOldest(): void {
    const slot = this.head;
    this.meta[slot] = undefined;
    this.head = this.head + 1 < this.capacity ? this.head + 1 : 0;
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
    this.rows = resizeRows(this.rows, capacity, head, old, count);
    const meta: (ConnectionInfo | Extra | undefined)[] = new Array(capacity).fill(undefined);
    for (let i = 0; i < count; i++) meta[i] = this.meta[(head + i) % old];
    this.meta = meta;
    this.capacity = capacity;
    this.head = 0;
  }

  /** The id of a slab with `size` free bytes at `this.reservedAt`, for bytes of records up to `seq`. */
  private reserve(size: number, seq: number): number {
    if (size > OWN_BUFFER) {
      this.reservedAt = 0;
      // Unpooled, so the record pins nothing but its own bytes.
      const id = this.register(Buffer.allocUnsafeSlow(size), false);
      this.slabLast[id] = seq;
      this.retired.push(id);
      return id;
    }
    // A record of no bytes still needs a slab id: a fresh or cleared store has none yet.
    if (this.currentId === NONE || this.used + size > this.current.length) {
      if (this.currentId !== NONE && this.currentId !== this.adoptedId) this.retired.push(this.currentId);
      this.letGo();
      this.current = this.spare.pop() ?? this.allocate(this.nextSlabSize);
      this.nextSlabSize = Math.min(MAX_SLAB, this.nextSlabSize * 2);
      this.currentId = this.register(this.current, true);
      this.used = 0;
    }
    this.slabLast[this.currentId] = seq;
    this.reservedAt = this.used;
    this.used += size;
    return this.currentId;
  }

  private allocate(size: number): Buffer {
    this.slabsAllocated++;
    return Buffer.allocUnsafeSlow(size);
  }

  private register(slab: Buffer, ours: boolean): number {
    const id = this.freeIds.pop() ?? this.slabs.length;
    this.slabs[id] = slab;
    this.slabOurs[id] = ours;
    return id;
  }

  /** Lets go of the retired slabs whose records were all dropped: the bigger ones to be written again, the rest to the GC. */
  private letGo(): void {
    while (this.retiredHead < this.retired.length) {
      const id = this.retired[this.retiredHead];
      const slab = this.slabs[id]!;
      if (this.slabLast[id] >= this.firstSeq || slab === this.copiedInto) return;
      this.retiredHead++;
      if (this.retiredHead >= 64 && this.retiredHead * 2 >= this.retired.length) {
        this.retired = this.retired.slice(this.retiredHead);
        this.retiredHead = 0;
      }
      this.slabs[id] = undefined;
      this.freeIds.push(id);
      // The first, smaller slabs are left to the GC.
      if (this.slabOurs[id] && slab.length >= MAX_SLAB && this.spare.length < 4) this.spare.push(slab);
    }
  }
}

function within(part: Buffer, whole: Buffer): boolean {
  const at = part.byteOffset - whole.byteOffset;
  return part.buffer === whole.buffer && at >= 0 && at + part.length <= whole.length;
}
