import { createPrivateKey, createPublicKey, generateKeyPair, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import {
  AuthorityKeyIdentifierExtension,
  Name,
  SubjectKeyIdentifierExtension,
  X509Certificate as AsnCertificate,
  X509CertificateGenerator,
  type Extension,
  type JsonNameParams,
} from '@peculiar/x509';

export type { PemPair } from './pem.js';

export type KeyType = 'rsa' | 'ec';

/** Node's WebCrypto, passed explicitly rather than relying on a global. */
const cryptoProvider = webcrypto as unknown as NonNullable<Parameters<typeof X509CertificateGenerator.create>[1]>;

const generateKeyPairAsync = promisify(generateKeyPair);

/** RSA 2048 is what Apple used for provider and gateway keys; P-256 where speed matters more than likeness. */
export async function generateKey(type: KeyType): Promise<KeyObject> {
  const pair =
    type === 'rsa'
      ? await generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 })
      : await generateKeyPairAsync('ec', { namedCurve: 'prime256v1' });
  return pair.privateKey;
}

export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** Imports an issuer's key into WebCrypto (which @peculiar/x509 signs with) with a matching SHA-256 signature algorithm. */
async function signerFor(key: KeyObject): Promise<{ signingKey: webcrypto.CryptoKey; algorithm: { name: string; hash?: string } }> {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  if (key.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { signingKey: await webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']), algorithm };
  }
  if (key.asymmetricKeyType === 'ec') {
    const namedCurve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (namedCurve) {
      const signingKey = await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve }, false, ['sign']);
      return { signingKey, algorithm: { name: 'ECDSA', hash: 'SHA-256' } };
    }
  }
  throw new TypeError(
    `cannot sign with a ${key.asymmetricKeyType ?? 'unknown'} key${key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : ''}: use RSA or EC P-256/P-384/P-521`,
  );
}

/** A positive serial of 16 random bytes (RFC 5280 allows up to 20 octets, and they must be positive). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x40;
  return bytes.toString('hex');
}

export interface IssueOptions {
  subject: JsonNameParams;
  subjectKey: KeyObject;
  /** Omitted: self-signed by `subjectKey`. */
  issuer?: { cert: string; key: KeyObject };
  notBefore: Date;
  notAfter: Date;
  /** Subject and authority key identifiers are added here. */
  extensions: Extension[];
}

/**
 * Issues a certificate. Subject and authority key identifiers are always present: OpenSSL's
 * strict mode (the default of Python 3.13's ssl contexts) refuses certificates without them.
 */
export async function issueCertificate(options: IssueOptions): Promise<string> {
  const subjectPublicKey = createPublicKey(options.subjectKey).export({ type: 'spki', format: 'der' });
  const issuerKey = options.issuer?.key ?? options.subjectKey;
  const issuerPublicKey = createPublicKey(issuerKey).export({ type: 'spki', format: 'der' });
  const issuerName = options.issuer ? new AsnCertificate(options.issuer.cert).subjectName : new Name(options.subject);
  const { signingKey, algorithm } = await signerFor(issuerKey);
  const certificate = await X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: new Name(options.subject),
      issuer: issuerName,
      notBefore: options.notBefore,
      notAfter: options.notAfter,
      signingAlgorithm: algorithm,
      publicKey: subjectPublicKey,
      signingKey,
      extensions: [
        ...options.extensions,
        await SubjectKeyIdentifierExtension.create(subjectPublicKey, false, cryptoProvider),
        await AuthorityKeyIdentifierExtension.create(issuerPublicKey, false, cryptoProvider),
      ],
    },
    cryptoProvider,
  );
  return certificate.toString('pem') + '\n';
}

/** Parses a PEM private key, with the option name in the error a caller can act on. */
export function parsePrivateKey(pem: string, what: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new TypeError(`${what} is not a readable PEM private key: ${(error as Error).message}`, { cause: error });
  }
}
