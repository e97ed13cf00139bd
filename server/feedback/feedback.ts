import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { encodeFeedbackTuples } from '../../protocol/binary/index.js';
import { identityOf, peerOf, tlsServerOptions, type ProviderListenerOptions } from '../tls/index.js';
import type { DeviceRegistry, UninstalledToken } from '../registry/index.js';

export interface FeedbackServiceOptions extends ProviderListenerOptions {
  registry: DeviceRegistry;
  /** A connection that has not finished its TLS handshake by then is closed. Default 30 s. */
  handshakeTimeoutMs?: number;
}

export interface FeedbackDelivery {
  peer: string;
  topic: string | null;
  environment: string | null;
  tuples: UninstalledToken[];
}

/**
 * Apple's feedback service (feedback.push.apple.com:2196): on connect it writes the tuples of
 * the tokens uninstalled for the provider's topic and environment, then closes. The client
 * sends nothing. A list that has been read is cleared.
 */
export class FeedbackService extends EventEmitter {
  private readonly server: Server;
  private readonly sockets = new Set<TLSSocket>();

  constructor(private readonly options: FeedbackServiceOptions) {
    super();
    this.server = createServer({ ...tlsServerOptions(options), handshakeTimeout: options.handshakeTimeoutMs ?? 30_000 }, (socket) => this.onConnection(socket));
    this.server.on('tlsClientError', (error, socket) => {
      // node reports a handshake timeout here and leaves the socket open: a TCP connection that
      // never speaks TLS would be kept forever.
      socket.destroy();
      this.emit('handshakeError', error);
    });
  }

  async listen(): Promise<AddressInfo> {
    this.server.listen(this.options.port ?? 2196, this.options.host ?? '127.0.0.1');
    await once(this.server, 'listening');
    return this.server.address() as AddressInfo;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private onConnection(socket: TLSSocket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    const identity = identityOf(socket);
    const environment = identity.environment === 'unknown' ? null : identity.environment;
    const tuples = this.options.registry.takeFeedback(identity.topic, environment);
    const delivery: FeedbackDelivery = { peer: peerOf(socket), topic: identity.topic, environment, tuples };
    socket.end(encodeFeedbackTuples(tuples));
    this.emit('delivery', delivery);
  }
}
