import type { ClientHttp2Session } from 'node:http2';
import type { Http2GoawayEvent } from './options.js';
import type { ConnectionTokenState } from './provider-token.js';

/**
 * 'connecting' until the server's first SETTINGS (its stream limit) arrived; 'ready' takes
 * new streams; 'draining' finishes its streams and takes no more (GOAWAY came, or the client
 * retired it); 'closed'.
 */
export type ConnectionState = 'connecting' | 'ready' | 'draining' | 'closed';

/** One HTTP/2 connection of the client and what the client keeps about it. */
export class ClientConnection {
  state: ConnectionState = 'connecting';
  /** Streams without a response (counted from the moment one is reserved). */
  active = 0;
  maxActive = 0;
  /** SETTINGS_MAX_CONCURRENT_STREAMS as last reported in an event. */
  announced = 0;
  /** Requests written on it, and whether any got a response. */
  written = 0;
  answered = false;
  goaway: Http2GoawayEvent | null = null;
  error: Error | null = null;
  /** The error says it cannot succeed (not HTTP/2, a certificate required): what waits fails now. */
  permanent = false;
  readonly token: ConnectionTokenState = { token: null, since: 0 };
  connectTimer: NodeJS.Timeout | null = null;
  idleTimer: NodeJS.Timeout | null = null;
  readonly closed: Promise<void>;

  constructor(
    readonly id: number,
    readonly session: ClientHttp2Session,
  ) {
    this.closed = new Promise((resolve) => session.once('close', () => resolve()));
  }

  /** SETTINGS_MAX_CONCURRENT_STREAMS as the server last announced it. */
  get limit(): number {
    return this.session.remoteSettings?.maxConcurrentStreams ?? 1;
  }

  get hasRoom(): boolean {
    return this.state === 'ready' && this.active < this.limit && !this.session.closed && !this.session.destroyed;
  }

  clearTimers(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.connectTimer = this.idleTimer = null;
  }
}
