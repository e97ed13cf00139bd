import { X509Certificate } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { normalizeSerial, type CertificateRevocations } from '../certs/revocation.js';
import { HandshakeTap, TlsAlert, type CertificateJudge, type RefusedHandshake } from './handshake-tap.js';

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
  /** Provider certificates refused at the handshake, with the `certificate revoked` alert. */
  revocations?: CertificateRevocations;
  /**
   * Refused certificates get the matching TLS alert, as Apple's gateway sent them: revoked,
   * expired, unknown CA, bad certificate. The handshake is then TLS 1.2, where the client's
   * certificate can be read before OpenSSL takes it. Default false: on only while a
   * certificate is revoked (otherwise node closes without an alert, over TLS 1.2 or 1.3).
   */
  certificateAlerts?: boolean;
  /** A connection that has not finished its TLS handshake by then is closed. Default 30,000 ms. */
  handshakeTimeoutMs?: number;
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

/** The TCP peer of a TLS socket, also when the socket runs over a handshake tap. */
export function remoteOf(socket: TLSSocket): { address: string | undefined; port: number | undefined } {
  if (socket.remoteAddress !== undefined) return { address: socket.remoteAddress, port: socket.remotePort };
  const parent = (socket as TLSSocket & { _parent?: unknown })._parent;
  if (parent instanceof HandshakeTap) return { address: parent.remoteAddress, port: parent.remotePort };
  return { address: undefined, port: undefined };
}

/**
 * A TLS listener for provider connections: a TCP server that hands each socket to a TLS
 * server (directly, or through a handshake tap while certificates must be refused with an
 * alert), and remembers every socket so close() leaves none behind, handshakes included.
 */
export class ProviderListener extends EventEmitter<{ secure: [TLSSocket]; handshakeError: [Error]; refused: [RefusedHandshake] }> {
  readonly tlsServer: TlsServer;
  private readonly netServer: NetServer;
  private readonly sockets = new Set<Socket>();
  private readonly authorities: X509Certificate[];
  private readonly clientAuth: ClientAuth;
  private tapping = false;
  private closing = false;

  constructor(private readonly options: ProviderListenerOptions) {
    super();
    this.clientAuth = options.clientAuth ?? 'require';
    this.authorities = (Array.isArray(options.tls.ca) ? options.tls.ca : [options.tls.ca]).flatMap((pem) => {
      try {
        return [new X509Certificate(pem)];
      } catch {
        return [];
      }
    });
    this.tlsServer = createTlsServer({ ...tlsServerOptions(options), handshakeTimeout: options.handshakeTimeoutMs ?? 30_000 }, (socket) => this.emit('secure', socket));
    this.tlsServer.on('tlsClientError', (error, socket) => {
      // node reports a handshake timeout here and leaves the socket open: a TCP connection that
      // never speaks TLS would be kept forever.
      socket.destroy();
      this.emit('handshakeError', error);
    });
    this.netServer = createNetServer((tcp) => this.onTcp(tcp));
    const revocations = options.revocations;
    if (revocations !== undefined) {
      revocations.on('change', () => this.applyContext());
      revocations.on('crl', () => this.applyContext());
    }
    this.applyContext();
  }

  async listen(defaultPort: number): Promise<AddressInfo> {
    // node's default backlog (511) overflows when a thousand providers connect at once, and a
    // dropped SYN is retried only after 1, 3, 7... seconds: the kernel caps this at somaxconn.
    this.netServer.listen({ port: this.options.port ?? defaultPort, host: this.options.host ?? '127.0.0.1', backlog: 4096 });
    await once(this.netServer, 'listening');
    return this.address();
  }

  address(): AddressInfo {
    return this.netServer.address() as AddressInfo;
  }

  /** Sockets open now, in their handshake or after it. */
  get socketCount(): number {
    return this.sockets.size;
  }

  /** Whether handshakes go through the tap (TLS 1.2, alerts for refused certificates). */
  get alerting(): boolean {
    return this.tapping;
  }

  /** Stops listening and destroys every socket still open (call after closing sessions). */
  async close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.netServer.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private onTcp(tcp: Socket): void {
    if (this.closing) {
      tcp.destroy();
      return;
    }
    this.sockets.add(tcp);
    tcp.once('close', () => this.sockets.delete(tcp));
    tcp.setNoDelay(true);
    const stream = this.tapping ? new HandshakeTap(tcp, this.judge, (refusal) => this.emit('refused', refusal)) : tcp;
    this.tlsServer.emit('connection', stream);
  }

  /**
   * A new secure context for the handshakes to come: TLS 1.2 while tapping, the CRL when
   * there is one. A new context also has new session-ticket keys and an empty session cache,
   * so a certificate revoked now cannot come back by resuming an earlier session.
   */
  private applyContext(): void {
    const revocations = this.options.revocations;
    this.tapping = this.options.certificateAlerts === true || (revocations !== undefined && revocations.size > 0);
    const base = tlsServerOptions(this.options);
    const crl = revocations?.crl ?? null;
    this.tlsServer.setSecureContext({
      key: base.key,
      cert: base.cert,
      ca: base.ca,
      minVersion: base.minVersion,
      maxVersion: this.tapping ? 'TLSv1.2' : 'TLSv1.3',
      ...(crl !== null ? { crl } : {}),
    });
  }

  private readonly judge: CertificateJudge = (der) => {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(der);
    } catch {
      return { alert: TlsAlert.BadCertificate, reason: 'the client certificate cannot be parsed' };
    }
    if (this.options.revocations?.isRevoked(cert)) {
      return { alert: TlsAlert.CertificateRevoked, reason: `certificate ${normalizeSerial(cert.serialNumber)} was revoked` };
    }
    // The other refusals only where the server refuses unverified certificates.
    if (this.clientAuth !== 'require' || this.options.certificateAlerts !== true) return null;
    const now = Date.now();
    if (Date.parse(cert.validTo) < now) return { alert: TlsAlert.CertificateExpired, reason: `certificate ${cert.serialNumber} expired at ${new Date(cert.validTo).toISOString()}` };
    if (Date.parse(cert.validFrom) > now) return { alert: TlsAlert.BadCertificate, reason: `certificate ${cert.serialNumber} is not valid before ${new Date(cert.validFrom).toISOString()}` };
    const issued = this.authorities.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
    if (!issued) return { alert: TlsAlert.UnknownCa, reason: `certificate ${cert.serialNumber} was not issued by the simulator's CA` };
    return null;
  };
}
