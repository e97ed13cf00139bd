import { EventEmitter, once } from 'node:events';
import { createSecureServer, performServerHandshake, type Http2SecureServer, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  DEFAULT_BAD_ENVIRONMENT_KEY_REASON,
  DEFAULT_MAX_CONCURRENT_STREAMS,
  HTTP2_HOSTS,
  HTTP2_LIMITS,
  PROVIDER_TOKEN_LIFETIME_MS,
  PROVIDER_TOKEN_UPDATE_INTERVAL_MS,
  UNAUTHENTICATED_MAX_CONCURRENT_STREAMS,
  isBadEnvironmentKeyReason,
  type BadEnvironmentKeyReason,
  type Http2Limits,
} from '../../protocol/http2/index.js';
import { InputError } from '../../common/errors.js';
import type { ApnsEnvironment } from '../certs/index.js';
import { StuckSessionWatch } from '../../common/h2-liveness.js';
import { identityOf, peerOf, type ClientAuth, type RefusalFacts, type TlsMaterial } from '../tls/index.js';
import type { KeyStore } from '../keys/index.js';
import type { ConnectionInfo, Recorder } from '../recorder/index.js';
import type { DeviceRegistry } from '../registry/index.js';
import type { RuleSet } from '../rules/index.js';
import { ChannelStore } from './channels.js';
import { Http2Connection, type Http2ConnectionSummary, type Http2Policy } from './connection.js';
import { TokenRateLimiter } from '../policy/index.js';
import { announceSettings } from './announced-settings.js';
import { sniffPreface } from './sniff.js';

export interface Http2GatewayOptions {
  host?: string;
  /** Default 2197. */
  port?: number;
  tls: TlsMaterial;
  /** 'none': no client certificate is asked for (every connection uses provider tokens). Default: asked for, not required. */
  clientAuth?: ClientAuth;
  recorder: Recorder;
  registry: DeviceRegistry;
  rules: RuleSet;
  keys: KeyStore;
  /** A connection that has not finished its TLS handshake by then is closed. Default 30 s. */
  handshakeTimeoutMs?: number;
  /**
   * The environment the API plays. A client that names Apple's host in SNI gets that host's
   * environment (api.push.apple.com: production, api.sandbox.push.apple.com: development).
   * Default development.
   */
  environment?: ApnsEnvironment;
  /** SETTINGS_MAX_CONCURRENT_STREAMS once authenticated. Default 1000. */
  maxConcurrentStreams?: number;
  /** ExpiredProviderToken after this. Default one hour. */
  tokenLifetimeMs?: number;
  /** A connection takes a new provider token at most this often. Default 20 minutes. */
  tokenUpdateIntervalMs?: number;
  /** 429 TooManyRequests above this rate per device token. Default none. */
  rateLimit?: { requests: number; perMs: number } | null;
  limits?: Partial<Http2Limits>;
  /** GOAWAY {"reason":"IdleTimeout"} after this long without a frame. 0: never (default). */
  idleTimeoutMs?: number;
  /** Apps with the broadcast capability; default every app. */
  broadcastBundles?: string[] | null;
  /** Channels per app and environment. Default 10,000. */
  maxChannels?: number;
  /** How long a connection sent GOAWAY may finish its streams. Default 2000 ms. */
  lingerMs?: number;
  /**
   * How long a client without ALPN has to send the HTTP/2 preface, and a token connection to
   * acknowledge the server's first SETTINGS (else GOAWAY SETTINGS_TIMEOUT). Default 10,000 ms.
   */
  prefaceTimeoutMs?: number;
  /** Connection ids shared with the other listeners; default a counter of this server's own. */
  connectionIds?: () => number;
  /**
   * A key of the other environment: 'BadEnvironmentKeyIdInToken' (Apple's table, the default) or
   * 'BadEnvironmentKeyInToken' (what the service was seen sending, kylebrowning/APNSwift#229).
   */
  badEnvironmentKeyReason?: BadEnvironmentKeyReason;
  /**
   * Streams beyond the one-stream limit of a token connection that arrive before the client
   * acknowledged the server's SETTINGS: 'hold' (default) answers them once the first token was
   * judged, with a warning on their records; 'refuse' resets them with REFUSED_STREAM.
   */
  earlyStreams?: 'hold' | 'refuse';
  /** The simulator's explanation in an `x-apns-mock-reason` response header. Default true; false for byte-exact responses. */
  explainHeader?: boolean;
}

