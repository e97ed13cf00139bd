import { EventEmitter } from 'node:events';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import { Command, Status, encodeEnhanced, encodeNotification, tokenBytes, type NotificationCommand } from '../../protocol/binary/index.js';
import { backoffDelay, backoffOf, type Backoff } from '../../common/backoff.js';
import { GatewayConnection, type ConnectionEnd } from './connection.js';
import { Deque } from '../shared/deque.js';
import { endpointOf, type Endpoint } from '../shared/hosts.js';
import { IdentifierSequence } from './identifiers.js';
import {
  ClientClosedError,
  GatewayUnreachableError,
  SilentCloseError,
  rejected,
  type SendOutcome,
} from './outcome.js';
import type { BinaryClientEvents, BinaryClientOptions, BinaryClientStats, ClientNotification, Enqueued, FlushMode, SendOptions } from './options.js';
import { checkCredentials, tlsOptionsOf } from '../shared/tls.js';

interface Entry {
  identifier: number;
  command: NotificationCommand;
  bytes: Buffer;
  notification: ClientNotification;
  attempts: number;
  /** Silent closes met while sent on its own. */
  aloneSilentCloses: number;
  possibleDuplicate: boolean;
  settled: boolean;
  resolve: (outcome: SendOutcome) => void;
}

interface Waiting {
  notification: ClientNotification;
  command: NotificationCommand;
  taken: (identifier: number | null) => void;
  resolve: (outcome: SendOutcome) => void;
}

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
/** One TLS record holds 16 KB; larger writes only split again. */
const WRITE_BYTES = 16 * 1024;

