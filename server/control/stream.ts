import type { ServerResponse } from 'node:http';
import type { RecordFilter, Recorder } from '../recorder/index.js';
import { scan } from './scan.js';

/** Records a `GET /records` page holds when the caller names no `limit`, and the most it may name. */
export const DEFAULT_PAGE_SIZE = 1000;
export const MAX_PAGE_SIZE = 10_000;

/** Text gathered before one write. */
const CHUNK_BYTES = 64 * 1024;

/** Resolves when the response can take more, or is gone. */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

/** Writes chunks with backpressure: waits for 'drain' when the socket's buffer is full; stops when the client is gone. */
class ChunkedWriter {
  private pending = '';
  private gone = false;

  constructor(private readonly response: ServerResponse) {
    response.once('close', () => (this.gone = true));
  }

  get isGone(): boolean {
    return this.gone || this.response.destroyed;
  }

  async push(text: string): Promise<void> {
    this.pending += text;
    if (this.pending.length >= CHUNK_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending === '' || this.isGone) return;
    const text = this.pending;
    this.pending = '';
    if (!this.response.write(text)) await drained(this.response);
  }

  async end(text: string): Promise<void> {
    await this.push(text);
    await this.flush();
    if (!this.isGone) this.response.end();
  }
}

export interface PageOptions {
  filter: RecordFilter;
  limit: number;
  /** The path and query of this request, for the `Link` to the next page. */
  url: URL;
  /** HEAD: the headers only. */
  headOnly: boolean;
}

/**
 * The last seq of a page of `limit` matching records, and whether more match after it. Read
 * before the body so the cursor can go in a header and the body can stay a bare array.
 */
async function measurePage(recorder: Recorder, filter: RecordFilter, until: number, limit: number, isGone: () => boolean) {
  let count = 0;
  let lastSeq: number | null = null;
  for await (const batch of scan(recorder, filter, until, isGone)) {
    for (const record of batch) {
      if (count === limit) return { lastSeq, more: true };
      count++;
      lastSeq = record.seq;
    }
  }
  return { lastSeq, more: false };
}

/**
 * `GET /records`: one page, as a JSON array written in chunks. When more records match, the
 * cursor for the next page is in `X-Next-Since` (the last seq on this page) and in `Link`.
 */
export async function streamRecordPage(response: ServerResponse, recorder: Recorder, options: PageOptions): Promise<void> {
  const writer = new ChunkedWriter(response);
  const isGone = () => writer.isGone;
  // Records that arrive while the page is written are the next page's: the answer always ends.
  const until = recorder.lastSeq;
  const page = await measurePage(recorder, options.filter, until, options.limit, isGone);
  if (writer.isGone) return;
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  if (page.more && page.lastSeq !== null) {
    const next = new URL(options.url);
    next.searchParams.set('since', String(page.lastSeq));
    headers['x-next-since'] = String(page.lastSeq);
    headers.link = `<${next.pathname}${next.search}>; rel="next"`;
  }
  response.writeHead(200, headers);
  if (options.headOnly) {
    response.end();
    return;
  }
  const last = page.lastSeq ?? 0;
  let first = true;
  await writer.push('[');
  for await (const batch of scan(recorder, options.filter, last, isGone)) {
    for (const record of batch) {
      await writer.push(`${first ? '\n' : ',\n'}${JSON.stringify(record.toJSON())}`);
      first = false;
    }
  }
  await writer.end(first ? ']\n' : '\n]\n');
}

/** `GET /records.jsonl`: every matching record kept when the request came (or the first `limit`), a line each. */
export async function streamRecordLines(
  response: ServerResponse,
  recorder: Recorder,
  filter: RecordFilter,
  limit: number,
  headOnly: boolean,
): Promise<void> {
  const writer = new ChunkedWriter(response);
  const until = recorder.lastSeq;
  response.writeHead(200, {
    'content-type': 'application/x-ndjson',
    'content-disposition': 'attachment; filename="records.jsonl"',
    'cache-control': 'no-store',
  });
  if (headOnly) {
    response.end();
    return;
  }
  let written = 0;
  outer: for await (const batch of scan(recorder, filter, until, () => writer.isGone)) {
    for (const record of batch) {
      if (written === limit) break outer;
      await writer.push(`${JSON.stringify(record.toJSON())}\n`);
      written++;
    }
  }
  await writer.end('');
}
