import type { Protocol } from './verdict.js';

/**
 * What the policy sees of one notification, whichever protocol brought it. A connection may
 * keep one object and refill it per notification: the binary gateway does, so that judging a
 * frame allocates nothing (its token's hex is made only when something reads `tokenHex`).
 */
export interface NotificationContext {
  readonly protocol: Protocol;
  /** 'production' or 'development'; null when the certificate names neither. */
  readonly environment: string | null;
  /** Binary: the certificate's topic. HTTP/2: apns-topic (the bundle for a broadcast). */
  readonly topic: string | null;
  /** The app the topic belongs to (the topic without a push-type suffix): registry scope. */
  readonly bundle: string | null;
  /** Lower-case hex; '' for a broadcast. */
  readonly tokenHex: string;
  /** Binary: the frame's identifier; -1 on HTTP/2. */
  readonly identifier: number;
  readonly payload: Buffer;
  readonly priority: number;
  /** HTTP/2: the request's apns-id. */
  readonly apnsId?: string;
  /** HTTP/2: the push type (apns-push-type, or the one the topic implies). */
  readonly pushType?: string;
  /** HTTP/2 broadcast: there is no device token, so the registry is not asked. */
  readonly broadcast?: boolean;
}

/** What the policy counts for one connection: notifications that reached the rules. */
export interface ConnectionTally {
  judged: number;
}
