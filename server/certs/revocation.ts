import { EventEmitter } from 'node:events';
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import { X509Certificate as AsnCertificate, X509CrlGenerator } from '@peculiar/x509';
import type { PemPair } from './pem.js';
import { ApnsMockError } from '../../common/errors.js';

/** A provider certificate the simulator refuses from now on. */
export interface RevokedCertificate {
  /** Upper-case hex without leading zeros, as node prints it; null when revoked by fingerprint only. */
  serialNumber: string | null;
  /** SHA-256 of the DER bytes, colon-separated upper-case hex; null when revoked by serial only. */
  fingerprint256: string | null;
  /** ISO 8601. */
  revokedAt: string;
}

/** What names a certificate to revoke: its PEM, a node certificate, or its serial or SHA-256 fingerprint. */
export type RevocationTarget = string | X509Certificate | { serialNumber?: string; fingerprint256?: string; cert?: string };

export class RevocationError extends ApnsMockError {
  constructor(message: string) {
    super('ERR_APNS_REVOCATION', message);
  }
}

export function normalizeSerial(text: string): string {
  const hex = text.replace(/[\s:]/g, '').toUpperCase();
  if (!/^[0-9A-F]+$/.test(hex) || hex.length > 40)
    throw new RevocationError(`a serial number is up to 20 bytes of hex; got ${JSON.stringify(text)}`);
  return hex.replace(/^0+(?=.)/, '');
}

export function normalizeFingerprint(text: string): string {
  const hex = text.replace(/[\s:]/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) throw new RevocationError(`a SHA-256 fingerprint is 32 bytes of hex; got ${JSON.stringify(text)}`);
  return hex.replace(/(..)(?!$)/g, '$1:');
}

/** Whole bytes, and a leading zero byte where the top bit is set: a DER INTEGER serial is positive. */
function derSerial(hex: string): string {
  const even = hex.length % 2 === 0 ? hex : `0${hex}`;
  return parseInt(even[0], 16) >= 8 ? `00${even}` : even;
}

/** A CRL's PEM label must be X509 CRL for OpenSSL; @peculiar/x509 writes CRL. */
function opensslCrlPem(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CRL-----/g, '-----$1 X509 CRL-----');
}

async function signerOf(caKey: string): Promise<{ key: webcrypto.CryptoKey; algorithm: { name: string; hash: string } }> {
  const key = createPrivateKey(caKey);
  const der = key.export({ type: 'pkcs8', format: 'der' });
  if (key.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { key: await webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']), algorithm };
  }
  const curves: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
  const namedCurve = curves[key.asymmetricKeyDetails?.namedCurve ?? ''];
  if (key.asymmetricKeyType !== 'ec' || namedCurve === undefined)
    throw new RevocationError(`cannot sign a CRL with a ${key.asymmetricKeyType} key`);
  return {
    key: await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve }, false, ['sign']),
    algorithm: { name: 'ECDSA', hash: 'SHA-256' },
  };
}

/**
 * The provider certificates the simulator refuses. A revocation takes effect at the next
 * handshake: listeners are told synchronously ('change'), and, when the CA's key is known, a
 * CRL signed by it follows ('crl') for the TLS contexts that check revocation themselves.
 */
export class CertificateRevocations extends EventEmitter<{ change: []; crl: [string | null] }> {
  private readonly bySerial = new Map<string, RevokedCertificate>();
  private readonly byFingerprint = new Map<string, RevokedCertificate>();
  private readonly entries: RevokedCertificate[] = [];
  private generation = 0;
  private currentCrl: string | null = null;

  /** `ca`: the issuer whose CRL is made; without its key, no CRL (the tap alone refuses). */
  constructor(private readonly ca?: PemPair) {
    super();
  }

  get size(): number {
    return this.entries.length;
  }

  /** The CRL of every serial revoked so far (PEM, `X509 CRL`), or null. */
  get crl(): string | null {
    return this.currentCrl;
  }

