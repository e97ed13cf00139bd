import type { IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import {
  Http2ErrorCode,
  Http2Header,
  Http2Priority,
  bundleOfTopic,
  checkBroadcastHeaders,
  checkChannelConfig,
  checkChannelId,
  checkRequestHeaders,
  headerValue,
  http2Rejection,
  isCanonicalUuid,
  isHttp2Rejection,
  randomUuid,
  routeRequest,
  validateDeviceRequest,
  type HeaderValue,
  type Http2Limits,
  type Http2Rejection,
  type Http2Route,
  type BadEnvironmentKeyReason,
} from '../../protocol/http2/index.js';
import { parsePayload, type PayloadWarning } from '../../protocol/binary/index.js';
import type { ApnsEnvironment, ProviderIdentity } from '../certs/index.js';
import type { KeyStore } from '../keys/index.js';
import type { ConnectionInfo, Http2RecordDetails, Outcome, Recorder } from '../recorder/index.js';
import { Policy, type ConnectionTally, type Effect, type NotificationContext, type TokenRateLimiter } from '../policy/index.js';
import type { DeviceRegistry } from '../registry/index.js';
import type { RuleSet } from '../rules/index.js';
import { ConnectionAuth, type Authenticated } from './auth.js';
import type { ChannelStore } from './channels.js';
import { EarlyStreams } from './early-streams.js';
import { EXPLAIN_HEADER, explanationHeaderValue } from './explain.js';

/** What every connection of one HTTP/2 server shares; `registry`, `rules` and `rateLimiter` make each connection's policy. */
export interface Http2Policy {
  recorder: Recorder;
  registry: DeviceRegistry;
  rules: RuleSet;
  keys: KeyStore;
  channels: ChannelStore;
  limits: Http2Limits;
  maxConcurrentStreams: number;
  tokenLifetimeMs: number;
  tokenUpdateIntervalMs: number;
  /** The option's limit on notifications per device token; null: none. */
  rateLimiter: TokenRateLimiter | null;
  /** Apps with the broadcast capability; null: every app. */
  broadcastBundles: readonly string[] | null;
  /** How long a connection told to go away may finish its streams before it is destroyed. */
  lingerMs: number;
  badEnvironmentKeyReason: BadEnvironmentKeyReason;
  /** Token connections hold streams that arrive beyond one before the client acknowledged SETTINGS (else node refuses them). */
  holdEarlyStreams: boolean;
  /** The simulator's explanation in the x-apns-mock-reason response header. */
  explainHeader: boolean;
}

export type Http2ConnectionState = 'open' | 'closing' | 'closed';

export interface Http2ConnectionSummary extends ConnectionInfo {
  connectedAt: string;
  state: Http2ConnectionState;
  /** 'h2', or null for a client that offered no ALPN. */
  alpn: 'h2' | null;
  auth: 'certificate' | 'token';
  /**
   * 'unverified': the client presented a certificate that does not verify; the connection is a
   * token connection (one stream until a valid token), and its requests without a token are BadCertificate.
   */
  certificate: 'verified' | 'unverified' | null;
  teamId: string | null;
  keyId: string | null;
  /** SETTINGS_MAX_CONCURRENT_STREAMS announced now. */
  maxConcurrentStreams: number;
  requests: number;
  notifications: number;
  accepted: number;
  rejected: number;
  discarded: number;
}

/** Bodies are kept up to this for the records; longer ones are counted, answered 413, and cut. */
const KEPT_BODY = 64 * 1024;
/** The body of a request without one (never written to). */
const EMPTY = Buffer.alloc(0);
const ignore = () => undefined;

interface Request {
  connection: Http2Connection;
  stream: ServerHttp2Stream;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  method: string;
  path: string;
  /** The body's chunks as they come, kept up to KEPT_BODY: one DATA frame, one chunk, almost always; a list only for more. */
  first: Buffer | null;
  more: Buffer[] | null;
  kept: number;
  /** The body kept, once the request ended (or its stream closed). */
  body: Buffer;
  /** Every body byte received. */
  bodyLength: number;
  apnsId: string;
  /** Development only, on /3/device responses. */
  uniqueId: string | null;
  /** Broadcast endpoints answer with apns-request-id too. */
  requestId: string | null;
  route: Http2Route | null;
  auth: Authenticated | null;
  // What the record shows, filled in as the request is judged.
  topic: string | null;
  token: string | null;
  pushType: string | null;
  priority: number | null;
  expiration: number | null;
  collapseId: string | null;
  channelId: string | null;
  recorded: boolean;
  /** Beyond the one-stream limit before the client acknowledged SETTINGS: waits for the first token's verdict. */
  held: boolean;
  /** It waited so (its record carries a warning). */
  wasHeld: boolean;
  /** END_STREAM arrived: it can be judged once it is not held. */
  ended: boolean;
  /** The first token's rejection, which a held request gets as its answer. */
  heldAnswer: Http2Rejection | null;
}

/** Each stream carries its request, so that one set of listeners serves every stream (none made per request). */
const REQUEST = Symbol('request');
type Tagged = ServerHttp2Stream & { [REQUEST]: Request };

function onRequestData(this: Tagged, chunk: Buffer): void {
  const request = this[REQUEST];
  request.bodyLength += chunk.length;
  const room = KEPT_BODY - request.kept;
  if (room <= 0) return;
  const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
  if (request.first === null) request.first = part;
  else (request.more ??= [request.first]).push(part);
  request.kept += part.length;
}
// The connection's own methods, by name.
function onRequestEnd(this: Tagged): void {
  const request = this[REQUEST];
  request.connection['ended'](request);
}
function onRequestClose(this: Tagged): void {
  const request = this[REQUEST];
  request.connection['streamClosed'](request);
}

function bodyOf(request: Request): Buffer {
  return request.more !== null ? Buffer.concat(request.more) : (request.first ?? EMPTY);
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };
type ReplyExtra = { rule?: string | null; delayMs?: number; timestamp?: number; then?: () => void };
const NO_EXTRA: ReplyExtra = Object.freeze({});
const OK: Reply = Object.freeze({ status: 200 });

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** On the record (and in x-apns-mock-reason) of a request that arrived beyond the one-stream limit before SETTINGS were acknowledged. */
const HELD_WARNING =
  'held, then answered: this stream arrived beyond the one stream a token connection has until a valid provider token, before the client ' +
  'acknowledged the server\'s SETTINGS. Apple documents "APNs allows only one stream until you post a request with a valid authentication ' +
  'token"; send one notification first on a new connection, or retry REFUSED_STREAM, which is always safe to retry.';

function heldWarnings(request: Request): PayloadWarning[] {
  const payload = request.bodyLength === 0 ? [] : parsePayload(request.body, request.priority ?? Http2Priority.Immediate).warnings;
  return [...payload, { code: 'stream-held-until-token', message: HELD_WARNING }];
}

/** The bytes of a device token (even-length hex), for the recorder, which copies them: one buffer serves the usual 32 bytes. */
const TOKEN_BYTES = Buffer.alloc(32);
function tokenBytes(hex: string): Buffer {
  if (hex.length !== 2 * TOKEN_BYTES.length) return Buffer.from(hex, 'hex');
  TOKEN_BYTES.write(hex, 'hex');
  return TOKEN_BYTES;
}

/** The last authorization header and its redaction: a connection repeats one token for many requests. */
let lastAuthorization = '';
let lastRedacted = '';

/** A provider token stays usable for an hour: the records keep its header and claims only. */
function redactedAuthorization(text: string): string {
  if (text !== lastAuthorization) {
    lastAuthorization = text;
    lastRedacted = text.replace(/^(\S+\s+[^.\s]+\.[^.\s]+\.)\S+$/, '$1…');
  }
  return lastRedacted;
}

/**
 * The request headers as the record keeps them. node's header object holds the names of the raw
 * list in their order, each with its value, when no name repeats: the list is read then (the
 * object's enumeration costs more); a repeated name (joined with ", ") is read from the object.
 */
function redactedHeaders(headers: IncomingHttpHeaders, rawHeaders: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    // Also a name Object.prototype has, and :status, which node makes a number: the object decides.
    if (out[name] !== undefined || name === ':status') return redactedHeaderObject(headers);
    const value = rawHeaders[i + 1];
    out[name] = name === Http2Header.Authorization ? redactedAuthorization(value) : value;
  }
  return out;
}

