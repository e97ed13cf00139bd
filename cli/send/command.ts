import type { Argv, CommandModule } from 'yargs';
import { PUSH_TYPES, bundleOfTopic, isPushType, type PushType } from '../../protocol/http2/constants.js';
import {
  providerOptions,
  loadCredentials,
  loadProviderKey,
  readOption,
  stateTopics,
  targetOf,
  wantsProviderToken,
  type ProviderArgs,
} from '../shared/provider-options.js';
import { readDaemon } from '../shared/daemon.js';
import { DEFAULT_CONTROL_PORT, type ExplainLookup } from '../shared/explain-lookup.js';
import { DEFAULT_HOST, DEFAULT_STATE, controlOptions, type ControlArgs } from '../shared/options.js';
import { UsageError, parsePort } from '../shared/usage.js';
import type { SendPlan } from './plan.js';

interface SendArgs extends ProviderArgs, ControlArgs {
  token: string[];
  'tokens-file'?: string;
  alert?: string;
  badge?: number;
  sound?: string;
  payload?: string;
  command: number;
  priority?: number;
  expiry?: number;
  count: number;
  rate?: string;
  flush: string;
  json: boolean;
  quiet: boolean;
  explain: boolean;
  http2: boolean;
  team?: string;
  'key-id'?: string;
  'push-type'?: string;
  'collapse-id'?: string;
}

const HEX = /^[0-9a-fA-F]$/;
/** Apple's own description of a token looked like `<740f4707 bebcf74f ...>`: spaces and brackets are dropped. */
const IGNORED = /^[\s<>]$/;

/** A device token as 64 hex digits, or a UsageError saying where it went wrong. */
export function parseToken(raw: string, where: string): string {
  let digits = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (IGNORED.test(ch)) continue;
    if (!HEX.test(ch)) throw new UsageError(`${where}: "${raw}" is not hex: ${JSON.stringify(ch)} at position ${i + 1}`);
    digits += ch;
  }
  if (digits.length !== 64) throw new UsageError(`${where}: a device token is 32 bytes, 64 hex digits; this one has ${digits.length}`);
  return digits.toLowerCase();
}

async function tokensOf(args: SendArgs): Promise<string[]> {
  const given = (args.token ?? []).map(String);
  const tokens = given.map((t, i) => parseToken(t, `--token #${i + 1}`));
  const file = args['tokens-file'];
  if (file !== undefined) {
    if (Array.isArray(file)) throw new UsageError('--tokens-file was given more than once; give it once');
    const text = (await readOption(file, 'tokens-file')).toString('utf8');
    text.split(/\r?\n/).forEach((line, i) => {
      const t = line.trim();
      if (t !== '' && !t.startsWith('#')) tokens.push(parseToken(t, `${file} line ${i + 1}`));
    });
  }
  if (tokens.length === 0)
    throw new UsageError('name at least one device token: --token <64 hex digits> (repeatable) or --tokens-file <file, one per line>');
  return tokens;
}

async function payloadOf(args: SendArgs): Promise<string | object> {
  const aps = args.alert !== undefined || args.badge !== undefined || args.sound !== undefined;
  if (args.payload !== undefined) {
    if (aps) throw new UsageError('give --payload, or --alert/--badge/--sound, not both');
    const fromFile = String(args.payload).startsWith('@');
    // The text is sent as given (its bytes are what the gateway measures), less a file's final newline.
    const text = fromFile ? (await readOption(String(args.payload).slice(1), 'payload')).toString('utf8').trimEnd() : String(args.payload);
    try {
      JSON.parse(text);
    } catch (error) {
      throw new UsageError(`--payload${fromFile ? ` ${args.payload}` : ''} is not JSON: ${(error as Error).message}`);
    }
    return text;
  }
  if (!aps) throw new UsageError('say what to send: --alert, --badge, --sound, or --payload (JSON text or @file)');
  const body: Record<string, unknown> = {};
  if (args.alert !== undefined) body.alert = String(args.alert);
  if (args.badge !== undefined) {
    if (!Number.isInteger(args.badge) || args.badge < 0) throw new UsageError(`--badge must be a whole number >= 0; got ${args.badge}`);
    body.badge = args.badge;
  }
  if (args.sound !== undefined) body.sound = String(args.sound);
  return { aps: body };
}

function rateOf(text: string | undefined): number | null {
  if (text === undefined) return null;
  const match = /^(\d+(?:\.\d+)?)\s*(?:\/\s*s)?$/.exec(String(text).trim());
  const rate = match ? Number(match[1]) : NaN;
  if (!(rate > 0)) throw new UsageError(`--rate must be notifications per second, such as 100/s; got "${text}"`);
  return rate;
}

