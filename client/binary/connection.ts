import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { ERROR_RESPONSE_LENGTH, decodeErrorResponse, type ErrorResponse } from '../../protocol/binary/index.js';

/** How a gateway connection ended. */
export interface ConnectionEnd {
  /** The 6-byte error response, when the gateway sent one before closing. */
  errorResponse: ErrorResponse | null;
  /** A socket error (reset, broken pipe), if there was one. */
  error: Error | null;
}

/**
 * One TLS connection to a binary gateway. The gateway writes nothing but the error response,
 * after which it closes; once those 6 bytes are in, this side closes too, since every frame it
 * writes from then on is discarded.
 */
export class GatewayConnection {
  /** No more writes can matter: an error response arrived, or the socket ended. */
  finished = false;
  readonly ended: Promise<ConnectionEnd>;
  private errorResponse: ErrorResponse | null = null;
  private error: Error | null = null;
  private received: Buffer = Buffer.alloc(0);
  private drainWaiters: (() => void)[] = [];

  /** The client's number for it, given when the connection is put to use (it may be opened ahead). */
  id = 0;

  private constructor(
    private readonly socket: TLSSocket,
    private readonly onFinish: () => void,
  ) {
    this.ended = new Promise((resolve) => {
      socket.on('close', () => {
        this.finish();
        resolve({ errorResponse: this.errorResponse, error: this.error });
      });
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => {
      this.error ??= error;
      this.finish();
    });
    socket.on('end', () => this.finish());
    socket.on('drain', () => this.releaseDrainWaiters());
  }

  /** Connects and completes the handshake; rejects with the socket's error or a timeout. */
  /** `onSession` receives TLS sessions to resume on the next connection (a resumed handshake costs about half). */
  static open(
    options: ConnectionOptions,
    timeoutMs: number,
    onFinish: () => void = () => {},
    onSession: (session: Buffer) => void = () => {},
  ): Promise<GatewayConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(options);
      socket.on('session', onSession);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          Object.assign(new Error(`no TLS handshake with ${options.host}:${options.port} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }),
        );
      }, timeoutMs);
      const failed = (error: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      socket.once('error', failed);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.off('error', failed);
        socket.setNoDelay(true);
        resolve(new GatewayConnection(socket, onFinish));
      });
    });
  }

  /** Hands bytes to the socket; false means wait for `drain()` before writing more. */
  write(bytes: Buffer): boolean {
    if (this.finished) return true;
    return this.socket.write(bytes);
  }

  /** Resolves when the socket wants more bytes, or when the connection is finished. */
  drain(): Promise<void> {
    if (this.finished || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Bytes handed to the socket that it has not yet passed to the kernel. */
  get pendingBytes(): number {
    return this.socket.writableLength;
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.errorResponse !== null) return;
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    if (this.received.length < ERROR_RESPONSE_LENGTH) return;
    // Anything other than an error response cannot be read; treated as a close without one.
    this.errorResponse = decodeErrorResponse(this.received);
    this.finish();
    this.socket.destroy();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.releaseDrainWaiters();
    this.onFinish();
  }

  private releaseDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}
