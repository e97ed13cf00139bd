import { createPrivateKey } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { KEY_FILE_MODE, PRIVATE_DIR_MODE, writeFileAtomic } from './files.js';
import type { PemPair } from './pem.js';

/** The .p12 passphrase when none is given; printed by `apns-mock certs`. */
export const DEFAULT_P12_PASSPHRASE = 'apns-mock';

export interface ProviderBundleOptions {
  /** Default `apns-mock`. */
  passphrase?: string;
  /** Names the files `<base>-cert.pem`, `<base>-key.pem`, `<base>.p12`; default cert.pem, key.pem, cert.p12. */
  baseName?: string;
}

export interface ProviderBundlePaths {
  cert: string;
  key: string;
  p12: string;
  passphrase: string;
  ca: string;
}

/**
 * A PKCS#12 file holding what Keychain Access exported (the certificate, its key, the common
 * name as friendly name) but with algorithms OpenSSL 3 reads by default, where Keychain's
 * RC2/3DES needed -legacy: the key shrouded with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), the
 * certificate in clear, and an HMAC-SHA1 integrity check. node-forge does this one job:
 * neither selfsigned nor @peculiar/x509 writes PKCS#12.
 */
async function toPkcs12(provider: PemPair, passphrase: string): Promise<Buffer> {
  const { default: forge } = await import('node-forge');
  // node-forge reads RSA keys only; node reads any PEM form and hands it PKCS#1.
  const keyObject = createPrivateKey(provider.key);
  if (keyObject.asymmetricKeyType !== 'rsa') {
    throw new TypeError(`a .p12 can be written for RSA keys only (Apple's were RSA 2048); this key is ${keyObject.asymmetricKeyType}`);
  }
  const key = forge.pki.privateKeyFromPem(keyObject.export({ type: 'pkcs1', format: 'pem' }) as string);
  const cert = forge.pki.certificateFromPem(provider.cert);
  const commonName = cert.subject.getField('CN')?.value as string | undefined;
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, [cert], passphrase, {
    algorithm: 'aes256',
    prfAlgorithm: 'sha256',
    count: 10_000,
    saltSize: 16,
    ...(commonName ? { friendlyName: commonName } : {}),
  } as Parameters<typeof forge.pkcs12.toPkcs12Asn1>[3]);
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

/**
 * Writes the provider certificate and key as PEM (the key with mode 0600), a
 * passphrase-protected .p12 for the `openssl pkcs12 -in cert.p12 -out ....pem -nodes -clcerts`
 * step, and the CA certificate as ca.pem, into `outDir` (created with mode 0700 if missing). Returns the
 * absolute paths and the passphrase.
 */
export async function writeProviderBundle(
  outDir: string,
  provider: PemPair,
  ca: PemPair,
  options: ProviderBundleOptions = {},
): Promise<ProviderBundlePaths> {
  const passphrase = options.passphrase ?? DEFAULT_P12_PASSPHRASE;
  if (typeof passphrase !== 'string' || passphrase === '') {
    // An empty PKCS#12 password is encoded two different ways by different tools.
    throw new RangeError('the .p12 passphrase must be a non-empty string');
  }
  const base = options.baseName;
  if (base !== undefined && (base === '' || /[/\\]/.test(base))) {
    throw new RangeError(`baseName must be a file name without a directory; got ${JSON.stringify(base)}`);
  }
  const dir = resolve(outDir);
  const paths: ProviderBundlePaths = {
    cert: join(dir, base ? `${base}-cert.pem` : 'cert.pem'),
    key: join(dir, base ? `${base}-key.pem` : 'key.pem'),
    p12: join(dir, base ? `${base}.p12` : 'cert.p12'),
    passphrase,
    ca: join(dir, 'ca.pem'),
  };
  const p12 = await toPkcs12(provider, passphrase);
  // Owner only, whatever the umask: the directory holds the key and the .p12.
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await writeFileAtomic(paths.key, provider.key, KEY_FILE_MODE);
  await writeFileAtomic(paths.cert, provider.cert, 0o644);
  // The .p12 holds the key too; its passphrase is printed, so the file mode is what protects it.
  await writeFileAtomic(paths.p12, p12, KEY_FILE_MODE);
  await writeFileAtomic(paths.ca, ca.cert, 0o644);
  return paths;
}
