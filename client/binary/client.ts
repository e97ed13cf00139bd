import { EventEmitter } from 'node:events';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import { Command, Status, encodeEnhanced, tokenBytes, writeNotification, type NotificationCommand } from '../../protocol/binary/index.js';
import { backoffDelay, backoffOf, type Backoff } from '../../common/backoff.js';
import { GatewayConnection, errorCode, handshakeClosedError, type ConnectionEnd } from './connection.js';
import { Deque } from '../shared/deque.js';
import { endpointOf, type Endpoint } from '../shared/hosts.js';
import { IdentifierSequence } from './identifiers.js';
import { Batch, Entry, EnqueuedNotification } from './entry.js';
import { FrameBlocks, BLOCK_BYTES } from './frame-blocks.js';
import {
  ClientClosedError,
  GatewayUnreachableError,
  HandshakeClosedError,
  NotBinaryGatewayError,
  SilentCloseError,
  rejected,
  type SendOutcome,
} from './outcome.js';
import type {
  BinaryClientEvents,
  BinaryClientOptions,
  BinaryClientStats,
  ClientNotification,
  Enqueued,
  FlushMode,
  SendManyOptions,
  SendOptions,
} from './options.js';
import { checkCredentials, tlsOptionsOf } from '../shared/tls.js';

interface Session {
  conn: GatewayConnection;
  /** Written on this connection and not yet proven, in write order. */
  written: Entry[];
  /** `written` is one group resent to find out what a silent close was about. */
  probe: boolean;
  marker: boolean;
  wroteAny: boolean;
}

/** Pushy's flush: command 1, token length 0, payload length 0; answered with status 2, identifier 0. */
const MARKER = encodeEnhanced({ token: Buffer.alloc(0), payload: Buffer.alloc(0), identifier: 0 });
/** The most handed to the socket in one write. */
const WRITE_BYTES = BLOCK_BYTES;
/** A connection opened ahead that nothing used for this long is closed. */
const SPARE_IDLE_MS = 1000;

/**
 * sendMany() lets the event loop turn after about a write block's worth of notifications, so
 * the first frames are on the wire while the next are encoded (the gateway works meanwhile).
 */
const YIELD_EVERY = 512;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

interface FlushWaiter {
  /** Entries submitted up to this one are what it waits for. */
  seq: number;
  left: number;
  done: () => void;
}

/** Certificate and handshake failures: retrying cannot help. */
function isPermanentTlsError(error: Error | null): boolean {
  const code = errorCode(error);
  return /^ERR_SSL_|^ERR_TLS_CERT|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code);
}

/**
 * A sender for the legacy binary protocol. It keeps what it wrote until that is proven (Apple
 * acknowledges nothing): an error response proves everything before the failed notification
 * and rejects that one; everything after it was discarded and is written again on a new
 * connection. See the README for the rules after a shutdown and a silent close.
 */
export class BinaryClient extends EventEmitter<BinaryClientEvents> {
  readonly endpoint: Endpoint;
  private readonly tls: ConnectionOptions;
  private readonly command: NotificationCommand;
  private readonly bufferSize: number;
  /**
   * A connection carries this many, then its marker (marker mode): half the buffer, so the
   * other half is written on the next connection while the first one's answer is in flight.
   */
  private readonly proofEvery: number;
  private readonly flushMode: FlushMode;
  private readonly errorWindowMs: number;
  private readonly idleFlushMs: number | false;
  private readonly maxAttempts: number;
  private readonly backoff: Backoff;
  private readonly connectTimeoutMs: number;
  private readonly identifiers: IdentifierSequence;

