import { EventEmitter } from 'node:events';
import { validateHeaderValue } from 'node:http';
import {
  connect,
  constants as h2,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { isIP } from 'node:net';
import { createSecureContext, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { Http2Header, randomUuid } from '../../protocol/http2/index.js';
import { backoffDelay, backoffOf, type Backoff } from '../../common/backoff.js';
import { StuckSessionWatch } from '../../common/h2-liveness.js';
import { Deque } from '../shared/deque.js';
import type { Endpoint } from '../shared/hosts.js';
import { ClientClosedError, GatewayUnreachableError } from '../binary/outcome.js';
import { checkCredentials, tlsOptionsOf } from '../shared/tls.js';
import { ClientConnection } from './connection.js';
import { Deadlines, type Waiting } from './deadlines.js';
import { credentialsRefused, notHttp2 } from './not-http2.js';
import {
  APPLE_HTTP2_HOSTS,
  type Http2ClientEvents,
  type Http2ClientOptions,
  type Http2ClientStats,
  type Http2EndpointOptions,
  type Http2GoawayEvent,
  type Http2Notification,
  type Http2ResentEvent,
} from './options.js';
import { Http2StreamError, type Http2AcceptedOutcome, type Http2SendOutcome } from './outcome.js';
import { ProviderTokens } from './provider-token.js';
import { retiresConnection, retryDelay, retryPolicyOf, retryVerdict, type RetryPolicy } from './retry.js';

interface Job {
  notification: Http2Notification;
  apnsId: string;
  headers: OutgoingHttpHeaders;
  body: Buffer;
  /** Requests written. */
  attempts: number;
  /** Of those, the ones the server said it did not process. */
  unprocessed: number;
  tokenRetried: boolean;
  possibleDuplicate: boolean;
  settled: boolean;
  timer: NodeJS.Timeout | null;
  resolve: (outcome: Http2SendOutcome) => void;
}

/** The job whose promise send() is making: one executor serves every send (no closure per notification). */
let making: Job | null = null;
function takeResolve(resolve: (outcome: Http2SendOutcome) => void): void {
  making!.resolve = resolve;
}
const unresolved = () => undefined;

/** One request written for a job: what its stream's events tell. */
interface Attempt extends Waiting {
  client: Http2Client;
  conn: ClientConnection;
  job: Job;
  stream: ClientHttp2Stream;
  authorization: string | null;
  /** The response's :status; 0 until it came. */
  status: number;
  headers: IncomingHttpHeaders;
  /** The response body, when there is one. */
  chunks: Buffer[] | null;
  timedOut: boolean;
  error: Error | null;
}

/** Each stream carries its attempt, so that one set of listeners serves every stream (none made per request). */
const ATTEMPT = Symbol('attempt');
type Tagged = ClientHttp2Stream & { [ATTEMPT]: Attempt };
const NO_HEADERS: IncomingHttpHeaders = Object.freeze({});

// One set of listeners for every stream: each finds its attempt on the stream (the client's own methods, by name).
function onResponse(this: Tagged, headers: IncomingHttpHeaders, flags: number): void {
  const attempt = this[ATTEMPT];
  attempt.client['responded'](attempt, headers, flags);
}
function onData(this: Tagged, chunk: Buffer): void {
  (this[ATTEMPT].chunks ??= []).push(chunk);
}
function onError(this: Tagged, error: Error): void {
  this[ATTEMPT].error = error;
}
function onClose(this: Tagged): void {
  const attempt = this[ATTEMPT];
  attempt.client['closed'](attempt);
}

const HEX = /^[0-9a-fA-F]+$/;
/** Request headers whose values come from the notification as given, in the order a request sets them. */
const GIVEN_HEADERS: readonly string[] = [Http2Header.Id, Http2Header.PushType, Http2Header.Topic, Http2Header.CollapseId];
/** The simulator's explanation of an answer (not Apple's header): server/http2/explain.ts. */
const EXPLAIN_HEADER = 'x-apns-mock-reason';
/** What session.request() throws when the connection, not the request, is the trouble. */
const SESSION_ERRORS = new Set(['ERR_HTTP2_GOAWAY_SESSION', 'ERR_HTTP2_INVALID_SESSION', 'ERR_HTTP2_OUT_OF_STREAMS']);

/** Certificate and handshake failures: retrying cannot help. */
function isPermanentTlsError(error: Error | null): boolean {
  const code = error !== null && 'code' in error && typeof error.code === 'string' ? error.code : '';
  return /^ERR_SSL_|^ERR_TLS_CERT|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|INVALID_PURPOSE/.test(code);
}

function endpointOf(options: Http2EndpointOptions): Endpoint {
  const port = options.port ?? APPLE_HTTP2_HOSTS.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port must be 1..65535; got ${String(options.port)}`);
  if (options.host !== undefined) return { host: options.host, port };
  if (options.environment === 'sandbox' || options.environment === 'production')
    return { host: APPLE_HTTP2_HOSTS[options.environment], port };
  if (options.environment !== undefined)
    throw new RangeError(`environment must be 'sandbox' or 'production'; got ${JSON.stringify(options.environment)}`);
  throw new TypeError("give a host (and port), or environment: 'sandbox' | 'production' for Apple's HTTP/2 hosts");
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number >= 1; got ${String(value)}`);
  return value;
}

function durationOrFalse(value: number | false, name: string): number | false {
  if (value === false) return false;
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0))
    throw new RangeError(`${name} must be milliseconds > 0, or false; got ${String(value)}`);
  return value;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * A sender for Apple's HTTP/2 provider API. Every notification is one POST on its own stream;
 * streams per connection never exceed the server's SETTINGS_MAX_CONCURRENT_STREAMS (one until
 * a provider token is accepted, with APNs), the rest wait in a queue. Answers are retried as
 * Apple advises (see retry.ts), streams above a GOAWAY are sent again on another connection,
 * refused streams (REFUSED_STREAM) on the same one, and provider tokens are refreshed within
 * Apple's 20-60 minute window. A connection that cannot succeed (not HTTP/2, a client
 * certificate required) fails what waits at once, saying why (not-http2.ts).
 */