function redactedHeaderObject(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : String(value);
    out[name] = name === Http2Header.Authorization ? redactedAuthorization(text) : text;
  }
  return out;
}

/**
 * One HTTP/2 provider connection: authentication (certificate or provider token), its
 * streams judged in the documented order, rules applied, every notification recorded.
 */
export class Http2Connection {
  state: Http2ConnectionState = 'open';
  readonly connectedAt = new Date();
  readonly auth: ConnectionAuth;
  private maxStreams: number;
  private readonly counts = { requests: 0, accepted: 0, rejected: 0, discarded: 0 };
  /** Notifications that reached the rules on this connection (counted by the policy). */
  private readonly tally: ConnectionTally = { judged: 0 };
  /** Decides each notification's fate: registry, rate limit, rules. */
  private readonly decisions: Policy;
  private lastStreamId = 0;
  /** Set once GOAWAY went out: streams above it are not processed. */
  private goneAwayAt: number | null = null;
  /** A 'stall' rule: no response goes out before this time. */
  private stallUntil = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Token connections whose session announces one stream but takes more (announceSettings): what arrives too early. */
  private early: EarlyStreams<Request> | null = null;
  /**
   * Set when the first valid token bound the connection: the requests held until then, checked up
   * to their token, wait here for the request that bound it to be judged (they were answered after it).
   */
  private afterBinding: (() => void)[] | null = null;
  /** Streams up to this one were opened before the client acknowledged the one-stream SETTINGS; null: node's 'localSettings' tells. */
  private lastStreamBeforeAck: number | null = null;
  private _session: ServerHttp2Session | null = null;
  private readonly closed: Promise<void>;
  private markClosed: () => void = () => undefined;