  /** Submitted while the buffer was full, in order; encoded when admitted. */
  private readonly waiting = new Deque<Entry>();
  /** Admitted (encoded) and not yet written on the current connection. */
  private readonly queue = new Deque<Entry>();
  private readonly probes: Entry[][] = [];
  private readonly blocks = new FrameBlocks();
  /** sendMany() calls waiting for room in the buffer. */
  private roomWaiters: (() => void)[] = [];
  private flushWaiters: FlushWaiter[] = [];
  private submitted = 0;
  /** Submitted (admitted or waiting) and without an outcome yet. */
  private unsettled = 0;
  private held = 0;
  /** A connection opened while a proof's answer was in flight, for the work after it. */
  private spare: Promise<GatewayConnection | Error> | null = null;
  private spareTimer: NodeJS.Timeout | null = null;
  /** The session being written. */
  private session: Session | null = null;
  /** Sessions whose marker is written, waiting for its answer while the next connection is written. */
  private readonly inFlight = new Set<Session>();
  private sessionEnded: (() => void) | null = null;
  private running: Promise<void> | null = null;
  private wakeup: (() => void) | null = null;
  private flushing = 0;
  private failures = 0;
  private lastError: Error | null = null;
  private tlsSession: Buffer | null = null;
  private closing = false;
  private closed = false;
  private destroyed = false;
  private closePromise: Promise<void> | null = null;
  private sleepTimer: { timer: NodeJS.Timeout; done: () => void } | null = null;
  private readonly counts = { connections: 0, written: 0, accepted: 0, rejected: 0, failed: 0, resent: 0, drainWaits: 0, maxHeld: 0 };

  constructor(options: BinaryClientOptions) {
    super();
    checkCredentials(options);
    this.endpoint = endpointOf('gateway', options);
    this.tls = tlsOptionsOf(this.endpoint, options);
    // A wrong passphrase or a key that does not match its certificate throws here, not on every connection.
    this.tls.secureContext = createSecureContext(this.tls);
    this.command = checkCommand(options.command ?? Command.Frame);
    this.bufferSize = positiveInteger(options.bufferSize ?? 1000, 'bufferSize');
    this.flushMode = options.flush ?? 'marker';
    this.proofEvery = this.bufferSize;
    if (this.flushMode !== 'marker' && this.flushMode !== 'error-window')
      throw new RangeError(`flush must be 'marker' or 'error-window'; got ${String(this.flushMode)}`);
    this.errorWindowMs = nonNegative(options.errorWindowMs ?? 500, 'errorWindowMs');
    this.idleFlushMs = options.idleFlushMs === false ? false : nonNegative(options.idleFlushMs ?? 200, 'idleFlushMs');
    this.maxAttempts = positiveInteger(options.maxAttempts ?? 3, 'maxAttempts');
    this.backoff = backoffOf(options.reconnect);
    this.connectTimeoutMs = positiveInteger(options.connectTimeoutMs ?? 10_000, 'connectTimeoutMs');
    this.identifiers = new IdentifierSequence(options.firstIdentifier ?? 1);
  }

  /** Sends one notification; resolves with its outcome once it is known. */
  send(notification: ClientNotification, options: SendOptions = {}): Promise<SendOutcome> {
    const refused = this.refusal(notification);
    if (refused !== null) return refusedPromise(refused);
    return this.take(notification, commandOf(options, this.command)).outcome();
  }

  /**
   * Resolves once the client has taken the notification (at once unless the buffer is full),
   * with its outcome still to come. Awaiting it in a loop keeps memory bounded.
   */
  enqueue(notification: ClientNotification, options: SendOptions = {}): Promise<Enqueued> {
    const refused = this.refusal(notification);
    if (refused !== null) return refusedPromise(refused);
    let command: NotificationCommand;
    try {
      command = commandOf(options, this.command);
    } catch (error) {
      return refusedPromise(error as Error);
    }
    const e = this.take(notification, command);
    if (e.admitted || e.settled) return Promise.resolve(new EnqueuedNotification(e.admitted ? e.identifier || null : null, e));
    return new Promise((resolve) => (e.taken = (identifier) => resolve(new EnqueuedNotification(identifier, e))));
  }

