import { X509Certificate } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Server as TlsServer, TLSSocket } from 'node:tls';

/** Why a connection was refused or dropped before (or instead of) carrying notifications. */
export type RefusalReason =
  | 'unknown-ca'
  | 'expired'
  | 'not-yet-valid'
  | 'revoked'
  | 'bad-certificate'
  | 'wrong-environment'
  | 'no-certificate'
  | 'not-tls'
  | 'wrong-protocol'
  | 'client-refused-server'
  | 'handshake-timeout'
  | 'handshake-failed';

export type RefusingService = 'binary' | 'feedback' | 'http2';

/** A certificate by the facts a person compares: names, serial, validity and SHA-256 fingerprint. */
export interface CertificateFacts {
  subject: string;
  issuer: string;
  serialNumber: string;
  fingerprint256: string;
  validFrom: string;
  validTo: string;
}

/** The CA the simulator trusts for provider certificates. */
export interface TrustedCa {
  subject: string;
  fingerprint256: string;
}

/** What a listener knows about one refusal; the log adds the service, a number and the time. */
export interface RefusalFacts {
  reason: RefusalReason;
  /** One sentence for a person: what was wrong and, where it helps, what to do. */
  message: string;
  peer: string;
  /** The certificate the client presented, when the simulator saw one. */
  certificate: CertificateFacts | null;
  /** Set for certificate refusals: the CA a certificate must come from. */
  trustedCa: TrustedCa | null;
  /** node's or OpenSSL's code for the failure (ERR_SSL_..., CERT_HAS_EXPIRED), when there is one. */
  errorCode: string | null;
  /** false when the connection stays open but is refused per request (HTTP/2 answers 403 BadCertificate). */
  closed: boolean;
}

export interface RefusedConnection extends RefusalFacts {
  /** 1, 2, 3... in the order refusals happened. */
  id: number;
  at: string;
  service: RefusingService;
}

export const DEFAULT_REFUSALS_KEPT = 200;

/** One subject line from node's one-attribute-per-line form: `CN=Acme, O=Example`. */
const oneLine = (name: string) => name.split('\n').filter(Boolean).join(', ');

export function certificateFacts(cert: X509Certificate): CertificateFacts {
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    serialNumber: cert.serialNumber,
    fingerprint256: cert.fingerprint256,
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: new Date(cert.validTo).toISOString(),
  };
}

/** The CAs of a TLS configuration, parsed; a PEM that does not parse is left out. */
export function trustedCasOf(ca: string | string[]): X509Certificate[] {
  return (Array.isArray(ca) ? ca : [ca]).flatMap((pem) => {
    try {
      return [new X509Certificate(pem)];
    } catch {
      return [];
    }
  });
}

export const trustedCaFacts = (ca: X509Certificate): TrustedCa => ({ subject: oneLine(ca.subject), fingerprint256: ca.fingerprint256 });

/** OpenSSL's verify codes (as node's `authorizationError` names them) by the refusal they mean. */
const VERIFY_REASONS: Record<string, RefusalReason> = {
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not-yet-valid',
  CERT_REVOKED: 'revoked',
  UNABLE_TO_GET_ISSUER_CERT: 'unknown-ca',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown-ca',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unknown-ca',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'unknown-ca',
  SELF_SIGNED_CERT_IN_CHAIN: 'unknown-ca',
  CERT_SIGNATURE_FAILURE: 'unknown-ca',
};

/** The sentence for a refused certificate, with what the person compares to see why. */
export function certificateMessage(
  reason: RefusalReason,
  cert: CertificateFacts | null,
  trusted: TrustedCa | null,
  code: string | null,
): string {
  const which = cert === null ? 'the client certificate' : `the client certificate "${cert.subject}" (serial ${cert.serialNumber})`;
  switch (reason) {
    case 'unknown-ca': {
      const issuer = cert === null ? 'another CA' : `"${cert.issuer}"`;
      const ca = trusted === null ? "the simulator's CA" : `"${trusted.subject}" (SHA-256 ${trusted.fingerprint256})`;
      return `${which} was issued by ${issuer}, not by the CA the simulator trusts, ${ca}: make it with 'apns-mock certs' and the same --state as serve`;
    }
    case 'expired':
      return `${which} expired${cert === null ? '' : ` at ${cert.validTo}`}`;
    case 'not-yet-valid':
      return `${which} is not valid before ${cert === null ? 'a later date' : cert.validFrom}`;
    case 'revoked':
      return `${which} was revoked`;
    default:
      return `${which} was refused${code === null ? '' : ` (${code})`}`;
  }
}

