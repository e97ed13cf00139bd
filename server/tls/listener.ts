import { X509Certificate } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { normalizeSerial, type CertificateRevocations } from '../certs/revocation.js';
import { identityOf, peerOf } from './identity.js';
import { HandshakeTap, TLS_ALERT_NAMES, TlsAlert, type CertificateJudge, type RefusedHandshake } from './handshake-tap.js';
import { certificateFacts, certificateMessage, trustedCaFacts, watchRefusals, type RefusalFacts, type RefusalReason } from './refusals.js';

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
  /** The environment the service plays: a certificate for the other one is reported as a refusal (the service drops it). */
  environment?: 'development' | 'production' | null;
  /** Told of every refused or dropped connection with its reason (also the listener's 'refusal' event). */
  onRefusal?: (facts: RefusalFacts) => void;
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

/**
 * A TLS listener for provider connections: a TCP server that hands each socket to a TLS
 * server (directly, or through a handshake tap while certificates must be refused with an
 * alert), and remembers every socket so close() leaves none behind, handshakes included.
 */
export class ProviderListener extends EventEmitter<{
  secure: [TLSSocket];
  handshakeError: [Error];
  refused: [RefusedHandshake];
  /** Every refused or dropped connection, with its reason: failed handshakes, tap refusals, the wrong environment. */
  refusal: [RefusalFacts];
}> {
  readonly tlsServer: TlsServer;
  private readonly netServer: NetServer;
  private readonly sockets = new Set<Socket>();
  private readonly authorities: X509Certificate[];
  private readonly clientAuth: ClientAuth;
  private tapping = false;
  /** Tap refusals whose socket's end node has not reported yet. */
  private tapRefusalsUnseen = 0;
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
    this.tlsServer = createTlsServer({ ...tlsServerOptions(options), handshakeTimeout: options.handshakeTimeoutMs ?? 30_000 }, (socket) =>
      this.onSecure(socket),
    );
    watchRefusals(this.tlsServer, {
      ca: options.tls.ca,
      peerOf,
      onRefusal: (facts) => this.report(facts),
      // The socket of a handshake the tap refused ends as a plain reset: that refusal was reported already.
      skip: (error) => error.code === 'ECONNRESET' && this.tapRefusalsUnseen > 0 && this.tapRefusalsUnseen-- > 0,
    });
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
    const stream = this.tapping ? new HandshakeTap(tcp, this.judge, (refusal) => this.onTapRefusal(refusal)) : tcp;
    this.tlsServer.emit('connection', stream);
  }

  private onSecure(socket: TLSSocket): void {
    const expected = this.options.environment;
    if (expected && this.reported) {
      const identity = identityOf(socket);
      if (identity.environment !== 'unknown' && identity.environment !== expected) {
        const cert = socket.getPeerX509Certificate();
        this.report({
          reason: 'wrong-environment',
          message: `the client certificate is for ${identity.environment} and this gateway plays ${expected}: it is dropped, as Apple dropped it`,
          peer: peerOf(socket),
          certificate: cert === undefined ? null : certificateFacts(cert),
          trustedCa: null,
          errorCode: null,
          closed: true,
        });
      }
    }
    this.emit('secure', socket);
  }

  /** Whether anyone follows refusals: the facts are only gathered then. */
  private get reported(): boolean {
    return this.options.onRefusal !== undefined || this.listenerCount('refusal') > 0;
  }

  private report(facts: RefusalFacts): void {
    this.options.onRefusal?.(facts);
    this.emit('refusal', facts);
  }

  private onTapRefusal(refusal: RefusedHandshake): void {
    this.emit('refused', refusal);
    this.tapRefusalsUnseen++;
    if (!this.reported) return;
    let cert: X509Certificate | null = null;
    try {
      cert = new X509Certificate(refusal.der);
    } catch {
      // Refused because it does not parse: nothing more to show.
    }
    const reasons: Record<number, RefusalReason> = {
      [TlsAlert.CertificateRevoked]: 'revoked',
      [TlsAlert.CertificateExpired]: 'expired',
      [TlsAlert.UnknownCa]: 'unknown-ca',
    };
    const facts = cert === null ? null : certificateFacts(cert);
    let reason = reasons[refusal.alert] ?? 'bad-certificate';
    if (reason === 'bad-certificate' && cert !== null && Date.parse(cert.validFrom) > Date.now()) reason = 'not-yet-valid';
    const trusted = this.authorities.length === 0 ? null : trustedCaFacts(this.authorities[0]);
    const address = refusal.remoteAddress ?? 'unknown';
    this.report({
      reason,
      message: `${certificateMessage(reason, facts, trusted, null)}; answered with the TLS alert "${TLS_ALERT_NAMES[refusal.alert] ?? refusal.alert}"`,
      peer: `${address.includes(':') ? `[${address}]` : address}:${refusal.remotePort ?? 0}`,
      certificate: facts,
      trustedCa: reason === 'unknown-ca' ? trusted : null,
      errorCode: null,
      closed: true,
    });
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
    if (Date.parse(cert.validTo) < now)
      return {
        alert: TlsAlert.CertificateExpired,
        reason: `certificate ${cert.serialNumber} expired at ${new Date(cert.validTo).toISOString()}`,
      };
    if (Date.parse(cert.validFrom) > now)
      return {
        alert: TlsAlert.BadCertificate,
        reason: `certificate ${cert.serialNumber} is not valid before ${new Date(cert.validFrom).toISOString()}`,
      };
    const issued = this.authorities.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
    if (!issued) return { alert: TlsAlert.UnknownCa, reason: `certificate ${cert.serialNumber} was not issued by the simulator's CA` };
    return null;
  };
}
