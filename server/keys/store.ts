import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { ApnsMockError } from '../../common/errors.js';
import { KEY_ID_LENGTH, TEAM_ID_LENGTH } from '../../protocol/http2/index.js';
import type { ApnsEnvironment } from '../certs/index.js';
import { KEY_FILE_MODE, writeFileAtomic } from '../certs/files.js';

/** Where registered keys live inside the state directory: one JSON file per key id. */
export const KEYS_DIR = 'keys';

export const ENVIRONMENTS: readonly ApnsEnvironment[] = ['development', 'production'];

/** A registered provider key as the store shows it (the public half only). */
export interface ProviderKeyInfo {
  teamId: string;
  keyId: string;
  /** Where the key is good: both by default, as Apple's keys were until keys could be limited to one. */
  environments: ApnsEnvironment[];
  /** The team's apps (bundle ids) the key may push to; null: any (Apple does not limit a team's key). */
  topics: string[] | null;
  /** A revoked key is known but refused with 403 Forbidden. */
  revoked: boolean;
  /** SPKI PEM. */
  publicKey: string;
  createdAt: string;
}

export interface ProviderKey extends ProviderKeyInfo {
  key: KeyObject;
}

export interface AddKeyOptions {
  teamId: string;
  keyId: string;
  /** PEM (public or private: the public half is kept) or a KeyObject. */
  publicKey: string | KeyObject;
  environments?: ApnsEnvironment[] | ApnsEnvironment;
  topics?: string[] | null;
}

/** A key made by the store: the .p8 contents a provider signs with, and what was registered. */
export interface SigningKey extends ProviderKeyInfo {
  /** PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`): the contents of Apple's AuthKey_<KEYID>.p8. */
  privateKey: string;
}

export class KeyStoreError extends ApnsMockError {
  constructor(message: string) {
    super('ERR_APNS_KEY_STORE', message);
  }
}

/** Apple's key and team ids: upper-case letters and digits. The one rule for an id that names a file. */
const ID = /^[A-Z0-9]+$/;

export function checkKeyId(keyId: unknown): string {
  if (typeof keyId !== 'string' || keyId.length !== KEY_ID_LENGTH || !ID.test(keyId)) {
    throw new KeyStoreError(`a key id is ${KEY_ID_LENGTH} upper-case letters or digits, e.g. ABC123DEFG; got ${quoted(keyId)}`);
  }
  return keyId;
}

export function checkTeamId(teamId: unknown): string {
  if (typeof teamId !== 'string' || teamId.length !== TEAM_ID_LENGTH || !ID.test(teamId)) {
    throw new KeyStoreError(`a team id is ${TEAM_ID_LENGTH} upper-case letters or digits, e.g. DEF123GHIJ; got ${quoted(teamId)}`);
  }
  return teamId;
}

const quoted = (value: unknown) => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
};

const isKeyId = (value: string) => value.length === KEY_ID_LENGTH && ID.test(value);

/**
 * The file `name` inside `dir`, checked to stay there after resolving: the second guard, after
 * the id check, so that no future caller can turn an id into a path elsewhere.
 */
function fileInside(dir: string, name: string): string {
  const root = resolve(dir);
  const path = resolve(root, name);
  if (!path.startsWith(root + sep)) throw new KeyStoreError(`"${name}" would leave the key directory`);
  return path;
}

function environmentsOf(input: AddKeyOptions['environments']): ApnsEnvironment[] {
  if (input === undefined) return [...ENVIRONMENTS];
  const list = Array.isArray(input) ? input : [input];
  if (list.length === 0 || list.some((e) => !ENVIRONMENTS.includes(e))) {
    throw new KeyStoreError(`environments must be development and/or production; got ${JSON.stringify(input)}`);
  }
  return ENVIRONMENTS.filter((e) => list.includes(e));
}