  /**
   * Sends every notification of `notifications` (an array, any iterable, or an async iterable
   * read only as fast as the buffer has room) and resolves once each has its outcome: the
   * outcomes in the same order, or, with `onOutcome`, an empty array while each outcome goes
   * to it as it settles (nothing kept: memory stays bounded by `bufferSize` however long the
   * source). A notification without a token gets a failed outcome; an error thrown by the
   * source rejects once the notifications read before it have their outcomes.
   */
  async sendMany(
    notifications: Iterable<ClientNotification> | AsyncIterable<ClientNotification>,
    options: SendManyOptions = {},
  ): Promise<SendOutcome[]> {
    if (this.closing) throw new ClientClosedError('the client is closed; create another to send');
    const command = commandOf(options, this.command);
    const batch = new Batch(options.onOutcome);
    let index = 0;
    let failed = false;
    let failure: unknown;
    try {
      if (Symbol.iterator in Object(notifications)) {
        for (const n of notifications as Iterable<ClientNotification>) {
          while (this.isFull() && !this.closing) await this.room();
          if (!this.addToBatch(n, command, batch, index++)) break;
          if (index % YIELD_EVERY === 0) await nextTurn();
        }
      } else {
        for await (const n of notifications as AsyncIterable<ClientNotification>) {
          while (this.isFull() && !this.closing) await this.room();
          if (!this.addToBatch(n, command, batch, index++)) break;
          if (index % YIELD_EVERY === 0) await nextTurn();
        }
      }
    } catch (error) {
      failed = true;
      failure = error;
    }
    this.flushing++;
    this.wake();
    try {
      await batch.done();
    } finally {
      this.flushing--;
    }
    if (failed) throw failure;
    return batch.outcomes ?? [];
  }

  /** Resolves when every notification sent so far has its outcome. */
  async flush(): Promise<void> {
    if (this.unsettled === 0) return;
    let done!: () => void;
    const flushed = new Promise<void>((resolve) => (done = resolve));
    this.flushWaiters.push({ seq: this.submitted, left: this.unsettled, done });
    this.flushing++;
    this.wake();
    try {
      await flushed;
    } finally {
      this.flushing--;
    }
  }

