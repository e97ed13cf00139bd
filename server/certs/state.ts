import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod, mkdir, readFile, rmdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCertificateAuthority, createServerCertificate, SERVER_DNS_NAMES, SERVER_IP_ADDRESSES } from './authority.js';
import { KEY_FILE_MODE, PRIVATE_DIR_MODE, writeFileAtomic } from './files.js';
import type { PemPair } from './pem.js';

export interface StateCertificates {
  /** The state directory, absolute. */
  dir: string;
  ca: PemPair & { certPath: string; keyPath: string };
  /** For localhost, 127.0.0.1 and ::1 (and Apple's gateway host names), signed by the CA. */
  server: PemPair;
  /** True when this call made a new CA (none was found, or it was unreadable or expiring) rather than reusing one. */
  createdCa: boolean;
}

/** File names inside the state directory. */
export const STATE_FILES = {
  caCert: 'ca.pem',
  caKey: 'ca-key.pem',
  serverCert: 'server.pem',
  serverKey: 'server-key.pem',
} as const;

const DAY_MS = 86_400_000;
/** A server certificate this close to its end is replaced on start, so a long CI run never sees it expire. */
const SERVER_RENEW_BEFORE_MS = 30 * DAY_MS;
const LOCK_NAME = '.lock';
/** Creating the state takes about a second; a lock older than this was left by a process that died. */
const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 60_000;

async function readIfPresent(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** The pair if both files hold a certificate and the key that belongs to it; null otherwise. */
function readPair(cert: string | null, key: string | null): { pem: PemPair; x509: X509Certificate } | null {
  if (cert === null || key === null) return null;
  try {
    const x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key))) return null;
    return { pem: { cert, key }, x509 };
  } catch {
    return null;
  }
}

interface Found {
  ca: PemPair | null;
  server: PemPair | null;
}

async function readState(dir: string): Promise<Found> {
  const [caCert, caKey, serverCert, serverKey] = await Promise.all(
    [STATE_FILES.caCert, STATE_FILES.caKey, STATE_FILES.serverCert, STATE_FILES.serverKey].map((name) => readIfPresent(join(dir, name))),
  );
  const now = Date.now();
  const ca = readPair(caCert, caKey);
  if (!ca || !ca.x509.ca || Date.parse(ca.x509.validTo) <= now + DAY_MS) return { ca: null, server: null };
  const server = readPair(serverCert, serverKey);
  const serverUsable =
    server !== null &&
    server.x509.checkIssued(ca.x509) &&
    server.x509.verify(ca.x509.publicKey) &&
    Date.parse(server.x509.validFrom) <= now &&
    Date.parse(server.x509.validTo) > now + SERVER_RENEW_BEFORE_MS &&
    SERVER_DNS_NAMES.every((name) => server.x509.checkHost(name, { wildcards: false }) === name) &&
    SERVER_IP_ADDRESSES.every((ip) => server.x509.checkIP(ip) !== undefined);
  return { ca: ca.pem, server: serverUsable ? server.pem : null };
}

/** A directory as a lock: mkdir either creates it or fails, atomically, on every platform. */
async function withLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const lock = join(dir, LOCK_NAME);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await mkdir(lock, { mode: PRIVATE_DIR_MODE });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const since = await stat(lock).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (since > LOCK_STALE_MS) {
      await rmdir(lock).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`the state directory ${dir} stays locked by ${lock}; remove it if no apns-mock is running`);
    }
    await sleep(25 + Math.random() * 50);
  }
  try {
    return await work();
  } finally {
    await rmdir(lock).catch(() => undefined);
  }
}

async function tightenKeyMode(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  try {
    const { mode } = await stat(path);
    if ((mode & 0o077) !== 0) await chmod(path, KEY_FILE_MODE);
  } catch {
    // A read-only state directory still works; its owner chose its modes.
  }
}

function result(dir: string, ca: PemPair, server: PemPair, createdCa: boolean): StateCertificates {
  return {
    dir,
    ca: { ...ca, certPath: join(dir, STATE_FILES.caCert), keyPath: join(dir, STATE_FILES.caKey) },
    server,
    createdCa,
  };
}

/**
 * Creates the state directory, a local CA and a server certificate on first start, and reuses
 * them after. A server certificate that no longer fits (expiring, or from another CA) is
 * replaced; the CA is replaced only when it is unreadable or expiring. Keys are written with
 * mode 0600 and directories created 0700, whatever the umask. Safe when several processes start
 * at once on the same directory.
 */
export async function loadOrCreateState(stateDir: string): Promise<StateCertificates> {
  const dir = resolve(stateDir);
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const found = await readState(dir);
  if (found.ca && found.server) {
    await Promise.all([tightenKeyMode(join(dir, STATE_FILES.caKey)), tightenKeyMode(join(dir, STATE_FILES.serverKey))]);
    return result(dir, found.ca, found.server, false);
  }
  return withLock(dir, async () => {
    // Another process may have finished while this one waited for the lock.
    const again = await readState(dir);
    let ca = again.ca;
    const createdCa = ca === null;
    if (!ca) {
      ca = await createCertificateAuthority();
      // The key goes first: a reader that finds the new certificate with the old key sees a mismatch and waits for the lock.
      await writeFileAtomic(join(dir, STATE_FILES.caKey), ca.key, KEY_FILE_MODE);
      await writeFileAtomic(join(dir, STATE_FILES.caCert), ca.cert, 0o644);
    }
    let server = again.ca ? again.server : null;
    if (!server) {
      server = await createServerCertificate(ca);
      await writeFileAtomic(join(dir, STATE_FILES.serverKey), server.key, KEY_FILE_MODE);
      await writeFileAtomic(join(dir, STATE_FILES.serverCert), server.cert, 0o644);
    }
    return result(dir, ca, server, createdCa);
  });
}
