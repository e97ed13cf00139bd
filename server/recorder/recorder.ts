import { EventEmitter } from 'node:events';
import { compileFilter, type RecordFilter } from './filter.js';
import { JsonlSink, type SinkState } from './jsonl.js';
import type { FrameRecordInput, NotificationRecord, Outcome, RecordInput, StoredRecord } from './record.js';
import { RecordStore } from './store.js';
import { ApnsMockError } from '../../common/errors.js';

export interface RecorderOptions {
  /** Records kept in memory; the oldest go first. Default 100,000. */
  maxRecords?: number;
  /** Append every record to this JSON Lines file. */
  jsonlPath?: string;
}

export interface WaitOptions {
  /** How many matching records to wait for. Default 1. */
  count?: number;
  /** Default 5000 ms. */
  timeoutMs?: number;
}

/** waitFor gave up: carries what had matched and what was there, for the failure message. */
export class WaitTimeoutError extends ApnsMockError {
  constructor(
    message: string,
    readonly matched: NotificationRecord[],
    readonly seen: NotificationRecord[],
  ) {
    super('ERR_APNS_WAIT_TIMEOUT', message);
  }
}

/**
 * The counts by outcome leave flush markers out: a sender's deliberate probe is no rejection.
 * `markers` counts them apart; `total` is every record, markers too (the last sequence number).
 */
export type RecordStats = Record<Outcome, number> & { markers: number; total: number; kept: number; dropped: number };

interface Waiter {
  matches: (r: StoredRecord) => boolean;
  found: StoredRecord[];
  count: number;
  done: (records: StoredRecord[]) => void;
}

/**
 * Keeps every notification's record: in memory (bounded), in an optional JSONL file, and as
 * 'record' events for observers. It only watches; what happens to a notification is decided
 * before it gets here.
 */
export class Recorder extends EventEmitter {
  readonly maxRecords: number;
  private readonly store: RecordStore;
  /** 'record' listeners, counted as they come and go: listenerCount() per record cost more than storing it. */
  private recordListeners = 0;
  private readonly counts: Record<Outcome, number> = { accepted: 0, rejected: 0, discarded: 0, incomplete: 0 };
  private markers = 0;
  private readonly waiters = new Set<Waiter>();
  private sink: JsonlSink | null;

  constructor(options: RecorderOptions = {}) {
    super();
    this.maxRecords = options.maxRecords ?? 100_000;
    this.store = new RecordStore(this.maxRecords);
    this.sink = options.jsonlPath ? new JsonlSink(options.jsonlPath) : null;
    // Once, when the file stops taking records: the records go on in memory.
    this.sink?.on('failed', (state) => this.emit('sinkFailed', state));
    this.on('newListener', (event: string | symbol) => {
      if (event === 'record') this.recordListeners++;
    });
    this.on('removeListener', (event: string | symbol) => {
      if (event === 'record') this.recordListeners--;
    });
  }

  get jsonlPath(): string | null {
    return this.sink?.path ?? null;
  }

  /** The JSONL file's state (`failed`, `error`, `written`), for /stats and the inspector; null without one. */
  get sinkState(): SinkState | null {
    return this.sink?.state ?? null;
  }

  /**
   * Resolves once the record numbered `seq` (default: the newest) is handed to the OS by the
   * JSONL sink, so an answer counting it survives a SIGKILL; at once without a sink or when it failed.
   */
  whenWritten(seq: number = this.lastSeq): Promise<void> {
    return this.sink?.settled(seq) ?? Promise.resolve();
  }

  get size(): number {
    return this.store.size;
  }

  /** Sequence number of the newest record (0 when none). */
  get lastSeq(): number {
    return this.store.nextSeq - 1;
  }

  add(input: RecordInput): StoredRecord {
    this.count(input);
    return this.readBack(this.store.push(input, Date.now()));
  }

