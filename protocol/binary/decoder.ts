import {
  Command,
  DEFAULT_LIMITS,
  DEFAULT_PRIORITY,
  ENHANCED_HEADER,
  FRAME_HEADER,
  ITEM_HEADER,
  ItemId,
  SIMPLE_HEADER,
  Status,
  maxFrameLength,
  type Limits,
  type NotificationCommand,
} from './constants.js';
import { checkPayloadLength, checkPriority, checkTokenLength, type CheckFailure } from './checks.js';
import {
  type BinaryProtocolError,
  FrameLengthError,
  ItemStructureError,
  PayloadLengthError,
  PriorityError,
  TokenLengthError,
  UnknownCommandError,
  type FrameField,
} from './errors.js';

/**
 * One complete notification frame. `token`, `payload` and `bytes` are views into the
 * decoder's input: valid while the sink runs; copy what you keep. `source` and the offsets
 * say where they lie, for a consumer that copies without making the views.
 */
const emptyFrame = () => new DecodedFrame(Command.Frame, 0, 0, DEFAULT_PRIORITY, EMPTY, 0, 0, 0, 0, 0, 0, 0, 0);

export class DecodedFrame {
  readonly kind = 'frame' as const;
  private view: Buffer | null = null;
  private tokenView: Buffer | null = null;
  private payloadView: Buffer | null = null;

  constructor(
    readonly command: NotificationCommand,
    /** 0 when the frame carries none (command 0, or command 2 without item 3). */
    readonly identifier: number,
    readonly expiry: number,
    /** 10 when the frame carries none (commands 0 and 1, or command 2 without item 5). */
    readonly priority: number,
    /** The buffer the frame lies in (the chunk given to push(), or the decoder's own for a frame cut across chunks). */
    readonly source: Buffer,
    /** Where the frame starts in `source`. */
    readonly start: number,
    readonly length: number,
    /** Where the token and the payload lie in `source`. */
    readonly tokenStart: number,
    readonly tokenLength: number,
    readonly payloadStart: number,
    readonly payloadLength: number,
    readonly streamOffset: number,
    /** Command 2 only: bit n set when item n was present. */
    readonly itemMask: number,
  ) {}

  /** The whole frame. The views are made on first use: each costs about as much as decoding the rest of a frame. */
  get bytes(): Buffer {
    return (this.view ??= this.source.subarray(this.start, this.start + this.length));
  }

  get token(): Buffer {
    return (this.tokenView ??= this.source.subarray(this.tokenStart, this.tokenStart + this.tokenLength));
  }

  get payload(): Buffer {
    return (this.payloadView ??= this.source.subarray(this.payloadStart, this.payloadStart + this.payloadLength));
  }

  hasItem(itemId: number): boolean {
    return (this.itemMask & (1 << itemId)) !== 0;
  }

  /** The next frame in place of this one (a decoder with `reuseFrame`); the constructor's arguments. */
  refill(
    command: NotificationCommand,
    identifier: number,
    expiry: number,
    priority: number,
    source: Buffer,
    start: number,
    length: number,
    tokenStart: number,
    tokenLength: number,
    payloadStart: number,
    payloadLength: number,
    streamOffset: number,
    itemMask: number,
  ): this {
    const self = this as { -readonly [K in keyof DecodedFrame]: DecodedFrame[K] };
    self.command = command;
    self.identifier = identifier;
    self.expiry = expiry;
    self.priority = priority;
    self.source = source;
    self.start = start;
    self.length = length;
    self.tokenStart = tokenStart;
    self.tokenLength = tokenLength;
    self.payloadStart = payloadStart;
    self.payloadLength = payloadLength;
    self.streamOffset = streamOffset;
    self.itemMask = itemMask;
    this.view = this.tokenView = this.payloadView = null;
    return this;
  }
}

export type DecodeEvent = DecodedFrame | BinaryProtocolError;
export type DecodeSink = (event: DecodeEvent) => void;

/** What was left when the stream ended inside a frame that had not been judged yet. */
export interface IncompleteFrame {
  command: number;
  streamOffset: number;
  /** A copy of the bytes received for this frame. */
  bytes: Buffer;
  /** How many bytes the decoder needed before it could go on (at least one more than it had). */
  neededBytes: number;
}