/** Certificate and handshake failures: retrying cannot help. */
function isPermanentTlsError(error: Error | null): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code ?? '';
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
  private readonly flushMode: FlushMode;
  private readonly errorWindowMs: number;
  private readonly idleFlushMs: number | false;
  private readonly maxAttempts: number;
  private readonly backoff: Backoff;
  private readonly connectTimeoutMs: number;
  private readonly identifiers: IdentifierSequence;

  private readonly waiting = new Deque<Waiting>();
  private readonly queue = new Deque<Entry>();
  private readonly probes: Entry[][] = [];
  private readonly pending = new Set<Promise<SendOutcome>>();
  private held = 0;
  private session: Session | null = null;
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
    if (this.flushMode !== 'marker' && this.flushMode !== 'error-window') throw new RangeError(`flush must be 'marker' or 'error-window'; got ${String(this.flushMode)}`);
    this.errorWindowMs = nonNegative(options.errorWindowMs ?? 500, 'errorWindowMs');
    this.idleFlushMs = options.idleFlushMs === false ? false : nonNegative(options.idleFlushMs ?? 200, 'idleFlushMs');
    this.maxAttempts = positiveInteger(options.maxAttempts ?? 3, 'maxAttempts');
    this.backoff = backoffOf(options.reconnect);
    this.connectTimeoutMs = positiveInteger(options.connectTimeoutMs ?? 10_000, 'connectTimeoutMs');
    this.identifiers = new IdentifierSequence(options.firstIdentifier ?? 1);
  }

  /** Sends one notification; resolves with its outcome once it is known. */
  send(notification: ClientNotification, options: SendOptions = {}): Promise<SendOutcome> {
    return this.submit(notification, options).outcome;
  }

  /**
   * Resolves once the client has taken the notification (at once unless the buffer is full),
   * with its outcome still to come. Awaiting it in a loop keeps memory bounded.
   */
  async enqueue(notification: ClientNotification, options: SendOptions = {}): Promise<Enqueued> {
    const { taken, outcome } = this.submit(notification, options);
    return { identifier: await taken, outcome };
  }

  /** Resolves when every notification sent so far has its outcome. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const all = [...this.pending];
    this.flushing++;
    this.wake();
    try {
      await Promise.all(all);
    } finally {
      this.flushing--;
    }
  }

  /** Flushes, then closes the connection. Later sends are refused. */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      this.closing = true;
      await this.flush();
      this.closed = true;
      this.wake();
      await this.running;
    })();
    return this.closePromise;
  }

  /** Closes at once: whatever has no outcome yet fails with ClientClosedError. */
  destroy(): void {
    if (this.destroyed) return;
    this.closing = this.closed = this.destroyed = true;
    const error = new ClientClosedError('the client was destroyed before the outcome was known');
    this.failAll(error);
    if (this.session !== null) {
      for (const entry of this.session.written) this.fail(entry, error);
      this.session.conn.destroy();
    }
    this.sleepTimer?.done();
    this.wake();
  }

  stats(): BinaryClientStats {
    const { connections, written, accepted, rejected, failed, resent, drainWaits, maxHeld } = this.counts;
    return { held: this.held, maxHeld, waiting: this.waiting.length, connections, written, accepted, rejected, failed, resent, drainWaits };
  }

  private submit(notification: ClientNotification, options: SendOptions): { taken: Promise<number | null>; outcome: Promise<SendOutcome> } {
    if (this.closing) {
      const refused = Promise.reject(new ClientClosedError('the client is closed; create another to send'));
      refused.catch(() => {});
      return { taken: refused as Promise<never>, outcome: refused as Promise<never> };
    }
    const command = checkCommand(options.command ?? this.command);
    // Token length 0 is the flush marker's signature (status 2, identifier 0): never send it as a notification.
    if (notification === null || typeof notification !== 'object' || tokenBytes(notification.token).length === 0) {
      const refused = Promise.reject(new TypeError('a notification needs a device token (non-empty hex or bytes)'));
      refused.catch(() => {});
      return { taken: refused as Promise<never>, outcome: refused as Promise<never> };
    }
    let taken!: (identifier: number | null) => void;
    let resolve!: (outcome: SendOutcome) => void;
    const takenPromise = new Promise<number | null>((r) => (taken = r));
    const outcome = new Promise<SendOutcome>((r) => (resolve = r));
    this.pending.add(outcome);
    this.waiting.push({ notification, command, taken, resolve: (o) => {
      this.pending.delete(outcome);
      resolve(o);
    } });
    this.admit();
    return { taken: takenPromise, outcome };
  }

  /** Moves waiting senders into the buffer while there is room. */
  private admit(): void {
    let admitted = false;
    while (this.held < this.bufferSize && this.waiting.length > 0) {
      const w = this.waiting.shift()!;
      const identifier = w.command === Command.Simple ? 0 : this.identifiers.next();
      let bytes: Buffer;
      try {
        bytes = encodeNotification({ ...w.notification, identifier }, w.command);
      } catch (error) {
        w.taken(null);
        w.resolve({ status: 'failed', error: error as Error, identifier: identifier || null, attempts: 0, possibleDuplicate: false });
        continue;
      }
      const entry: Entry = {
        identifier,
        command: w.command,
        bytes,
        notification: w.notification,
        attempts: 0,
        aloneSilentCloses: 0,
        possibleDuplicate: false,
        settled: false,
        resolve: w.resolve,
      };
      this.held++;
      if (this.held > this.counts.maxHeld) this.counts.maxHeld = this.held;
      this.queue.push(entry);
      w.taken(identifier || null);
      admitted = true;
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
    while (!this.destroyed && this.hasWork()) {
      const conn = await this.connect();
      if (conn !== null) await this.serve(conn);
      if (this.failures > this.backoff.retries) {
        this.failAll(new GatewayUnreachableError(
          `${this.failures} connections in a row to ${this.endpoint.host}:${this.endpoint.port} failed or closed without an answer` +
            (this.lastError ? `; last error: ${this.lastError.message}` : ''),
          { cause: this.lastError ?? undefined },
        ));
        this.failures = 0;
      }
    }
  }

  private async connect(): Promise<GatewayConnection | null> {
    const wait = backoffDelay(this.backoff, this.failures);
    if (wait > 0) await this.sleep(wait);
    if (this.destroyed) return null;
    const id = ++this.counts.connections;
    try {
      const conn = await GatewayConnection.open(
        id,
        this.tlsSession === null ? this.tls : { ...this.tls, session: this.tlsSession },
        this.connectTimeoutMs,
        () => this.wake(),
        (session) => (this.tlsSession = session),
      );
      this.emit('connected', { connection: id, host: this.endpoint.host, port: this.endpoint.port });
      return conn;
    } catch (error) {
      const e = error as Error;
      this.tlsSession = null;
      this.failures++;
      this.lastError = e;
      this.emitError(e);
      if (isPermanentTlsError(e)) {
        this.failAll(new GatewayUnreachableError(`TLS with ${this.endpoint.host}:${this.endpoint.port} failed: ${e.message}`, { cause: e }));
        this.failures = 0;
      }
      return null;
    }
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
        const group = this.probes.shift()!;
        s.probe = true;
        const rest = await this.write(s, group);
        if (rest.length > 0) this.probes.unshift(rest);
        else await this.checkpoint(s);
        continue;
      }
      if (this.queue.length > 0) {
        // One turn of the event loop lets a sender's loop queue more: a TLS record per notification costs both ends dearly.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (conn.finished || this.destroyed) break;
        const batch: Entry[] = [];
        while (this.queue.length > 0 && batch.length < this.bufferSize) batch.push(this.queue.shift()!);
        const rest = await this.write(s, batch);
        this.queue.unshift(rest);
        continue;
      }
      if (s.written.length > 0 && (this.flushing > 0 || this.waiting.length > 0 || this.closing)) {
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
    const end = await conn.ended;
    this.session = null;
    if (!this.destroyed) this.settleEnd(s, end);
  }

  /** Writes entries in chunks, waiting for 'drain' when the socket asks; returns those not written. */
  private async write(s: Session, entries: Entry[]): Promise<Entry[]> {
    let i = 0;
    const listening = this.listenerCount('transmitted') > 0;
    while (i < entries.length) {
      if (s.conn.finished || this.destroyed) return entries.slice(i);
      let end = i;
      let bytes = 0;
      while (end < entries.length && (end === i || bytes + entries[end].bytes.length <= WRITE_BYTES)) bytes += entries[end++].bytes.length;
      const chunk = end - i === 1 ? entries[i].bytes : Buffer.concat(entries.slice(i, end).map((e) => e.bytes), bytes);
      for (let k = i; k < end; k++) {
        const e = entries[k];
        e.attempts++;
        s.written.push(e);
        if (listening) this.emit('transmitted', { connection: s.conn.id, identifier: e.identifier || null, command: e.command, attempt: e.attempts });
      }
      this.counts.written += end - i;
      s.wroteAny = true;
      i = end;
      if (!s.conn.write(chunk)) {
        this.counts.drainWaits++;
        await s.conn.drain();
      }
    }
    return [];
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
        this.emitError(Object.assign(new Error(`error response: status ${response.status}, identifier ${response.identifier}`), { code: 'ERR_APNS_ERROR_RESPONSE', response }));
      }
      if (response.status === Status.Shutdown) {
        // The identifier is the last one accepted; frames after it were discarded. Command 0 has
        // no identifier, so a command-0 frame after it may have been accepted too.
        const at = response.identifier === 0 ? -1 : indexOf(written, response.identifier);
        for (const e of written.slice(0, at + 1)) this.accept(e);
        const after = written.slice(at + 1);
        this.resend(s, after.filter((e) => e.command !== Command.Simple), `shutdown (status 10) after identifier ${response.identifier}`);
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
        this.doubt(s, `error response status ${response.status} for identifier ${response.identifier}, which was not among those unproven on the connection`);
        return;
      }
      for (const e of written.slice(0, at)) this.accept(e);
      const failed = written[at];
      this.settle(failed, rejected(response.status, failed.identifier, failed.attempts, failed.possibleDuplicate));
      this.resend(s, written.slice(at + 1), `discarded after the error for identifier ${failed.identifier}`);
      return;
    }
    if (isPermanentTlsError(end.error)) {
      // The gateway refused the certificate after the handshake (TLS 1.3): it read nothing.
      const error = new GatewayUnreachableError(`TLS with ${this.endpoint.host}:${this.endpoint.port} failed: ${end.error!.message}`, { cause: end.error });
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
      this.fail(e, new SilentCloseError(
        `the gateway closed the connection without an error response each of the ${e.aloneSilentCloses} times this notification was sent alone` +
          (e.command === Command.Simple ? ' (command 0 has no error response: this is how a command-0 notification is rejected)' : ''),
      ));
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
    this.settle(e, { status: 'failed', error, identifier: e.identifier || null, attempts: e.attempts, possibleDuplicate: e.possibleDuplicate });
  }

  private settle(e: Entry, outcome: SendOutcome): void {
    if (e.settled) return;
    e.settled = true;
    this.held--;
    this.counts[outcome.status]++;
    e.resolve(outcome);
    if (this.listenerCount('outcome') > 0) this.emit('outcome', outcome, e.notification);
    if (this.waiting.length > 0 && !this.destroyed) this.admit();
  }

  /** Every notification held or waiting fails with this error. */
  private failAll(error: Error): void {
    const entries = [...this.queue.drain(), ...this.probes.splice(0).flat()];
    for (const e of entries) this.fail(e, error);
    for (const w of this.waiting.drain()) {
      w.taken(null);
      this.counts.failed++;
      w.resolve({ status: 'failed', error, identifier: null, attempts: 0, possibleDuplicate: false });
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

function checkCommand(command: unknown): NotificationCommand {
  if (command !== 0 && command !== 1 && command !== 2) throw new RangeError(`command must be 0, 1 or 2; got ${String(command)}`);
  return command;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number >= 1; got ${value}`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) throw new RangeError(`${name} must be a number >= 0; got ${String(value)}`);
  return value;
}
