import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { HandshakeClosedError } from './outcome.js';
import { ERROR_RESPONSE_LENGTH, decodeErrorResponse, type ErrorResponse } from '../../protocol/binary/index.js';

/** How a gateway connection ended. */
export interface ConnectionEnd {
  /** The 6-byte error response, when the gateway sent one before closing. */
  errorResponse: ErrorResponse | null;
  /** A socket error (reset, broken pipe), if there was one. */
  error: Error | null;
  /**
   * The server closed right after the handshake, before it could read anything: with a TLS
   * alert, or (TLS 1.3) before sending the session ticket a server sends once it took the
   * client's certificate.
   */
  handshakeClosed: boolean;
  /** The server sent bytes that are not an error response: it does not speak the binary protocol. */
  unreadable: boolean;
}

/** The server closed during or right after the handshake: what it most likely means, and what to do. */
export function handshakeClosedError(where: string, cause: Error | null): HandshakeClosedError {
  const how = cause === null ? 'without a TLS alert' : `(${errorCode(cause) || cause.message})`;
  return new HandshakeClosedError(
    `${where} closed the connection during or right after the TLS handshake ${how}: it did not take the client certificate ` +
      '(none given, signed by a CA it does not trust, expired, revoked or of the other environment); ' +
      "give one the gateway trusts (for apns-mock serve: made by 'apns-mock certs' with the same --state)",
    { cause: cause ?? undefined },
  );
}

/** A TLS alert from the server (`ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED`, `ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE`...). */
export function isTlsAlert(error: Error | null): boolean {
  return /^ERR_SSL_.*ALERT/.test(errorCode(error));
}

/** The `code` of a socket or TLS error; '' when it has none. */
export function errorCode(error: Error | null): string {
  return error !== null && 'code' in error ? String(error.code) : '';
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
  private unreadable = false;
  /** This side ended the connection: nothing about the server can be read from the close. */
  private closedHere = false;
  /** TLS 1.3 servers send tickets only after taking the client certificate; earlier versions finish first. */
  private ticketed: boolean;
  private readonly resumed: boolean;
  private drainWaiters: (() => void)[] = [];

  /** The client's number for it, given when the connection is put to use (it may be opened ahead). */
  id = 0;

  private constructor(
    private readonly socket: TLSSocket,
    private readonly onFinish: () => void,
    ticketed: boolean,
  ) {
    this.ticketed = ticketed || socket.getProtocol() !== 'TLSv1.3';
    this.resumed = socket.isSessionReused();
    socket.on('session', () => (this.ticketed = true));
    this.ended = new Promise((resolve) => {
      socket.on('close', () => {
        this.finish();
        const { errorResponse, error, unreadable } = this;
        const handshakeClosed =
          errorResponse === null && !unreadable && !this.closedHere && (isTlsAlert(error) || this.closedBeforeTicket());
        resolve({ errorResponse, error, handshakeClosed, unreadable });
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
      let ticketed = false;
      socket.on('session', (session: Buffer) => {
        ticketed = true;
        onSession(session);
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          Object.assign(new Error(`no TLS handshake with ${options.host}:${options.port} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }),
        );
      }, timeoutMs);
      let tcpConnected = false;
      socket.once('connect', () => (tcpConnected = true));
      const failed = (error: Error) => {
        clearTimeout(timer);
        socket.destroy();
        // The client's own checks of the server's certificate are not the server closing.
        const serverClosed = tcpConnected && (isTlsAlert(error) || /^(ECONNRESET|EPIPE)$/.test(errorCode(error)));
        reject(serverClosed ? handshakeClosedError(`${options.host}:${options.port}`, error) : error);
      };
      socket.once('error', failed);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.off('error', failed);
        socket.setNoDelay(true);
        resolve(new GatewayConnection(socket, onFinish, ticketed));
      });
    });
  }

  /**
   * A TLS 1.3 server sends its session tickets as soon as it took the client's certificate; a
   * fresh connection closed before any arrived was refused. A resumed one gets none.
   */
  private closedBeforeTicket(): boolean {
    // A reset can overtake a ticket already sent (the kernel drops unread data): only a clean close counts.
    return !this.ticketed && !this.resumed && this.received.length === 0 && this.error === null;
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
    this.closedHere = true;
    this.socket.end();
  }

  destroy(): void {
    this.closedHere = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.errorResponse !== null) return;
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    if (this.received.length < ERROR_RESPONSE_LENGTH) return;
    this.errorResponse = decodeErrorResponse(this.received);
    this.unreadable = this.errorResponse === null;
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