export class Http2Client extends EventEmitter<Http2ClientEvents> {
  readonly endpoint: Endpoint;
  private readonly authority: string;
  private readonly tls: ConnectionOptions;
  private readonly tokens: ProviderTokens | null;
  private readonly maxConnections: number;
  private readonly retry: RetryPolicy;
  private readonly backoff: Backoff;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number | false;
  /** Requests waiting for their response, given up after requestTimeoutMs; null: never. */
  private readonly deadlines: Deadlines<Attempt> | null;
  private readonly pingIntervalMs: number | false;
  private readonly pingTimeoutMs: number;

  /** Retries go before new notifications. */
  private readonly retries = new Deque<Job>();
  private readonly queue = new Deque<Job>();
  private readonly delayed = new Set<Job>();
  private readonly connections: ClientConnection[] = [];
  private connecting: ClientConnection | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private lastError: Error | null = null;
  private nextConnectionId = 1;
  private pending = 0;
  private inFlight = 0;
  private drainWaiters: (() => void)[] = [];
  private closing = false;
  private destroyed = false;
  private closePromise: Promise<void> | null = null;
  /** Sessions node gave up after sending GOAWAY for a server's protocol error: destroyed, or their requests would hang. */
  private readonly stuck = new StuckSessionWatch<ClientConnection>((conn) => {
    conn.error ??= Object.assign(
      new Error(`the connection to ${this.endpoint.host}:${this.endpoint.port} stopped after a protocol error (GOAWAY sent)`),
      {
        code: 'ERR_HTTP2_SESSION_STUCK',
      },
    );
    conn.session.destroy();
  });
  private readonly counts = { connections: 0, requests: 0, accepted: 0, rejected: 0, failed: 0, retried: 0, pings: 0, maxStreams: 0 };

