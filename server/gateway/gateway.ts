import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { DEFAULT_LIMITS, type Limits } from '../../protocol/binary/index.js';
import { providerIdentity, type ProviderIdentity } from '../certs/index.js';
import type { ConnectionInfo, Recorder } from '../recorder/index.js';
import type { DeviceRegistry } from '../registry/index.js';
import type { RuleSet } from '../rules/index.js';
import { GatewaySession, type ConnectionSummary } from './session.js';

/** How the TLS listener treats client certificates. */
export type ClientAuth = 'require' | 'request' | 'none';

export interface TlsMaterial {
  key: string;
  cert: string;
  /** CA(s) that sign provider certificates. */
  ca: string | string[];
}

export interface ProviderListenerOptions {
  host?: string;
  port?: number;
  tls: TlsMaterial;
  /** Default 'require': a provider certificate signed by the local CA. */
  clientAuth?: ClientAuth;
}

export interface GatewayOptions extends ProviderListenerOptions {
  recorder: Recorder;
  registry: DeviceRegistry;
  rules: RuleSet;
  limits?: Partial<Limits>;
  /** Payload warnings reject with status 7. */
  strict?: boolean;
  /** Delay before the error response, as Apple's arrived 85-800 ms late. Default 0. */
  errorDelayMs?: number;
  /** Close connections idle this long (Apple: about 2 hours). 0 = never (default). */
  idleTimeoutMs?: number;
  /** When set, a certificate for the other environment connects and is then dropped, as Apple did. */
  environment?: 'development' | 'production' | null;
  /** How long a failed connection waits for the peer's close before it is destroyed. Default 2000 ms. */
  lingerMs?: number;
  /** Connection ids shared with the other listeners (HTTP/2); default a counter of this gateway's own. */
  connectionIds?: () => number;
}

export function tlsServerOptions(options: ProviderListenerOptions) {
  const clientAuth = options.clientAuth ?? 'require';
  return {
    key: options.tls.key,
    cert: options.tls.cert,
    ca: options.tls.ca,
    requestCert: clientAuth !== 'none',
    rejectUnauthorized: clientAuth === 'require',
    // Apple's gateway spoke TLS 1.2; old clients (PHP 5, node-apn 1.x) still work with it.
    minVersion: 'TLSv1.2' as const,
  };
}

const EMPTY_IDENTITY: ProviderIdentity = {
  topic: null,
  topics: [],
  environment: 'unknown',
  commonName: null,
  serialNumber: '',
  fingerprint256: '',
};

/** Who is on the other end of a provider connection, from its certificate (if any). */
export function identityOf(socket: TLSSocket): ProviderIdentity {
  const cert = socket.getPeerX509Certificate();
  return cert === undefined ? EMPTY_IDENTITY : providerIdentity(cert);
}

export function peerOf(socket: TLSSocket): string {
  const address = socket.remoteAddress ?? 'unknown';
  return `${address.includes(':') ? `[${address}]` : address}:${socket.remotePort ?? 0}`;
}

/** The binary provider gateway (Apple's gateway.push.apple.com:2195). */
export class BinaryGateway extends EventEmitter {
  private readonly server: Server;
  private readonly sessions = new Map<number, GatewaySession>();
  private nextConnectionId = 1;
  private handshakeFailures = 0;
  private internalErrors = 0;
  private readonly limits: Limits;

  constructor(private readonly options: GatewayOptions) {
    super();
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.server = createServer(tlsServerOptions(options), (socket) => this.onConnection(socket));
    this.server.on('tlsClientError', (error) => {
      this.handshakeFailures++;
      this.emit('handshakeError', error);
    });
  }

  async listen(): Promise<AddressInfo> {
    this.server.listen(this.options.port ?? 2195, this.options.host ?? '127.0.0.1');
    await once(this.server, 'listening');
    return this.address();
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  get port(): number {
    return this.address().port;
  }

  connections(): ConnectionSummary[] {
    return [...this.sessions.values()].map((s) => s.summary());
  }

  get stats() {
    return { open: this.sessions.size, opened: this.nextConnectionId - 1, handshakeFailures: this.handshakeFailures, internalErrors: this.internalErrors };
  }

  /** Status 10 to one connection (by id) or all; returns how many were shut down. */
  shutdown(connectionId?: number): number {
    let count = 0;
    for (const session of this.sessions.values()) {
      if (connectionId !== undefined && session.info.id !== connectionId) continue;
      if (session.shutdown()) count++;
    }
    return count;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.sessions.values()) session.destroy();
    await closed;
  }

  private onConnection(socket: TLSSocket): void {
    const identity = identityOf(socket);
    const own = this.nextConnectionId++;
    const info: ConnectionInfo = {
      id: this.options.connectionIds?.() ?? own,
      protocol: 'binary',
      peer: peerOf(socket),
      topic: identity.topic,
      environment: identity.environment === 'unknown' ? null : identity.environment,
    };
    socket.setNoDelay(true);
    const session = new GatewaySession(
      socket,
      info,
      {
        recorder: this.options.recorder,
        registry: this.options.registry,
        rules: this.options.rules,
        limits: this.limits,
        strict: this.options.strict ?? false,
        errorDelayMs: this.options.errorDelayMs ?? 0,
        lingerMs: this.options.lingerMs ?? 2000,
        onInternalError: (error, connection) => {
          this.internalErrors++;
          if (this.listenerCount('internalError') > 0) this.emit('internalError', error, connection);
          else process.emitWarning(`apns-mock: internal error on connection ${connection.id}: ${error instanceof Error ? error.stack : String(error)}`);
        },
      },
      (closed) => {
        this.sessions.delete(closed.info.id);
        this.emit('disconnect', closed.summary());
      },
    );
    this.sessions.set(info.id, session);
    this.emit('connect', session.summary());
    const expected = this.options.environment;
    if (expected && info.environment !== null && info.environment !== expected) {
      // Apple accepted the handshake with a certificate for the other environment, then dropped it.
      socket.destroy();
      return;
    }
    const idle = this.options.idleTimeoutMs ?? 0;
    if (idle > 0) {
      socket.setTimeout(idle, () => socket.end());
    }
  }
}