export interface FrameDecoderOptions {
  limits?: Partial<Limits>;
  /**
   * One DecodedFrame refilled for every frame instead of one each: a frame is then valid
   * only while the sink runs (the gateway judges and records it there). Off for anything that
   * keeps the frames, as decodeAll does.
   */
  reuseFrame?: boolean;
}

const SCRATCH_INITIAL = 4096;
const EMPTY = Buffer.alloc(0);

/**
 * Streaming decoder for the binary provider protocol.
 *
 * Chunks of any size and boundary go in; complete frames and typed errors come out through
 * the sink, in stream order. Frames that lie wholly inside a chunk are views of that chunk;
 * only the frame that straddles two chunks is assembled in a scratch buffer, so no chunk is
 * ever copied or concatenated as a whole. Declared lengths are judged when their header
 * arrives: a frame length or payload length over the limit is reported before its body is
 * buffered, and its bytes are skipped as they arrive. After an unknown command byte the
 * stream cannot be framed any more; the decoder reports it once and counts the rest.
 */
export class FrameDecoder {
  readonly limits: Limits;
  private readonly maxFrame: number;

  /** Made when a frame first straddles two chunks: an idle connection holds none. */
  private scratch: Buffer = EMPTY;
  private pendingLength = 0;
  /** Total bytes needed from the start of the pending frame before the next decision. */
  private need = 0;
  private skip = 0;
  /** The frame at the front has been reported as an error; we only look for where it ends. */
  private errorReported = false;
  private dead = false;
  private consumed = 0;
  private unparsed = 0;

  private readonly reuse: boolean;
  /** The frame refilled for each one, with `reuseFrame`; made at the first frame (an idle connection holds none). */
  private reused: DecodedFrame | null = null;

  constructor(options: FrameDecoderOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.maxFrame = maxFrameLength(this.limits);
    this.reuse = options.reuseFrame ?? false;
  }

  /** Bytes received after an unknown command byte, which could not be framed. */
  get unparsedBytes(): number {
    return this.unparsed;
  }

  /** True after an unknown command byte: nothing more can be framed on this stream. */
  get stopped(): boolean {
    return this.dead;
  }

  /** Bytes held for a frame that has not completed yet. */
  get pendingBytes(): number {
    return this.pendingLength;
  }

  /** Stream offset of the next byte to be decoded. */
  get streamOffset(): number {
    return this.consumed + this.pendingLength;
  }

  push(chunk: Buffer, sink: DecodeSink): void {
    const length = chunk.length;
    let pos = 0;
    while (pos < length) {
      if (this.dead) {
        this.unparsed += length - pos;
        return;
      }
      if (this.skip > 0) {
        const n = Math.min(this.skip, length - pos);
        this.skip -= n;
        this.consumed += n;
        pos += n;
        continue;
      }
      if (this.pendingLength > 0) {
        const n = Math.min(this.need - this.pendingLength, length - pos);
        this.ensureScratch(this.pendingLength + n);
        chunk.copy(this.scratch, this.pendingLength, pos, pos + n);
        this.pendingLength += n;
        pos += n;
        if (this.pendingLength < this.need) return;
        this.drainScratch(sink);
        continue;
      }
      const result = this.step(chunk, pos, length - pos, sink);
      if (result > 0) {
        pos += result;
        this.consumed += result;
        continue;
      }
      // The frame at pos straddles this chunk's end: keep just its bytes.
      this.need = -result;
      this.ensureScratch(Math.max(length - pos, Math.min(this.need, 1 << 16)));
      chunk.copy(this.scratch, 0, pos, length);
      this.pendingLength = length - pos;
      return;
    }
  }

  /** Decodes a whole buffer and returns the events; for tests, tools and `explain`. */
  static decodeAll(bytes: Buffer, options?: FrameDecoderOptions): { events: DecodeEvent[]; incomplete: IncompleteFrame | null } {
    const decoder = new FrameDecoder(options);
    const events: DecodeEvent[] = [];
    decoder.push(bytes, (event) => events.push(event));
    return { events, incomplete: decoder.end() };
  }

