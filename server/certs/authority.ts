import {
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
} from '@peculiar/x509';
import { generateKey, issueCertificate, parsePrivateKey, privateKeyPem, type PemPair } from './issue.js';

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

function addYears(date: Date, years: number): Date {
  const next = new Date(date);
  next.setUTCFullYear(next.getUTCFullYear() + years);
  return next;
}

export interface CertificateAuthorityOptions {
  /** Default `apns-mock-gateway local CA`. */
  commonName?: string;
  /** Default rsa (2048 bits); ec is P-256, much faster to generate. */
  keyType?: 'rsa' | 'ec';
}

/** A self-signed CA that can sign server and provider certificates; valid for ten years. */
export async function createCertificateAuthority(options: CertificateAuthorityOptions = {}): Promise<PemPair> {
  const key = await generateKey(options.keyType ?? 'rsa');
  const notBefore = new Date(Date.now() - CLOCK_SKEW_MS);
  const cert = await issueCertificate({
    subject: [{ CN: [options.commonName ?? `${ORGANIZATION} local CA`] }, { O: [ORGANIZATION] }],
    subjectKey: key,
    notBefore,
    notAfter: addYears(notBefore, 10),
    extensions: [
      new BasicConstraintsExtension(true, 0, true),
      new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
    ],
  });
  return { cert, key: privateKeyPem(key) };
}

/**
 * The gateway's certificate. 800 days: Apple's platforms refuse TLS server certificates valid
 * for more than 825 days, even from a locally trusted CA.
 */
export async function createServerCertificate(ca: PemPair): Promise<PemPair> {
  const key = await generateKey('rsa');
  const notBefore = new Date(Date.now() - CLOCK_SKEW_MS);
  const notAfter = new Date(notBefore.getTime() + 800 * 86_400_000);
  const cert = await issueCertificate({
    subject: [{ CN: ['localhost'] }, { O: [ORGANIZATION] }],
    subjectKey: key,
    issuer: { cert: ca.cert, key: parsePrivateKey(ca.key, 'the CA key') },
    notBefore,
    notAfter,
    extensions: [
      new BasicConstraintsExtension(false, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment, true),
      new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth]),
      new SubjectAlternativeNameExtension([
        ...SERVER_DNS_NAMES.map((value) => ({ type: 'dns' as const, value })),
        ...SERVER_IP_ADDRESSES.map((value) => ({ type: 'ip' as const, value })),
      ]),
    ],
  });
  return { cert, key: privateKeyPem(key) };
}
