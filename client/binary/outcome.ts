import { ApnsMockError } from '../../common/errors.js';
import { statusMeaning, statusName } from '../../protocol/binary/index.js';

/**
 * `possibleDuplicate`: an earlier copy of this notification was written on a connection that
 * closed without an error response (or answered with an identifier it could not place), so the
 * gateway may have accepted that copy too. Apple sends no acknowledgement: nothing can tell.
 */
interface OutcomeBase {
  /** The identifier on the wire; null for command 0, which has none. */
  identifier: number | null;
  /** How many times it was written. */
  attempts: number;
  possibleDuplicate: boolean;
}

export interface AcceptedOutcome extends OutcomeBase {
  status: 'accepted';
}

export interface RejectedOutcome extends OutcomeBase {
  status: 'rejected';
  /** The status byte of the error response. */
  code: number;
  /** `InvalidToken`, `Shutdown`... (`Status<n>` for codes Apple never defined). */
  name: string;
  /** Apple's wording. */
  reason: string;
  identifier: number;
}

export interface FailedOutcome extends OutcomeBase {
  status: 'failed';
  error: Error;
}

export type SendOutcome = AcceptedOutcome | RejectedOutcome | FailedOutcome;

export function rejected(code: number, identifier: number, attempts: number, possibleDuplicate: boolean): RejectedOutcome {
  return { status: 'rejected', code, name: statusName(code), reason: statusMeaning(code), identifier, attempts, possibleDuplicate };
}

/** Base of the client's own errors; each has a stable `code`. */
export class BinaryClientError extends ApnsMockError {
  constructor(message: string, options?: { cause?: unknown }, code = 'ERR_APNS_CLIENT') {
    super(code, message, options);
  }
}

/** Connecting failed (refused, TLS, timeout) or connections kept closing without an answer. */
export class GatewayUnreachableError extends BinaryClientError {
  constructor(message: string, options?: { cause?: unknown }, code = 'ERR_APNS_UNREACHABLE') {
    super(message, options, code);
  }
}

/**
 * The server closed the connection during the TLS handshake or right after it, before reading
 * anything: it did not take the client certificate. Retrying with the same one cannot help.
 * `cause` is the TLS alert when the server sent one (e.g. `ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED`).
 */
export class HandshakeClosedError extends GatewayUnreachableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, 'ERR_APNS_CLIENT_HANDSHAKE_CLOSED');
  }
}

/** The server answered with bytes that are not a binary error response: it does not speak the binary protocol. */
export class NotBinaryGatewayError extends GatewayUnreachableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, 'ERR_APNS_CLIENT_NOT_BINARY');
  }
}

/** The gateway closed the connection, without an error response, each time this notification was sent alone. */
export class SilentCloseError extends BinaryClientError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, 'ERR_APNS_SILENT_CLOSE');
  }
}

/** The client was closed or destroyed. */
export class ClientClosedError extends BinaryClientError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, 'ERR_APNS_CLIENT_CLOSED');
  }
}

/** The feedback stream ended inside a tuple. */
export class FeedbackIncompleteError extends BinaryClientError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, 'ERR_APNS_FEEDBACK_INCOMPLETE');
  }
}
