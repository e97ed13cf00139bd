import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

/** RFC 9113, 4.1 and 6.5: a frame header is 9 bytes; SETTINGS is type 0x4; each setting 6 bytes, id 0x3 the stream limit. */
const FRAME_HEADER = 9;
const SETTINGS = 0x4;
const ACK = 0x1;
const SETTING_BYTES = 6;
const MAX_CONCURRENT_STREAMS = 0x3;

type Listener = (...args: unknown[]) => void;
type WriteCallback = (error?: Error | null) => void;

/**
 * Lies between a TLS socket and node's HTTP/2 session and changes one thing: the stream limit
 * in the server's first SETTINGS frame (its connection preface, RFC 9113 section 3.4) reads
 * `announced`. node (nghttp2) then enforces the limit it was given, not the one announced, and
 * refuses nothing by itself before the client acknowledged: the connection decides what
 * happens to streams beyond the announced limit (held, or refused). Every later byte passes
 * through unchanged.
 *
 * nghttp2 refuses a stream beyond the limit of the last SETTINGS it submitted, acknowledged or
 * not, and a SETTINGS frame it did not send would earn an ACK it does not expect (a connection
 * error): so the rewrite has to sit between the session and the socket. A session over anything
 * but a native stream goes through node's JSStreamSocket, which asks only this much of a
 * stream. It is not a stream.Duplex: reads are the TLS socket's own 'data' events (the
 * session's listeners are added to the socket itself), and a write goes straight to the socket,
 * done as soon as the socket takes it (JSStreamSocket lets the session write again only once
 * every buffer of a write is done; waiting for each TLS write to complete cost a turn of the
 * event loop per write).
 */
export class AnnouncedSettings {
  /** The start of the session's output until its first frame is whole; null once it went out. */
  private head: Buffer | null = Buffer.alloc(0);

  constructor(
    private readonly socket: TLSSocket,
    private readonly announced: number,
  ) {}

  /** What performServerHandshake takes; JSStreamSocket uses only the members below. */
  asDuplex(): Duplex {
    return this as unknown as Duplex;
  }

  get _readableState(): unknown {
    return (this.socket as unknown as { _readableState: unknown })._readableState;
  }
  get readable(): boolean {
    return this.socket.readable;
  }
  get writable(): boolean {
    return this.socket.writable;
  }

  on(event: string, listener: Listener): this {
    this.socket.on(event, listener);
    return this;
  }
  once(event: string, listener: Listener): this {
    this.socket.once(event, listener);
    return this;
  }
  removeListener(event: string, listener: Listener): this {
    this.socket.removeListener(event, listener);
    return this;
  }
  off(event: string, listener: Listener): this {
    return this.removeListener(event, listener);
  }

  pause(): this {
    this.socket.pause();
    return this;
  }
  resume(): this {
    this.socket.resume();
    return this;
  }
  cork(): void {
    this.socket.cork();
  }
  uncork(): void {
    this.socket.uncork();
  }

  write(chunk: Buffer, callback: WriteCallback): boolean {
    // A session still writing to a closed socket: nothing to do, and nobody to tell.
    if (this.socket.destroyed) {
      callback();
      return false;
    }
    let out = chunk;
    if (this.head !== null) {
      const head = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
      if (head.length < FRAME_HEADER || head.length < FRAME_HEADER + head.readUIntBE(0, 3)) {
        this.head = head;
        callback();
        return true;
      }
      this.head = null;
      // JSStreamSocket hands over copies of the session's bytes: changing them in place is safe.
      rewriteStreamLimit(head, this.announced);
      out = head;
    }
    if (this.socket.write(out)) {
      callback();
      return true;
    }
    this.socket.once('drain', () => callback());
    return false;
  }

  end(callback: () => void): void {
    this.socket.end(callback);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Sets SETTINGS_MAX_CONCURRENT_STREAMS in the SETTINGS frame at the start of `bytes` (in place). */
export function rewriteStreamLimit(bytes: Buffer, value: number): void {
  const length = bytes.readUIntBE(0, 3);
  if (bytes[3] !== SETTINGS || (bytes[4] & ACK) !== 0) return;
  for (let at = FRAME_HEADER; at + SETTING_BYTES <= FRAME_HEADER + length; at += SETTING_BYTES) {
    if (bytes.readUInt16BE(at) === MAX_CONCURRENT_STREAMS) bytes.writeUInt32BE(value, at + 2);
  }
}
