import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { encodeFeedbackTuple } from '../../protocol/binary/index.js';
import { MAX_TOKEN_BYTES, isHexToken, normalizeToken } from '../../common/token.js';
import { identityOf, peerOf, tlsServerOptions, watchRefusals, type ProviderListenerOptions } from '../tls/index.js';
import { MAX_FEEDBACK_TIMESTAMP, type DeviceRegistry, type UninstalledToken } from '../registry/index.js';

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
  /** Entries that could not be written as a tuple (a token that is not hex or too long, a time past 2106): left out, never sent. */
  skipped: UninstalledToken[];
}

/**
 * The tuples for a delivery, each checked before it is encoded: whatever reached the
 * registry (every entry point checks tokens, but a library caller may not), one bad entry
 * is left out instead of throwing in the connection handler and taking the process down.
 */
export function encodeDeliverable(entries: readonly UninstalledToken[]): {
  bytes: Buffer;
  tuples: UninstalledToken[];
  skipped: UninstalledToken[];
} {
  const parts: Buffer[] = [];
  const tuples: UninstalledToken[] = [];
  const skipped: UninstalledToken[] = [];
  for (const entry of entries) {
    const hex = typeof entry.token === 'string' ? normalizeToken(entry.token) : '';
    const deliverable =
      isHexToken(hex) &&
      hex.length / 2 <= MAX_TOKEN_BYTES &&
      Number.isInteger(entry.timestamp) &&
      entry.timestamp >= 0 &&
      entry.timestamp <= MAX_FEEDBACK_TIMESTAMP;
    if (!deliverable) {
      skipped.push(entry);
      continue;
    }
    parts.push(encodeFeedbackTuple({ timestamp: entry.timestamp, token: hex }));
    tuples.push(entry);
  }
  return { bytes: Buffer.concat(parts), tuples, skipped };
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
    this.server = createServer({ ...tlsServerOptions(options), handshakeTimeout: options.handshakeTimeoutMs ?? 30_000 }, (socket) =>
      this.onConnection(socket),
    );
    this.server.on('tlsClientError', (error, socket) => {
      // node reports a handshake timeout here and leaves the socket open: a TCP connection that
      // never speaks TLS would be kept forever.
      socket.destroy();
      this.emit('handshakeError', error);
    });
    watchRefusals(this.server, {
      ca: options.tls.ca,
      peerOf,
      onRefusal: (facts) => {
        options.onRefusal?.(facts);
        this.emit('refused', facts);
      },
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
    let delivery: FeedbackDelivery;
    try {
      const identity = identityOf(socket);
      const environment = identity.environment === 'unknown' ? null : identity.environment;
      const { bytes, tuples, skipped } = encodeDeliverable(this.options.registry.takeFeedback(identity.topic, environment));
      delivery = { peer: peerOf(socket), topic: identity.topic, environment, tuples, skipped };
      socket.end(bytes);
    } catch (error) {
      // A connection handler that throws ends the process; this one ends the connection.
      socket.destroy();
      this.emit('deliveryError', error);
      return;
    }
    this.emit('delivery', delivery);
  }
}
