import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

/** RFC 9113, 4.1 and 6.5: a frame header is 9 bytes; SETTINGS is type 0x4; each setting 6 bytes, id 0x3 the stream limit. */
const FRAME_HEADER = 9;
const SETTINGS = 0x4;
const ACK = 0x1;
const SETTING_BYTES = 6;
const MAX_CONCURRENT_STREAMS = 0x3;

/**
 * Lies between a TLS socket and node's HTTP/2 session and changes one thing: the stream limit
 * in the server's first SETTINGS frame (its connection preface, RFC 9113 section 3.4) reads
 * `announced`. node (nghttp2) then enforces the limit it was given, not the one announced, and
 * refuses nothing by itself before the client acknowledged: the connection decides what
 * happens to streams beyond the announced limit (held, or refused). Every later byte passes
 * through unchanged.
 */
export class AnnouncedSettings extends Duplex {
  private head: Buffer | null = Buffer.alloc(0);

  constructor(
    private readonly socket: TLSSocket,
    private readonly announced: number,
  ) {
    super({ allowHalfOpen: false });
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    // The session learns of a broken socket from its close; an error here would have no listener.
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
  }

  // What node's session asks of a socket (session.socket proxies these).
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }
  get encrypted(): boolean {
    return true;
  }
  get alpnProtocol(): string | false | null {
    return this.socket.alpnProtocol;
  }
  get bytesRead(): number {
    return this.socket.bytesRead;
  }
  get bytesWritten(): number {
    return this.socket.bytesWritten;
  }
  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.socket.setKeepAlive(enable, delay);
    return this;
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.socket.destroyed) {
      callback();
      return;
    }
    if (this.head === null) {
      this.socket.write(chunk, () => callback());
      return;
    }
    this.head = Buffer.concat([this.head, chunk]);
    if (this.head.length < FRAME_HEADER || this.head.length < FRAME_HEADER + this.head.readUIntBE(0, 3)) {
      callback();
      return;
    }
    const out = this.head;
    this.head = null;
    rewriteStreamLimit(out, this.announced);
    this.socket.write(out, () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
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
