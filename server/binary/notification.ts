import type { DecodedFrame } from '../../protocol/binary/index.js';
import type { NotificationContext } from '../policy/index.js';

/**
 * The policy's view of a binary frame. A connection keeps one and refills it per frame, and
 * the token's hex is made only when read: an open registry with no rules never reads it.
 */
export class FrameNotification implements NotificationContext {
  readonly protocol = 'binary' as const;
  private frame: DecodedFrame | null = null;
  private hex: string | null = null;

  constructor(
    /** The provider certificate's topic, the app's too: the binary protocol names no other. */
    readonly topic: string | null,
    readonly environment: string | null,
  ) {}

  get bundle(): string | null {
    return this.topic;
  }

  /** Points at the next frame; valid while the decoder's sink runs. */
  use(frame: DecodedFrame): this {
    this.frame = frame;
    this.hex = null;
    return this;
  }

  get tokenHex(): string {
    return (this.hex ??= this.frame!.token.toString('hex'));
  }

  get identifier(): number {
    return this.frame!.identifier;
  }

  get payload(): Buffer {
    return this.frame!.payload;
  }

  get priority(): number {
    return this.frame!.priority;
  }
}
