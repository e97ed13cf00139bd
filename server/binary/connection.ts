import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  type BinaryProtocolError,
  Command,
  FrameDecoder,
  Status,
  encodeErrorResponse,
  type PayloadWarning,
  type DecodeEvent,
  type DecodedFrame,
  type Limits,
} from '../../protocol/binary/index.js';
import type { ConnectionInfo, FrameRecordInput, Recorder, RecordInput } from '../recorder/index.js';
import type { ConnectionTally, Effect, Policy } from '../policy/index.js';
import { FrameNotification } from './notification.js';
import { describeFailure, describeIncomplete, describeSlow, isFlushMarker } from './reasons.js';

export type BinaryConnectionState = 'open' | 'failing' | 'closed';

/** What every connection of one binary gateway shares. */
export interface BinaryConnectionOptions {
  recorder: Recorder;
  /** Decides each notification's fate (registry, rules, strict payloads). */
  policy: Policy;
  limits: Limits;
  errorDelayMs: number;
  /** How long a failed connection may linger for the peer's close before it is destroyed. */
  lingerMs: number;
  /** A frame still incomplete this long after its first bytes closes the connection; 0: never. */
  frameTimeoutMs?: number;
  /** Told when judging a connection's bytes threw: a simulator bug, reported rather than crashing. */
  onInternalError?: (error: unknown, connection: ConnectionInfo) => void;
}

export interface BinaryConnectionSummary extends ConnectionInfo {
  connectedAt: string;
  state: BinaryConnectionState;
  bytesReceived: number;
  notifications: number;
  accepted: number;
  rejected: number;
  discarded: number;
  lastAcceptedIdentifier: number | null;
  /** Bytes after an unknown command byte, which could not be framed. */
  unparsedBytes: number;
  /** Bytes held for a frame not complete yet (at most one frame's worth). */
  bufferedBytes: number;
}

/**
 * One provider connection to the binary gateway. Frames are judged in order; the first
 * rejection sends the 6-byte error response (after the error delay) and closes, and every
 * frame that arrives after it is recorded as discarded, as Apple did.
 */
export class BinaryConnection {
  state: BinaryConnectionState = 'open';
  private readonly connectedAtMs = Date.now();
  private readonly decoder: FrameDecoder;
  private bytesReceived = 0;
  private notifications = 0;
  /** Notifications that reached the rules on this connection (counted by the policy). */
  private readonly tally: ConnectionTally = { judged: 0 };
  /** The policy's view of the frame being judged, refilled per frame. */
  private readonly notification: FrameNotification;
  private readonly counts = { accepted: 0, rejected: 0, discarded: 0 };
  private lastAccepted: number | null = null;
  private failedAt: string | null = null;
  /** Set by a 'delay' rule: this connection's next error response waits this long. */
  private ruleErrorDelayMs: number | null = null;
  /** Stream offset at which a 'drop' rule resets the connection. */
  private dropAt = Infinity;
  private dropReason = 'connection dropped';
  /** Made when the first timer is set: most connections never have one. */
  private timers: Set<NodeJS.Timeout> | null = null;
  /** Stream offset and arrival time of the frame in progress, for the frame timeout. */
  private frameStart = -1;
  private frameSince = 0;
  private frameTimerArmed = false;
  private frameTimedOut = false;
  private readonly sink = (event: DecodeEvent) => this.onEvent(event);
  /** Refilled for every frame: the recorder copies what it keeps, and an object a frame was garbage a frame. Made at the first frame. */
  private frameInput: FrameRecordInput | null = null;