  /**
   * The stream has ended. Returns the frame that was cut off, if one was in progress and not
   * already reported as an error; the decoder is reset.
   */
  end(): IncompleteFrame | null {
    let incomplete: IncompleteFrame | null = null;
    if (this.pendingLength > 0 && !this.errorReported && !this.dead) {
      incomplete = {
        command: this.scratch[0],
        streamOffset: this.consumed,
        bytes: Buffer.from(this.scratch.subarray(0, this.pendingLength)),
        neededBytes: this.need,
      };
    }
    this.consumed += this.pendingLength;
    this.pendingLength = 0;
    this.need = 0;
    this.skip = 0;
    this.errorReported = false;
    return incomplete;
  }

  /** The decoded frame: the one refilled for every frame with `reuseFrame`, else a new one. */
  private frameOf(
    command: NotificationCommand,
    identifier: number,
    expiry: number,
    priority: number,
    buf: Buffer,
    start: number,
    extent: number,
    tokenStart: number,
    tokenLength: number,
    payloadStart: number,
    payloadLength: number,
    itemMask: number,
  ): DecodedFrame {
    // Without `reuseFrame` each frame gets its own object, filled the same way.
    const frame = this.reuse ? (this.reused ??= emptyFrame()) : emptyFrame();
    return frame.refill(
      command,
      identifier,
      expiry,
      priority,
      buf,
      start,
      extent,
      tokenStart,
      tokenLength,
      payloadStart,
      payloadLength,
      this.consumed,
      itemMask,
    );
  }

  private ensureScratch(size: number): void {
    if (size <= this.scratch.length) return;
    const grown = Buffer.allocUnsafe(Math.max(size, this.scratch.length * 2, SCRATCH_INITIAL));
    this.scratch.copy(grown, 0, 0, this.pendingLength);
    this.scratch = grown;
  }

  private drainScratch(sink: DecodeSink): void {
    while (this.pendingLength > 0) {
      if (this.dead) {
        this.unparsed += this.pendingLength;
        this.consumed += this.pendingLength;
        this.pendingLength = 0;
        return;
      }
      let drop: number;
      if (this.skip > 0) {
        drop = Math.min(this.skip, this.pendingLength);
        this.skip -= drop;
      } else {
        const result = this.step(this.scratch, 0, this.pendingLength, sink);
        if (result < 0) {
          this.need = -result;
          return;
        }
        drop = result;
      }
      this.consumed += drop;
      this.pendingLength -= drop;
      if (this.pendingLength > 0) this.scratch.copyWithin(0, drop, drop + this.pendingLength);
    }
  }

  /**
   * Decides what the bytes at `start` are. Returns the bytes consumed (> 0) after emitting a
   * frame or an error, or -(bytes needed from start) when it cannot decide yet.
   */
  private step(buf: Buffer, start: number, available: number, sink: DecodeSink): number {
    const command = buf[start];
    if (command === Command.Frame) return this.stepFrame(buf, start, available, sink);
    if (command === Command.Simple || command === Command.Enhanced) {
      return this.stepLegacy(buf, start, available, sink, command);
    }
    this.dead = true;
    this.unparsed += available - 1;
    sink(
      new UnknownCommandError(`unknown command ${command} (0x${command.toString(16).padStart(2, '0')}): Apple closes without a reply`, {
        command,
        status: null,
        identifier: 0,
        field: 'command',
        streamOffset: this.consumed,
        bytes: buf.subarray(start, start + available),
      }),
    );
    return available;
  }

