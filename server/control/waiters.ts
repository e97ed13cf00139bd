import { compileFilter, type NotificationRecord, type RecordFilter, type Recorder, type StoredRecord } from '../recorder/index.js';
import { HttpError } from './http.js';

/** Waits open at once; each holds a request and is checked against every record. */
export const MAX_WAITERS = 1000;
/** The longest `/records/wait` timeout: a wait is for a test step, not a subscription (that is /events). */
export const MAX_WAIT_MS = 10 * 60_000;
/** The newest records a timed-out wait shows: what it most likely missed by. */
const SEEN_ON_TIMEOUT = 50;

export type WaitResult =
  | { status: 'matched'; records: NotificationRecord[] }
  | { status: 'timeout'; message: string; matched: NotificationRecord[]; seen: NotificationRecord[] }
  | { status: 'aborted' };

interface Waiter {
  matches: (record: StoredRecord) => boolean;
  found: StoredRecord[];
  count: number;
  finish: (result: WaitResult) => void;
}

/**
 * The control API's waits on one recorder: one 'record' listener for all of them, a cap on
 * how many are open, and each dropped as soon as its client goes away (the signal), so a
 * thousand abandoned waits cost nothing once their sockets close.
 */
export class WaitRoom {
  private readonly waiters = new Set<Waiter>();

  constructor(
    private readonly recorder: Recorder,
    private readonly maxWaiters = MAX_WAITERS,
  ) {}

  /** Waits open now. */
  get size(): number {
    return this.waiters.size;
  }

  private readonly onRecord = (record: StoredRecord) => {
    for (const waiter of this.waiters) {
      if (!waiter.matches(record)) continue;
      waiter.found.push(record);
      if (waiter.found.length >= waiter.count) waiter.finish({ status: 'matched', records: waiter.found.map((r) => r.toJSON()) });
    }
  };

  /** The first `count` records matching `filter`, counting those already kept; settles early when `signal` aborts. */
  wait(filter: RecordFilter, count: number, timeoutMs: number, signal: AbortSignal): Promise<WaitResult> {
    const existing = this.recorder.find(filter, count);
    if (existing.length >= count) return Promise.resolve({ status: 'matched', records: existing.map((r) => r.toJSON()) });
    if (signal.aborted) return Promise.resolve({ status: 'aborted' });
    if (this.waiters.size >= this.maxWaiters) {
      throw new HttpError(503, `${this.waiters.size} waits are open, the most this control API keeps; retry when some have ended`, 'ERR_APNS_CONTROL_TOO_MANY_WAITS');
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        matches: compileFilter(filter),
        found: existing,
        count,
        finish: (result) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          this.remove(waiter);
          resolve(result);
        },
      };
      const onAbort = () => waiter.finish({ status: 'aborted' });
      const timer = setTimeout(() => {
        // Sequence numbers are consecutive: the newest are found without reading the rest.
        const seen = this.recorder.find({ since: Math.max(0, this.recorder.lastSeq - SEEN_ON_TIMEOUT) });
        waiter.finish({
          status: 'timeout',
          message: `waited ${timeoutMs} ms for ${count} record(s) matching ${JSON.stringify(filter)}; ${waiter.found.length} matched, ${this.recorder.size} kept`,
          matched: waiter.found.map((r) => r.toJSON()),
          seen: seen.map((r) => r.toJSON()),
        });
      }, timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.add(waiter);
    });
  }

  private add(waiter: Waiter): void {
    if (this.waiters.size === 0) this.recorder.on('record', this.onRecord);
    this.waiters.add(waiter);
  }

  private remove(waiter: Waiter): void {
    if (!this.waiters.delete(waiter) || this.waiters.size > 0) return;
    this.recorder.off('record', this.onRecord);
  }
}
