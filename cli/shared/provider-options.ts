import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { DEFAULT_STATE, hostOption, stateOption, type StateArgs } from './options.js';
import { UsageError, parsePort } from './usage.js';

/** Options every command that connects as a provider takes (send, feedback). */
export interface ProviderArgs extends StateArgs {
  host: string;
  /** Absent when the command's default depends on other options (send: 2195, or 2197 with --http2). */
  port?: number;
  cert?: string;
  key?: string;
  p12?: string;
  passphrase?: string;
  ca?: string;
  topic?: string;
  servername?: string;
}

/** The .p12 passphrase `apns-mock serve` and `apns-mock certs` write by default. */
const DEFAULT_PASSPHRASE = 'apns-mock';

/** `defaultPort` in words (e.g. "2195; 2197 with --http2") leaves the port to `targetOf`'s fallback. */
export function providerOptions<T>(yargs: Argv<T>, defaultPort: number | string, service: string): Argv<T & ProviderArgs> {
  return yargs
    .options(hostOption(`Host of the ${service}`))
    .option(
      'port',
      typeof defaultPort === 'number'
        ? { type: 'number', default: defaultPort, describe: `Port of the ${service}` }
        : { type: 'number', describe: `Port of the ${service} (default ${defaultPort})` },
    )
    .option('cert', { type: 'string', describe: 'Provider certificate, PEM (with --key)' })
    .option('key', { type: 'string', describe: 'Private key of --cert, PEM; with --http2 and no --cert, the provider key (.p8)' })
    .option('p12', { type: 'string', describe: 'Provider certificate and key as PKCS#12 (.p12), instead of --cert/--key' })
    .option('passphrase', { type: 'string', describe: `Passphrase of --p12 (default "${DEFAULT_PASSPHRASE}")` })
    .option('ca', { type: 'string', describe: "CA to trust for the server's certificate (default: the state directory's)" })
    .options(stateOption("State directory of 'apns-mock serve': without --cert/--p12 its client/ certificate is used"))
    .option('topic', {
      type: 'string',
      describe: 'Which certificate in <state>/client/ to use when it holds several; with --http2 also the apns-topic',
    })
    .option('servername', { type: 'string', describe: 'TLS server name to send and verify (default: the host)' }) as unknown as Argv<
    T & ProviderArgs
  >;
}

export interface LoadedCredentials {
  cert?: Buffer;
  key?: Buffer;
  pfx?: Buffer;
  passphrase?: string;
  ca?: Buffer;
  servername?: string;
  /** Where the certificate came from, for messages. */
  source: string;
}

function single<T>(value: T | T[] | undefined, option: string): T | undefined {
  if (Array.isArray(value)) throw new UsageError(`--${option} was given ${value.length} times; give it once`);
  return value;
}

