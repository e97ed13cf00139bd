import { EventEmitter } from 'node:events';
import { compileFilter, type RecordFilter } from './filter.js';
import { JsonlSink } from './jsonl.js';
import { StoredRecord, type NotificationRecord, type Outcome, type RecordInput } from './record.js';

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
export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
  readonly code = 'ERR_APNS_WAIT_TIMEOUT';
  constructor(
    message: string,
    readonly matched: NotificationRecord[],
    readonly seen: NotificationRecord[],
  ) {
    super(message);
  }
}

export type RecordStats = Record<Outcome, number> & { total: number; kept: number; dropped: number };

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
  private records: StoredRecord[] = [];
  private head = 0;
  private nextSeq = 1;
  private dropped = 0;
  private readonly counts: Record<Outcome, number> = { accepted: 0, rejected: 0, discarded: 0, incomplete: 0 };
  private readonly waiters = new Set<Waiter>();
  private sink: JsonlSink | null;

  constructor(options: RecorderOptions = {}) {
    super();
    this.maxRecords = options.maxRecords ?? 100_000;
    this.sink = options.jsonlPath ? new JsonlSink(options.jsonlPath) : null;
  }

  get jsonlPath(): string | null {
    return this.sink?.path ?? null;
  }

  get size(): number {
    return this.records.length - this.head;
  }

  /** Sequence number of the newest record (0 when none). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  add(input: RecordInput): StoredRecord {
    const record = new StoredRecord(
      this.nextSeq++,
      Date.now(),
      input.connection,
      input.command,
      input.identifier ?? null,
      input.expiry ?? null,
      input.priority ?? null,
      input.outcome,
      input.status ?? null,
      input.reason ?? null,
      input.rule ?? null,
      input,
      input.warnings,
    );
    this.counts[record.outcome]++;
    this.records.push(record);
    if (this.records.length - this.head > this.maxRecords) {
      this.head++;
      this.dropped++;
      if (this.head >= 1024 && this.head * 2 >= this.records.length) {
        this.records = this.records.slice(this.head);
        this.head = 0;
      }
    }
    this.sink?.append(record);
    for (const waiter of this.waiters) {
      if (waiter.matches(record)) {
        waiter.found.push(record);
        if (waiter.found.length >= waiter.count) waiter.done(waiter.found);
      }
    }
    if (this.listenerCount('record') > 0) this.emit('record', record);
    return record;
  }

  /** Stored records (oldest first) matching the filter. */
  find(filter: RecordFilter = {}, limit = Infinity): StoredRecord[] {
    const matches = compileFilter(filter);
    const out: StoredRecord[] = [];
    for (let i = this.head; i < this.records.length && out.length < limit; i++) {
      if (matches(this.records[i])) out.push(this.records[i]);
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
        const seen = this.find().slice(-50).map((r) => r.toJSON());
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
    this.records = [];
    this.head = 0;
    this.emit('clear');
  }

  stats(): RecordStats {
    return { ...this.counts, total: this.nextSeq - 1, kept: this.size, dropped: this.dropped };
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
