import type { ErrorResponse, Notification, NotificationCommand } from '../../protocol/binary/index.js';
import type { ReconnectOptions } from '../../common/backoff.js';
import type { EndpointOptions } from '../shared/hosts.js';
import type { SendOutcome } from './outcome.js';
import type { TlsCredentials } from '../shared/tls.js';

export type FlushMode = 'marker' | 'error-window';

export interface BinaryClientOptions extends TlsCredentials, EndpointOptions {
  /** Command for notifications sent without one: 0, 1 or 2. Default 2. */
  command?: NotificationCommand;
  /**
   * Notifications held at once: written but not yet proven, plus those about to be written.
   * When it is full, senders wait and the client proves what it holds (see `flush`). Default 1000 (node-apn's).
   */
  bufferSize?: number;
  /**
   * How notifications are proven accepted: 'marker' (default) writes a deliberately bad
   * notification (command 1, token length 0, no payload) whose status-2 reply, identifier 0,
   * proves everything before it (Pushy's technique; the connection then closes);
   * 'error-window' waits `errorWindowMs` with no error response.
   */
  flush?: FlushMode;
  /** Default 500 ms (Apple's error responses came 85-800 ms after the bad write). */
  errorWindowMs?: number;
  /** Prove what was written once nothing more has been sent for this long; false: only on flush()/close() or a full buffer. Default 200 ms. */
  idleFlushMs?: number | false;
  /** Times a notification may meet a silent close while sent on its own before it fails. Default 3. */
  maxAttempts?: number;
  reconnect?: ReconnectOptions;
  /** Default 10,000 ms. */
  connectTimeoutMs?: number;
  /** First identifier (1..2^32-1). Default 1. */
  firstIdentifier?: number;
}

/** A notification as a sender gives it; the client assigns the identifier. */
export type ClientNotification = Omit<Notification, 'identifier'>;

export interface SendOptions {
  command?: NotificationCommand;
}

export interface SendManyOptions extends SendOptions {
  /**
   * Each outcome as it settles, with the notification's position in the source; when given,
   * sendMany() keeps no outcomes and resolves with an empty array.
   */
  onOutcome?: (outcome: SendOutcome, index: number) => void;
}

/** A notification the client took: `outcome` settles once it is known. */
export interface Enqueued {
  /** The identifier on the wire; null for command 0. */
  identifier: number | null;
  outcome: Promise<SendOutcome>;
}

export interface ConnectedEvent {
  connection: number;
  host: string;
  port: number;
}
export interface TransmittedEvent {
  connection: number;
  identifier: number | null;
  command: NotificationCommand;
  /** 1 on the first write, 2 on the first resend... */
  attempt: number;
}
export interface ResentEvent {
  connection: number;
  identifiers: (number | null)[];
  /** 'discarded': the gateway dropped them after an error or a shutdown; 'in-doubt': the connection closed without an answer. */
  kind: 'discarded' | 'in-doubt';
  reason: string;
}
export interface ClosedEvent {
  connection: number;
  errorResponse: ErrorResponse | null;
  error: Error | null;
  /** Notifications written on it that were not yet proven when it closed. */
  unconfirmed: number;
}

export interface BinaryClientEvents {
  connected: [ConnectedEvent];
  transmitted: [TransmittedEvent];
  /** Informational: failures also reach the outcomes. Emitted only when someone listens. */
  error: [Error];
  resent: [ResentEvent];
  closed: [ClosedEvent];
  /** With the notification as given; only for notifications sent while a listener was attached (the client keeps no others). */
  outcome: [SendOutcome, ClientNotification];
}

export interface BinaryClientStats {
  /** Notifications held now (bounded by bufferSize). */
  held: number;
  /** The most ever held at once. */
  maxHeld: number;
  /** send() calls waiting for room. */
  waiting: number;
  connections: number;
  written: number;
  accepted: number;
  rejected: number;
  failed: number;
  resent: number;
  /** Times a write waited for the socket's 'drain'. */
  drainWaits: number;
}
