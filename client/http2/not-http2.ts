import type { TLSSocket } from 'node:tls';
import { ApnsMockError } from '../../common/errors.js';
import type { Endpoint } from '../shared/hosts.js';

/** Apple's legacy binary provider port and its feedback port (docs/protocol/binary.md): not HTTP/2. */
const BINARY_PORTS = new Set([2195, 2196]);

/** A connection that cannot succeed: the peer is not an HTTP/2 server, or refused this client's credentials. */
export class Http2ConnectError extends ApnsMockError {
  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

function isSimulator(socket: TLSSocket): boolean {
  const issuer = socket.getPeerCertificate()?.issuer as Record<string, string> | undefined;
  return issuer?.O === 'apns-mock-gateway';
}

/** The server did not choose h2 in ALPN (RFC 7301): it is not an HTTP/2 server; what the user most likely meant. */
export function notHttp2(endpoint: Endpoint, socket: TLSSocket): Http2ConnectError {
  const alpn = socket.alpnProtocol === false || socket.alpnProtocol === null ? 'none' : socket.alpnProtocol;
  const where = `${endpoint.host}:${endpoint.port}`;
  if (BINARY_PORTS.has(endpoint.port) || isSimulator(socket)) {
    const who = isSimulator(socket) ? "the simulator's binary gateway (or feedback service)" : "Apple's binary provider protocol";
    return new Http2ConnectError(
      `${where} speaks the binary protocol, not HTTP/2 (ALPN ${alpn}: it is ${who}); HTTP/2 is on port 2197 (apns-mock serve), or 443 and 2197 at Apple`,
      'ERR_APNS_NOT_HTTP2',
    );
  }
  return new Http2ConnectError(
    `the server at ${where} did not speak HTTP/2 (ALPN ${alpn}, not h2): check the host and port of the HTTP/2 API`,
    'ERR_APNS_NOT_HTTP2',
  );
}

/** TLS refusals that say what the client lacks; null for any other error. */
export function credentialsRefused(endpoint: Endpoint, error: Error | null, hasCertificate: boolean): Http2ConnectError | null {
  const code = error !== null && 'code' in error ? String(error.code) : '';
  const where = `${endpoint.host}:${endpoint.port}`;
  // TLS 1.3 alert 116 certificate_required (RFC 8446, 6.2); TLS 1.2 servers send handshake_failure instead.
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || (!hasCertificate && code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE')) {
    const hint = hasCertificate
      ? 'it did not take the one given'
      : 'this client gave none: give cert and key (or pfx), or connect to a server that takes provider tokens';
    return new Http2ConnectError(`${where} requires a client certificate and ${hint} (${code})`, 'ERR_APNS_CERTIFICATE_REQUIRED', {
      cause: error,
    });
  }
  return null;
}
