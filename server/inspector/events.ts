import type { IncomingMessage, ServerResponse } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { BinaryGateway } from '../binary/index.js';
import type { ConnectionInfo, Recorder, StoredRecord } from '../recorder/index.js';
import { HttpError, intParam } from '../control/http.js';
import type { SinkState } from '../recorder/index.js';
import type { RefusalLog, RefusedConnection } from '../tls/index.js';

/** A connection as a listener summarises it: at least who it is (the binary gateway's and the HTTP/2 API's summaries say more). */
export type ConnectionSummaryLike = ConnectionInfo & { state?: string };

/** A listener whose connections a page follows: it emits 'connect' and 'disconnect' with a summary, and lists the open ones. */
export interface ConnectionSource {
  events: {
    on(event: 'connect' | 'disconnect', listener: (summary: ConnectionSummaryLike) => void): unknown;
    off(event: 'connect' | 'disconnect', listener: (summary: ConnectionSummaryLike) => void): unknown;
  };
  list(): ConnectionSummaryLike[];
}

export interface EventSources {
  recorder: Recorder;
  connections?: ConnectionSource[];
  /** Refused connections: each becomes a `refused` event; the kept ones go in `hello`. */
  refusals?: RefusalLog;
}

const isEmitter = (value: unknown): value is ConnectionSource['events'] =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { on?: unknown }).on === 'function' &&
  typeof (value as { off?: unknown }).off === 'function';

/**
 * The control API's listeners as connection sources: the binary gateway, and the HTTP/2 API
 * when the control API was given one (`http2`, with `connections()`).
 */
export function connectionSourcesOf(options: { gateway: BinaryGateway; http2?: unknown }): ConnectionSource[] {
  const sources: ConnectionSource[] = [{ events: options.gateway, list: () => options.gateway.connections() }];
  const http2 = options.http2 as { connections?: unknown } | null | undefined;
  if (isEmitter(http2) && typeof http2.connections === 'function') {
    const list = http2.connections as () => ConnectionSummaryLike[];
    sources.push({ events: http2, list: () => list.call(http2) });
  }
  return sources;
}

/** Records sent on connect when the client names no `backlog`: the newest ones kept. */
export const DEFAULT_BACKLOG = 1000;
export const MAX_BACKLOG = 10_000;
/** Proxies and browsers close a stream that says nothing for long; a comment line every 15 s keeps it open. */
const HEARTBEAT_MS = 15_000;
/** A client this far behind is dropped: it reconnects with ?since= and catches up from the kept records. */
const MAX_BUFFERED_BYTES = 8 << 20;
/** Streams open at once: every record is written to each, so each costs the socket path a little. */
export const MAX_EVENT_STREAMS = 100;
/** Replayed records read and written at once, before waiting for the client to take them. */
const REPLAY_BATCH = 64;

const frame = (event: string, data: string, id?: number) => `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${data}\n\n`;

/**
 * One subscription to a recorder (and its connection source) shared by every open stream,
 * so a record is turned into JSON once however many pages watch.
 */
class EventHub {
  private readonly clients = new Set<ServerResponse>();
  /** Live events for a client still taking its replay: sent after it, in order. */
  private readonly held = new Map<ServerResponse, string[]>();

  constructor(private readonly sources: EventSources) {}

  private readonly onRecord = (record: StoredRecord) => this.broadcast(frame('record', JSON.stringify(record.toJSON()), record.seq));
  private readonly onSinkFailed = (state: SinkState) => this.broadcast(frame('sink', JSON.stringify(state)));
  private readonly onClear = () => this.broadcast(frame('clear', JSON.stringify({ lastSeq: this.sources.recorder.lastSeq })));
  private readonly onConnect = (summary: ConnectionSummaryLike) => this.connection('connect', summary);
  private readonly onDisconnect = (summary: ConnectionSummaryLike) => this.connection('disconnect', summary);
  private readonly onRefused = (refusal: RefusedConnection) => this.broadcast(frame('refused', JSON.stringify(refusal)));

  private connection(event: 'connect' | 'disconnect', summary: ConnectionSummaryLike): void {
    this.broadcast(frame('connection', JSON.stringify({ event, at: new Date().toISOString(), connection: summary })));
  }

  private broadcast(text: string): void {
    for (const client of this.clients) {
      const queue = this.held.get(client);
      if (queue === undefined) write(client, text);
      else hold(client, queue, text);
    }
  }

  get size(): number {
    return this.clients.size;
  }

  /** Live events for `client` wait until `release`: its replay goes first. */
  holdFor(client: ServerResponse): void {
    this.held.set(client, []);
  }

  release(client: ServerResponse): void {
    const queue = this.held.get(client);
    this.held.delete(client);
    for (const text of queue ?? []) write(client, text);
  }

  add(client: ServerResponse): void {
    if (this.clients.size === 0) {
      this.sources.recorder.on('record', this.onRecord);
      this.sources.recorder.on('clear', this.onClear);
      this.sources.recorder.on('sinkFailed', this.onSinkFailed);
      for (const source of this.sources.connections ?? []) {
        source.events.on('connect', this.onConnect);
        source.events.on('disconnect', this.onDisconnect);
      }
      this.sources.refusals?.on('refused', this.onRefused);
    }
    this.clients.add(client);
  }

