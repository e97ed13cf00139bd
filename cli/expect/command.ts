import type { Argv, CommandModule } from 'yargs';
import { UsageError, parseDuration, parsePort } from '../shared/usage.js';

interface ExpectArgs {
  control?: string;
  'control-port'?: number;
  'control-token'?: string;
  count: number;
  exact: boolean;
  token?: string;
  outcome?: string;
  topic?: string;
  protocol?: string;
  status?: number;
  identifier?: number;
  since?: number;
  connection?: number;
  timeout: string;
  json: boolean;
}

const OUTCOMES = ['accepted', 'rejected', 'discarded', 'incomplete'];

function single<T>(value: T | T[] | undefined, option: string): T | undefined {
  if (Array.isArray(value)) throw new UsageError(`--${option} was given ${value.length} times; give it once`);
  return value;
}

function wholeNumber(value: unknown, option: string, min: number): number | undefined {
  const v = single(value, option);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new UsageError(`--${option} must be a whole number >= ${min}; got ${String(v)}`);
  return v;
}

function controlUrl(args: ExpectArgs): string {
  const url = single(args.control, 'control');
  const port = single(args['control-port'], 'control-port');
  if (url !== undefined && port !== undefined) throw new UsageError('give --control or --control-port, not both');
  if (port !== undefined) {
    const p = parsePort(port, 'control-port');
    if (p === 0) throw new UsageError('--control-port must be the port the simulator printed, not 0');
    return `http://127.0.0.1:${p}`;
  }
  const text = url ?? 'http://127.0.0.1:2198';
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new UsageError(`--control must be a URL such as http://127.0.0.1:2198; got "${text}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--control must be an http:// URL; got "${text}"`);
  return text.replace(/\/+$/, '');
}

export const expectCommand: CommandModule<object, ExpectArgs> = {
  command: 'expect',
  describe: "Wait until a running simulator's records match, for pipelines in any language: exit 0 when they do, 1 when not",
  builder: (yargs: Argv) =>
    yargs
      .option('control', { type: 'string', describe: 'Control API URL (default http://127.0.0.1:2198)' })
      .option('control-port', { type: 'number', describe: 'Control API port on 127.0.0.1, instead of --control' })
      .option('control-token', { type: 'string', describe: 'Bearer token, if the simulator was started with one' })
      .option('count', { type: 'number', default: 1, describe: 'How many matching records to wait for (at least)' })
      .option('exact', { type: 'boolean', default: false, describe: 'Fail when more than --count match' })
      .option('token', { type: 'string', describe: 'Device token, hex (spaces and case ignored)' })
      .option('outcome', {
        type: 'string',
        describe: 'accepted, rejected, discarded, incomplete, several comma-separated, or any (default: accepted; any when --status is given)',
      })
      .option('topic', { type: 'string', describe: "Topic (bundle id) of the sender's certificate" })
      .option('protocol', { type: 'string', choices: ['binary', 'http2'], describe: 'Only records that came through this API' })
      .option('status', { type: 'number', describe: 'APNs status byte of rejected records (8: invalid token)' })
      .option('identifier', { type: 'number', describe: 'Notification identifier' })
      .option('since', { type: 'number', describe: 'Only records after this sequence number' })
      .option('connection', { type: 'number', describe: 'Only records of this connection id' })
      .option('timeout', { type: 'string', default: '5s', describe: 'How long to wait: 500ms, 5s, 1m' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object (ok, wanted, matched, records)' })
      .example('$0 expect --count 3 --token aaaa…aaaa --timeout 10s', 'three accepted notifications to that device')
      .example('$0 expect --status 8 --token bbbb…bbbb', 'a notification rejected with status 8 (invalid token)')
      .example('$0 expect --control-port 49152 --outcome any --count 10 --json', '') as unknown as Argv<ExpectArgs>,
  handler: async (args) => {
    const url = controlUrl(args);
    const count = wholeNumber(args.count, 'count', 1) ?? 1;
    const token = single(args.token, 'token');
    if (token !== undefined && !/^[0-9a-fA-F\s<>:]+$/.test(token)) throw new UsageError(`--token must be hex, such as ${'ab'.repeat(32)}; got "${token}"`);
    const status = wholeNumber(args.status, 'status', 0);
    if (status !== undefined && status > 255) throw new UsageError(`--status must be a status byte (0-255); got ${status}`);
    const outcomeText = single(args.outcome, 'outcome');
    let outcomes: string[] | null;
    if (outcomeText === undefined) outcomes = status === undefined ? ['accepted'] : null;
    else if (outcomeText.trim() === 'any') outcomes = null;
    else {
      outcomes = outcomeText.split(',').map((o) => o.trim());
      for (const o of outcomes) if (!OUTCOMES.includes(o)) throw new UsageError(`--outcome must be one of ${OUTCOMES.join(', ')} or any; got "${o}"`);
    }
    const timeoutMs = parseDuration(single(args.timeout, 'timeout') ?? '5s', 'timeout');
    const { expectRecords } = await import('./run.js');
    process.exitCode = await expectRecords({
      url,
      token: single(args['control-token'], 'control-token'),
      count,
      exact: args.exact,
      timeoutMs,
      json: args.json,
      filter: {
        token: token?.replace(/[\s<>:]/g, '').toLowerCase(),
        outcome: outcomes ?? undefined,
        topic: single(args.topic, 'topic'),
        protocol: single(args.protocol, 'protocol'),
        status,
        identifier: wholeNumber(args.identifier, 'identifier', 0),
        since: wholeNumber(args.since, 'since', 0),
        connection: wholeNumber(args.connection, 'connection', 1),
      },
    });
  },
};
