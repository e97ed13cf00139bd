import type { PayloadWarning } from '../../protocol/binary/index.js';
import type { Http2Reason } from '../../protocol/http2/index.js';

export type Protocol = 'binary' | 'http2';

/**
 * What a rule that does not decide leaves behind: the notification is judged on, and the
 * effect applies as well (to this response on HTTP/2, to the connection on the binary gateway).
 */
export type Effect =
  /** Binary: the connection's next error response waits `ms`. HTTP/2: this response waits `ms`. */
  | { kind: 'delay'; ms: number }
  /** Binary: the connection is not read for `ms`. HTTP/2: no response goes out for `ms`. */
  | { kind: 'stall'; ms: number }
  /** Binary: the connection is reset once `bytes` more bytes arrived after this frame. */
  | { kind: 'dropAfter'; bytes: number; explanation: string }
  /** The token was marked uninstalled (done by the policy; nothing for the wire). */
  | { kind: 'uninstalled' };

/** A notification's fate, the same for both protocols; each protocol maps it to its wire effect. */
export type Verdict =
  | {
      kind: 'accept';
      /** The rule that fired without deciding, if any. */
      rule: string | null;
      effect: Effect | null;
      /** Binary strict mode: the payload's warnings, already computed. */
      warnings?: PayloadWarning[];
    }
  | {
      kind: 'reject';
      /** Binary: the error response's status. */
      status: number;
      /** HTTP/2: the response's reason (its HTTP status follows from it). */
      reason: Http2Reason;
      /** Why, for a person (kept in the record). */
      explanation: string;
      rule: string | null;
      /** HTTP/2 410: when the token was learnt to be gone (ms); null: now. */
      timestamp: number | null;
      /** The response waits this long; null: as the connection would anyway. */
      delayMs: number | null;
      effect: Effect | null;
      warnings?: PayloadWarning[];
    }
  /** Binary: status 10 with the last accepted identifier, then the close. HTTP/2: 503 Shutdown, then GOAWAY. */
  | { kind: 'shutdown'; rule: string; explanation: string; delayMs: number | null }
  /** The connection closes without an answer to this notification. */
  | { kind: 'close'; rule: string; explanation: string; failure: string }
  /** The connection is cut at once (binary: TCP reset; HTTP/2: no GOAWAY, no TLS close). */
  | { kind: 'drop'; rule: string; explanation: string; failure: string }
  /** HTTP/2: GOAWAY whose debug data is `{"reason": reason}`; this request is refused. */
  | { kind: 'goaway'; rule: string; explanation: string; reason: string; errorCode: number; delayMs: number | null }
  /** HTTP/2: RST_STREAM on this request's stream. */
  | { kind: 'reset'; rule: string; explanation: string; errorCode: number; delayMs: number | null };

export type VerdictKind = Verdict['kind'];

/** The verdict of a notification nothing objected to: shared, so the fast path allocates nothing. */
export const ACCEPTED: Verdict = Object.freeze({ kind: 'accept', rule: null, effect: null });

const EFFECT_KINDS: ReadonlySet<string> = new Set<Effect['kind']>(['delay', 'stall', 'dropAfter', 'uninstalled']);

export function isEffect(outcome: Verdict | Effect): outcome is Effect {
  return EFFECT_KINDS.has(outcome.kind);
}