function publicKeyOf(input: string | KeyObject): KeyObject {
  let key: KeyObject;
  try {
    key = typeof input === 'string' ? createPublicKey(input) : input.type === 'private' ? createPublicKey(input) : input;
  } catch (error) {
    throw new KeyStoreError(`not a key: ${(error as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new KeyStoreError('provider keys are P-256 (ES256) keys');
  }
  return key;
}

/** A P-256 key pair; the private half as PKCS#8 PEM, as Apple's .p8 files hold it. */
export function generateSigningKeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** Apple's name for a downloaded key. */
export const p8FileName = (keyId: string) => `AuthKey_${keyId}.p8`;

/** Writes a .p8 with mode 0600; returns its path. */
export async function writeP8(dir: string, keyId: string, privateKey: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = fileInside(dir, p8FileName(checkKeyId(keyId)));
  await writeFileAtomic(path, privateKey, KEY_FILE_MODE);
  return path;
}

function parseStored(text: string, source: string): ProviderKey {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new KeyStoreError(`${source} is not JSON: ${(error as Error).message}`);
  }
  const key = publicKeyOf(String(json.publicKey));
  return {
    teamId: checkTeamId(json.teamId),
    keyId: checkKeyId(json.keyId),
    environments: environmentsOf(json.environments as ApnsEnvironment[] | undefined),
    topics: Array.isArray(json.topics) ? json.topics.map(String) : null,
    revoked: json.revoked === true,
    publicKey: key.export({ type: 'spki', format: 'pem' }).toString(),
    createdAt: typeof json.createdAt === 'string' ? json.createdAt : new Date(0).toISOString(),
    key,
  };
}

const info = ({ key: _key, ...rest }: ProviderKey): ProviderKeyInfo => ({
  ...rest,
  environments: [...rest.environments],
  topics: rest.topics && [...rest.topics],
});

/**
 * The provider keys the HTTP/2 API trusts (team id, key id, environments, public key). With
 * a directory (`<state>/keys`), every key added is written there and keys written there by
 * another process (`apns-mock keys` while `serve` runs) are found on first use.
 */
export class KeyStore {
  private readonly keys = new Map<string, ProviderKey>();

  constructor(readonly dir: string | null = null) {}

  /** A store over `<stateDir>/keys`, with every key already there loaded. */
  static async open(stateDir: string): Promise<KeyStore> {
    const store = new KeyStore(join(stateDir, KEYS_DIR));
    let names: string[] = [];
    try {
      names = await readdir(store.dir!);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    // Only files named as the store names them: anything else there is not a key.
    for (const name of names.filter((n) => n.endsWith('.json') && isKeyId(n.slice(0, -'.json'.length))).sort()) {
      const path = fileInside(store.dir!, name);
      const key = parseStored(await readFile(path, 'utf8'), path);
      store.keys.set(key.keyId, key);
    }
    return store;
  }

  get size(): number {
    return this.keys.size;
  }

  list(): ProviderKeyInfo[] {
    return [...this.keys.values()].map(info);
  }

  /** Registers (or replaces) a key. */
  async add(options: AddKeyOptions): Promise<ProviderKeyInfo> {
    const key = publicKeyOf(options.publicKey);
    const entry: ProviderKey = {
      teamId: checkTeamId(options.teamId),
      keyId: checkKeyId(options.keyId),
      environments: environmentsOf(options.environments),
      topics: options.topics === undefined || options.topics === null ? null : [...options.topics],
      revoked: false,
      publicKey: key.export({ type: 'spki', format: 'pem' }).toString(),
      createdAt: new Date().toISOString(),
      key,
    };
    this.keys.set(entry.keyId, entry);
    await this.persist(entry);
    return info(entry);
  }

  /** Makes a P-256 key, registers its public half and returns both halves. */
  async create(
    teamId: string,
    keyId: string,
    options: { environments?: AddKeyOptions['environments']; topics?: string[] | null } = {},
  ): Promise<SigningKey> {
    checkTeamId(teamId);
    checkKeyId(keyId);
    const pair = generateSigningKeyPair();
    const registered = await this.add({
      teamId,
      keyId,
      publicKey: pair.publicKey,
      environments: options.environments,
      topics: options.topics,
    });
    return { ...registered, privateKey: pair.privateKey };
  }

  /** The key for a key id, reading the directory when it is not known yet. */
  async lookup(keyId: string): Promise<ProviderKey | null> {
    return this.keys.get(keyId) ?? (await this.reload(keyId));
  }

  /** Reads a key's file again (it may have been replaced); null when there is none. */
  async reload(keyId: string): Promise<ProviderKey | null> {
    if (this.dir === null || !isKeyId(keyId)) return this.keys.get(keyId) ?? null;
    let text: string;
    try {
      text = await readFile(this.fileOf(keyId), 'utf8');
    } catch {
      return this.keys.get(keyId) ?? null;
    }
    const key = parseStored(text, keyId);
    this.keys.set(keyId, key);
    return key;
  }

  /** The key stays known and is refused with Forbidden. */
  async revoke(keyId: string): Promise<boolean> {
    const entry = this.keys.get(keyId);
    if (entry === undefined) return false;
    entry.revoked = true;
    await this.persist(entry);
    return true;
  }

  /** Throws KeyStoreError for anything but a key id, so no id reaches the file system unchecked. */
  async remove(keyId: string): Promise<boolean> {
    checkKeyId(keyId);
    const had = this.keys.delete(keyId);
    if (this.dir !== null) await rm(this.fileOf(keyId), { force: true });
    return had;
  }

  /** The file of a key id: checked as an id, then as a path inside the store's directory. */
  private fileOf(keyId: string): string {
    return fileInside(this.dir!, `${checkKeyId(keyId)}.json`);
  }

  private async persist(entry: ProviderKey): Promise<void> {
    if (this.dir === null) return;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const { key: _key, ...stored } = entry;
    await writeFileAtomic(this.fileOf(entry.keyId), `${JSON.stringify(stored, null, 2)}\n`, 0o644);
  }
}