export async function readOption(path: string, option: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read --${option} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

async function readIfPresent(path: string): Promise<Buffer | undefined> {
  return readFile(path).catch(() => undefined);
}

/** The provider certificate `apns-mock serve` wrote: `<state>/client/<topic>-cert.pem` and `-key.pem`. */
async function fromState(state: string, topic: string | undefined): Promise<{ cert: Buffer; key: Buffer; source: string }> {
  const dir = join(state, 'client');
  const names = await readdir(dir).catch(() => [] as string[]);
  const topics = names.filter((n) => n.endsWith('-cert.pem')).map((n) => n.slice(0, -'-cert.pem'.length));
  const howTo =
    "give --cert and --key (or --p12 and --passphrase), or start the simulator first with 'npx apns-mock serve' " +
    `(it writes a provider certificate to ${dir}), or point --state at the directory it uses`;
  if (topics.length === 0) throw new UsageError(`no provider certificate found in ${dir}: ${howTo}`);
  let chosen: string;
  if (topic !== undefined) {
    if (!topics.includes(topic)) throw new UsageError(`no certificate for --topic ${topic} in ${dir}; there are: ${topics.join(', ')}`);
    chosen = topic;
  } else if (topics.length === 1) {
    chosen = topics[0];
  } else {
    throw new UsageError(`${dir} holds certificates for ${topics.join(', ')}: pick one with --topic`);
  }
  const certPath = join(dir, `${chosen}-cert.pem`);
  const keyPath = join(dir, `${chosen}-key.pem`);
  const key = await readIfPresent(keyPath);
  if (key === undefined) throw new UsageError(`${certPath} has no key beside it (${keyPath}): ${howTo}`);
  return { cert: await readOption(certPath, 'state'), key, source: certPath };
}

/**
 * The provider's credentials from --cert/--key, --p12, or else the state directory of a
 * running `apns-mock serve`; the CA from --ca, or else the state directory's (if any).
 */
export async function loadCredentials(args: ProviderArgs): Promise<LoadedCredentials> {
  const cert = single(args.cert, 'cert');
  const key = single(args.key, 'key');
  const p12 = single(args.p12, 'p12');
  const ca = single(args.ca, 'ca');
  const state = single(args.state, 'state') ?? DEFAULT_STATE;
  if (p12 !== undefined && (cert !== undefined || key !== undefined)) throw new UsageError('give --p12, or --cert with --key, not both');
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--cert and --key go together: give both (or --p12)');
  const loaded: LoadedCredentials = { source: '', servername: single(args.servername, 'servername') };
  if (p12 !== undefined) {
    loaded.pfx = await readOption(p12, 'p12');
    loaded.passphrase = single(args.passphrase, 'passphrase') ?? DEFAULT_PASSPHRASE;
    loaded.source = p12;
  } else if (cert !== undefined && key !== undefined) {
    loaded.cert = await readOption(cert, 'cert');
    loaded.key = await readOption(key, 'key');
    loaded.passphrase = single(args.passphrase, 'passphrase');
    loaded.source = cert;
  } else {
    Object.assign(loaded, await fromState(state, single(args.topic, 'topic')));
  }
  loaded.ca =
    ca !== undefined
      ? await readOption(ca, 'ca')
      : ((await readIfPresent(join(state, 'client', 'ca.pem'))) ?? (await readIfPresent(join(state, 'ca.pem'))));
  return loaded;
}

/** Host and port checked; port 0 is refused (a client needs the port the server printed). */
export function targetOf(args: ProviderArgs, fallbackPort?: number): { host: string; port: number } {
  const host = single(args.host, 'host') ?? '127.0.0.1';
  const port = parsePort(single(args.port, 'port') ?? fallbackPort, 'port');
  if (port === 0) throw new UsageError('--port must be the port the server listens on, not 0');
  if (host.trim() === '') throw new UsageError('--host must name a host');
  return { host, port };
}

/** Token authentication for the HTTP/2 API: the provider key and the ids its tokens carry. */
export interface LoadedProviderKey {
  teamId: string;
  keyId: string;
  /** The .p8 contents (PKCS#8 PEM). */
  key: string;
  /** The key's apps, when `apns-mock keys --topic` limited it; else null. */
  topics: string[] | null;
  ca?: Buffer;
  servername?: string;
  /** Where the key came from, for messages. */
  source: string;
}

/** Apple's name for a downloaded key, which carries its key id. */
const P8_NAME = /(?:^|[\\/])AuthKey_([A-Za-z0-9]{10})\.p8$/;
const ID = /^[A-Za-z0-9]{10}$/;

/** True when the options ask for token authentication: --team or --key-id, or --key without --cert/--p12. */
export function wantsProviderToken(args: ProviderArgs & { team?: string; 'key-id'?: string }): boolean {
  return (
    args.team !== undefined || args['key-id'] !== undefined || (args.key !== undefined && args.cert === undefined && args.p12 === undefined)
  );
}

/**
 * The provider key for --http2 token authentication: --key FILE (a .p8), or AuthKey_<KEYID>.p8
 * in the state directory (where `serve` suggests `apns-mock keys --out` put it); the key id
 * from --key-id or the file's name; the team from --team or the key's registration in
 * <state>/keys/ (`apns-mock keys` writes it there).
 */
export async function loadProviderKey(args: ProviderArgs & { team?: string; 'key-id'?: string }): Promise<LoadedProviderKey> {
  const state = single(args.state, 'state') ?? DEFAULT_STATE;
  if (args.cert !== undefined || args.p12 !== undefined) {
    throw new UsageError('give a certificate (--cert and --key, or --p12) or a provider key (--key-id, --team, --key FILE.p8), not both');
  }
  let keyPath = single(args.key, 'key');
  let keyId = single(args['key-id'], 'key-id');
  if (keyId !== undefined && !ID.test(String(keyId))) throw new UsageError(`--key-id must be 10 letters or digits; got "${keyId}"`);
  if (keyId === undefined && keyPath !== undefined) keyId = P8_NAME.exec(keyPath)?.[1];
  if (keyId === undefined) {
    throw new UsageError(
      "--key-id: the provider key's 10-character id (it is in the name of Apple's AuthKey_<KEYID>.p8, which --key can give)",
    );
  }
  if (keyPath === undefined) {
    const candidates = [join(state, 'client'), join(state, 'keys'), state].map((dir) => join(dir, `AuthKey_${keyId}.p8`));
    for (const candidate of candidates) {
      if ((await readIfPresent(candidate)) !== undefined) {
        keyPath = candidate;
        break;
      }
    }
    if (keyPath === undefined) {
      throw new UsageError(
        `no AuthKey_${keyId}.p8 in ${join(state, 'client')} or ${join(state, 'keys')}: give --key FILE (the .p8 that 'apns-mock keys --out DIR' wrote)`,
      );
    }
  }
  const key = (await readOption(keyPath, 'key')).toString('utf8');
  let registered: { teamId?: unknown; topics?: unknown } = {};
  const stored = await readIfPresent(join(state, 'keys', `${keyId}.json`));
  if (stored !== undefined) {
    try {
      registered = JSON.parse(stored.toString('utf8')) as typeof registered;
    } catch {
      registered = {};
    }
  }
  const teamId = single(args.team, 'team') ?? (typeof registered.teamId === 'string' ? registered.teamId : undefined);
  if (teamId === undefined)
    throw new UsageError(`--team: the team id (10 characters) of key ${keyId}; it is not registered in ${join(state, 'keys')}`);
  if (!ID.test(String(teamId))) throw new UsageError(`--team must be 10 letters or digits; got "${teamId}"`);
  const ca = single(args.ca, 'ca');
  return {
    teamId: String(teamId),
    keyId: String(keyId),
    key,
    topics: Array.isArray(registered.topics) ? registered.topics.map(String) : null,
    ca:
      ca !== undefined
        ? await readOption(ca, 'ca')
        : ((await readIfPresent(join(state, 'client', 'ca.pem'))) ?? (await readIfPresent(join(state, 'ca.pem')))),
    servername: single(args.servername, 'servername'),
    source: keyPath,
  };
}

/** The apps of the provider certificates in <state>/client/ (serve writes one, named by its topic). */
export async function stateTopics(state: string): Promise<string[]> {
  const names = await readdir(join(state, 'client')).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('-cert.pem')).map((n) => n.slice(0, -'-cert.pem'.length));
}
