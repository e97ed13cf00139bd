import { createPublicKey } from 'node:crypto';
import { generate } from 'selfsigned';
import { parsePrivateKey } from './issue.js';
import type { PemPair } from './pem.js';
import { withKeyIdentifiers } from './key-identifiers.js';

/** Names the server certificate answers to: loopback, and Apple's gateway hosts for clients redirected through /etc/hosts. */
export const SERVER_DNS_NAMES = [
  'localhost',
  'gateway.push.apple.com',
  'gateway.sandbox.push.apple.com',
  'feedback.push.apple.com',
  'feedback.sandbox.push.apple.com',
  'api.push.apple.com',
  'api.sandbox.push.apple.com',
  'api.development.push.apple.com',
];
export const SERVER_IP_ADDRESSES = ['127.0.0.1', '::1'];

const ORGANIZATION = 'apns-mock-gateway';
/** A few minutes back, so a peer whose clock is slightly behind still accepts a fresh certificate. */
const CLOCK_SKEW_MS = 5 * 60_000;
/** selfsigned's codes for subject alternative names. */
const SAN_DNS = 2;
const SAN_IP = 7;

function addYears(date: Date, years: number): Date {
  const next = new Date(date);
  next.setUTCFullYear(next.getUTCFullYear() + years);
  return next;
}

/**
 * selfsigned joins the subject into one `CN=…, O=…` string that @peculiar/x509 parses again;
 * a value is escaped as RFC 4514 says, so a comma or a plus in a name stays inside it.
 */
function distinguishedNameValue(text: string): string {
  return text
    .replace(/([,+"\\<>;])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/ $/, '\\ ');
}

function subject(commonName: string): { shortName: string; value: string }[] {
  if (/[\u0000-\u001f\u007f]/.test(commonName)) {
    throw new TypeError(`a common name cannot hold control characters; got ${JSON.stringify(commonName)}`);
  }
  return [
    { shortName: 'CN', value: distinguishedNameValue(commonName) },
    { shortName: 'O', value: ORGANIZATION },
  ];
}

/** selfsigned's certificate PEM ends without a line break; files and earlier states end with one. */
const pemWithNewline = (pem: string): string => `${pem.trimEnd()}\n`;

export interface CertificateAuthorityOptions {
  /** Default `apns-mock-gateway local CA`. */
  commonName?: string;
  /** Default rsa (2048 bits); ec is P-256, much faster to generate. */
  keyType?: 'rsa' | 'ec';
}

/** A self-signed CA that can sign server and provider certificates; valid for ten years. Made by selfsigned. */
export async function createCertificateAuthority(options: CertificateAuthorityOptions = {}): Promise<PemPair> {
  const notBefore = new Date(Date.now() - CLOCK_SKEW_MS);
  const made = await withKeyIdentifiers(null, () =>
    generate(subject(options.commonName ?? `${ORGANIZATION} local CA`), {
      keyType: options.keyType ?? 'rsa',
      algorithm: 'sha256',
      notBeforeDate: notBefore,
      notAfterDate: addYears(notBefore, 10),
      extensions: [
        { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      ],
    }),
  );
  return { cert: pemWithNewline(made.cert), key: made.private };
}

/**
 * The gateway's certificate, made by selfsigned and signed by `ca`. 800 days: Apple's platforms
 * refuse TLS server certificates valid for more than 825 days, even from a locally trusted CA.
 * Its key is RSA 2048 under an RSA CA and P-256 under an EC one: selfsigned signs with an
 * algorithm of the new key's kind.
 */
export async function createServerCertificate(ca: PemPair): Promise<PemPair> {
  const caKey = parsePrivateKey(ca.key, 'the CA key');
  const keyType = caKey.asymmetricKeyType === 'ec' ? 'ec' : 'rsa';
  const caPublicKey = new Uint8Array(createPublicKey(caKey).export({ type: 'spki', format: 'der' }));
  const notBefore = new Date(Date.now() - CLOCK_SKEW_MS);
  const made = await withKeyIdentifiers(caPublicKey, () =>
    generate(subject('localhost'), {
      keyType,
      algorithm: 'sha256',
      notBeforeDate: notBefore,
      notAfterDate: new Date(notBefore.getTime() + 800 * 86_400_000),
      ca: { cert: ca.cert, key: ca.key },
      extensions: [
        { name: 'basicConstraints', cA: false, critical: true },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            ...SERVER_DNS_NAMES.map((value) => ({ type: SAN_DNS, value }) as const),
            ...SERVER_IP_ADDRESSES.map((ip) => ({ type: SAN_IP, ip }) as const),
          ],
        },
      ],
    }),
  );
  return { cert: pemWithNewline(made.cert), key: made.private };
}