  /**
   * Stores a record like `add` and returns its sequence number. The record object is made
   * only when something watches (a wait, a 'record' listener, the JSONL file): the socket
   * paths call this, and a million records cost the garbage collector nothing each.
   */
  push(input: RecordInput): number {
    this.count(input);
    return this.watched(this.store.push(input, Date.now()));
  }

  /** `push` for a decoded binary frame: its bytes are copied without views being made of it. */
  pushFrame(input: FrameRecordInput): number {
    this.count(input);
    return this.watched(this.store.pushFrame(input));
  }

  private count(input: RecordInput | FrameRecordInput): void {
    if (input.marker === true) this.markers++;
    else this.counts[input.outcome]++;
  }

  /**
   * A copy of a socket chunk to decode in place of the chunk: frames decoded from it are
   * recorded by pushFrame() with no copy each (the chunk was copied once, whole).
   */
  adopt(chunk: Buffer): Buffer {
    return this.store.adopt(chunk);
  }

  private watched(seq: number): number {
    if (this.sink !== null || this.waiters.size > 0 || this.recordListeners > 0) this.readBack(seq);
    // The store drops the oldest itself when full; a limit of 0 keeps none past this call.
    else this.store.trim(this.maxRecords);
    return seq;
  }

  /** Makes the record object, tells the watchers, then holds the store to its limit. */
  private readBack(seq: number): StoredRecord {
    const record = this.store.get(seq)!;
    this.store.trim(this.maxRecords);
    this.sink?.append(record);
    for (const waiter of this.waiters) {
      if (waiter.matches(record)) {
        waiter.found.push(record);
        if (waiter.found.length >= waiter.count) waiter.done(waiter.found);
      }
    }
    if (this.recordListeners > 0) this.emit('record', record);
    return record;
  }

  /** Stored records (oldest first) matching the filter. */
  find(filter: RecordFilter = {}, limit = Infinity): StoredRecord[] {
    const matches = compileFilter(filter);
    const out: StoredRecord[] = [];
    // Sequence numbers are consecutive: records up to `since` need not be looked at.
    const from = Math.max(this.store.firstSeq, filter.since === undefined ? 0 : filter.since + 1);
    const to = this.store.nextSeq;
    for (let seq = from; seq < to && out.length < limit; seq++) {
      const record = this.store.get(seq)!;
      if (matches(record)) out.push(record);
    }
    return out;
  }

  list(filter: RecordFilter = {}, limit?: number): NotificationRecord[] {
    return this.find(filter, limit).map((r) => r.toJSON());
  }

  /**
   * Resolves with the first `count` records matching the filter, counting those already
   * kept; rejects with WaitTimeoutError (holding what was there) after the timeout.
   */
  waitFor(filter: RecordFilter = {}, options: WaitOptions = {}): Promise<NotificationRecord[]> {
    const count = options.count ?? 1;
    const timeoutMs = options.timeoutMs ?? 5000;
    const existing = this.find(filter, count);
    if (existing.length >= count) return Promise.resolve(existing.map((r) => r.toJSON()));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        matches: compileFilter(filter),
        found: existing,
        count,
        done: (records) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(records.map((r) => r.toJSON()));
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        // The newest records: what a failed wait most likely missed by.
        const seen = this.find()
          .slice(-50)
          .map((r) => r.toJSON());
        reject(
          new WaitTimeoutError(
            `waited ${timeoutMs} ms for ${count} record(s) matching ${JSON.stringify(filter)}; ${waiter.found.length} matched, ${this.size} kept`,
            waiter.found.map((r) => r.toJSON()),
            seen,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  clear(): void {
    this.store.clear();
    this.emit('clear');
  }

  stats(): RecordStats {
    return { ...this.counts, markers: this.markers, total: this.lastSeq, kept: this.size, dropped: this.store.dropped };
  }

  /** Writes what the JSONL file is owed; safe to call from a signal handler. */
  flush(): void {
    this.sink?.flush();
  }

  close(): void {
    this.sink?.close();
    this.sink = null;
  }
}