export interface Http2GatewayStats {
  open: number;
  opened: number;
  /** Connections that offered no ALPN and were served HTTP/2 all the same. */
  withoutAlpn: number;
  /** Clients without ALPN that did not send the HTTP/2 preface (HTTP/1, other protocols). */
  notHttp2: number;
  handshakeFailures: number;
  /** Connections node had given up after a GOAWAY for a connection error, destroyed by the server. */
  stuckClosed: number;
}

/**
 * Apple's HTTP/2 provider API (api.push.apple.com:443 and :2197): `node:http2` over TLS,
 * ALPN h2 (no HTTP/1.1). Clients that speak HTTP/2 over TLS without ALPN are served too:
 * node's secure server hands them to 'unknownProtocol'; there the first bytes are read, and
 * when they are the HTTP/2 connection preface the socket goes to `performServerHandshake`.
 */
export class Http2Gateway extends EventEmitter {
  readonly server: Http2SecureServer;
  readonly channels: ChannelStore;
  private readonly open = new Map<number, Http2Connection>();
  private readonly policy: Http2Policy;
  private nextConnectionId = 1;
  private readonly counts = { opened: 0, withoutAlpn: 0, notHttp2: 0, handshakeFailures: 0, stuckClosed: 0 };
  /** The TLS socket whose 'session' event is on its way (node emits both in one call). */
  private arriving: TLSSocket | null = null;
  private closing = false;
  /** Every TLS socket still open, adopted or not: close() leaves none behind. */
  private readonly sockets = new Set<TLSSocket>();
  private readonly stuck = new StuckSessionWatch<Http2Connection>((connection) => {
    this.counts.stuckClosed++;
    connection.destroy();
  });

  constructor(private readonly options: Http2GatewayOptions) {
    super();
    const maxConcurrentStreams = options.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS;
    this.channels = new ChannelStore(options.maxChannels);
    const rate = options.rateLimit ?? null;
    const badEnvironmentKeyReason = options.badEnvironmentKeyReason ?? DEFAULT_BAD_ENVIRONMENT_KEY_REASON;
    if (!isBadEnvironmentKeyReason(badEnvironmentKeyReason)) {
      throw new InputError(
        `badEnvironmentKeyReason must be 'BadEnvironmentKeyIdInToken' or 'BadEnvironmentKeyInToken'; got ${JSON.stringify(badEnvironmentKeyReason)}`,
      );
    }
    const earlyStreams = options.earlyStreams ?? 'hold';
    if (earlyStreams !== 'hold' && earlyStreams !== 'refuse')
      throw new InputError(`earlyStreams must be 'hold' or 'refuse'; got ${JSON.stringify(earlyStreams)}`);
    this.policy = {
      recorder: options.recorder,
      registry: options.registry,
      rules: options.rules,
      keys: options.keys,
      channels: this.channels,
      limits: { ...HTTP2_LIMITS, ...options.limits },
      maxConcurrentStreams,
      tokenLifetimeMs: options.tokenLifetimeMs ?? PROVIDER_TOKEN_LIFETIME_MS,
      tokenUpdateIntervalMs: options.tokenUpdateIntervalMs ?? PROVIDER_TOKEN_UPDATE_INTERVAL_MS,
      rateLimiter: rate === null ? null : new TokenRateLimiter(rate.requests, rate.perMs),
      broadcastBundles: options.broadcastBundles ?? null,
      lingerMs: options.lingerMs ?? 2000,
      badEnvironmentKeyReason,
      holdEarlyStreams: earlyStreams === 'hold',
      explainHeader: options.explainHeader ?? true,
    };
    const clientAuth = options.clientAuth ?? 'request';
    this.server = createSecureServer({
      handshakeTimeout: options.handshakeTimeoutMs ?? 30_000,
      key: options.tls.key,
      cert: options.tls.cert,
      ca: options.tls.ca,
      // Token connections present no certificate, so one is asked for but never required;
      // a certificate that does not verify is answered BadCertificate on every request.
      requestCert: clientAuth !== 'none',
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      allowHTTP1: false,
      settings: { maxConcurrentStreams },
    });
    // node's own listener makes the session from the server's settings; this one runs instead and
    // calls it: a token connection announces one stream until its first valid token.
    const [nodeListener] = this.server.listeners('secureConnection') as ((socket: TLSSocket) => void)[];
    this.server.removeAllListeners('secureConnection');
    this.server.on('secureConnection', (socket: TLSSocket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      const streams = this.initialStreams(socket);
      if (socket.alpnProtocol === 'h2' && this.holdsEarlyStreams(streams)) {
        this.announceThenAdopt(socket, streams, 'h2');
        return;
      }
      this.arriving = socket;
      this.server.updateSettings({ maxConcurrentStreams: streams });
      nodeListener.call(this.server, socket);
    });
    this.server.on('session', (session: ServerHttp2Session) => {
      const socket = this.arriving;
      this.arriving = null;
      if (socket === null) {
        session.destroy();
        return;
      }
      this.adopt(session, socket, 'h2');
    });
    this.server.on('unknownProtocol', (socket: TLSSocket) => this.onUnknownProtocol(socket));
    this.server.on('tlsClientError', (error, socket) => {
      // As on the gateway: node leaves a timed-out handshake's socket open.
      socket.destroy();
      this.counts.handshakeFailures++;
      this.emit('handshakeError', error);
    });
    this.server.on('sessionError', () => {
      // Each connection listens to its own session's errors.
    });
  }