  constructor(options: Http2ClientOptions) {
    super();
    this.endpoint = endpointOf(options);
    if (options.token !== undefined) {
      if (options.cert !== undefined || options.key !== undefined || options.pfx !== undefined) {
        throw new TypeError('give a provider token (token) or a certificate (cert and key, or pfx), not both');
      }
      this.tokens = new ProviderTokens(options.token);
      this.tls = tlsOptionsOf(this.endpoint, {
        ca: options.ca,
        servername: options.servername,
        rejectUnauthorized: options.rejectUnauthorized,
      });
    } else {
      try {
        checkCredentials(options);
      } catch (error) {
        throw new TypeError(`${(error as Error).message}; or give token: { teamId, keyId, key } for token authentication`, {
          cause: error,
        });
      }
      this.tokens = null;
      this.tls = tlsOptionsOf(this.endpoint, options);
    }
    // A wrong passphrase or a key that does not match its certificate throws here, not on every connection.
    this.tls.secureContext = createSecureContext(this.tls);
    const host = isIP(this.endpoint.host) === 6 ? `[${this.endpoint.host}]` : this.endpoint.host;
    this.authority = `https://${host}:${this.endpoint.port}`;
    this.maxConnections = positiveInteger(options.connections ?? 1, 'connections');
    this.retry = retryPolicyOf(options.retry);
    this.backoff = backoffOf(options.reconnect);
    this.connectTimeoutMs = positiveInteger(options.connectTimeoutMs ?? 10_000, 'connectTimeoutMs');
    this.requestTimeoutMs = durationOrFalse(options.requestTimeoutMs ?? 30_000, 'requestTimeoutMs');
    this.deadlines = this.requestTimeoutMs === false ? null : new Deadlines(this.requestTimeoutMs, (attempt) => this.timeOut(attempt));
    this.pingIntervalMs = durationOrFalse(options.pingIntervalMs ?? 60 * 60_000, 'pingIntervalMs');
    this.pingTimeoutMs = positiveInteger(options.pingTimeoutMs ?? 10_000, 'pingTimeoutMs');
  }

