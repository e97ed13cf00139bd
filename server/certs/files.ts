import { randomBytes } from 'node:crypto';
import { chmod, rename, rm, writeFile } from 'node:fs/promises';

/** Owner read/write only: the mode for every private key written. */
export const KEY_FILE_MODE = 0o600;

/** Owner only: the mode of every directory created to hold private keys. */
export const PRIVATE_DIR_MODE = 0o700;

/**
 * Writes through a temporary file and a rename, so a concurrent reader sees the old file or
 * the new one, never half of one; and a key gets its mode even where a file already existed.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, data, { mode, flag: 'wx' });
    // writeFile's mode is filtered by the umask; the key's must not be.
    await chmod(temporary, mode);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