  async listen(): Promise<AddressInfo> {
    this.server.listen(this.options.port ?? 2197, this.options.host ?? '127.0.0.1');
    await once(this.server, 'listening');
    return this.address();
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  get port(): number {
    return this.address().port;
  }

  get maxConcurrentStreams(): number {
    return this.policy.maxConcurrentStreams;
  }

  connections(): Http2ConnectionSummary[] {
    return [...this.open.values()].map((c) => c.summary());
  }

  get stats(): Http2GatewayStats {
    return { open: this.open.size, ...this.counts };
  }

  /** GOAWAY {"reason":"Shutdown"} to one connection (by id) or all; returns how many. */
  shutdown(connectionId?: number): number {
    let count = 0;
    for (const connection of this.open.values()) {
      if (connectionId !== undefined && connection.info.id !== connectionId) continue;
      if (connection.goAway('Shutdown')) count++;
    }
    return count;
  }

  /** GOAWAY Shutdown to every connection, a moment for it to go out, then everything closes. */
  async close(): Promise<void> {
    this.closing = true;
    this.stuck.stop();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const open = [...this.open.values()];
    for (const connection of open) connection.goAway('Shutdown');
    if (open.length > 0) {
      await Promise.race([Promise.all(open.map((c) => c.whenClosed())), new Promise((resolve) => setTimeout(resolve, 200).unref())]);
    }
    for (const connection of this.open.values()) connection.destroy();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private environmentOf(socket: TLSSocket): ApnsEnvironment {
    const name = (socket as TLSSocket & { servername?: string | false }).servername;
    if (name === HTTP2_HOSTS.production) return 'production';
    if (name === HTTP2_HOSTS.development) return 'development';
    return this.options.environment ?? 'development';
  }

  /** A certificate that does not verify proves nothing: such a connection gets what a token connection gets, one stream. */
  private initialStreams(socket: TLSSocket): number {
    const verified = socket.authorized && socket.getPeerX509Certificate() !== undefined;
    return verified ? this.policy.maxConcurrentStreams : UNAUTHENTICATED_MAX_CONCURRENT_STREAMS;
  }

  /** One stream announced while more are taken: the connection holds what arrives too early (see EarlyStreams). */
  private holdsEarlyStreams(announced: number): boolean {
    return this.policy.holdEarlyStreams && announced < this.policy.maxConcurrentStreams;
  }

  /** A session made here rather than by node's listener; its streams reach the server's 'stream' event all the same. */
  private handshake(socket: TLSSocket, settings: { maxConcurrentStreams?: number }): ServerHttp2Session {
    const session = performServerHandshake(socket, { settings });
    session.on('stream', (...args: unknown[]) => this.server.emit('stream', ...args));
    return session;
  }

  /**
   * A token connection that holds early streams: the connection is listed at once, the one-stream
   * SETTINGS goes out on the TLS socket, and the session (node's native path) is made once the
   * client acknowledged it, without a stream limit of its own (see announceSettings).
   */
  private announceThenAdopt(socket: TLSSocket, announced: number, alpn: 'h2' | null): void {
    const connection = this.adopt(null, socket, alpn);
    if (connection === null) return;
    void announceSettings(socket, announced, this.options.prefaceTimeoutMs ?? 10_000).then((preface) => {
      if (preface === null) return;
      if (connection.state !== 'open' || socket.destroyed) {
        socket.destroy();
        return;
      }
      const session = this.handshake(socket, {});
      connection.attach(session, preface.lastStreamBeforeAck);
      this.watch(connection, session);
    });
  }

  private onUnknownProtocol(socket: TLSSocket): void {
    // A client that offered ALPN without h2 asked for something else: only a client that
    // offered no ALPN at all may be speaking HTTP/2 regardless.
    if (socket.alpnProtocol !== false || this.closing) {
      socket.destroy();
      return;
    }
    void sniffPreface(socket, this.options.prefaceTimeoutMs ?? 10_000).then((verdict) => {
      if (verdict === 'closed' || socket.destroyed) return;
      if (verdict === 'other' || this.closing) {
        this.counts.notHttp2++;
        if (verdict === 'other') this.refuseWrongProtocol(socket);
        // Reading again, so the peer's close is seen and the socket ends.
        socket.resume();
        socket.end(
          'HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n' +
            'This is the APNs HTTP/2 provider API: speak HTTP/2 (ALPN h2, or the HTTP/2 preface).\n',
        );
        return;
      }
      this.counts.withoutAlpn++;
      const streams = this.initialStreams(socket);
      if (this.holdsEarlyStreams(streams)) this.announceThenAdopt(socket, streams, null);
      else this.adopt(this.handshake(socket, { maxConcurrentStreams: streams }), socket, null);
    });
  }

  /** A client without ALPN whose first bytes are not the HTTP/2 preface: serve's log and the inspector list it. */
  private refuseWrongProtocol(socket: TLSSocket): void {
    const facts: RefusalFacts = {
      reason: 'wrong-protocol',
      message:
        'the client offered no ALPN and did not send the HTTP/2 connection preface (HTTP/1.1, or another protocol): ' +
        'answered 505 and closed; this port speaks HTTP/2 only (ALPN h2, or the preface "PRI * HTTP/2.0")',
      peer: peerOf(socket),
      certificate: null,
      trustedCa: null,
      errorCode: null,
      closed: true,
    };
    this.emit('refused', facts);
  }

  /** Lists the connection; its session may come later (`announceThenAdopt`). */
  private adopt(session: ServerHttp2Session | null, socket: TLSSocket, alpn: 'h2' | null): Http2Connection | null {
    if (this.closing) {
      session?.destroy();
      socket.destroy();
      return null;
    }
    this.counts.opened++;
    const identity = identityOf(socket);
    const environment = this.environmentOf(socket);
    const info: ConnectionInfo = {
      id: this.options.connectionIds?.() ?? this.nextConnectionId++,
      protocol: 'http2',
      peer: peerOf(socket),
      topic: identity.topic,
      environment,
    };
    const connection = new Http2Connection(session, socket, info, identity, environment, alpn, this.policy, (closed) => {
      this.open.delete(closed.info.id);
      this.stuck.delete(closed);
      this.emit('disconnect', closed.summary());
    });
    this.open.set(info.id, connection);
    if (session !== null) this.watch(connection, session);
    this.emit('connect', connection.summary());
    return connection;
  }

  private watch(connection: Http2Connection, session: ServerHttp2Session): void {
    this.stuck.add(connection, session);
    const idle = this.options.idleTimeoutMs ?? 0;
    if (idle > 0) {
      session.setTimeout(idle, () => connection.idle());
      // node's session timer counts stream activity only; a PING is a frame too, and clients ping to stay connected.
      session.on('ping', () => session.setTimeout(idle));
    }
  }
}
