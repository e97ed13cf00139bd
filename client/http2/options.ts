import type { PushType } from '../../protocol/http2/index.js';
import type { ReconnectOptions } from '../../common/backoff.js';
import type { AppleEnvironment } from '../shared/hosts.js';
import type { TlsCredentials } from '../shared/tls.js';
import type { Http2SendOutcome } from './outcome.js';
import type { ProviderTokenOptions } from './provider-token.js';
import type { RetryOptions } from './retry.js';

/** Apple's HTTP/2 hosts; port 443, and 2197 for providers whose firewalls block 443. */
export const APPLE_HTTP2_HOSTS = {
  sandbox: 'api.sandbox.push.apple.com',
  production: 'api.push.apple.com',
  port: 443,
  alternatePort: 2197,
} as const;

export interface Http2EndpointOptions {
  /** Any host; overrides `environment`. */
  host?: string;
  /** Default 443 (Apple also serves 2197). */
  port?: number;
  /** Apple's host for this environment, when no `host` is given. */
  environment?: AppleEnvironment;
}

/**
 * Token authentication (`token`) or certificate authentication (`cert`/`key` or
 * `pfx`/`passphrase`); `ca`, `servername` and `rejectUnauthorized` serve both.
 */
export interface Http2ClientOptions extends TlsCredentials, Http2EndpointOptions {
  token?: ProviderTokenOptions;
  /** Connections to spread requests over, opened one after another once there is work; each request goes to the one with the fewest open streams. Default 1. */
  connections?: number;
  /** 429 and 5xx answers, and requests left without an answer. */
  retry?: RetryOptions;
  /** Connections that fail to open: the wait before the next, and how many failures in a row fail what waits. */
  reconnect?: ReconnectOptions;
  /** TLS handshake and the server's first SETTINGS. Default 10,000 ms. */
  connectTimeoutMs?: number;
  /** A request without a response after this is cancelled and counts as an attempt without an answer. Default 30,000 ms; false: none. */
  requestTimeoutMs?: number | false;
  /** PING a connection idle this long, so middleboxes and APNs keep it. Default one hour; false: never. */
  pingIntervalMs?: number | false;
  /** A PING unanswered this long closes the connection. Default 10,000 ms. */
  pingTimeoutMs?: number;
}

/** One notification: the device token, the payload, and the request headers. */
export interface Http2Notification {
  /** Hex device token. */
  token: string;
  /** JSON text or bytes as given, or an object to serialize. */
  payload: object | string | Buffer;
  /** apns-push-type. */
  pushType?: PushType;
  /** apns-topic: the bundle id, with the push type's suffix. Needed with tokens; a certificate's own topic when absent. */
  topic?: string;
  /** apns-priority: 10, 5 or 1. */
  priority?: number;
  /** apns-expiration: UNIX seconds (0: one attempt, not stored), or a Date. */
  expiration?: number | Date;
  /** apns-collapse-id, at most 64 bytes. */
  collapseId?: string;
  /** apns-id, a canonical lower-case UUID; the client makes one when absent. */
  id?: string;
}

export interface Http2ConnectedEvent {
  connection: number;
  host: string;
  port: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS the server announced first. */
  maxConcurrentStreams: number;
}
export interface Http2SettingsEvent {
  connection: number;
  maxConcurrentStreams: number;
}
export interface Http2TransmittedEvent {
  connection: number;
  apnsId: string;
  /** 1 on the first request, 2 on the first retry... */
  attempt: number;
}
export interface Http2ResentEvent {
  connection: number;
  apnsId: string;
  /**
   * 'unprocessed': the server said it did not process it (REFUSED_STREAM, above GOAWAY's last
   * stream id); 'in-doubt': no answer, it may have been; 'answered': a 429, 5xx or a
   * connection-bound answer; 'new-token': ExpiredProviderToken.
   */
  kind: 'unprocessed' | 'in-doubt' | 'answered' | 'new-token';
  reason: string;
  /** Wait before it goes out again. */
  delayMs: number;
}
export interface Http2GoawayEvent {
  connection: number;
  errorCode: number;
  lastStreamId: number;
  /** The `reason` of the JSON debug data, when there was one. */
  reason: string | null;
}
export interface Http2ClosedEvent {
  connection: number;
  error: Error | null;
  goaway: Http2GoawayEvent | null;
  /** Requests that had no response when it closed. */
  inFlight: number;
}

export interface Http2ClientEvents {
  connected: [Http2ConnectedEvent];
  /** The server changed SETTINGS_MAX_CONCURRENT_STREAMS (APNs raises it after the first valid token). */
  settings: [Http2SettingsEvent];
  transmitted: [Http2TransmittedEvent];
  resent: [Http2ResentEvent];
  goaway: [Http2GoawayEvent];
  closed: [Http2ClosedEvent];
  /** Informational: failures also reach the outcomes. Emitted only when someone listens. */
  error: [Error];
  outcome: [Http2SendOutcome, Http2Notification];
}

export interface Http2ClientStats {
  /** Waiting for a stream, or for a retry's delay. */
  queued: number;
  /** Requests without a response now. */
  inFlight: number;
  /** The most streams open at once on one connection. */
  maxStreams: number;
  /** Connections opened in all, and open now. */
  connections: number;
  open: number;
  /** Requests written. */
  requests: number;
  accepted: number;
  rejected: number;
  failed: number;
  /** Requests written again. */
  retried: number;
  /** Provider tokens signed. */
  tokens: number;
  pings: number;
}
