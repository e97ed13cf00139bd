import type { ConnectionOptions } from 'node:tls';
import type { Endpoint } from './hosts.js';

/** The provider's identity: a certificate and key, or a PKCS#12 bundle; and whom to trust. */
export interface TlsCredentials {
  /** PEM certificate (Apple's "Apple Push Services: <bundle id>"). */
  cert?: string | Buffer;
  /** PEM private key of `cert`. */
  key?: string | Buffer;
  /** PKCS#12 (.p12) holding the certificate and key, as Keychain Access exported it. */
  pfx?: Buffer;
  /** Passphrase of `pfx` (or of an encrypted `key`). */
  passphrase?: string;
  /** CA(s) that sign the gateway's certificate; default Node's bundled roots (right for Apple). */
  ca?: string | Buffer | (string | Buffer)[];
  /** TLS server name to send and verify; default the host (when it is a name). */
  servername?: string;
  /** Default true. */
  rejectUnauthorized?: boolean;
}

export function checkCredentials(credentials: TlsCredentials): void {
  const pair = credentials.cert !== undefined || credentials.key !== undefined;
  if (pair && credentials.pfx !== undefined) throw new TypeError('give cert and key, or pfx, not both');
  if (pair && (credentials.cert === undefined || credentials.key === undefined)) throw new TypeError('cert and key go together: give both');
  if (!pair && credentials.pfx === undefined)
    throw new TypeError('the gateway needs a provider certificate: give cert and key, or pfx and passphrase');
}

export function tlsOptionsOf(endpoint: Endpoint, credentials: TlsCredentials): ConnectionOptions {
  const options: ConnectionOptions = {
    host: endpoint.host,
    port: endpoint.port,
    cert: credentials.cert,
    key: credentials.key,
    pfx: credentials.pfx,
    passphrase: credentials.passphrase,
    ca: credentials.ca,
    rejectUnauthorized: credentials.rejectUnauthorized ?? true,
  };
  if (credentials.servername !== undefined) options.servername = credentials.servername;
  return options;
}
