import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BinaryGateway } from '../binary/index.js';
import type { ConnectionInfo, Recorder, StoredRecord } from '../recorder/index.js';
import { HttpError, intParam } from '../control/http.js';

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
}

const isEmitter = (value: unknown): value is ConnectionSource['events'] =>
  typeof value === 'object' && value !== null && typeof (value as { on?: unknown }).on === 'function' && typeof (value as { off?: unknown }).off === 'function';

/**
 * The control API's listeners as connection sources: the binary gateway, and the HTTP/2 API
 * when the control API was given one (`http2`, with `connectionList()`).
 */
export function connectionSourcesOf(options: { gateway: BinaryGateway; http2?: unknown }): ConnectionSource[] {
  const sources: ConnectionSource[] = [{ events: options.gateway, list: () => options.gateway.connections() }];
  const http2 = options.http2 as { connectionList?: unknown } | null | undefined;
  if (isEmitter(http2) && typeof http2.connectionList === 'function') {
    const list = http2.connectionList as () => ConnectionSummaryLike[];
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

const frame = (event: string, data: string, id?: number) => `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${data}\n\n`;

/**
 * One subscription to a recorder (and its connection source) shared by every open stream,
 * so a record is turned into JSON once however many pages watch.
 */
class EventHub {
  private readonly clients = new Set<ServerResponse>();

  constructor(private readonly sources: EventSources) {}

  private readonly onRecord = (record: StoredRecord) => this.broadcast(frame('record', JSON.stringify(record.toJSON()), record.seq));
  private readonly onClear = () => this.broadcast(frame('clear', JSON.stringify({ lastSeq: this.sources.recorder.lastSeq })));
  private readonly onConnect = (summary: ConnectionSummaryLike) => this.connection('connect', summary);
  private readonly onDisconnect = (summary: ConnectionSummaryLike) => this.connection('disconnect', summary);

  private connection(event: 'connect' | 'disconnect', summary: ConnectionSummaryLike): void {
    this.broadcast(frame('connection', JSON.stringify({ event, at: new Date().toISOString(), connection: summary })));
  }

  private broadcast(text: string): void {
    for (const client of this.clients) write(client, text);
  }

  add(client: ServerResponse): void {
    if (this.clients.size === 0) {
      this.sources.recorder.on('record', this.onRecord);
      this.sources.recorder.on('clear', this.onClear);
      for (const source of this.sources.connections ?? []) {
        source.events.on('connect', this.onConnect);
        source.events.on('disconnect', this.onDisconnect);
      }
    }
    this.clients.add(client);
  }

  remove(client: ServerResponse): void {
    if (!this.clients.delete(client) || this.clients.size > 0) return;
    this.sources.recorder.off('record', this.onRecord);
    this.sources.recorder.off('clear', this.onClear);
    for (const source of this.sources.connections ?? []) {
      source.events.off('connect', this.onConnect);
      source.events.off('disconnect', this.onDisconnect);
    }
  }
}

function write(client: ServerResponse, text: string): void {
  if (client.destroyed) return;
  client.write(text);
  if (client.writableLength > MAX_BUFFERED_BYTES) client.destroy();
}

const hubs = new WeakMap<Recorder, EventHub>();

/**
 * `GET /events`: server-sent events. First `hello` (what is kept, the stats and the open
 * connections), then the newest kept records after `since` (at most `backlog`), then live:
 * `record` (id: the record's seq), `clear`, and `connection` (connect and disconnect).
 * A client that reconnects passes `since` (or Last-Event-ID) and misses nothing still kept.
 */
export function openEventStream(request: IncomingMessage, response: ServerResponse, params: URLSearchParams, sources: EventSources): void {
  const lastEventId = request.headers['last-event-id'];
  const resumeAt = typeof lastEventId === 'string' && /^\d+$/.test(lastEventId) ? Number(lastEventId) : 0;
  const since = Math.max(intParam(params, 'since') ?? 0, resumeAt);
  const backlog = intParam(params, 'backlog') ?? DEFAULT_BACKLOG;
  if (backlog > MAX_BACKLOG) throw new HttpError(400, `query parameter backlog must be at most ${MAX_BACKLOG}; got ${backlog}`);

  const { recorder } = sources;
  const hub = hubs.get(recorder) ?? new EventHub(sources);
  hubs.set(recorder, hub);
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-content-type-options': 'nosniff',
  });
  // Subscribed before the replay is taken, in the same tick: no record falls between the two.
  hub.add(response);
  const kept = recorder.find({ since });
  const replay = backlog === 0 ? [] : kept.slice(-backlog);
  const hello = {
    lastSeq: recorder.lastSeq,
    kept: recorder.size,
    replayed: replay.length,
    omitted: kept.length - replay.length,
    stats: recorder.stats(),
    connections: (sources.connections ?? []).flatMap((source) => source.list()),
  };
  write(response, `retry: 2000\n${frame('hello', JSON.stringify(hello))}`);
  for (const record of replay) write(response, frame('record', JSON.stringify(record.toJSON()), record.seq));

  const heartbeat = setInterval(() => write(response, ': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  response.on('close', () => {
    clearInterval(heartbeat);
    hub.remove(response);
  });
}