  private stepLegacy(buf: Buffer, start: number, available: number, sink: DecodeSink, command: 0 | 1): number {
    const header = command === Command.Simple ? SIMPLE_HEADER : ENHANCED_HEADER;
    if (available < header) return -header;
    const identifier = command === Command.Enhanced ? buf.readUInt32BE(start + 1) : 0;
    const expiry = command === Command.Enhanced ? buf.readUInt32BE(start + 5) : 0;
    const tokenLength = buf.readUInt16BE(start + header - 2);
    const failure = checkTokenLength(tokenLength);
    const throughPayloadLength = header + tokenLength + 2;
    if (failure !== null && !this.errorReported) {
      this.report(sink, TokenLengthError, failure, command, identifier, buf, start, Math.min(available, throughPayloadLength), expiry);
    }
    if (available < throughPayloadLength) return -throughPayloadLength;
    const payloadLength = buf.readUInt16BE(start + header + tokenLength);
    const extent = throughPayloadLength + payloadLength;
    if (!this.errorReported) {
      const payloadFailure = checkPayloadLength(command, payloadLength, this.limits);
      if (payloadFailure !== null) {
        const token = buf.subarray(start + header, start + header + tokenLength);
        this.report(sink, PayloadLengthError, payloadFailure, command, identifier, buf, start, Math.min(available, extent), expiry, token);
      }
    }
    if (this.errorReported) return this.skipReported(available, extent);
    if (available < extent) return -extent;
    const tokenStart = start + header;
    const payloadStart = tokenStart + tokenLength + 2;
    sink(
      this.frameOf(
        command,
        identifier,
        expiry,
        DEFAULT_PRIORITY,
        buf,
        start,
        extent,
        tokenStart,
        tokenLength,
        payloadStart,
        payloadLength,
        0,
      ),
    );
    return extent;
  }

  private stepFrame(buf: Buffer, start: number, available: number, sink: DecodeSink): number {
    if (available < FRAME_HEADER) return -FRAME_HEADER;
    // By hand: Buffer's reader checks its offset on every call, a tenth of a frame's decoding.
    const frameLength = ((buf[start + 1] << 24) | (buf[start + 2] << 16) | (buf[start + 3] << 8) | buf[start + 4]) >>> 0;
    const extent = FRAME_HEADER + frameLength;
    if (frameLength === 0 || frameLength > this.maxFrame) {
      if (!this.errorReported) {
        const failure: CheckFailure =
          frameLength === 0
            ? {
                status: Status.ProtocolError,
                field: 'frameLength',
                reason: 'frame length is 0: a frame needs at least a token and a payload',
              }
            : {
                status: Status.InvalidPayloadSize,
                field: 'frameLength',
                reason: `frame length is ${frameLength} bytes; the largest valid frame is ${this.maxFrame} (a ${this.limits.framePayload}-byte payload and every item once)`,
              };
        this.report(sink, FrameLengthError, failure, Command.Frame, 0, buf, start, Math.min(available, extent));
      }
      return this.skipReported(available, extent);
    }
    if (available < extent) return -extent;
    return this.parseItems(buf, start, extent, sink);
  }