/** The options only one of the protocols has, checked against --http2. */
function checkProtocolOptions(args: SendArgs, command: 0 | 1 | 2): void {
  if (!args.http2) {
    for (const name of ['push-type', 'collapse-id', 'team', 'key-id'] as const) {
      if (args[name] !== undefined) throw new UsageError(`--${name} is for the HTTP/2 API: add --http2`);
    }
    if (args.priority !== undefined) {
      if (args.priority !== 5 && args.priority !== 10)
        throw new UsageError(`--priority must be 10 (now) or 5 (power-conserving); got ${args.priority}`);
      if (command !== 2) throw new UsageError(`--priority needs --command 2: commands 0 and 1 have no priority`);
    }
    if (args.expiry !== undefined && command === 0) throw new UsageError('--expiry needs --command 1 or 2: command 0 has no expiry');
    return;
  }
  if (command !== 2) throw new UsageError('--command is for the binary protocol; HTTP/2 has no frame formats');
  if (args.flush !== 'marker') throw new UsageError('--flush is for the binary protocol: HTTP/2 answers every request');
  if (args.priority !== undefined && ![10, 5, 1].includes(args.priority))
    throw new UsageError(`--priority must be 10, 5 or 1 (apns-priority); got ${args.priority}`);
  const pushType = args['push-type'];
  if (pushType !== undefined && !isPushType(pushType))
    throw new UsageError(`--push-type must be one of ${PUSH_TYPES.join(', ')}; got "${pushType}"`);
}

export async function planOf(args: SendArgs): Promise<SendPlan> {
  for (const name of [
    'alert',
    'badge',
    'sound',
    'payload',
    'command',
    'priority',
    'expiry',
    'count',
    'rate',
    'flush',
    'push-type',
    'collapse-id',
    'team',
    'key-id',
  ] as const) {
    if (Array.isArray(args[name])) throw new UsageError(`--${name} was given ${(args[name] as unknown[]).length} times; give it once`);
  }
  const command = args.command as 0 | 1 | 2;
  checkProtocolOptions(args, command);
  if (args.expiry !== undefined) {
    if (!Number.isInteger(args.expiry) || args.expiry < 0 || args.expiry > 0xffff_ffff)
      throw new UsageError(`--expiry must be UNIX seconds (0: try once); got ${args.expiry}`);
  }
  if (!Number.isInteger(args.count) || args.count < 1) throw new UsageError(`--count must be a whole number >= 1; got ${args.count}`);
  const http2 = {
    protocol: args.http2 ? ('http2' as const) : ('binary' as const),
    ...(args.http2 && args.topic !== undefined ? { topic: String(args.topic) } : {}),
    ...(args['push-type'] !== undefined ? { pushType: args['push-type'] as PushType } : {}),
    ...(args['collapse-id'] !== undefined ? { collapseId: String(args['collapse-id']) } : {}),
  };
  return {
    ...targetOf(args, args.http2 ? 2197 : 2195),
    ...http2,
    tokens: await tokensOf(args),
    payload: await payloadOf(args),
    command,
    priority: args.priority,
    expiry: args.expiry,
    count: args.count,
    rate: rateOf(args.rate),
    flush: args.flush as SendPlan['flush'],
    json: args.json,
    quiet: args.quiet,
    explain: args.http2 || !args.explain ? null : await explainLookupOf(args),
  };
}

/** The control API to ask: --control-port, else the port 'serve --detach' wrote to <state>/serve.json, else 2198. */
async function explainLookupOf(args: SendArgs): Promise<ExplainLookup> {
  const host = String(args.host ?? DEFAULT_HOST);
  const token = args['control-token'] === undefined ? {} : { controlToken: String(args['control-token']) };
  if (args['control-port'] !== undefined) return { host, controlPort: parsePort(args['control-port'], 'control-port'), ...token };
  const daemon = await readDaemon(String(args.state ?? DEFAULT_STATE));
  const control = daemon?.running ? daemon.facts?.control : undefined;
  return { host, controlPort: typeof control === 'number' ? control : DEFAULT_CONTROL_PORT, ...token };
}