  list(): RevokedCertificate[] {
    return this.entries.map((e) => ({ ...e }));
  }

  isRevoked(cert: X509Certificate): boolean {
    if (this.entries.length === 0) return false;
    return this.bySerial.has(normalizeSerial(cert.serialNumber)) || this.byFingerprint.has(cert.fingerprint256);
  }

  /**
   * Revokes a certificate; the next handshake that presents it fails. Resolves once the CRL
   * (when there is a CA key) is made and handed to the listeners.
   */
  async revoke(target: RevocationTarget): Promise<RevokedCertificate> {
    const entry = this.entryOf(target);
    const known =
      (entry.serialNumber !== null && this.bySerial.get(entry.serialNumber)) ||
      (entry.fingerprint256 !== null && this.byFingerprint.get(entry.fingerprint256));
    if (known) return { ...known };
    this.entries.push(entry);
    if (entry.serialNumber !== null) this.bySerial.set(entry.serialNumber, entry);
    if (entry.fingerprint256 !== null) this.byFingerprint.set(entry.fingerprint256, entry);
    this.emit('change');
    await this.publishCrl();
    return { ...entry };
  }

  /** Forgets every revocation. */
  async clear(): Promise<void> {
    this.entries.length = 0;
    this.bySerial.clear();
    this.byFingerprint.clear();
    this.emit('change');
    await this.publishCrl();
  }

  private entryOf(target: RevocationTarget): RevokedCertificate {
    const revokedAt = new Date().toISOString();
    let cert: X509Certificate | null = null;
    if (target instanceof X509Certificate) cert = target;
    else if (typeof target === 'string' || typeof target?.cert === 'string') {
      const pem = typeof target === 'string' ? target : target.cert!;
      try {
        cert = new X509Certificate(pem);
      } catch (error) {
        throw new RevocationError(`not a certificate: ${(error as Error).message}`);
      }
    }
    if (cert !== null) return { serialNumber: normalizeSerial(cert.serialNumber), fingerprint256: cert.fingerprint256, revokedAt };
    const { serialNumber, fingerprint256 } = (target ?? {}) as { serialNumber?: unknown; fingerprint256?: unknown };
    if (serialNumber === undefined && fingerprint256 === undefined)
      throw new RevocationError('name the certificate: its PEM, serialNumber or fingerprint256');
    if (serialNumber !== undefined && typeof serialNumber !== 'string') throw new RevocationError('serialNumber must be a hex string');
    if (fingerprint256 !== undefined && typeof fingerprint256 !== 'string')
      throw new RevocationError('fingerprint256 must be a hex string');
    return {
      serialNumber: serialNumber === undefined ? null : normalizeSerial(serialNumber),
      fingerprint256: fingerprint256 === undefined ? null : normalizeFingerprint(fingerprint256),
      revokedAt,
    };
  }

  private async publishCrl(): Promise<void> {
    const generation = ++this.generation;
    const serials = this.entries.filter((e) => e.serialNumber !== null);
    let crl: string | null = null;
    if (this.ca !== undefined && this.ca.key !== '' && serials.length > 0) {
      const signer = await signerOf(this.ca.key);
      const made = await X509CrlGenerator.create({
        issuer: new AsnCertificate(this.ca.cert).subject,
        thisUpdate: new Date(Date.now() - 60_000),
        nextUpdate: new Date(Date.now() + 365 * 86_400_000),
        signingAlgorithm: signer.algorithm,
        signingKey: signer.key,
        entries: serials.map((e) => ({ serialNumber: derSerial(e.serialNumber!), revocationDate: new Date(e.revokedAt) })),
      });
      crl = opensslCrlPem(made.toString('pem'));
    }
    // A slower CRL for fewer entries must not replace a newer one.
    if (generation !== this.generation) return;
    this.currentCrl = crl;
    this.emit('crl', crl);
  }
}
