import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { DEFAULT_LIMITS, type Limits } from '../../protocol/binary/index.js';
import type { ConnectionInfo, Recorder } from '../recorder/index.js';
import type { DeviceRegistry } from '../registry/index.js';
import type { RuleSet } from '../rules/index.js';
import { TLS_ALERT_NAMES } from '../tls/handshake-tap.js';
import { identityOf, peerOf } from '../tls/identity.js';
import { ProviderListener, type ProviderListenerOptions } from '../tls/listener.js';
import { Policy } from '../policy/index.js';
import { BinaryConnection, type BinaryConnectionOptions, type BinaryConnectionSummary } from './connection.js';

/**
 * A frame whose first bytes arrived this long ago and that is still not complete closes the
 * connection (choice: Apple documented none). A frame is at most 2.1 KB and every sender
 * writes it in one call, so only a stalled or hostile sender is that slow; 30 s is longer
 * than TCP's retransmissions take to recover from several losses in a row.
 */
export const DEFAULT_FRAME_TIMEOUT_MS = 30_000;

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
  /** Close a connection whose frame is still incomplete this long after its first bytes; 0 = never. Default 30,000 ms. */
  frameTimeoutMs?: number;
  /** When set, a certificate for the other environment connects and is then dropped, as Apple did. */
  environment?: 'development' | 'production' | null;
  /** How long a failed connection waits for the peer's close before it is destroyed. Default 2000 ms. */
  lingerMs?: number;
  /** Connection ids shared with the other listeners (HTTP/2); default a counter of this gateway's own. */
  connectionIds?: () => number;
}

/** The binary provider gateway (Apple's gateway.push.apple.com:2195). */
export class BinaryGateway extends EventEmitter {
  private readonly listener: ProviderListener;
  private readonly open = new Map<number, BinaryConnection>();
  private nextConnectionId = 1;
  private handshakeFailures = 0;
  private internalErrors = 0;
  private certificatesRefused = 0;
  private readonly limits: Limits;
  private readonly policy: Policy;

  constructor(private readonly options: GatewayOptions) {
    super();
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.policy = new Policy({ registry: options.registry, rules: options.rules, strictPayloads: options.strict ?? false });
    this.listener = new ProviderListener(options);
    this.listener.on('secure', (socket) => this.onConnection(socket));
    this.listener.on('handshakeError', (error) => {
      this.handshakeFailures++;
      this.emit('handshakeError', error);
    });
    this.listener.on('refused', (refusal) => {
      this.certificatesRefused++;
      this.emit('certificateRefused', { ...refusal, alertName: TLS_ALERT_NAMES[refusal.alert] ?? String(refusal.alert) });
    });
  }

  async listen(): Promise<AddressInfo> {
    return this.listener.listen(2195);
  }

  address(): AddressInfo {
    return this.listener.address();
  }

  /** TCP connections open now, those still in their TLS handshake included. */
  get socketCount(): number {
    return this.listener.socketCount;
  }

  get port(): number {
    return this.address().port;
  }

  connections(): BinaryConnectionSummary[] {
    return [...this.open.values()].map((c) => c.summary());
  }

  get stats() {
    return {
      open: this.open.size,
      opened: this.nextConnectionId - 1,
      handshakeFailures: this.handshakeFailures,
      certificatesRefused: this.certificatesRefused,
      internalErrors: this.internalErrors,
    };
  }

  /** Status 10 to one connection (by id) or all; returns how many were shut down. */
  shutdown(connectionId?: number): number {
    let count = 0;
    for (const connection of this.open.values()) {
      if (connectionId !== undefined && connection.info.id !== connectionId) continue;
      if (connection.shutdown()) count++;
    }
    return count;
  }

  async close(): Promise<void> {
    for (const connection of this.open.values()) connection.destroy();
    await this.listener.close();
  }

  /** What every connection shares, made once: an object and two closures per connection were most of an idle one's own memory. */
  private connectionOptions: BinaryConnectionOptions | null = null;

  private makeConnectionOptions(): BinaryConnectionOptions {
    return {
      recorder: this.options.recorder,
      policy: this.policy,
      limits: this.limits,
      errorDelayMs: this.options.errorDelayMs ?? 0,
      lingerMs: this.options.lingerMs ?? 2000,
      frameTimeoutMs: this.options.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS,
      onInternalError: (error, connection) => {
        this.internalErrors++;
        if (this.listenerCount('internalError') > 0) this.emit('internalError', error, connection);
        else
          process.emitWarning(
            `apns-mock: internal error on connection ${connection.id}: ${error instanceof Error ? error.stack : String(error)}`,
          );
      },
    };
  }

  private readonly onClosed = (closed: BinaryConnection): void => {
    this.open.delete(closed.info.id);
    // A summary per connection is only made for someone who follows them (the inspector).
    if (this.listenerCount('disconnect') > 0) this.emit('disconnect', closed.summary());
  };

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
    const connection = new BinaryConnection(socket, info, (this.connectionOptions ??= this.makeConnectionOptions()), this.onClosed);
    this.open.set(info.id, connection);
    if (this.listenerCount('connect') > 0) this.emit('connect', connection.summary());
    const expected = this.options.environment;
    if (expected && info.environment !== null && info.environment !== expected) {
      // Apple accepted the handshake with a certificate for the other environment, then dropped it. Ended, not destroyed:
      // destroy discards the server's last TLS 1.2 handshake message (the client saw ECONNRESET); paused: no frame is read.
      socket.pause().end(() => socket.destroy());
      return;
    }
    const idle = this.options.idleTimeoutMs ?? 0;
    if (idle > 0) {
      socket.setTimeout(idle, () => connection.closeIdle(idle));
    }
  }
}
