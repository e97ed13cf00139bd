import { setImmediate as nextTurn } from 'node:timers/promises';
import { compileFilter, type RecordFilter, type Recorder, type StoredRecord } from '../recorder/index.js';

/** Records read from the store at once: bounded whatever the filter, so a sparse filter cannot hold the event loop. */
const SCAN_BATCH = 256;
/** Longest stretch of work before other sockets get a turn. */
const SLICE_MS = 10;
/**
 * The stored records matching `filter` with `since < seq <= until`, oldest first, in batches.
 * Reads the store a bounded stretch at a time and yields the event loop between stretches.
 */
export async function* scan(
  recorder: Recorder,
  filter: RecordFilter,
  until: number,
  isGone: () => boolean,
): AsyncGenerator<StoredRecord[]> {
  const matches = compileFilter({ ...filter, since: undefined });
  let cursor = filter.since ?? 0;
  let sliceStart = performance.now();
  while (cursor < until && !isGone()) {
    // No filter but `since`: the store gives back exactly the next SCAN_BATCH records.
    const batch = recorder.find({ since: cursor }, SCAN_BATCH);
    if (batch.length === 0) return;
    const matched: StoredRecord[] = [];
    for (const record of batch) {
      if (record.seq > until) break;
      cursor = record.seq;
      if (matches(record)) matched.push(record);
    }
    if (batch[batch.length - 1].seq > until) cursor = until;
    if (matched.length > 0) yield matched;
    if (performance.now() - sliceStart > SLICE_MS) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
}
