import { access, constants, mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { DEFAULT_P12_PASSPHRASE } from '../../server/certs/bundle.js';
import { UsageError } from '../shared/usage.js';

interface CertsArgs {
  topic: string;
  env: string;
  'extra-topic': string[];
  out: string;
  passphrase: string;
  state: string;
  json: boolean;
}

/** Bundle ids are letters, digits, dots and hyphens; underscores appear in the wild. */
const TOPIC = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function single(value: unknown, option: string): string {
  if (Array.isArray(value)) throw new UsageError(`--${option} was given ${value.length} times; give it once`);
  return String(value);
}

function checkTopic(value: string, option: string): string {
  if (!TOPIC.test(value)) {
    throw new UsageError(`--${option} must be a bundle id such as com.example.app (letters, digits, dots, hyphens); got "${value}"`);
  }
  return value;
}

/** Quotes a path for a POSIX shell when it needs it. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

const PATH_PROBLEMS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'part of the path is a file, not a directory',
  EEXIST: 'a file is in the way of a directory',
  EISDIR: 'a directory is in the way of a file',
  ENOENT: 'no such directory',
};

/** A file-system error a person fixes by choosing another directory, as a UsageError; anything else as it was. */
function pathProblem(error: unknown, option: string, value: string): unknown {
  const { code, path } = (error ?? {}) as NodeJS.ErrnoException;
  const reason = code ? PATH_PROBLEMS[code] : undefined;
  if (!reason) return error;
  return new UsageError(`cannot use --${option} ${value}: ${reason}${path && resolve(path) !== resolve(value) ? ` (${path})` : ''}`);
}

export const certsCommand: CommandModule<object, CertsArgs> = {
  command: 'certs',
  describe: 'Write a provider certificate as Apple issued them (PEM, key, .p12) and the CA, signed by the state directory\'s CA',
  builder: (yargs: Argv) =>
    yargs
      .option('topic', { type: 'string', demandOption: true, describe: 'Bundle id: the certificate UID and its topic' })
      .option('env', {
        type: 'string',
        default: 'development',
        choices: ['development', 'production'],
        describe: 'Environment extension of the certificate (development is the sandbox)',
      })
      .option('extra-topic', { type: 'string', array: true, default: [], describe: 'More topics, e.g. com.example.app.voip (repeatable)' })
      .option('out', { type: 'string', demandOption: true, describe: 'Directory for cert.pem, key.pem, cert.p12 and ca.pem' })
      .option('passphrase', { type: 'string', default: DEFAULT_P12_PASSPHRASE, describe: 'Passphrase of the .p12' })
      .option('state', { type: 'string', default: '.apns-mock', describe: 'State directory holding the CA (created if missing)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the paths as one JSON line' })
      .example('$0 certs --topic com.example.app --out certs', 'development certificate, signed by .apns-mock/ca.pem')
      .example('$0 certs --topic com.example.app --env production --extra-topic com.example.app.voip --out certs --json', 'production, with the VoIP topic; paths as JSON') as unknown as Argv<CertsArgs>,
  handler: async (args) => {
    const topic = checkTopic(single(args.topic, 'topic'), 'topic');
    const environment = single(args.env, 'env') as 'development' | 'production';
    const extraTopics = (args['extra-topic'] ?? []).map((t) => checkTopic(String(t), 'extra-topic'));
    const out = single(args.out, 'out');
    const state = single(args.state, 'state');
    const passphrase = single(args.passphrase, 'passphrase');
    if (out.trim() === '') throw new UsageError('--out must name a directory');
    if (state.trim() === '') throw new UsageError('--state must name a directory');
    if (passphrase === '') throw new UsageError('--passphrase must not be empty (an empty PKCS#12 password is read differently by different tools)');

    try {
      await mkdir(out, { recursive: true });
      await access(out, constants.W_OK);
    } catch (error) {
      throw pathProblem(error, 'out', out);
    }

    const { loadOrCreateState, createProviderCertificate, writeProviderBundle } = await import('../../server/certs/index.js');
    let certs;
    try {
      certs = await loadOrCreateState(state);
    } catch (error) {
      throw pathProblem(error, 'state', state);
    }
    const provider = await createProviderCertificate(certs.ca, { topic, environment, extraTopics });
    let paths;
    try {
      paths = await writeProviderBundle(out, provider, certs.ca, { passphrase });
    } catch (error) {
      throw pathProblem(error, 'out', out);
    }

    if (args.json) {
      const { cert, key, p12, ca } = paths;
      process.stdout.write(`${JSON.stringify({ cert, key, p12, passphrase: paths.passphrase, ca })}\n`);
      return;
    }
    const shown = (path: string): string => {
      const rel = relative(process.cwd(), path);
      return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
    };
    const topics = [topic, ...extraTopics.filter((t) => t !== topic)].join(', ');
    process.stdout.write(
      [
        `Provider certificate for ${topics} (${environment}), signed by the CA in ${shown(certs.ca.certPath)}:`,
        `  certificate  ${shown(paths.cert)}`,
        `  private key  ${shown(paths.key)}`,
        `  PKCS#12      ${shown(paths.p12)}   passphrase: ${paths.passphrase}`,
        `  CA           ${shown(paths.ca)}   (trust it to verify the simulator)`,
        '',
        'To get the one .pem PHP and other senders load, convert the .p12 as with Apple\'s (enter the passphrase when asked):',
        `  cd ${shellWord(shown(dirname(paths.p12)))}`,
        '  openssl pkcs12 -in cert.p12 -out apple_push_notification_production.pem -nodes -clcerts',
        '',
      ].join('\n'),
    );
  },
};
