import { ApnsMockError } from '../../common/errors.js';

/**
 * `possibleDuplicate`: an earlier attempt got no answer although the server may have taken it
 * (its stream was reset, or its connection closed, after the request went out), so APNs may
 * have delivered that copy too. Streams the server said it did not process (REFUSED_STREAM,
 * or above a GOAWAY's last stream id) never set it.
 */
interface Http2OutcomeBase {
  /**
   * The request's apns-id: the one given, or the one the client made; the same on every attempt. Kept
   * as the response carries it: Apple echoes the client's as sent, and makes its own in upper case.
   */
  apnsId: string;
  /** Requests written for this notification. */
  attempts: number;
  possibleDuplicate: boolean;
  /**
   * The simulator's own explanation (its `x-apns-mock-reason` response header, never sent by
   * Apple): why it rejected, or a warning on an accepted one. Absent from Apple's answers.
   */
  explanation?: string;
}

export interface Http2AcceptedOutcome extends Http2OutcomeBase {
  status: 'accepted';
  /** Development environment only. */
  apnsUniqueId?: string;
}

export interface Http2RejectedOutcome extends Http2OutcomeBase {
  status: 'rejected';
  /** The HTTP status: 400, 403, 404, 405, 410, 413, 429, 500, 503. */
  statusCode: number;
  /** Apple's reason (`BadDeviceToken`...); `HTTP <status>` when the body carried none. */
  reason: string;
  /** 410 only: when APNs learnt the token stopped being valid, in milliseconds. */
  timestamp?: number;
  apnsUniqueId?: string;
}

export interface Http2FailedOutcome extends Http2OutcomeBase {
  status: 'failed';
  error: Error;
}

export type Http2SendOutcome = Http2AcceptedOutcome | Http2RejectedOutcome | Http2FailedOutcome;

/** No answer: the stream was reset, timed out or lost with its connection on every attempt allowed. */
export class Http2StreamError extends ApnsMockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_APNS_HTTP2_STREAM', message, options);
  }
}
