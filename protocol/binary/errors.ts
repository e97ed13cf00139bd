import { ApnsMockError } from '../../common/errors.js';
import { Status, statusName } from './constants.js';

/** Which part of a frame a failure is about: lets `explain`, the records and the inspector mark it. */
export type FrameField = 'command' | 'frameLength' | 'item' | 'tokenLength' | 'token' | 'payloadLength' | 'payload' | 'priority';

export interface FrameErrorDetails {
  /** The frame's command byte. */
  command: number;
  /** The APNs status the gateway answers with, or null when Apple closed without a reply. */
  status: number | null;
  /** The identifier known when the failure was found (0 when none was read yet). */
  identifier: number;
  field: FrameField;
  /** Offset of the frame's first byte in the stream. */
  streamOffset: number;
  /** The frame's bytes as far as they were seen (a view; copy to keep). */
  bytes: Buffer;
  /** Fields read before the failure, where they were. */
  token?: Buffer;
  expiry?: number;
  priority?: number;
}

/**
 * Base of every failure the binary decoder reports. Each subclass has a stable `code`; the
 * `status` is the byte of the 6-byte error response (null: Apple closed without one).
 */
export class BinaryProtocolError extends ApnsMockError implements FrameErrorDetails {
  readonly kind = 'error' as const;
  readonly command: number;
  readonly status: number | null;
  readonly identifier: number;
  readonly field: FrameField;
  readonly streamOffset: number;
  readonly bytes: Buffer;
  readonly token?: Buffer;
  readonly expiry?: number;
  readonly priority?: number;

  constructor(message: string, details: FrameErrorDetails) {
    super('ERR_APNS_BINARY', message);
    this.command = details.command;
    this.status = details.status;
    this.identifier = details.identifier;
    this.field = details.field;
    this.streamOffset = details.streamOffset;
    this.bytes = details.bytes;
    this.token = details.token;
    this.expiry = details.expiry;
    this.priority = details.priority;
  }

  get statusName(): string | null {
    return this.status === null ? null : statusName(this.status);
  }
}

/** A command byte that is not 0, 1 or 2: Apple closed the connection without a reply (TN2265). */
export class UnknownCommandError extends BinaryProtocolError {
  override code = 'ERR_APNS_UNKNOWN_COMMAND';
}

/** A command-2 frame length of 0, or larger than any valid frame; checked at the header. */
export class FrameLengthError extends BinaryProtocolError {
  override code = 'ERR_APNS_FRAME_LENGTH';
}

/** A command-2 item that is unknown, repeated, of the wrong length, or overruns the frame. */
export class ItemStructureError extends BinaryProtocolError {
  override code = 'ERR_APNS_ITEM_STRUCTURE';
}

/** A missing token, or one whose length is not 32. */
export class TokenLengthError extends BinaryProtocolError {
  override code = 'ERR_APNS_TOKEN_LENGTH';
}

/** A missing or empty payload, or one over the limit. */
export class PayloadLengthError extends BinaryProtocolError {
  override code = 'ERR_APNS_PAYLOAD_LENGTH';
}

/** A priority other than 5 or 10. */
export class PriorityError extends BinaryProtocolError {
  override code = 'ERR_APNS_PRIORITY';
}

export { Status };