  /** Flushes, then closes the connection. Later sends are refused. */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      this.closing = true;
      this.releaseRoom();
      await this.flush();
      this.closed = true;
      this.wake();
      await this.running;
      this.dropSpare();
    })();
    return this.closePromise;
  }

  /** Closes at once: whatever has no outcome yet fails with ClientClosedError. */
  destroy(): void {
    if (this.destroyed) return;
    this.closing = this.closed = this.destroyed = true;
    const error = new ClientClosedError('the client was destroyed before the outcome was known');
    this.failAll(error);
    for (const s of this.session === null ? this.inFlight : [this.session, ...this.inFlight]) {
      for (const entry of s.written) this.fail(entry, error);
      s.conn.destroy();
    }
    this.dropSpare();
    this.releaseRoom();
    this.sleepTimer?.done();
    this.wake();
  }

  stats(): BinaryClientStats {
    const { connections, written, accepted, rejected, failed, resent, drainWaits, maxHeld } = this.counts;
    return { held: this.held, maxHeld, waiting: this.waiting.length, connections, written, accepted, rejected, failed, resent, drainWaits };
  }

  /** Why a notification cannot be taken at all (send() and enqueue() reject with it), or null. */
  private refusal(notification: ClientNotification): Error | null {
    if (this.closing) return new ClientClosedError('the client is closed; create another to send');
    // Token length 0 is the flush marker's signature (status 2, identifier 0): never send it as a notification.
    if (notification === null || typeof notification !== 'object' || !hasToken(notification.token)) {
      return new TypeError('a notification needs a device token (non-empty hex or bytes)');
    }
    return null;
  }

  /** A new entry, admitted (encoded) at once when there is room, else waiting its turn. */
  private take(notification: ClientNotification, command: NotificationCommand): Entry {
    const e = new Entry(++this.submitted, notification, command);
    this.enter(e);
    return e;
  }

  /** Admits (encodes) an entry at once when there is room, else queues it behind those waiting. */
  private enter(e: Entry): void {
    this.unsettled++;
    if (this.waiting.length === 0 && this.held < this.bufferSize) {
      if (this.admit(e)) {
        this.wake();
        this.ensureRunning();
      }
    } else {
      this.waiting.push(e);
    }
  }

  /** One notification of a sendMany(); false once the client is closing (the rest are not read). */
  private addToBatch(notification: ClientNotification, command: NotificationCommand, batch: Batch, index: number): boolean {
    batch.added();
    const refused = this.refusal(notification);
    if (refused !== null) {
      this.counts.failed++;
      batch.settle(index, { status: 'failed', error: refused, identifier: null, attempts: 0, possibleDuplicate: false });
      return !this.closing;
    }
    const e = new Entry(++this.submitted, notification, command);
    e.batch = batch;
    e.index = index;
    this.enter(e);
    return true;
  }

  private isFull(): boolean {
    return this.held >= this.bufferSize || this.waiting.length > 0;
  }

  /** Resolves when the buffer has room (or the client is closing). */
  private room(): Promise<void> {
    return new Promise((resolve) => {
      this.roomWaiters.push(resolve);
      // The loop proves what it holds when someone waits for room.
      this.wake();
      this.ensureRunning();
    });
  }

  private releaseRoom(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }

  /** Encodes the entry into the write blocks and queues it; false when it cannot be encoded (it fails). */
  private admit(e: Entry): boolean {
    const identifier = e.command === Command.Simple ? 0 : this.identifiers.next();
    e.identifier = identifier;
    try {
      e.start = writeNotification(e.notification!, identifier, e.command, this.blocks);
    } catch (error) {
      this.settle(e, { status: 'failed', error: error as Error, identifier: identifier || null, attempts: 0, possibleDuplicate: false });
      return false;
    }
    e.block = this.blocks.buffer;
    e.length = this.blocks.used - e.start;
    if (this.listenerCount('outcome') === 0) e.notification = null;
    e.admitted = true;
    if (++this.held > this.counts.maxHeld) this.counts.maxHeld = this.held;
    this.queue.push(e);
    return true;
  }

  /** Moves waiting notifications into the buffer while there is room. */
  private admitWaiting(): void {
    let admitted = false;
    while (this.held < this.bufferSize && this.waiting.length > 0) {
      const e = this.waiting.shift()!;
      const ok = this.admit(e);
      e.taken?.(ok ? e.identifier || null : null);
      e.taken = null;
      admitted ||= ok;
    }
    if (admitted) {
      this.wake();
      this.ensureRunning();
    }
  }

  private ensureRunning(): void {
    this.running ??= this.run().finally(() => {
      this.running = null;
      // Work that arrived while the loop was finishing.
      if (!this.destroyed && this.hasWork()) this.ensureRunning();
    });
  }

  private hasWork(): boolean {
    return this.queue.length > 0 || this.probes.length > 0 || this.waiting.length > 0;
  }

  private async run(): Promise<void> {
    this.keepSpare();
    while (!this.destroyed) {
      if (!this.hasWork()) {
        if (this.inFlight.size === 0) break;
        // A proof in flight may bring resends.
        await new Promise<void>((resolve) => (this.sessionEnded = resolve));
        continue;
      }
      const conn = await this.connect();
      if (conn !== null) await this.serve(conn);
      this.checkFailures();
    }
    // Destroyed: anything a write left aside still gets its outcome.
    if (this.destroyed) this.failAll(new ClientClosedError('the client was destroyed before the outcome was known'));
    else if (this.spare !== null) this.spareTimer = setTimeout(() => this.dropSpare(), SPARE_IDLE_MS).unref();
  }

  /** Too many connections in a row failed or closed without an answer: everything held fails. */
  private checkFailures(): void {
    if (this.failures <= this.backoff.retries) return;
    this.failAll(
      new GatewayUnreachableError(
        `${this.failures} connections in a row to ${this.endpoint.host}:${this.endpoint.port} failed or closed without an answer` +
          (this.lastError ? `; last error: ${this.lastError.message}` : ''),
        { cause: this.lastError ?? undefined },
      ),
    );
    this.failures = 0;
  }

  /** Opens a connection; resolves with it or with the error (never rejects). */
  private open(): Promise<GatewayConnection | Error> {
    return GatewayConnection.open(
      this.tlsSession === null ? this.tls : { ...this.tls, session: this.tlsSession },
      this.connectTimeoutMs,
      () => this.wake(),
      (session) => (this.tlsSession = session),
    ).catch((error: unknown) => error as Error);
  }

  /** While a marker's answer is in flight, the connection for the work after it opens (after a failure, backoff decides). */
  private preopen(): void {
    if (this.spare !== null || this.failures > 0 || this.closed) return;
    if (this.waiting.length === 0 && this.roomWaiters.length === 0 && this.queue.length === 0 && this.probes.length === 0) return;
    this.spare = this.open();
  }

  private keepSpare(): void {
    if (this.spareTimer !== null) clearTimeout(this.spareTimer);
    this.spareTimer = null;
  }

  private dropSpare(): void {
    this.keepSpare();
    const spare = this.spare;
    this.spare = null;
    void spare?.then((conn) => conn instanceof GatewayConnection && conn.destroy());
  }

  private async connect(): Promise<GatewayConnection | null> {
    const wait = backoffDelay(this.backoff, this.failures);
    if (wait > 0) await this.sleep(wait);
    if (this.destroyed) return null;
    const id = ++this.counts.connections;
    const opening = this.spare ?? this.open();
    this.spare = null;
    const opened = await opening;
    if (opened instanceof GatewayConnection) {
      if (this.destroyed) {
        opened.destroy();
        return null;
      }
      opened.id = id;
      this.emit('connected', { connection: id, host: this.endpoint.host, port: this.endpoint.port });
      return opened;
    }
    this.tlsSession = null;
    this.failures++;
    this.lastError = opened;
    this.emitError(opened);
    if (opened instanceof HandshakeClosedError) {
      this.failAll(opened);
      this.failures = 0;
    } else if (isPermanentTlsError(opened)) {
      this.failAll(
        new GatewayUnreachableError(`TLS with ${this.endpoint.host}:${this.endpoint.port} failed: ${opened.message}`, { cause: opened }),
      );
      this.failures = 0;
    }
    return null;
  }

  /** Writes on one connection until it ends, then settles what it carried. */
  private async serve(conn: GatewayConnection): Promise<void> {
    const s: Session = { conn, written: [], probe: false, marker: false, wroteAny: false };
    this.session = s;
    while (!conn.finished && !this.destroyed) {
      if (s.marker) break;
      if (this.probes.length > 0) {
        // A probe group goes alone, then is proven, so a silent close says something about it.
        if (s.written.length > 0) {
          await this.checkpoint(s);
          continue;
        }
        const group = new Deque(this.probes.shift());
        s.probe = true;
        await this.write(s, group, Infinity);
        if (group.length > 0) this.probes.unshift(group.drain());
        else await this.checkpoint(s);
        continue;
      }
      if (this.queue.length > 0) {
        // One turn of the event loop lets a sender's loop queue more: a TLS record per notification costs both ends dearly.
        await nextTurn();
        if (conn.finished || this.destroyed) break;
        await this.write(s, this.queue, this.proofEvery - s.written.length);
        if (this.flushMode === 'marker' && s.written.length >= this.proofEvery) await this.checkpoint(s);
        continue;
      }
      if (s.written.length > 0 && (this.flushing > 0 || this.waiting.length > 0 || this.roomWaiters.length > 0 || this.closing)) {
        await this.checkpoint(s);
        continue;
      }
      if (s.written.length === 0 && this.closed) {
        conn.end();
        break;
      }
      const why = await this.idle(s.written.length > 0 ? this.idleFlushMs : false);
      if (why === 'timeout') await this.checkpoint(s);
    }
    this.session = null;
    if (s.marker && !this.destroyed) {
      this.preopen();
      this.detach(s);
      return;
    }
    const end = await conn.ended;
    if (!this.destroyed) this.settleEnd(s, end);
  }

  /** Settles a session when its connection ends, while the loop goes on to the next connection. */
  private detach(s: Session): void {
    this.inFlight.add(s);
    void s.conn.ended.then((end) => {
      this.inFlight.delete(s);
      if (!this.destroyed) {
        this.settleEnd(s, end);
        this.checkFailures();
      }
      this.wake();
      const ended = this.sessionEnded;
      this.sessionEnded = null;
      ended?.();
    });
  }

  /**
   * Writes up to `budget` entries from the front of `source`, as views of the blocks they were
   * encoded in (consecutive frames of one block go in one write), waiting for 'drain' when the
   * socket asks. What is not written stays in `source`.
   */
  private async write(s: Session, source: Deque<Entry>, budget: number): Promise<void> {
    const listening = this.listenerCount('transmitted') > 0;
    const conn = s.conn;
    while (budget > 0 && source.length > 0) {
      if (conn.finished || this.destroyed) return;
      let e = source.shift()!;
      const block = e.block!;
      const start = e.start;
      let end = start + e.length;
      let n = 0;
      for (;;) {
        e.attempts++;
        s.written.push(e);
        n++;
        if (listening)
          this.emit('transmitted', { connection: conn.id, identifier: e.identifier || null, command: e.command, attempt: e.attempts });
        const next = source.peek();
        if (next === undefined || n >= budget || next.block !== block || next.start !== end || end + next.length - start > WRITE_BYTES)
          break;
        source.shift();
        e = next;
        end += next.length;
      }
      budget -= n;
      this.counts.written += n;
      s.wroteAny = true;
      if (!conn.write(block.subarray(start, end))) {
        this.counts.drainWaits++;
        await conn.drain();
      }
    }
  }

  /** Proves what this connection carries: the marker (then the connection ends), or a quiet error window. */
  private async checkpoint(s: Session): Promise<void> {
    if (s.written.length === 0 || s.conn.finished) return;
    if (this.flushMode === 'marker') {
      s.marker = true;
      s.conn.write(MARKER);
      return;
    }
    while (s.conn.pendingBytes > 0 && !s.conn.finished && !this.destroyed) await this.sleep(5);
    await this.sleep(this.errorWindowMs, () => s.conn.finished);
    if (s.conn.finished || this.destroyed) return;
    const proven = s.written;
    s.written = [];
    s.probe = false;
    this.failures = 0;
    for (const e of proven) this.accept(e);
  }

  /** How a connection's end settles what it carried (the resend rules, in one place). */
  private settleEnd(s: Session, end: ConnectionEnd): void {
    const { written } = s;
    const response = end.errorResponse;
    this.emit('closed', { connection: s.conn.id, errorResponse: response, error: end.error, unconfirmed: written.length });
    if (end.error !== null && response === null) {
      this.lastError = end.error;
      this.emitError(end.error);
    }
    if (response !== null) {
      this.failures = 0;
      if (response.status !== Status.Shutdown) {
        this.emitError(
          Object.assign(new Error(`error response: status ${response.status}, identifier ${response.identifier}`), {
            code: 'ERR_APNS_ERROR_RESPONSE',
            response,
          }),
        );
      }
      if (response.status === Status.Shutdown) {
        // The identifier is the last one accepted; frames after it were discarded. Command 0 has
        // no identifier, so a command-0 frame after it may have been accepted too.
        const at = response.identifier === 0 ? -1 : indexOf(written, response.identifier);
        for (const e of written.slice(0, at + 1)) this.accept(e);
        const after = written.slice(at + 1);
        this.resend(
          s,
          after.filter((e) => e.command !== Command.Simple),
          `shutdown (status 10) after identifier ${response.identifier}`,
        );
        const doubtful = after.filter((e) => e.command === Command.Simple);
        if (doubtful.length > 0) this.doubt({ ...s, written: doubtful, probe: false }, 'command 0 after a shutdown');
        return;
      }
      if (s.marker && response.status === Status.MissingDeviceToken && response.identifier === 0) {
        for (const e of written) this.accept(e);
        return;
      }
      const at = indexOf(written, response.identifier);
      if (at < 0) {
        this.doubt(
          s,
          `error response status ${response.status} for identifier ${response.identifier}, which was not among those unproven on the connection`,
        );
        return;
      }
      for (const e of written.slice(0, at)) this.accept(e);
      const failed = written[at];
      this.settle(failed, rejected(response.status, failed.identifier, failed.attempts, failed.possibleDuplicate));
      this.resend(s, written.slice(at + 1), `discarded after the error for identifier ${failed.identifier}`);
      return;
    }
    if (end.handshakeClosed || end.unreadable) {
      // Resending on another connection would meet the same answer: every notification held fails now.
      const where = `${this.endpoint.host}:${this.endpoint.port}`;
      const error = end.unreadable
        ? new NotBinaryGatewayError(
            `${where} answered with bytes that are not a binary error response: it does not speak the binary protocol ` +
              '(an HTTP/2 API? apns-mock serve has its binary gateway on 2195 and HTTP/2 on 2197)',
          )
        : handshakeClosedError(where, end.error);
      this.lastError = error;
      for (const e of written) this.fail(e, error);
      this.failAll(error);
      this.failures = 0;
      return;
    }
    if (isPermanentTlsError(end.error)) {
      // The gateway refused the certificate after the handshake (TLS 1.3): it read nothing.
      const error = new GatewayUnreachableError(`TLS with ${this.endpoint.host}:${this.endpoint.port} failed: ${end.error!.message}`, {
        cause: end.error,
      });
      for (const e of written) this.fail(e, error);
      this.failAll(error);
      return;
    }
    if (written.length === 0) {
      if (!s.wroteAny && this.hasWork()) this.failures++;
      return;
    }
    this.doubt(s, end.error ? `connection failed: ${end.error.message}` : 'connection closed without an error response');
  }

  /**
   * A close that proves nothing: any of these may have been accepted. They are written again
   * as a group that is proven on its own; a group that meets a silent close again is split in
   * two, down to one notification, which fails after `maxAttempts` silent closes alone.
   */
  private doubt(s: Session, reason: string): void {
    const { written } = s;
    for (const e of written) e.possibleDuplicate = true;
    this.counts.resent += written.length;
    if (this.listenerCount('resent') > 0) {
      this.emit('resent', { connection: s.conn.id, identifiers: written.map((e) => e.identifier || null), kind: 'in-doubt', reason });
    }
    if (!s.probe) {
      this.probes.unshift(written);
      return;
    }
    if (written.length > 1) {
      const half = Math.ceil(written.length / 2);
      this.probes.unshift(written.slice(0, half), written.slice(half));
      return;
    }
    const [e] = written;
    e.aloneSilentCloses++;
    this.failures++;
    if (e.aloneSilentCloses >= this.maxAttempts) {
      this.fail(
        e,
        new SilentCloseError(
          `the gateway closed the connection without an error response each of the ${e.aloneSilentCloses} times this notification was sent alone` +
            (e.command === Command.Simple ? ' (command 0 has no error response: this is how a command-0 notification is rejected)' : ''),
        ),
      );
      this.counts.resent--;
    } else {
      this.probes.unshift([e]);
    }
  }

  private resend(s: Session, entries: Entry[], reason: string): void {
    if (entries.length === 0) return;
    this.counts.resent += entries.length;
    this.queue.unshift(entries);
    if (this.listenerCount('resent') > 0) {
      this.emit('resent', { connection: s.conn.id, identifiers: entries.map((e) => e.identifier || null), kind: 'discarded', reason });
    }
  }

  private accept(e: Entry): void {
    this.settle(e, { status: 'accepted', identifier: e.identifier || null, attempts: e.attempts, possibleDuplicate: e.possibleDuplicate });
  }

  private fail(e: Entry, error: Error): void {
    this.settle(e, {
      status: 'failed',
      error,
      identifier: e.identifier || null,
      attempts: e.attempts,
      possibleDuplicate: e.possibleDuplicate,
    });
  }

  private settle(e: Entry, outcome: SendOutcome): void {
    if (e.settled) return;
    e.settled = true;
    e.result = outcome;
    e.block = null;
    this.unsettled--;
    this.counts[outcome.status]++;
    if (e.resolve !== null) e.resolve(outcome);
    if (e.batch !== null) e.batch.settle(e.index, outcome);
    if (this.flushWaiters.length > 0) this.flushed(e.seq);
    if (e.notification !== null && this.listenerCount('outcome') > 0) this.emit('outcome', outcome, e.notification);
    if (!e.admitted) return;
    this.held--;
    if (this.destroyed) return;
    if (this.waiting.length > 0) this.admitWaiting();
    if (this.roomWaiters.length > 0 && this.waiting.length === 0 && this.held < this.bufferSize) this.releaseRoom();
  }

  /** Counts an outcome towards each flush() that waits for it. */
  private flushed(seq: number): void {
    let done = false;
    for (const w of this.flushWaiters) {
      if (seq <= w.seq && --w.left === 0) {
        w.done();
        done = true;
      }
    }
    if (done) this.flushWaiters = this.flushWaiters.filter((w) => w.left > 0);
  }

  /** Every notification held or waiting fails with this error. */
  private failAll(error: Error): void {
    const entries = [...this.queue.drain(), ...this.probes.splice(0).flat(), ...this.waiting.drain()];
    for (const e of entries) {
      if (e.taken !== null) {
        e.taken(null);
        e.taken = null;
      }
      this.fail(e, error);
    }
  }

  private emitError(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  private wake(): void {
    const w = this.wakeup;
    this.wakeup = null;
    w?.();
  }

  /** Waits for work, a flush, the connection's end, or (given) an idle timeout. */
  private idle(timeoutMs: number | false): Promise<'wake' | 'timeout'> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.wakeup = () => {
        clearTimeout(timer);
        resolve('wake');
      };
      if (timeoutMs !== false) {
        timer = setTimeout(() => {
          this.wakeup = null;
          resolve('timeout');
        }, timeoutMs);
      }
    });
  }

  /** A wait that destroy() cuts short; `until` is checked when the connection's state changes. */
  private sleep(ms: number, until?: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.sleepTimer?.timer === timer) this.sleepTimer = null;
        if (this.wakeup === check) this.wakeup = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepTimer = { timer, done };
      const check = () => {
        if (until?.() || this.destroyed) done();
        else this.wakeup = check;
      };
      if (until !== undefined) this.wakeup = check;
    });
  }
}

function indexOf(written: Entry[], identifier: number): number {
  if (identifier === 0) return -1;
  for (let i = written.length - 1; i >= 0; i--) {
    if (written[i].command !== Command.Simple && written[i].identifier === identifier) return i;
  }
  return -1;
}

function commandOf(options: SendOptions, fallback: NotificationCommand): NotificationCommand {
  return options.command === undefined ? fallback : checkCommand(options.command);
}

function refusedPromise(error: Error): Promise<never> {
  return Promise.reject(error);
}

const isHexDigit = (c: number) => (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);

/** Whether the token has at least one byte: hex stops at its first character that is not hex. */
function hasToken(token: ClientNotification['token']): boolean {
  if (typeof token === 'string' && isHexDigit(token.charCodeAt(0)) && isHexDigit(token.charCodeAt(1))) return true;
  try {
    return tokenBytes(token).length > 0;
  } catch {
    return false;
  }
}

function checkCommand(command: unknown): NotificationCommand {
  if (command !== 0 && command !== 1 && command !== 2) throw new RangeError(`command must be 0, 1 or 2; got ${String(command)}`);
  return command;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number >= 1; got ${value}`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value))
    throw new RangeError(`${name} must be a number >= 0; got ${String(value)}`);
  return value;
}