  remove(client: ServerResponse): void {
    this.held.delete(client);
    if (!this.clients.delete(client) || this.clients.size > 0) return;
    this.sources.recorder.off('record', this.onRecord);
    this.sources.recorder.off('clear', this.onClear);
    this.sources.recorder.off('sinkFailed', this.onSinkFailed);
    for (const source of this.sources.connections ?? []) {
      source.events.off('connect', this.onConnect);
      source.events.off('disconnect', this.onDisconnect);
    }
    this.sources.refusals?.off('refused', this.onRefused);
  }
}

function write(client: ServerResponse, text: string): void {
  if (client.destroyed) return;
  client.write(text);
  if (client.writableLength > MAX_BUFFERED_BYTES) client.destroy();
}

/** Holds a live event for a client in its replay; one that falls this far behind is dropped, as in `write`. */
function hold(client: ServerResponse, queue: string[], text: string): void {
  queue.push(text);
  if (queue.length * text.length > MAX_BUFFERED_BYTES || client.writableLength > MAX_BUFFERED_BYTES) client.destroy();
}

/** Resolves when the client has taken what was written, or is gone. */
function drained(client: ServerResponse): Promise<void> {
  if (client.destroyed || client.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      client.off('drain', done);
      client.off('close', done);
      resolve();
    };
    client.on('drain', done);
    client.on('close', done);
  });
}

const hubs = new WeakMap<Recorder, EventHub>();

/**
 * `GET /events`: server-sent events. First `hello` (what is kept, the stats and the open
 * connections), then the newest kept records after `since` (at most `backlog`), then live:
 * `record` (id: the record's seq), `clear`, `connection` (connect and disconnect) and `refused`
 * (a connection refused or dropped, with its reason).
 * A client that reconnects passes `since` (or Last-Event-ID) and misses nothing still kept.
 */
export async function openEventStream(
  request: IncomingMessage,
  response: ServerResponse,
  params: URLSearchParams,
  sources: EventSources,
  headOnly = false,
): Promise<void> {
  const lastEventId = request.headers['last-event-id'];
  const resumeAt = typeof lastEventId === 'string' && /^\d+$/.test(lastEventId) ? Number(lastEventId) : 0;
  const since = Math.max(intParam(params, 'since') ?? 0, resumeAt);
  const backlog = intParam(params, 'backlog') ?? DEFAULT_BACKLOG;
  if (backlog > MAX_BACKLOG) throw new HttpError(400, `query parameter backlog must be at most ${MAX_BACKLOG}; got ${backlog}`);

  const { recorder } = sources;
  const hub = hubs.get(recorder) ?? new EventHub(sources);
  hubs.set(recorder, hub);
  if (hub.size >= MAX_EVENT_STREAMS) {
    throw new HttpError(
      503,
      `${hub.size} event streams are open, the most this control API keeps; close one and retry`,
      'ERR_APNS_CONTROL_TOO_MANY_STREAMS',
    );
  }
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-content-type-options': 'nosniff',
  });
  if (headOnly) {
    response.end();
    return;
  }
  // Subscribed before the replay is taken, in the same tick: no record falls between the two.
  // What happens meanwhile is held and sent after the replay, which waits for the client.
  hub.add(response);
  hub.holdFor(response);
  const heartbeat = setInterval(() => write(response, ': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  response.on('close', () => {
    clearInterval(heartbeat);
    hub.remove(response);
  });

  // Sequence numbers are consecutive: what is kept after `since` is counted, not read.
  const lastSeq = recorder.lastSeq;
  const keptAfter = Math.max(0, Math.min(recorder.size, lastSeq - since));
  const replayFrom = Math.max(since, lastSeq - backlog);
  const replayed = backlog === 0 ? 0 : Math.max(0, Math.min(recorder.size, lastSeq - replayFrom));
  const hello = {
    lastSeq,
    kept: recorder.size,
    replayed,
    omitted: keptAfter - replayed,
    stats: recorder.stats(),
    connections: (sources.connections ?? []).flatMap((source) => source.list()),
    refused: sources.refusals?.list() ?? [],
  };
  write(response, `retry: 2000\n${frame('hello', JSON.stringify(hello))}`);
  // Read a batch at a time and written as the client takes it: a large backlog of large records
  // neither sits in memory nor holds the event loop.
  let cursor = replayed === 0 ? lastSeq : replayFrom;
  while (cursor < lastSeq && !response.destroyed) {
    const batch = recorder.find({ since: cursor }, REPLAY_BATCH).filter((record) => record.seq <= lastSeq);
    if (batch.length === 0) break;
    response.write(batch.map((record) => frame('record', JSON.stringify(record.toJSON()), record.seq)).join(''));
    cursor = batch[batch.length - 1].seq;
    await drained(response);
    await nextTurn();
  }
  hub.release(response);
}