  constructor(
    /** Null until the client acknowledged the SETTINGS written before the session (see `attach`). */
    session: ServerHttp2Session | null,
    /** The TLS socket itself (session.socket is a proxy that refuses destroy). */
    readonly socket: TLSSocket,
    readonly info: ConnectionInfo,
    identity: ProviderIdentity,
    readonly environment: ApnsEnvironment,
    readonly alpn: 'h2' | null,
    private readonly policy: Http2Policy,
    private readonly onClosed: (connection: Http2Connection) => void,
  ) {
    this.auth = new ConnectionAuth(
      socket,
      identity,
      environment,
      {
        keys: policy.keys,
        lifetimeMs: policy.tokenLifetimeMs,
        updateIntervalMs: policy.tokenUpdateIntervalMs,
        badEnvironmentKeyReason: policy.badEnvironmentKeyReason,
      },
      () => this.onFirstValidToken(),
    );
    this.maxStreams = this.auth.mode === 'certificate' ? policy.maxConcurrentStreams : 1;
    if (this.auth.mode === 'token' && policy.holdEarlyStreams) this.early = new EarlyStreams<Request>();
    this.decisions = new Policy({ registry: policy.registry, rules: policy.rules, rateLimiter: policy.rateLimiter });
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    if (session !== null) this.attach(session, null);
    // Before its session the connection ends with its socket.
    else socket.once('close', () => this.onClose());
  }

  /** The session, once there is one. */
  get session(): ServerHttp2Session | null {
    return this._session;
  }

  /** Resolves once the connection closed. */
  whenClosed(): Promise<void> {
    return this.closed;
  }