  private parseItems(buf: Buffer, start: number, extent: number, sink: DecodeSink): number {
    const end = start + extent;
    let p = start + FRAME_HEADER;
    let mask = 0;
    let identifier = 0;
    let expiry = 0;
    let priority: number = DEFAULT_PRIORITY;
    let tokenStart = 0;
    let tokenLength = 0;
    let payloadStart = 0;
    let payloadLength = 0;
    while (p < end) {
      if (end - p < ITEM_HEADER) {
        return this.structure(
          sink,
          `item header at frame offset ${p - start} needs 3 bytes; the frame has ${end - p} left`,
          identifier,
          expiry,
          buf,
          start,
          extent,
        );
      }
      const id = buf[p];
      const length = (buf[p + 1] << 8) | buf[p + 2];
      const data = p + ITEM_HEADER;
      if (data + length > end) {
        return this.structure(
          sink,
          `item ${id} at frame offset ${p - start} declares ${length} bytes; the frame has ${end - data} left`,
          identifier,
          expiry,
          buf,
          start,
          extent,
        );
      }
      if (id < ItemId.DeviceToken || id > ItemId.Priority) {
        return this.structure(sink, `unknown item id ${id} at frame offset ${p - start}`, identifier, expiry, buf, start, extent);
      }
      if ((mask & (1 << id)) !== 0) {
        return this.structure(
          sink,
          `item ${id} appears twice (again at frame offset ${p - start})`,
          identifier,
          expiry,
          buf,
          start,
          extent,
        );
      }
      mask |= 1 << id;
      if (id === ItemId.DeviceToken) {
        tokenStart = data;
        tokenLength = length;
      } else if (id === ItemId.Payload) {
        payloadStart = data;
        payloadLength = length;
      } else if (id === ItemId.Identifier) {
        if (length !== 4)
          return this.structure(sink, `identifier item is ${length} bytes; it must be 4`, identifier, expiry, buf, start, extent);
        identifier = ((buf[data] << 24) | (buf[data + 1] << 16) | (buf[data + 2] << 8) | buf[data + 3]) >>> 0;
      } else if (id === ItemId.Expiry) {
        if (length !== 4)
          return this.structure(sink, `expiration item is ${length} bytes; it must be 4`, identifier, expiry, buf, start, extent);
        expiry = ((buf[data] << 24) | (buf[data + 1] << 16) | (buf[data + 2] << 8) | buf[data + 3]) >>> 0;
      } else {
        if (length !== 1)
          return this.structure(sink, `priority item is ${length} bytes; it must be 1`, identifier, expiry, buf, start, extent);
        priority = buf[data];
      }
      p = data + length;
    }
    const failure =
      ((mask & (1 << ItemId.DeviceToken)) === 0
        ? {
            status: Status.MissingDeviceToken,
            field: 'token' as FrameField,
            reason: 'the frame has no device token item (1)',
            identifierZero: true,
          }
        : checkTokenLength(tokenLength)) ??
      ((mask & (1 << ItemId.Payload)) === 0
        ? { status: Status.MissingPayload, field: 'payload' as FrameField, reason: 'the frame has no payload item (2)' }
        : checkPayloadLength(Command.Frame, payloadLength, this.limits)) ??
      checkPriority(priority);
    if (failure !== null) {
      const ErrorClass =
        failure.field === 'priority'
          ? PriorityError
          : failure.field === 'token' || failure.field === 'tokenLength'
            ? TokenLengthError
            : PayloadLengthError;
      this.report(
        sink,
        ErrorClass,
        failure,
        Command.Frame,
        identifier,
        buf,
        start,
        extent,
        expiry,
        buf.subarray(tokenStart, tokenStart + tokenLength),
        priority,
      );
      return this.skipReported(extent, extent);
    }
    sink(
      this.frameOf(
        Command.Frame,
        identifier,
        expiry,
        priority,
        buf,
        start,
        extent,
        tokenStart,
        tokenLength,
        payloadStart,
        payloadLength,
        mask,
      ),
    );
    return extent;
  }

  /** A command-2 item that is unknown, repeated, of the wrong length or overrunning: status 128. */
  private structure(
    sink: DecodeSink,
    reason: string,
    identifier: number,
    expiry: number,
    buf: Buffer,
    start: number,
    extent: number,
  ): number {
    this.report(
      sink,
      ItemStructureError,
      { status: Status.ProtocolError, field: 'item', reason },
      Command.Frame,
      identifier,
      buf,
      start,
      extent,
      expiry,
    );
    return this.skipReported(extent, extent);
  }

  private report(
    sink: DecodeSink,
    ErrorClass: new (message: string, details: ConstructorParameters<typeof BinaryProtocolError>[1]) => BinaryProtocolError,
    failure: CheckFailure,
    command: number,
    identifier: number,
    buf: Buffer,
    start: number,
    seen: number,
    expiry?: number,
    token?: Buffer,
    priority?: number,
  ): void {
    this.errorReported = true;
    sink(
      new ErrorClass(failure.reason, {
        command,
        status: failure.status,
        identifier: failure.identifierZero ? 0 : identifier,
        field: failure.field,
        streamOffset: this.consumed,
        bytes: buf.subarray(start, start + seen),
        token,
        expiry,
        priority,
      }),
    );
  }

  /** The reported frame ends `extent` bytes after its start: consume what is here, skip the rest. */
  private skipReported(available: number, extent: number): number {
    this.errorReported = false;
    if (available >= extent) return extent;
    this.skip = extent - available;
    return available;
  }
}