  constructor(
    readonly socket: TLSSocket,
    readonly info: ConnectionInfo,
    private readonly options: BinaryConnectionOptions,
    private readonly onClosed: (connection: BinaryConnection) => void,
  ) {
    // Each frame is judged and recorded inside the sink, so one DecodedFrame serves them all.
    this.decoder = new FrameDecoder({ limits: options.limits, reuseFrame: true });
    this.notification = new FrameNotification(info.topic, info.environment);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.onData(chunk);
      } catch (error) {
        this.internalError(error);
      }
    });
    socket.on('error', () => {
      // Resets and aborted handshakes are the peer's business; 'close' follows.
    });
    socket.on('close', () => this.onClose());
  }

  summary(): BinaryConnectionSummary {
    return {
      ...this.info,
      connectedAt: new Date(this.connectedAtMs).toISOString(),
      state: this.state,
      bytesReceived: this.bytesReceived,
      notifications: this.notifications,
      ...this.counts,
      lastAcceptedIdentifier: this.lastAccepted,
      unparsedBytes: this.decoder.unparsedBytes,
      bufferedBytes: this.decoder.pendingBytes,
    };
  }

  /** Status 10 with the last accepted identifier, then the close (Apple's shutdown). */
  shutdown(): boolean {
    if (this.state !== 'open') return false;
    this.fail('shutdown requested');
    this.sendError(Status.Shutdown, this.lastAccepted ?? 0, 0);
    return true;
  }

  /** The idle timeout: closed without an answer; whatever arrives after is discarded. */
  closeIdle(idleMs: number): void {
    if (this.state !== 'open') return;
    this.fail(`closed after ${idleMs} ms without a byte (idle timeout)`);
    this.closeSilently();
  }

  /** Closes at once, without an error response. */
  destroy(): void {
    this.socket.destroy();
  }

  /**
   * A fault of the simulator itself must not take the process (and every other connection)
   * down: this connection gets status 1 (processing error) and closes, and the fault is reported.
   */
  private internalError(error: unknown): void {
    this.options.onInternalError?.(error, this.info);
    if (this.state === 'closed' || this.socket.destroyed) return;
    if (this.state === 'open') {
      this.fail(`internal error: ${error instanceof Error ? error.message : String(error)}`);
      this.sendError(Status.ProcessingError, 0, 0);
    } else {
      this.socket.destroy();
    }
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed' || this.frameTimedOut) return;
    const end = this.bytesReceived + chunk.length;
    if (end >= this.dropAt) {
      const keep = this.dropAt - this.bytesReceived;
      this.bytesReceived = this.dropAt;
      if (keep > 0) this.decoder.push(chunk.subarray(0, keep), this.sink);
      this.drop();
      return;
    }
    this.bytesReceived = end;
    // Every frame is recorded: one copy of the chunk costs less than a copy of each frame in it.
    this.decoder.push(this.options.recorder.adopt(chunk), this.sink);
    if (this.decoder.pendingBytes > 0 && (this.options.frameTimeoutMs ?? 0) > 0) this.watchFrame();
    // A drop rule fired inside this chunk: the reset comes at its point, and what followed never arrived.
    if (end >= this.dropAt && !this.socket.destroyed) this.drop();
  }

  private onEvent(event: DecodeEvent): void {
    if (event.streamOffset >= this.dropAt) return;
    // A frame's `bytes` is a view made on demand: looked at only once a drop rule is armed.
    if (this.dropAt !== Infinity && event.streamOffset + event.bytes.length > this.dropAt) {
      this.recordCutByDrop(event.command, event.bytes.subarray(0, this.dropAt - event.streamOffset));
      return;
    }
    this.notifications++;
    if (this.state !== 'open') {
      this.recordDiscarded(event);
      return;
    }
    if (event.kind === 'error') {
      this.rejectMalformed(event);
      return;
    }
    this.judge(event);
  }

  private judge(frame: DecodedFrame): void {
    const verdict = this.options.policy.decide(this.notification.use(frame), this.tally);
    switch (verdict.kind) {
      case 'accept':
        if (verdict.effect !== null) this.apply(verdict.effect, frame);
        this.counts.accepted++;
        if (frame.command !== Command.Simple) this.lastAccepted = frame.identifier;
        this.record(frame, 'accepted', null, null, verdict.rule, verdict.warnings);
        return;
      case 'reject':
        if (verdict.effect !== null) this.apply(verdict.effect, frame);
        this.reject(frame, verdict.status, verdict.explanation, verdict.rule, verdict.warnings, verdict.delayMs ?? undefined);
        return;
      case 'shutdown': {
        const lastAccepted = this.lastAccepted ?? 0;
        this.fail(verdict.explanation);
        this.counts.discarded++;
        const words = `gateway ${verdict.explanation}; the last accepted identifier was ${lastAccepted}`;
        this.record(frame, 'discarded', Status.Shutdown, words, verdict.rule);
        this.sendError(Status.Shutdown, lastAccepted, verdict.delayMs ?? undefined);
        return;
      }
      case 'close':
        this.fail(verdict.failure);
        this.counts.discarded++;
        this.record(frame, 'discarded', null, verdict.explanation, verdict.rule);
        this.closeSilently();
        return;
      case 'drop':
        this.fail(verdict.failure);
        this.counts.discarded++;
        this.record(frame, 'discarded', null, verdict.explanation, verdict.rule);
        this.drop();
        return;
      case 'goaway':
      case 'reset':
        // The rule set passes over rules whose action is HTTP/2's only.
        throw new Error(`the binary gateway has no ${verdict.kind} (rule ${verdict.rule})`);
    }
  }

  /** What a rule that did not decide leaves on the connection. */
  private apply(effect: Effect, frame: DecodedFrame): void {
    switch (effect.kind) {
      case 'delay':
        this.ruleErrorDelayMs = effect.ms;
        return;
      case 'stall':
        this.socket.pause();
        this.later(effect.ms, () => {
          if (this.state !== 'closed') this.socket.resume();
        });
        return;
      case 'dropAfter':
        this.dropAt = Math.min(this.dropAt, frame.streamOffset + frame.bytes.length + effect.bytes);
        this.dropReason = effect.explanation;
        return;
      case 'uninstalled':
        return;
    }
  }

  private reject(
    frame: DecodedFrame,
    status: number,
    reason: string,
    rule: string | null = null,
    warnings?: PayloadWarning[],
    delayMs?: number,
  ): void {
    this.counts.rejected++;
    this.fail(reason);
    this.record(frame, 'rejected', status, reason, rule, warnings);
    if (frame.command === Command.Simple) this.closeSilently();
    // A decoded frame has its 32-byte token, so its identifier is echoed even for a status-2 rule:
    // Apple's identifier 0 belonged to a missing token, and Pushy's flush marker relies on that.
    else this.sendError(status, frame.identifier, delayMs);
  }

  private rejectMalformed(error: BinaryProtocolError): void {
    // A sender's flush marker is recorded as it was (status 2) but counted as no rejection.
    const marker = isFlushMarker(error.bytes);
    if (!marker) this.counts.rejected++;
    const reason = describeFailure(error, this.options.limits);
    this.fail(reason);
    this.options.recorder.add({
      connection: this.info,
      command: error.command,
      identifier: error.command === Command.Simple || error.status === null ? null : error.identifier,
      expiry: error.expiry ?? null,
      priority: error.priority ?? null,
      bytes: error.bytes,
      token: error.token ?? null,
      outcome: 'rejected',
      status: error.status,
      reason,
      marker: marker ? true : null,
    });
    // Command 0 carries no identifier and an unknown command cannot be answered: Apple just closed.
    if (error.status === null || error.command === Command.Simple) this.closeSilently();
    else this.sendError(error.status, error.identifier);
  }

  private recordDiscarded(event: DecodeEvent): void {
    this.counts.discarded++;
    const reason = `discarded: the connection had already failed (${this.failedAt})`;
    if (event.kind === 'frame') {
      this.record(event, 'discarded', null, reason, null);
      return;
    }
    this.options.recorder.add({
      connection: this.info,
      command: event.command,
      identifier: event.command === Command.Simple ? null : event.identifier,
      bytes: event.bytes,
      token: event.token ?? null,
      outcome: 'discarded',
      reason: `${reason}; malformed too: ${event.message}`,
    });
  }

  private record(
    frame: DecodedFrame,
    outcome: RecordInput['outcome'],
    status: number | null,
    reason: string | null,
    rule: string | null,
    warnings?: RecordInput['warnings'],
  ): void {
    const legacy = frame.command !== Command.Frame;
    const input = (this.frameInput ??= { connection: this.info, frame, identifier: null, expiry: null, outcome, status, reason, rule });
    input.frame = frame;
    input.identifier = frame.command === Command.Simple ? null : frame.identifier;
    input.expiry = frame.command === Command.Simple ? null : legacy || frame.hasItem(4) ? frame.expiry : null;
    input.outcome = outcome;
    input.status = status;
    input.reason = reason;
    input.rule = rule;
    input.warnings = warnings;
    this.options.recorder.pushFrame(input);
  }

  private fail(reason: string): void {
    this.state = 'failing';
    this.failedAt = reason;
  }

  private sendError(status: number, identifier: number, delayMs?: number): void {
    const delay = delayMs ?? this.ruleErrorDelayMs ?? this.options.errorDelayMs;
    const packet = encodeErrorResponse(status, identifier);
    // The 6 bytes go out in one write together with the close: some clients see the close first otherwise.
    const send = () => {
      if (this.socket.destroyed) return;
      this.socket.end(packet);
      this.lingerThenDestroy();
    };
    if (delay > 0) this.later(delay, send);
    else send();
  }

  private closeSilently(): void {
    if (this.socket.destroyed) return;
    this.socket.end();
    this.lingerThenDestroy();
  }

  private drop(): void {
    if (this.state === 'open') this.fail(this.dropReason);
    // Only a TCP handle can be reset: TLSSocket.resetAndDestroy() throws ERR_INVALID_HANDLE_TYPE,
    // so the reset goes to the TCP socket under the TLS one.
    const tcp = (this.socket as TLSSocket & { _parent?: Socket | null })._parent;
    if (tcp && typeof tcp.resetAndDestroy === 'function' && !tcp.destroyed) tcp.resetAndDestroy();
    this.socket.destroy();
  }

  /** A frame that the drop point cut: only its first bytes arrived before the reset. */
  private recordCutByDrop(command: number, bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.notifications++;
    this.counts.discarded++;
    this.options.recorder.add({
      connection: this.info,
      command,
      bytes,
      outcome: 'discarded',
      reason: `discarded: the connection had already failed (${this.dropReason}); its last frame was cut off too`,
    });
  }

  /** Notes when the frame in progress began, and arms one timer for the connection. */
  private watchFrame(): void {
    const start = this.decoder.streamOffset - this.decoder.pendingBytes;
    if (start === this.frameStart || this.state !== 'open') return;
    this.frameStart = start;
    this.frameSince = Date.now();
    if (!this.frameTimerArmed) {
      this.frameTimerArmed = true;
      this.later(this.options.frameTimeoutMs!, (this.frameTimer ??= () => this.onFrameTimer()));
    }
  }

  /** Made when a frame first straddles two chunks: an idle connection holds no closure for it. */
  private frameTimer: (() => void) | null = null;

  private onFrameTimer(): void {
    this.frameTimerArmed = false;
    const timeout = this.options.frameTimeoutMs!;
    if (this.state !== 'open' || this.decoder.pendingBytes === 0) return;
    // A stall rule paused the reading: that time is the gateway's, not the sender's.
    if (this.socket.isPaused()) this.frameSince = Date.now();
    const waited = Date.now() - this.frameSince;
    if (waited < timeout) {
      this.frameTimerArmed = true;
      this.later(timeout - waited, this.frameTimer!);
      return;
    }
    this.frameTimedOut = true;
    const incomplete = this.decoder.end();
    this.fail(`slow sender: a frame was still incomplete ${waited} ms after its first bytes`);
    if (incomplete !== null) {
      this.options.recorder.add({
        connection: this.info,
        command: incomplete.command,
        bytes: incomplete.bytes,
        outcome: 'incomplete',
        reason: describeSlow(incomplete.bytes, this.options.limits, timeout, waited),
      });
    }
    this.closeSilently();
  }

  private lingerThenDestroy(): void {
    this.later(this.options.lingerMs, () => this.socket.destroy());
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers?.delete(timer);
      fn();
    }, ms);
    (this.timers ??= new Set()).add(timer);
  }

  private onClose(): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    for (const timer of this.timers ?? []) clearTimeout(timer);
    this.timers = null;
    let incomplete = this.decoder.end();
    if (incomplete !== null && incomplete.streamOffset + incomplete.bytes.length > this.dropAt) {
      // Bytes past a drop rule's point were read in the same chunk but never arrived, as far as the rule goes.
      const kept = Math.max(0, this.dropAt - incomplete.streamOffset);
      incomplete = kept === 0 ? null : { ...incomplete, bytes: incomplete.bytes.subarray(0, kept) };
    }
    if (incomplete !== null) {
      this.options.recorder.add({
        connection: this.info,
        command: incomplete.command,
        bytes: incomplete.bytes,
        outcome: wasOpen ? 'incomplete' : 'discarded',
        reason: wasOpen
          ? describeIncomplete(incomplete.bytes, this.options.limits)
          : `discarded: the connection had already failed (${this.failedAt}); its last frame was cut off too`,
      });
      if (!wasOpen) this.counts.discarded++;
    }
    this.onClosed(this);
  }
}
