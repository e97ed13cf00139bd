import { mkdir } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { stateOption } from '../shared/options.js';
import { UsageError } from '../shared/usage.js';

interface KeysArgs {
  team: string;
  'key-id': string;
  out: string;
  env: string;
  topic: string[];
  state: string;
  json: boolean;
  token: boolean;
}

function single(value: unknown, option: string): string {
  if (Array.isArray(value)) throw new UsageError(`--${option} was given ${value.length} times; give it once`);
  return String(value);
}

/** Quotes a word for a POSIX shell when it needs it. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

const shown = (path: string): string => {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
};

export const keysCommand: CommandModule<object, KeysArgs> = {
  command: 'keys',
  describe: "Make a provider signing key (.p8, P-256) as Apple issues them and register it with the simulator's HTTP/2 API",
  builder: (yargs: Argv) =>
    yargs
      .option('team', { type: 'string', demandOption: true, describe: 'Team id: 10 letters or digits (the JWT iss)' })
      .option('key-id', { type: 'string', demandOption: true, describe: 'Key id: 10 letters or digits (the JWT kid)' })
      .option('out', { type: 'string', demandOption: true, describe: 'Directory for AuthKey_<KEYID>.p8 (mode 0600)' })
      .option('env', {
        type: 'string',
        default: 'both',
        choices: ['both', 'development', 'production'],
        describe: 'Environment(s) the key is good for',
      })
      .option('topic', {
        type: 'string',
        array: true,
        default: [],
        describe: 'Limit the key to these apps (bundle ids; repeatable); others get TopicDisallowed',
      })
      .options(stateOption('State directory the simulator reads keys from (keys/<KEYID>.json)'))
      .option('json', { type: 'boolean', default: false, describe: 'Print {"key": PATH, "keyId": ..., "teamId": ...} as one JSON line' })
      .option('token', {
        type: 'boolean',
        default: false,
        describe: 'Print only a provider token (JWT) signed with the new key, good for an hour',
      })
      .example('$0 keys --team TEAM000001 --key-id KEY0000001 --out keys', 'a key for both environments, registered in .apns-mock/keys')
      .example('TOKEN=$($0 keys --team TEAM000001 --key-id KEY0000001 --out keys --token)', 'the same, keeping a provider token for curl'),
  handler: async (args) => {
    const { KeyStore, KeyStoreError, checkKeyId, checkTeamId, writeP8 } = await import('../../server/keys/index.js');
    const team = single(args.team, 'team');
    const keyId = single(args['key-id'], 'key-id');
    const out = single(args.out, 'out');
    const state = single(args.state, 'state');
    const env = single(args.env, 'env');
    try {
      checkTeamId(team);
      checkKeyId(keyId);
    } catch (error) {
      throw new UsageError(`--${(error as Error).message.startsWith('a key id') ? 'key-id' : 'team'}: ${(error as Error).message}`);
    }
    if (out.trim() === '') throw new UsageError('--out must name a directory');
    if (state.trim() === '') throw new UsageError('--state must name a directory');
    const topics = (args.topic ?? []).map(String);
    const environments = env === 'both' ? (['development', 'production'] as const) : ([env] as ['development' | 'production']);

    let created;
    let path;
    try {
      const store = await KeyStore.open(state);
      created = await store.create(team, keyId, { environments: [...environments], topics: topics.length === 0 ? null : topics });
      // Owner only, whatever the umask: the directory holds the .p8.
      await mkdir(out, { recursive: true, mode: 0o700 });
      path = await writeP8(out, keyId, created.privateKey);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (
        error instanceof KeyStoreError ||
        code === 'EACCES' ||
        code === 'EPERM' ||
        code === 'ENOTDIR' ||
        code === 'EROFS' ||
        code === 'EEXIST'
      ) {
        throw new UsageError(`cannot make the key: ${(error as Error).message}`);
      }
      throw error;
    }

    let token: string | null = null;
    if (args.token || !args.json) {
      const { signProviderToken } = await import('../../protocol/http2/index.js');
      token = await signProviderToken({ teamId: team, keyId, privateKey: created.privateKey });
    }
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ key: resolve(path), keyId, teamId: team, ...(args.token ? { token } : {}) })}\n`);
      return;
    }
    if (args.token) {
      process.stdout.write(`${token}\n`);
      return;
    }
    const ca = join(state, 'ca.pem');
    process.stdout.write(
      [
        `Provider key ${keyId} of team ${team} (${environments.join(' and ')}${topics.length ? `; apps ${topics.join(', ')}` : ''}):`,
        `  private key  ${shown(path)}   (PKCS#8 P-256, as Apple's AuthKey_<KEYID>.p8)`,
        `  registered   ${shown(join(state, 'keys', `${keyId}.json`))}   (a running simulator on this state finds it on first use)`,
        '',
        'A provider token (ES256 JWT: kid, iss, iat), good for an hour:',
        `  ${token}`,
        '',
        'Send with it (HTTP/2, port 2197 of apns-mock serve):',
        `  curl --http2 --cacert ${shellWord(shown(ca))} -H "authorization: bearer ${token}" \\`,
        `    -H 'apns-topic: ${topics[0] ?? 'com.example.app'}' -H 'apns-push-type: alert' -d '{"aps":{"alert":"Hello"}}' \\`,
        `    https://localhost:2197/3/device/${'aa'.repeat(32)}`,
        '',
      ].join('\n'),
    );
  },
};
