import { X509Certificate } from 'node:crypto';
import { access, constants, mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { stateOption } from '../shared/options.js';
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

/** A path relative to the working directory when it is below it; absolute otherwise. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
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

/** A CA as a person compares two of them: its subject and its SHA-256 fingerprint. */
function caIdentity(pem: string): string {
  const cert = new X509Certificate(pem);
  return `${cert.subject.split('\n').join(', ')} (SHA-256 ${cert.fingerprint256})`;
}

export const certsCommand: CommandModule<object, CertsArgs> = {
  command: 'certs',
  describe: "Write a provider certificate as Apple issued them (PEM, key, .p12) and the CA, signed by the state directory's CA",
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
      .options(stateOption('State directory holding the CA (created if missing)'))
      .option('json', { type: 'boolean', default: false, describe: 'Print the paths as one JSON line' })
      .example('$0 certs --topic com.example.app --out certs', 'development certificate, signed by .apns-mock/ca.pem')
      .example(
        '$0 certs --topic com.example.app --env production --extra-topic com.example.app.voip --out certs --json',
        'production, with the VoIP topic; paths as JSON',
      ),
  handler: async (args) => {
    const topic = checkTopic(single(args.topic, 'topic'), 'topic');
    const environment = single(args.env, 'env') as 'development' | 'production';
    const extraTopics = (args['extra-topic'] ?? []).map((t) => checkTopic(String(t), 'extra-topic'));
    const out = single(args.out, 'out');
    const state = single(args.state, 'state');
    const passphrase = single(args.passphrase, 'passphrase');
    if (out.trim() === '') throw new UsageError('--out must name a directory');
    if (state.trim() === '') throw new UsageError('--state must name a directory');
    if (passphrase === '')
      throw new UsageError('--passphrase must not be empty (an empty PKCS#12 password is read differently by different tools)');

    try {
      // Owner only, whatever the umask: the directory holds the key and the .p12.
      await mkdir(out, { recursive: true, mode: 0o700 });
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
    if (certs.createdCa) {
      // On stderr so --json stays one line; a second CA is why a simulator on another --state refuses these certificates.
      process.stderr.write(
        `No usable CA in ${shown(certs.dir)}: created a new one, ${caIdentity(certs.ca.cert)}. ` +
          `Only a simulator started with --state ${shellWord(shown(certs.dir))} trusts the certificates it signs.\n`,
      );
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
    const topics = [topic, ...extraTopics.filter((t) => t !== topic)].join(', ');
    process.stdout.write(
      [
        `Provider certificate for ${topics} (${environment}), signed by the CA in ${shown(certs.ca.certPath)}:`,
        `  issued by    ${caIdentity(certs.ca.cert)}`,
        `  certificate  ${shown(paths.cert)}`,
        `  private key  ${shown(paths.key)}`,
        `  PKCS#12      ${shown(paths.p12)}   passphrase: ${paths.passphrase}`,
        `  CA           ${shown(paths.ca)}   (trust it to verify the simulator)`,
        '',
        "To get the one .pem PHP and other senders load, convert the .p12 as with Apple's (enter the passphrase when asked):",
        `  cd ${shellWord(shown(dirname(paths.p12)))}`,
        '  openssl pkcs12 -in cert.p12 -out apple_push_notification_production.pem -nodes -clcerts',
        '',
      ].join('\n'),
    );
  },
};
