import { compileFilter, type NotificationRecord, type RecordFilter, type Recorder, type StoredRecord } from '../recorder/index.js';
import { HttpError } from './http.js';
import { scan } from './scan.js';

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
  /** Matching records that came after the wait began. */
  live: StoredRecord[];
  /** Matching records kept before it began; null while they are still being looked for. */
  kept: StoredRecord[] | null;
  count: number;
  finish: (result: WaitResult) => void;
}

const found = (waiter: Waiter) => [...(waiter.kept ?? []), ...waiter.live].slice(0, waiter.count);

/**
 * The control API's waits on one recorder: one 'record' listener for all of them, a cap on
 * how many are open, and each dropped as soon as its client goes away (the signal), so a
 * thousand abandoned waits cost nothing once their sockets close. Records kept before a wait
 * count toward it; they are looked for a stretch at a time, never in one long sweep.
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
      waiter.live.push(record);
      if (waiter.kept !== null) this.settleIfDone(waiter);
    }
  };

  private settleIfDone(waiter: Waiter): void {
    if ((waiter.kept?.length ?? 0) + waiter.live.length >= waiter.count)
      waiter.finish({ status: 'matched', records: found(waiter).map((r) => r.toJSON()) });
  }

  /** The first `count` records matching `filter`, counting those already kept; settles early when `signal` aborts. */
  wait(filter: RecordFilter, count: number, timeoutMs: number, signal: AbortSignal): Promise<WaitResult> {
    if (signal.aborted) return Promise.resolve({ status: 'aborted' });
    if (this.waiters.size >= this.maxWaiters) {
      throw new HttpError(
        503,
        `${this.waiters.size} waits are open, the most this control API keeps; retry when some have ended`,
        'ERR_APNS_CONTROL_TOO_MANY_WAITS',
      );
    }
    return new Promise((resolve) => {
      let settled = false;
      const waiter: Waiter = {
        matches: compileFilter(filter),
        live: [],
        kept: null,
        count,
        finish: (result) => {
          if (settled) return;
          settled = true;
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
          message:
            `waited ${timeoutMs} ms for ${count} record(s) matching ${JSON.stringify(filter)}; ` +
            `${found(waiter).length} matched, ${this.recorder.size} kept`,
          matched: found(waiter).map((r) => r.toJSON()),
          seen: seen.map((r) => r.toJSON()),
        });
      }, timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      // Listening from this tick on, and looking back from the newest record now: nothing falls between.
      this.add(waiter);
      void this.lookBack(waiter, filter, this.recorder.lastSeq, () => settled);
    });
  }

  private async lookBack(waiter: Waiter, filter: RecordFilter, until: number, isSettled: () => boolean): Promise<void> {
    const kept: StoredRecord[] = [];
    for await (const batch of scan(this.recorder, filter, until, isSettled)) {
      kept.push(...batch);
      if (kept.length >= waiter.count) break;
    }
    if (isSettled()) return;
    waiter.kept = kept;
    this.settleIfDone(waiter);
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