  /**
   * The session made after the client acknowledged the one-stream SETTINGS written on the socket;
   * `lastStreamBeforeAck` is the last stream it opened before that acknowledgement (held when
   * beyond the first; later ones are refused).
   */
  attach(session: ServerHttp2Session, lastStreamBeforeAck: number | null): void {
    this._session = session;
    this.lastStreamBeforeAck = lastStreamBeforeAck;
    const early = this.early;
    // The first acknowledgement is the client's for the SETTINGS that announced one stream.
    if (early !== null && lastStreamBeforeAck === null) session.once('localSettings', () => (early.acknowledged = true));
    session.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) =>
      this.onStream(stream, headers, rawHeaders),
    );
    session.on('error', () => {
      // Protocol errors and resets are the peer's business; 'close' follows.
    });
    session.on('close', () => this.onClose());
  }

  summary(): Http2ConnectionSummary {
    return {
      ...this.info,
      connectedAt: this.connectedAt.toISOString(),
      state: this.state,
      alpn: this.alpn,
      auth: this.auth.mode,
      certificate: this.auth.mode === 'certificate' ? 'verified' : this.auth.unverifiedCertificate !== null ? 'unverified' : null,
      teamId: this.auth.bound?.teamId ?? null,
      keyId: this.auth.bound?.keyId ?? null,
      maxConcurrentStreams: this.maxStreams,
      requests: this.counts.requests,
      notifications: this.tally.judged,
      accepted: this.counts.accepted,
      rejected: this.counts.rejected,
      discarded: this.counts.discarded,
    };
  }

  /**
   * GOAWAY with `{"reason": reason}` as debug data, naming the last stream received: streams
   * received are answered, then the connection closes (at the latest after the linger time).
   */
  goAway(reason: string, errorCode: number = Http2ErrorCode.NoError): boolean {
    const lastStreamId = this.lastStreamId;
    const session = this._session;
    if (this.goneAwayAt !== null || this.state === 'closed' || session?.destroyed === true) return false;
    this.goneAwayAt = lastStreamId;
    this.state = 'closing';
    if (session === null) {
      // Still waiting for the client's acknowledgement: no stream was processed.
      if (!this.socket.destroyed) this.socket.end(goAwayFrame(errorCode, json({ reason })));
      this.later(this.policy.lingerMs, () => this.socket.destroy());
      return true;
    }
    session.goaway(errorCode, lastStreamId, json({ reason }));
    session.close();
    this.later(this.policy.lingerMs, () => session.destroy());
    return true;
  }

  /** Closes at once. */
  destroy(): void {
    this._session?.destroy();
    this.socket.destroy();
  }

  /** Idle for the idle timeout: Apple's GOAWAY says IdleTimeout. */
  idle(): void {
    this.goAway('IdleTimeout');
  }

  private onFirstValidToken(): void {
    this.raiseStreamLimit();
    const held = this.early?.bound() ?? [];
    if (held.length === 0) return;
    // Each goes as far as its token now; the rest of its judgement waits for the request that bound the connection.
    this.afterBinding ??= [];
    for (const request of held) this.release(request, null);
  }

  /** A held request goes on (or gets `answer`, the first token's rejection) once its body is in. */
  private release(request: Request, answer: Http2Rejection | null): void {
    request.held = false;
    request.heldAnswer = answer;
    if (request.ended) this.start(request);
  }

  private start(request: Request): void {
    try {
      this.handle(request);
    } catch (error) {
      this.failed(request, error);
    }
  }

  private failed(request: Request, error: unknown): void {
    this.reply(
      request,
      'rejected',
      http2Rejection('InternalServerError', `the simulator failed: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  private raiseStreamLimit(): void {
    if (this.maxStreams === this.policy.maxConcurrentStreams || this._session === null || this._session.destroyed) return;
    this.maxStreams = this.policy.maxConcurrentStreams;
    this._session.settings({ maxConcurrentStreams: this.maxStreams });
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]): void {
    this.counts.requests++;
    this.lastStreamId = Math.max(this.lastStreamId, stream.id ?? 0);
    const request = this.newRequest(stream, headers, rawHeaders);
    (stream as Tagged)[REQUEST] = request;
    stream.on('data', onRequestData);
    // A reset stream; 'close' follows.
    stream.on('error', ignore);
    if (this.early !== null && this.lastStreamBeforeAck !== null && (stream.id ?? 0) > this.lastStreamBeforeAck)
      this.early.acknowledged = true;
    const admission = this.early?.arrive(request) ?? 'proceed';
    if (admission === 'refuse') {
      const words =
        'refused (REFUSED_STREAM), not processed: beyond the one stream a token connection has until a valid provider token, after the client acknowledged that SETTINGS';
      this.discard(request, null, words, () => stream.close(Http2ErrorCode.RefusedStream));
      return;
    }
    request.held = request.wasHeld = admission === 'hold';
    stream.on('end', onRequestEnd);
    stream.on('close', onRequestClose);
  }

  /** END_STREAM arrived: the request is judged, unless it is held. */
  private ended(request: Request): void {
    // node ends the readable side of a stream that closed (RST_STREAM, the connection gone)
    // as well as one whose END_STREAM arrived; only the latter is still open here.
    if (request.stream.closed || request.stream.destroyed) return;
    request.ended = true;
    request.body = bodyOf(request);
    if (!request.held) this.start(request);
  }

  private streamClosed(request: Request): void {
    if (request.ended || request.recorded || request.route?.kind === 'channels' || request.route?.kind === 'all-channels') return;
    request.body = bodyOf(request);
    const words = `the stream closed before the request ended (${request.bodyLength} body byte(s) received)`;
    this.record(request, 'incomplete', null, null, words, null);
  }

  private newRequest(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]): Request {
    const method = String(headers[':method'] ?? '');
    const path = String(headers[':path'] ?? '');
    const given = headerValue(headers, Http2Header.Id);
    const route = routeRequest(method, path);
    return {
      stream,
      headers,
      rawHeaders,
      method,
      path,
      connection: this,
      first: null,
      more: null,
      kept: 0,
      body: EMPTY,
      bodyLength: 0,
      apnsId: given !== undefined && isCanonicalUuid(given) ? given : randomUuid(true),
      uniqueId: null,
      requestId: null,
      route: isHttp2Rejection(route) ? null : route,
      auth: null,
      topic: null,
      token: null,
      pushType: null,
      priority: null,
      expiration: null,
      collapseId: null,
      channelId: null,
      recorded: false,
      held: false,
      wasHeld: false,
      ended: false,
      heldAnswer: null,
    };
  }

  /**
   * Steps 1-3, then authentication: at once when the token was verified on this connection
   * before (a certificate connection's too), else once its signature is checked.
   */
  private handle(request: Request): void {
    const { stream, headers } = request;
    if (this.goneAwayAt !== null && (stream.id ?? 0) > this.goneAwayAt) {
      this.discard(request, null, `not processed: the connection had sent GOAWAY (last stream ${this.goneAwayAt})`, () =>
        stream.close(Http2ErrorCode.RefusedStream),
      );
      return;
    }
    if (request.heldAnswer !== null) return this.reply(request, 'rejected', request.heldAnswer);
    const route = request.route ?? routeRequest(request.method, request.path);
    if (isHttp2Rejection(route)) return this.reply(request, 'rejected', route);
    if (route.kind === 'device' && this.environment === 'development') request.uniqueId = randomUuid();
    if (route.kind !== 'device') {
      const given = headerValue(headers, Http2Header.RequestId);
      request.requestId = given !== undefined && isCanonicalUuid(given) ? given : randomUuid();
    }
    const problem = checkRequestHeaders({
      method: request.method,
      path: request.path,
      headers: headers,
      rawHeaders: request.rawHeaders,
    });
    if (problem !== null) return this.reply(request, 'rejected', problem);
    const waiting = this.afterBinding;
    const auth = this.auth.authenticate(headers);
    if (auth instanceof Promise) {
      auth.then(
        (answer) => this.authenticated(request, route, answer),
        (error: unknown) => {
          this.failed(request, error);
          this.judgeHeld();
        },
      );
    } else if (waiting !== null) {
      // Released when the first valid token bound the connection: judged after the request that bound it, in order.
      waiting.push(() => this.authenticated(request, route, auth));
    } else {
      // Judged once node has taken in the rest of this read, as when judging awaited the
      // authentication: judged mid-read, inside node's processing of the bytes, a rejection's
      // answer was now and then lost and the client sent the notification again (the seeded
      // faults run of test/client/http2/faults.test.ts failed one run in three).
      queueMicrotask(() => this.authenticated(request, route, auth));
    }
  }

  /** The rest of a request's judgement once its credentials were checked (steps 4-13). */
  private authenticated(request: Request, route: Http2Route, auth: Authenticated | Http2Rejection): void {
    try {
      if (isHttp2Rejection(auth)) {
        if (this.early?.isCandidate(request)) for (const held of this.early.refused()) this.release(held, auth);
        return this.reply(request, 'rejected', auth);
      }
      request.auth = auth;
      switch (route.kind) {
        case 'device':
          return this.device(request, route.token, auth);
        case 'broadcast':
          return this.broadcast(request, route.bundle, auth);
        default:
          return this.manageChannels(request, route, auth);
      }
    } catch (error) {
      this.failed(request, error);
    } finally {
      this.judgeHeld();
    }
  }

  /** The requests held until the first valid token, once the request that bound the connection was judged. */
  private judgeHeld(): void {
    const waiting = this.afterBinding;
    if (waiting === null) return;
    this.afterBinding = null;
    for (const judge of waiting) judge();
  }

  private device(request: Request, token: string, auth: Authenticated): void {
    const headers = request.headers as Record<string, HeaderValue>;
    request.pushType = headerValue(headers, Http2Header.PushType) ?? null;
    request.topic = headerValue(headers, Http2Header.Topic) ?? null;
    const valid = validateDeviceRequest(
      { headers, token, payload: request.body, payloadLength: request.bodyLength },
      auth.authority,
      this.policy.limits,
    );
    if (isHttp2Rejection(valid)) {
      if (/^[0-9a-fA-F]+$/.test(token) && token.length % 2 === 0) request.token = token.toLowerCase();
      return this.reply(request, 'rejected', valid);
    }
    request.topic = valid.topic;
    request.token = valid.token;
    request.pushType = valid.pushType;
    request.priority = valid.priority;
    request.expiration = valid.expiration;
    request.collapseId = valid.collapseId;
    this.judge(request, valid.topic, valid.bundle, valid.token, valid.pushType, false);
  }

  /** Steps 12-13: the policy (registry, rate limit, rules) decides; the verdict becomes the response. */
  private judge(request: Request, topic: string, bundle: string, tokenHex: string, pushType: string, broadcast: boolean): void {
    const notification: NotificationContext = {
      protocol: 'http2',
      environment: this.environment,
      identifier: -1,
      payload: request.body,
      priority: request.priority ?? Http2Priority.Immediate,
      apnsId: request.apnsId,
      topic,
      bundle,
      tokenHex,
      pushType,
      broadcast,
    };
    const verdict = this.decisions.decide(notification, this.tally);
    const rule = verdict.rule;
    switch (verdict.kind) {
      case 'accept':
        if (rule === null && verdict.effect === null) return this.reply(request, 'accepted', OK);
        return this.reply(request, 'accepted', OK, { rule, delayMs: this.apply(verdict.effect) });
      case 'reject': {
        const delayMs = Math.max(verdict.delayMs ?? 0, this.apply(verdict.effect));
        const timestamp = verdict.timestamp ?? undefined;
        return this.reply(request, 'rejected', http2Rejection(verdict.reason, verdict.explanation), { rule, delayMs, timestamp });
      }
      case 'shutdown':
        return this.reply(request, 'rejected', http2Rejection('Shutdown', verdict.explanation), {
          rule,
          delayMs: verdict.delayMs ?? 0,
          then: () => this.goAway('Shutdown'),
        });
      case 'goaway': {
        // The GOAWAY names the last stream received (a later GOAWAY, node's own on close, must
        // not name a higher one: peers treat that as a protocol error); this stream is then
        // refused with REFUSED_STREAM, which tells the client it was not processed.
        const words = `${verdict.explanation}; stream ${request.stream.id} refused (REFUSED_STREAM), not processed`;
        return this.discard(
          request,
          rule,
          words,
          () => {
            this.goAway(verdict.reason, verdict.errorCode);
            if (!request.stream.destroyed) request.stream.close(Http2ErrorCode.RefusedStream);
          },
          verdict.delayMs ?? 0,
        );
      }
      case 'reset':
        return this.discard(
          request,
          rule,
          verdict.explanation,
          () => {
            if (!request.stream.destroyed) request.stream.close(verdict.errorCode);
          },
          verdict.delayMs ?? 0,
        );
      case 'close':
        return this.discard(request, rule, verdict.explanation, () => this.destroy());
      case 'drop':
        return this.discard(request, rule, verdict.explanation, () => this.cut());
    }
  }

  /** What a rule that did not decide leaves: a stall holds every response; the delay it asks of this one. */
  private apply(effect: Effect | null): number {
    if (effect === null) return 0;
    switch (effect.kind) {
      case 'delay':
        return effect.ms;
      case 'stall':
        this.stallUntil = Math.max(this.stallUntil, Date.now() + effect.ms);
        return 0;
      case 'dropAfter':
      case 'uninstalled':
        // dropAfter counts bytes of the binary stream; the policy gives it to binary notifications only.
        return 0;
    }
  }

  private broadcast(request: Request, bundle: string, auth: Authenticated): void {
    const headers = request.headers as Record<string, HeaderValue>;
    request.topic = bundle;
    request.pushType = headerValue(headers, Http2Header.PushType) ?? null;
    const scope = this.checkBundle(bundle, auth);
    if (scope !== null) return this.reply(request, 'rejected', scope);
    const channelId = checkChannelId(headers);
    if (typeof channelId !== 'string') return this.reply(request, 'rejected', channelId);
    request.channelId = channelId;
    if (this.policy.channels.get(this.environment, bundle, channelId) === null) {
      return this.reply(
        request,
        'rejected',
        http2Rejection('ChannelNotRegistered', `no channel ${channelId} for ${bundle} in ${this.environment}`),
      );
    }
    const valid = checkBroadcastHeaders(headers, request.body, request.bodyLength, this.policy.limits.payload);
    if (isHttp2Rejection(valid)) return this.reply(request, 'rejected', valid);
    request.priority = valid.priority;
    request.expiration = valid.expiration;
    this.judge(request, bundle, bundleOfTopic(bundle), '', 'liveactivity', true);
  }

  /** Broadcast step 1: the credentials are for the app, and the app has the capability. */
  private checkBundle(bundle: string, auth: Authenticated): Http2Rejection | null {
    if (!this.auth.allowsBundle(auth.authority, bundle)) {
      return http2Rejection('TopicMismatch', `the ${auth.mode === 'certificate' ? 'certificate' : 'provider key'} is not for ${bundle}`);
    }
    const enabled = this.policy.broadcastBundles;
    if (enabled !== null && !enabled.includes(bundle))
      return http2Rejection('FeatureNotEnabled', `${bundle} does not have the broadcast capability`);
    return null;
  }

  private manageChannels(request: Request, route: Extract<Http2Route, { kind: 'channels' | 'all-channels' }>, auth: Authenticated): void {
    const headers = request.headers as Record<string, HeaderValue>;
    const { channels } = this.policy;
    const env = this.environment;
    const scope = this.checkBundle(route.bundle, auth);
    if (scope !== null) return this.reply(request, 'rejected', scope);
    if (route.kind === 'all-channels') {
      return this.reply(request, 'accepted', { status: 200, body: { channels: channels.list(env, route.bundle).map((c) => c.id) } });
    }
    if (request.method === 'POST') {
      const config = checkChannelConfig(request.body);
      if (isHttp2Rejection(config)) return this.reply(request, 'rejected', config);
      const channel = channels.create(env, route.bundle, config);
      if (channel === null) {
        return this.reply(
          request,
          'rejected',
          http2Rejection('CannotCreateChannelConfig', `${route.bundle} has ${channels.maxPerApp} channels, its limit`),
        );
      }
      return this.reply(request, 'accepted', { status: 201, headers: { [Http2Header.ChannelId]: channel.id } });
    }
    const id = checkChannelId(headers);
    if (typeof id !== 'string') return this.reply(request, 'rejected', id);
    const channel = channels.get(env, route.bundle, id);
    if (channel === null)
      return this.reply(request, 'rejected', http2Rejection('ChannelNotRegistered', `no channel ${id} for ${route.bundle} in ${env}`));
    if (request.method === 'DELETE') {
      channels.delete(env, route.bundle, id);
      return this.reply(request, 'accepted', { status: 204, headers: { [Http2Header.ChannelId]: id } });
    }
    return this.reply(request, 'accepted', {
      status: 200,
      headers: { [Http2Header.ChannelId]: id },
      body: { 'message-storage-policy': channel['message-storage-policy'], 'push-type': channel['push-type'] },
    });
  }

  /**
   * Records the decision and sends the response: 200/201/204, or the rejection's status with
   * `{"reason": ...}` (and `timestamp` for 410).
   */
  private reply(request: Request, outcome: 'accepted' | 'rejected', answer: Reply | Http2Rejection, extra: ReplyExtra = NO_EXTRA): void {
    const rejected = isHttp2Rejection(answer);
    const status = answer.status;
    const timestamp = rejected && status === 410 ? (extra.timestamp ?? Date.now()) : undefined;
    const body = rejected ? { reason: answer.reason, ...(timestamp === undefined ? {} : { timestamp }) } : answer.body;
    if (outcome === 'accepted') this.counts.accepted++;
    else this.counts.rejected++;
    this.record(
      request,
      outcome,
      status,
      rejected ? answer.reason : null,
      rejected ? answer.message : null,
      extra.rule ?? null,
      timestamp ?? null,
    );
    const headers: Record<string, string | number> = { ':status': status, [Http2Header.Id]: request.apnsId };
    if (request.uniqueId !== null) headers[Http2Header.UniqueId] = request.uniqueId;
    if (request.requestId !== null) headers[Http2Header.RequestId] = request.requestId;
    const more = (answer as Reply).headers;
    if (more !== undefined) Object.assign(headers, more);
    const explanation = rejected ? answer.message : request.wasHeld ? HELD_WARNING : null;
    if (this.policy.explainHeader && explanation !== null) headers[EXPLAIN_HEADER] = explanationHeaderValue(explanation);
    const data = body === undefined ? null : json(body);
    if (data !== null) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = data.length;
    }
    const delayMs = extra.delayMs ?? 0;
    // Most answers go at once: no closure for them.
    if (delayMs <= 0 && this.stallUntil === 0) this.send(request.stream, headers, data, extra.then);
    else this.at(delayMs, () => this.send(request.stream, headers, data, extra.then));
  }

  private send(stream: ServerHttp2Stream, headers: Record<string, string | number>, data: Buffer | null, then?: () => void): void {
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    stream.respond(headers, { endStream: data === null });
    if (data !== null) stream.end(data);
    then?.();
  }

  /** Records a request that gets no response, then does `act` (GOAWAY, RST_STREAM, a close). */
  private discard(request: Request, rule: string | null, words: string, act: () => void, delayMs = 0): void {
    this.counts.discarded++;
    this.record(request, 'discarded', null, null, words, rule);
    this.at(delayMs, act);
  }

  /** Runs `fn` after `delayMs`, and not before a stall ends. */
  private at(delayMs: number, fn: () => void): void {
    const wait = Math.max(delayMs, this.stallUntil - Date.now());
    if (wait > 0) this.later(wait, fn);
    else fn();
  }

  private record(
    request: Request,
    outcome: Outcome,
    status: number | null,
    reasonName: string | null,
    words: string | null,
    rule: string | null,
    timestamp: number | null = null,
  ): void {
    if (this.early !== null) {
      // The first stream ended before its token was judged (a header error, a reset): the next one held takes its place.
      const next = this.early.finished(request);
      if (next !== null) this.release(next, null);
    }
    const kind = request.route?.kind;
    if (request.recorded || kind === 'channels' || kind === 'all-channels') return;
    request.recorded = true;
    const auth = request.auth;
    const http2: Http2RecordDetails = {
      method: request.method,
      path: request.path,
      authority: request.headers[':authority'] ?? null,
      headers: redactedHeaders(request.headers, request.rawHeaders),
      streamId: request.stream.id ?? 0,
      apnsId: request.apnsId,
      apnsUniqueId: request.uniqueId,
      pushType: request.pushType,
      collapseId: request.collapseId,
      channelId: request.channelId,
      status,
      reason: reasonName,
      timestamp,
      auth: auth?.mode ?? this.auth.mode,
      teamId: auth?.teamId ?? null,
      keyId: auth?.keyId ?? null,
    };
    // push, not add: the record object is made only when something watches (a wait, a listener, the JSONL file).
    this.policy.recorder.push({
      connection: this.info,
      command: null,
      expiry: request.expiration,
      priority: request.priority,
      bytes: request.body,
      token: request.token === null ? null : tokenBytes(request.token),
      payload: request.bodyLength === 0 ? null : request.body,
      outcome,
      status,
      reason: words === null ? null : reasonName === null ? words : `${reasonName}: ${words}`,
      rule,
      topic: request.topic,
      http2,
      warnings: request.wasHeld ? heldWarnings(request) : undefined,
    });
  }

  /**
   * The connection cut under the session: no GOAWAY, no TLS close_notify. (node can reset
   * only a plain TCP socket, and the TCP socket under a TLS socket that HTTP/2 has taken
   * over cannot be reset from JavaScript without crashing node.)
   */
  private cut(): void {
    this.socket.destroy();
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private onClose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.markClosed();
    this.onClosed(this);
  }
}

/** A GOAWAY frame (RFC 9113, 6.8) for a connection whose session does not exist yet: last stream 0. */
function goAwayFrame(errorCode: number, data: Buffer): Buffer {
  const frame = Buffer.alloc(9 + 8 + data.length);
  frame.writeUIntBE(8 + data.length, 0, 3);
  frame[3] = 0x7;
  frame.writeUInt32BE(errorCode, 13);
  data.copy(frame, 17);
  return frame;
}