export const sendCommand: CommandModule<object, SendArgs> = {
  command: 'send',
  describe:
    'Send notifications over the binary protocol, or HTTP/2 with --http2, and print each outcome (exit 1 when any was rejected or failed)',
  builder: (yargs: Argv) =>
    providerOptions(
      yargs
        .option('token', { type: 'string', array: true, default: [], describe: 'Device token, 64 hex digits (repeatable)' })
        .option('tokens-file', { type: 'string', describe: 'File of device tokens, one per line (# comments)' })
        .option('alert', { type: 'string', describe: 'aps.alert text' })
        .option('badge', { type: 'number', describe: 'aps.badge' })
        .option('sound', { type: 'string', describe: 'aps.sound' })
        .option('payload', { type: 'string', describe: 'The whole payload: JSON text, or @file' })
        .option('command', { type: 'number', default: 2, choices: [0, 1, 2], describe: 'Frame format: 0 simple, 1 enhanced, 2 frame' })
        .option('priority', {
          type: 'number',
          describe: '10 now, 5 power-conserving (command 2 only); with --http2 also 1 (apns-priority)',
        })
        .option('expiry', {
          type: 'number',
          alias: 'expiration',
          describe: 'Expiration, UNIX seconds; 0: try once (commands 1, 2; apns-expiration with --http2)',
        })
        .option('count', { type: 'number', default: 1, describe: 'Notifications per token' })
        .option('rate', { type: 'string', describe: 'At most this many per second, e.g. 100/s' })
        .option('flush', {
          type: 'string',
          default: 'marker',
          choices: ['marker', 'error-window'],
          describe: "How outcomes are proven: a deliberately bad last notification (Pushy's), or a quiet 500 ms",
        })
        .option('json', { type: 'boolean', default: false, describe: 'One JSON object per line: each outcome, then a summary' })
        .option('quiet', { type: 'boolean', default: false, describe: 'Print only the summary (a progress line on a terminal)' })
        .option('explain', {
          type: 'boolean',
          default: true,
          describe: "Binary: look each rejection's reason up on the local simulator's control API (--no-explain: do not)",
        })
        .options(
          controlOptions(
            "Control API port for --explain (default: from <state>/serve.json of 'serve --detach', else 2198)",
            'Bearer token of the control API, if the simulator was started with one',
          ),
        )
        .option('http2', {
          type: 'boolean',
          default: false,
          describe: "Send to Apple's HTTP/2 provider API (port 2197 of apns-mock serve)",
        })
        .option('team', {
          type: 'string',
          describe: "HTTP/2 token authentication: the team id (default: the key's registration in <state>/keys/)",
        })
        .option('key-id', { type: 'string', describe: 'HTTP/2 token authentication: the key id (default: from --key AuthKey_<KEYID>.p8)' })
        .option('push-type', { type: 'string', describe: `HTTP/2 apns-push-type: ${PUSH_TYPES.join(', ')}` })
        .option('collapse-id', { type: 'string', describe: 'HTTP/2 apns-collapse-id (at most 64 bytes)' }),
      '2195; 2197 with --http2',
      'binary gateway or HTTP/2 API',
    )
      .example(`$0 send --token ${'aa'.repeat(32)} --alert Hello`, "to 'apns-mock serve' on this machine, with the certificate it wrote")
      .example('$0 send --tokens-file tokens.txt --payload @payload.json --count 10 --rate 100/s --json', '')
      .example('$0 send --host gateway.sandbox.push.apple.com --cert cert.pem --key key.pem --token … --alert Hi', '')
      .example(
        `$0 send --http2 --key keys/AuthKey_KEY0000001.p8 --topic com.example.app --token ${'aa'.repeat(32)} --alert Hello`,
        "HTTP/2 with a provider key made by 'apns-mock keys'",
      )
      .example(
        '$0 send --http2 --host api.sandbox.push.apple.com --port 443 --team TEAM000001 --key AuthKey_KEY0000001.p8 --topic … --token … --alert Hi',
        '',
      ),
  handler: async (args) => {
    const plan = await planOf(args);
    if (plan.protocol === 'http2') {
      const state = String(args.state ?? DEFAULT_STATE);
      if (wantsProviderToken(args)) {
        const key = await loadProviderKey(args);
        if (plan.topic === undefined) {
          // A token names no app: the key's own app when it was limited to some, else the app of serve's certificate.
          const apps = key.topics ?? (await stateTopics(state));
          if (apps.length !== 1)
            throw new UsageError(
              '--topic: the app (bundle id) to send to, the apns-topic; a provider key is good for every app of its team',
            );
          plan.topic = apps[0];
        }
        const { runSendHttp2 } = await import('./run.js');
        process.exitCode = await runSendHttp2(plan, { kind: 'token', ...key });
        return;
      }
      // A certificate's own topic is its bundle id; an apns-topic may add the push type's suffix.
      const credentials = await loadCredentials({ ...args, topic: plan.topic === undefined ? undefined : bundleOfTopic(plan.topic) });
      const { runSendHttp2 } = await import('./run.js');
      process.exitCode = await runSendHttp2(plan, { kind: 'certificate', ...credentials });
      return;
    }
    const credentials = await loadCredentials(args);
    const { runSend } = await import('./run.js');
    process.exitCode = await runSend(plan, credentials);
  },
};