/** A handshake failure (no certificate kept) in words, from node's and OpenSSL's error codes. */
function handshakeFailure(error: NodeJS.ErrnoException): Pick<RefusalFacts, 'reason' | 'message'> {
  const code = error.code ?? '';
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' || code === 'ERR_SSL_CERTIFICATE_REQUIRED') {
    return {
      reason: 'no-certificate',
      message: 'the client presented no certificate and this service requires one: pass --cert/--key or --p12',
    };
  }
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT')
    return { reason: 'handshake-timeout', message: 'the client did not finish its TLS handshake in time' };
  if (code === 'ERR_SSL_HTTP_REQUEST') return { reason: 'not-tls', message: 'the client sent a plain HTTP request: this port speaks TLS' };
  if (/^ERR_SSL_(WRONG_VERSION_NUMBER|UNKNOWN_PROTOCOL|PACKET_LENGTH_TOO_LONG|RECORD_LAYER_FAILURE|UNSUPPORTED_PROTOCOL)$/.test(code)) {
    return { reason: 'not-tls', message: `the client's first bytes are not a TLS handshake (${code})` };
  }
  const alert = /^ERR_SSL_(?:TLSV1|TLSV13|SSLV3)_ALERT_(.+)$/.exec(code);
  if (alert) {
    const name = alert[1].toLowerCase().replace(/_/g, ' ');
    const trust = /unknown ca|bad certificate|certificate unknown/.test(name)
      ? ": give the client the simulator's CA (ca.pem in serve's --state)"
      : '';
    return { reason: 'client-refused-server', message: `the client ended the handshake with the alert "${name}"${trust}` };
  }
  if (code === 'ECONNRESET') return { reason: 'handshake-failed', message: 'the client closed the connection during the TLS handshake' };
  return { reason: 'handshake-failed', message: `the TLS handshake failed: ${code || error.message}` };
}

interface WatchOptions {
  /** The CA(s) provider certificates must come from. */
  ca: string | string[];
  peerOf(socket: TLSSocket): string;
  onRefusal(facts: RefusalFacts): void;
  /** A failure already reported otherwise (a handshake tap's refusal): not reported again. */
  skip?: (error: NodeJS.ErrnoException, socket: TLSSocket) => boolean;
}

/**
 * Reports every failed handshake of a TLS server with its reason. node checks a client
 * certificate after the handshake and then destroys the socket, so its `tlsClientError` knows
 * OpenSSL's verify code (`authorizationError`) but no longer the certificate: the certificate
 * is read in a 'secure' listener put before node's own. That needs the socket during its
 * handshake, and 'keylog' is the one server event that hands it over then.
 */
export function watchRefusals(server: TlsServer, options: WatchOptions): void {
  const authorities = trustedCasOf(options.ca);
  const trusted = authorities.length === 0 ? null : trustedCaFacts(authorities[0]);
  // The peer is read while the socket is whole: after node destroyed it, it has no address.
  const seen = new WeakMap<TLSSocket, { peer: string; cert?: X509Certificate }>();
  server.on('keylog', (_line, socket) => {
    if (seen.has(socket)) return;
    const facts: { peer: string; cert?: X509Certificate } = { peer: options.peerOf(socket) };
    seen.set(socket, facts);
    socket.prependOnceListener('secure', () => (facts.cert = socket.getPeerX509Certificate()));
  });
  // A connection node took needs none of it: kept, it held a certificate per open connection.
  server.on('secureConnection', (socket: TLSSocket) => seen.delete(socket));
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket) => {
    const verify = socket.authorizationError === undefined || socket.authorizationError === null ? null : String(socket.authorizationError);
    if (verify === null && options.skip?.(error, socket)) return;
    const peer = seen.get(socket)?.peer ?? options.peerOf(socket);
    const cert = seen.get(socket)?.cert;
    if (verify !== null) {
      const facts = cert === undefined ? null : certificateFacts(cert);
      const reason = VERIFY_REASONS[verify] ?? 'bad-certificate';
      options.onRefusal({
        reason,
        message: certificateMessage(reason, facts, trusted, verify),
        peer,
        certificate: facts,
        trustedCa: trusted,
        errorCode: verify,
        closed: true,
      });
      return;
    }
    const failure = handshakeFailure(error);
    options.onRefusal({
      ...failure,
      peer,
      certificate: null,
      trustedCa: failure.reason === 'no-certificate' ? trusted : null,
      errorCode: error.code ?? null,
      closed: true,
    });
  });
}

/**
 * The last refusals of every listener, oldest first, at most `limit`; emits 'refused' for each
 * as it happens. Kept apart from the records: a refused connection carries no notification.
 */
export class RefusalLog extends EventEmitter<{ refused: [RefusedConnection] }> {
  private readonly kept: RefusedConnection[] = [];
  private count = 0;
  readonly byReason: Partial<Record<RefusalReason, number>> = {};

  constructor(readonly limit = DEFAULT_REFUSALS_KEPT) {
    super();
  }

  get total(): number {
    return this.count;
  }

  add(service: RefusingService, facts: RefusalFacts): RefusedConnection {
    const refusal: RefusedConnection = { id: ++this.count, at: new Date().toISOString(), service, ...facts };
    this.kept.push(refusal);
    if (this.kept.length > this.limit) this.kept.shift();
    this.byReason[facts.reason] = (this.byReason[facts.reason] ?? 0) + 1;
    this.emit('refused', refusal);
    return refusal;
  }

  list(): RefusedConnection[] {
    return [...this.kept];
  }

  stats(): { total: number; byReason: Partial<Record<RefusalReason, number>> } {
    return { total: this.count, byReason: { ...this.byReason } };
  }
}