  /** Sends one notification; resolves with its outcome once it is known (after any retries). */
  send(notification: Http2Notification): Promise<Http2SendOutcome> {
    if (this.closing) return Promise.reject(new ClientClosedError('the client is closed; create another to send'));
    let job: Job;
    try {
      job = this.jobOf(notification);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    making = job;
    const outcome = new Promise<Http2SendOutcome>(takeResolve);
    making = null;
    this.pending++;
    this.queue.push(job);
    this.pump();
    return outcome;
  }

  /** Resolves when every notification sent so far has its outcome. */
  flush(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Waits for every outcome, then closes the connections. Later sends are refused. */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      this.closing = true;
      await this.flush();
      if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      this.deadlines?.stop();
      const open = [...this.connections];
      for (const conn of open) {
        conn.clearTimers();
        if (!conn.session.closed && !conn.session.destroyed) conn.session.close();
      }
      await Promise.all(open.map((c) => c.closed));
    })();
    return this.closePromise;
  }

  /** Closes at once: whatever has no outcome yet fails with ClientClosedError. */
  destroy(): void {
    if (this.destroyed) return;
    this.closing = this.destroyed = true;
    const error = new ClientClosedError('the client was destroyed before the outcome was known');
    for (const job of [...this.retries.drain(), ...this.queue.drain(), ...this.delayed]) {
      if (job.timer !== null) clearTimeout(job.timer);
      this.fail(job, error);
    }
    this.delayed.clear();
    this.deadlines?.stop();
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    // Requests on the wire fail as their streams close.
    for (const conn of this.connections) {
      conn.clearTimers();
      conn.session.destroy();
    }
  }

  stats(): Http2ClientStats {
    const { connections, requests, accepted, rejected, failed, retried, pings, maxStreams } = this.counts;
    return {
      queued: this.retries.length + this.queue.length + this.delayed.size,
      inFlight: this.inFlight,
      maxStreams,
      connections,
      open: this.connections.length,
      requests,
      accepted,
      rejected,
      failed,
      retried,
      tokens: this.tokens?.signed ?? 0,
      pings,
    };
  }

  private jobOf(n: Http2Notification): Job {
    if (n === null || typeof n !== 'object') throw new TypeError('a notification is an object: { token, payload, ...headers }');
    if (typeof n.token !== 'string' || !HEX.test(n.token))
      throw new TypeError(`a notification needs a device token in hex; got ${JSON.stringify(n.token)}`);
    const { payload } = n;
    let body: Buffer;
    if (Buffer.isBuffer(payload)) body = payload;
    else if (typeof payload === 'string') body = Buffer.from(payload, 'utf8');
    else if (payload !== null && typeof payload === 'object') body = Buffer.from(JSON.stringify(payload), 'utf8');
    else throw new TypeError('a notification needs a payload: an object, JSON text or bytes');
    const apnsId = n.id ?? randomUuid();
    const headers: OutgoingHttpHeaders = { ':method': 'POST', ':path': `/3/device/${n.token}`, [Http2Header.Id]: apnsId };
    if (n.pushType !== undefined) headers[Http2Header.PushType] = String(n.pushType);
    if (n.topic !== undefined) headers[Http2Header.Topic] = String(n.topic);
    if (n.priority !== undefined) {
      if (!Number.isInteger(n.priority)) throw new TypeError(`priority must be a whole number (10, 5 or 1); got ${String(n.priority)}`);
      headers[Http2Header.Priority] = String(n.priority);
    }
    if (n.expiration !== undefined) {
      const seconds = n.expiration instanceof Date ? Math.floor(n.expiration.getTime() / 1000) : n.expiration;
      if (!Number.isInteger(seconds) || seconds < 0)
        throw new TypeError(`expiration must be UNIX seconds >= 0 or a Date; got ${String(n.expiration)}`);
      headers[Http2Header.Expiration] = String(seconds);
    }
    if (n.collapseId !== undefined) headers[Http2Header.CollapseId] = String(n.collapseId);
    // :method is ours, the :path's token was checked as hex, the numbers are digits and a made apns-id is a
    // UUID: only the values given are checked, in the order they were set.
    for (let i = 0; i < GIVEN_HEADERS.length; i++) {
      const name = GIVEN_HEADERS[i];
      const value = headers[name];
      if (value !== undefined && (name !== Http2Header.Id || n.id !== undefined)) validateHeaderValue(name, String(value));
    }
    return {
      notification: n,
      apnsId,
      headers,
      body,
      attempts: 0,
      unprocessed: 0,
      tokenRetried: false,
      possibleDuplicate: false,
      settled: false,
      timer: null,
      resolve: unresolved,
    };
  }

  /** Hands waiting requests to connections with room; opens a connection when none has any. */
  private pump(): void {
    if (this.destroyed) return;
    while (this.retries.length + this.queue.length > 0) {
      const conn = this.roomiest();
      if (conn === null) break;
      this.transmit(conn, (this.retries.shift() ?? this.queue.shift())!);
    }
    // Every connection asked for opens once there is work, one at a time; requests then go to the one with the fewest streams.
    if (this.pending > 0) this.openIfNeeded();
  }

  private roomiest(): ClientConnection | null {
    let best: ClientConnection | null = null;
    for (const conn of this.connections) {
      if (conn.hasRoom && (best === null || conn.active < best.active)) best = conn;
    }
    return best;
  }

  private openIfNeeded(waited = false): void {
    if (this.connecting !== null || this.reconnectTimer !== null) return;
    let live = 0;
    for (const conn of this.connections) if (conn.state === 'connecting' || conn.state === 'ready') live++;
    if (live >= this.maxConnections) return;
    const wait = waited ? 0 : backoffDelay(this.backoff, this.failures);
    if (wait <= 0) {
      this.open();
      return;
    }
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.destroyed && this.pending > 0) this.openIfNeeded(true);
    }, wait);
  }

  private open(): void {
    let session: ClientHttp2Session;
    try {
      session = connect(this.authority, { ...this.tls });
    } catch (error) {
      this.failWaiting(
        new GatewayUnreachableError(`cannot connect to ${this.endpoint.host}:${this.endpoint.port}: ${(error as Error).message}`, {
          cause: error,
        }),
      );
      return;
    }
    const id = this.nextConnectionId++;
    this.counts.connections++;
    const conn = new ClientConnection(id, session);
    this.connections.push(conn);
    this.stuck.add(conn, session);
    this.connecting = conn;
    conn.connectTimer = setTimeout(() => {
      conn.error ??= Object.assign(
        new Error(`no HTTP/2 SETTINGS from ${this.endpoint.host}:${this.endpoint.port} within ${this.connectTimeoutMs} ms`),
        { code: 'ETIMEDOUT' },
      );
      session.destroy();
    }, this.connectTimeoutMs);
    session.on('error', (error: Error) => {
      conn.error ??= error;
    });
    session.on('connect', (_session, socket) => {
      const tls = socket as TLSSocket;
      // node destroys a session whose peer chose no h2 in ALPN, and one whose TLS failed after the
      // handshake (a TLS 1.3 certificate_required alert), without 'close': the socket's close tells.
      const gone = () => setImmediate(() => session.destroyed && this.onClosed(conn));
      tls.once('error', (error: Error) => {
        conn.error ??= error;
        gone();
      });
      tls.once('close', gone);
      if (tls.alpnProtocol !== 'h2') {
        conn.error = notHttp2(this.endpoint, tls);
        conn.permanent = true;
        session.destroy();
        tls.destroy();
        gone();
      }
    });
    session.on('remoteSettings', (settings) => {
      const max = settings.maxConcurrentStreams ?? conn.limit;
      const changed = max !== conn.announced;
      conn.announced = max;
      if (conn.state === 'connecting') {
        conn.state = 'ready';
        if (conn.connectTimer !== null) clearTimeout(conn.connectTimer);
        conn.connectTimer = null;
        if (this.connecting === conn) this.connecting = null;
        this.emit('connected', { connection: id, host: this.endpoint.host, port: this.endpoint.port, maxConcurrentStreams: max });
        this.armPing(conn);
      } else if (changed) {
        this.emit('settings', { connection: id, maxConcurrentStreams: max });
      }
      this.pump();
    });
    session.on('goaway', (errorCode: number, lastStreamId: number, data?: Buffer) => {
      let reason: string | null = null;
      try {
        const parsed = data !== undefined && data.length > 0 ? (JSON.parse(data.toString('utf8')) as { reason?: unknown }) : null;
        if (typeof parsed?.reason === 'string') reason = parsed.reason;
      } catch {
        reason = null;
      }
      const event: Http2GoawayEvent = { connection: id, errorCode, lastStreamId, reason };
      // A second GOAWAY (a graceful close after the first) may carry no reason and must not name a higher stream.
      conn.goaway =
        conn.goaway === null
          ? event
          : { ...event, lastStreamId: Math.min(lastStreamId, conn.goaway.lastStreamId), reason: reason ?? conn.goaway.reason };
      if (conn.state !== 'closed') conn.state = 'draining';
      if (this.connecting === conn) this.connecting = null;
      this.emit('goaway', event);
      this.pump();
    });
    session.on('close', () => this.onClosed(conn));
  }

  private onClosed(conn: ClientConnection): void {
    if (conn.state === 'closed') return;
    const refused = credentialsRefused(this.endpoint, conn.error, this.tokens === null);
    if (refused !== null) {
      conn.error = refused;
      conn.permanent = true;
    }
    const wasConnecting = conn.state === 'connecting';
    conn.state = 'closed';
    conn.clearTimers();
    this.stuck.delete(conn);
    const at = this.connections.indexOf(conn);
    if (at >= 0) this.connections.splice(at, 1);
    if (this.connecting === conn) this.connecting = null;
    this.emit('closed', { connection: conn.id, error: conn.error, goaway: conn.goaway, inFlight: conn.active });
    if (conn.error !== null) this.emitError(conn.error);
    if (!this.destroyed && !conn.answered && (wasConnecting || conn.written > 0)) {
      // It never answered anything: count it as a failed connection, so the next one waits.
      this.failures++;
      this.lastError = conn.error ?? new Error(`the connection to ${this.endpoint.host}:${this.endpoint.port} closed before any response`);
      if (conn.permanent) {
        this.failWaiting(new GatewayUnreachableError(conn.error!.message, { cause: conn.error }));
        this.failures = 0;
      } else if (isPermanentTlsError(conn.error)) {
        this.failWaiting(
          new GatewayUnreachableError(`TLS with ${this.endpoint.host}:${this.endpoint.port} failed: ${conn.error!.message}`, {
            cause: conn.error,
          }),
        );
        this.failures = 0;
      } else if (this.failures > this.backoff.retries) {
        this.failWaiting(
          new GatewayUnreachableError(
            `${this.failures} connections in a row to ${this.endpoint.host}:${this.endpoint.port} failed or closed without a response; last error: ${this.lastError.message}`,
            { cause: this.lastError },
          ),
        );
        this.failures = 0;
      }
    }
    this.pump();
  }

  /** Stops new streams on a connection; it closes once its streams are done. */
  private retire(conn: ClientConnection): void {
    if (conn.state !== 'ready' && conn.state !== 'connecting') return;
    conn.state = 'draining';
    if (this.connecting === conn) this.connecting = null;
    if (conn.active === 0 && !conn.session.closed) conn.session.close();
  }

  private transmit(conn: ClientConnection, job: Job): void {
    conn.active++;
    this.inFlight++;
    if (conn.active > conn.maxActive) conn.maxActive = conn.active;
    if (conn.active > this.counts.maxStreams) this.counts.maxStreams = conn.active;
    if (conn.idleTimer !== null) clearTimeout(conn.idleTimer);
    conn.idleTimer = null;
    const authorization = this.tokens === null ? null : this.tokens.headerFor(conn.token);
    if (typeof authorization === 'string' || authorization === null) {
      this.write(conn, job, authorization);
      return;
    }
    authorization.then(
      (value) => this.write(conn, job, value),
      (error: unknown) => {
        this.release(conn);
        this.fail(
          job,
          new Error(`cannot sign a provider token: ${error instanceof Error ? error.message : String(error)}`, { cause: error }),
        );
        this.pump();
      },
    );
  }

  private release(conn: ClientConnection): void {
    conn.active--;
    this.inFlight--;
    if (conn.active > 0) return;
    if (conn.state === 'draining' && !conn.session.closed && !conn.session.destroyed) conn.session.close();
    else this.armPing(conn);
  }

  private write(conn: ClientConnection, job: Job, authorization: string | null): void {
    if (this.destroyed) {
      this.release(conn);
      this.fail(job, new ClientClosedError('the client was destroyed before the outcome was known'));
      return;
    }
    let stream: ClientHttp2Stream | null = null;
    let error: NodeJS.ErrnoException | null = null;
    if (conn.state === 'ready' && !conn.session.closed && !conn.session.destroyed) {
      try {
        // The token may change between attempts; node copies the headers as it takes them. No options: a
        // POST's stream stays open for its body by default, and node's copy of an empty options object costs less.
        if (authorization !== null) job.headers[Http2Header.Authorization] = authorization;
        stream = conn.session.request(job.headers);
      } catch (thrown) {
        error = thrown as NodeJS.ErrnoException;
      }
    }
    if (stream === null) {
      this.release(conn);
      if (error !== null && !SESSION_ERRORS.has(error.code ?? '')) {
        this.fail(job, error);
      } else {
        // Nothing was sent: it waits for another connection, first in line.
        if (conn.state === 'ready') conn.state = 'draining';
        this.retries.unshift([job]);
      }
      this.pump();
      return;
    }
    job.attempts++;
    conn.written++;
    this.counts.requests++;
    if (job.attempts > 1) this.counts.retried++;
    if (this.listenerCount('transmitted') > 0) this.emit('transmitted', { connection: conn.id, apnsId: job.apnsId, attempt: job.attempts });
    const attempt: Attempt = {
      client: this,
      conn,
      job,
      stream,
      authorization,
      status: 0,
      headers: NO_HEADERS,
      chunks: null,
      timedOut: false,
      error: null,
      deadline: 0,
      waited: true,
    };
    (stream as Tagged)[ATTEMPT] = attempt;
    stream.on('response', onResponse);
    stream.on('data', onData);
    stream.on('error', onError);
    stream.on('close', onClose);
    this.deadlines?.add(attempt);
    stream.end(job.body);
  }

  /** The request's response headers came: with a body still to come, node's idle timeout watches the rest. */
  private responded(attempt: Attempt, headers: IncomingHttpHeaders, flags: number): void {
    attempt.status = Number(headers[':status']);
    attempt.headers = headers;
    if (this.deadlines === null) return;
    this.deadlines.done(attempt);
    if ((flags & h2.NGHTTP2_FLAG_END_STREAM) === 0) attempt.stream.setTimeout(this.deadlines.timeoutMs, () => this.timeOut(attempt));
  }

  /** No response within requestTimeoutMs: the stream is cancelled, and its attempt counts as one without an answer. */
  private timeOut(attempt: Attempt): void {
    // Closed meanwhile (its 'close' is on its way): it did not time out.
    if (attempt.stream.destroyed || attempt.stream.closed) return;
    attempt.timedOut = true;
    attempt.stream.close(h2.NGHTTP2_CANCEL);
  }

  private closed(attempt: Attempt): void {
    const { conn, job, stream, status } = attempt;
    this.deadlines?.done(attempt);
    this.release(conn);
    if (status !== 0) {
      conn.answered = true;
      this.failures = 0;
      const { chunks } = attempt;
      this.answered(conn, job, status, attempt.headers, chunks === null ? null : Buffer.concat(chunks), attempt.authorization);
    } else {
      this.unanswered(conn, job, stream, attempt.timedOut, attempt.error);
    }
    this.pump();
  }

  private answered(
    conn: ClientConnection,
    job: Job,
    statusCode: number,
    headers: IncomingHttpHeaders,
    body: Buffer | null,
    authorization: string | null,
  ): void {
    const apnsId = header(headers, Http2Header.Id) ?? job.apnsId;
    const uniqueId = header(headers, Http2Header.UniqueId);
    const explanation = header(headers, EXPLAIN_HEADER);
    if (statusCode === 200) {
      // Made field by field (the same fields in the same order as the rejected outcome's): no spreads per answer.
      const accepted: Http2AcceptedOutcome = {
        status: 'accepted',
        apnsId,
        attempts: job.attempts,
        possibleDuplicate: job.possibleDuplicate,
      };
      if (uniqueId !== undefined) accepted.apnsUniqueId = uniqueId;
      if (explanation !== undefined) accepted.explanation = explanation;
      this.settle(job, accepted);
      return;
    }
    const base = {
      apnsId,
      attempts: job.attempts,
      possibleDuplicate: job.possibleDuplicate,
      ...(uniqueId === undefined ? {} : { apnsUniqueId: uniqueId }),
      ...(explanation === undefined ? {} : { explanation }),
    };
    let reason: string | null = null;
    let timestamp: number | undefined;
    try {
      const json = body === null ? null : (JSON.parse(body.toString('utf8')) as { reason?: unknown; timestamp?: unknown });
      if (typeof json?.reason === 'string') reason = json.reason;
      if (typeof json?.timestamp === 'number') timestamp = json.timestamp;
    } catch {
      reason = null;
    }
    const rejected = () =>
      this.settle(job, {
        status: 'rejected',
        statusCode,
        reason: reason ?? `HTTP ${statusCode}`,
        ...(timestamp === undefined ? {} : { timestamp }),
        ...base,
      });
    if (retiresConnection(statusCode, reason)) this.retire(conn);
    const why = `${statusCode} ${reason ?? ''}`.trim();
    switch (retryVerdict(statusCode, reason)) {
      case 'final':
        return rejected();
      case 'new-token':
        if (this.tokens === null || authorization === null || job.tokenRetried) return rejected();
        job.tokenRetried = true;
        this.tokens.discard(authorization);
        return this.again(conn, job, 'new-token', why, 0);
      case 'new-connection':
        if (this.tries(job) >= this.retry.maxAttempts) return rejected();
        return this.again(conn, job, 'answered', why, 0);
      case 'backoff':
        if (this.tries(job) >= this.retry.maxAttempts) return rejected();
        return this.again(conn, job, 'answered', why, retryDelay(this.retry, this.tries(job)));
    }
  }

  private unanswered(conn: ClientConnection, job: Job, stream: ClientHttp2Stream, timedOut: boolean, error: Error | null): void {
    if (this.destroyed) {
      this.fail(job, new ClientClosedError('the client was destroyed before the outcome was known'));
      return;
    }
    const id = stream.id;
    // REFUSED_STREAM, or a stream above the last one a GOAWAY names: the server did not process it (RFC 9113, 8.7).
    const refused =
      !timedOut &&
      (id === undefined || stream.rstCode === h2.NGHTTP2_REFUSED_STREAM || (conn.goaway !== null && id > conn.goaway.lastStreamId));
    if (refused) {
      job.unprocessed++;
      if (job.unprocessed > this.retry.unprocessedLimit) {
        this.fail(job, new Http2StreamError(`the server refused the request unprocessed ${job.unprocessed} times`));
        return;
      }
      this.again(conn, job, 'unprocessed', conn.goaway === null ? 'REFUSED_STREAM' : `GOAWAY (last stream ${conn.goaway.lastStreamId})`, 0);
      return;
    }
    job.possibleDuplicate = true;
    const why = timedOut
      ? `no response within ${String(this.requestTimeoutMs)} ms`
      : stream.rstCode !== undefined && stream.rstCode !== h2.NGHTTP2_NO_ERROR && !conn.session.destroyed
        ? `stream reset (HTTP/2 error ${stream.rstCode})`
        : `connection lost${error !== null ? `: ${error.message}` : conn.error !== null ? `: ${conn.error.message}` : ''}`;
    if (this.tries(job) >= this.retry.maxAttempts) {
      this.fail(
        job,
        new Http2StreamError(`no response after ${job.attempts} attempt(s); last: ${why}`, { cause: error ?? conn.error ?? undefined }),
      );
      return;
    }
    this.again(conn, job, 'in-doubt', why, retryDelay(this.retry, this.tries(job)));
  }

  /** Attempts that count toward maxAttempts: all but those the server did not process. */
  private tries(job: Job): number {
    return job.attempts - job.unprocessed;
  }

  private again(conn: ClientConnection, job: Job, kind: Http2ResentEvent['kind'], reason: string, delayMs: number): void {
    if (this.listenerCount('resent') > 0) this.emit('resent', { connection: conn.id, apnsId: job.apnsId, kind, reason, delayMs });
    if (delayMs <= 0) {
      this.retries.push(job);
      return;
    }
    this.delayed.add(job);
    job.timer = setTimeout(() => {
      job.timer = null;
      this.delayed.delete(job);
      this.retries.push(job);
      this.pump();
    }, delayMs);
  }

  private armPing(conn: ClientConnection): void {
    if (this.pingIntervalMs === false || conn.state !== 'ready' || conn.active > 0 || this.closing) return;
    if (conn.idleTimer !== null) clearTimeout(conn.idleTimer);
    conn.idleTimer = setTimeout(() => {
      conn.idleTimer = null;
      if (conn.state !== 'ready' || conn.active > 0) return;
      this.counts.pings++;
      const timeout = setTimeout(() => {
        conn.error ??= Object.assign(new Error(`no PING acknowledgement within ${this.pingTimeoutMs} ms`), { code: 'ETIMEDOUT' });
        conn.session.destroy();
      }, this.pingTimeoutMs);
      const sent = conn.session.ping((error) => {
        clearTimeout(timeout);
        if (error === null) this.armPing(conn);
      });
      if (!sent) clearTimeout(timeout);
    }, this.pingIntervalMs);
    conn.idleTimer.unref();
  }

  private settle(job: Job, outcome: Http2SendOutcome): void {
    if (job.settled) return;
    job.settled = true;
    this.counts[outcome.status]++;
    job.resolve(outcome);
    if (this.listenerCount('outcome') > 0) this.emit('outcome', outcome, job.notification);
    if (--this.pending === 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  private fail(job: Job, error: Error): void {
    this.settle(job, { status: 'failed', error, apnsId: job.apnsId, attempts: job.attempts, possibleDuplicate: job.possibleDuplicate });
  }

  /** Every request waiting for a connection fails (those waiting out a retry delay come back later). */
  private failWaiting(error: Error): void {
    for (const job of [...this.retries.drain(), ...this.queue.drain()]) this.fail(job, error);
  }

  private emitError(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}
