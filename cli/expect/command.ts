import type { Argv, CommandModule } from 'yargs';
import { controlOptions } from '../shared/options.js';
import { OUTCOMES } from '../../server/recorder/fields.js';
import { UsageError, parseDuration, parsePort } from '../shared/usage.js';
import { recordFilterFromOptions, recordFilterOptions } from '../shared/filter-options.js';

interface ExpectArgs {
  control?: string;
  'control-port'?: number;
  'control-token'?: string;
  count: number;
  exact: boolean;
  /** The record filters, one option each (the table of record fields). */
  [filter: string]: unknown;
  outcome?: string;
  timeout: string;
  json: boolean;
  'include-markers': boolean;
  warnings: boolean;
  junit?: string;
}

/** The control API waits no longer (its MAX_WAIT_MS): a longer --timeout would be refused there. */
const MAX_TIMEOUT_MS = 10 * 60_000;

function single<T>(value: T | T[] | undefined, option: string): T | undefined {
  if (Array.isArray(value)) throw new UsageError(`--${option} was given ${value.length} times; give it once`);
  return value;
}

function wholeNumber(value: unknown, option: string, min: number): number | undefined {
  const v = single(value, option);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new UsageError(`--${option} must be a whole number >= ${min}; got ${typeof v === 'number' ? v : JSON.stringify(v)}`);
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
  builder: (yargs: Argv) => {
    const control = yargs
      .option('control', { type: 'string', describe: 'Control API URL (default http://127.0.0.1:2198)' })
      .options(controlOptions('Control API port on 127.0.0.1, instead of --control'))
      .option('count', { type: 'number', default: 1, describe: 'How many matching records to wait for (at least)' })
      .option('exact', { type: 'boolean', default: false, describe: 'Fail when more than --count match' })
      .option('include-markers', {
        type: 'boolean',
        default: false,
        describe: "Count flush markers too (a sender's deliberate status-2 probe); left out by default",
      })
      .option('warnings', {
        type: 'boolean',
        default: true,
        describe: '--no-warnings: fail when a matched record carries payload warnings (not JSON, no aps...)',
      })
      .option('junit', { type: 'string', describe: 'Also write the checks as a JUnit XML file, for CI test reports' });
    return recordFilterOptions(control, {
      outcome: `${OUTCOMES.join(', ')}, several comma-separated, or any (default: accepted; any when --status is given)`,
      status: 'Status of rejected records: the APNs status byte (8: invalid token)',
    })
      .option('timeout', { type: 'string', default: '5s', describe: 'How long to wait: 500ms, 5s, 1m (at most 10m)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object (ok, wanted, matched, records)' })
      .example('$0 expect --count 3 --token aaaa…aaaa --timeout 10s', 'three accepted notifications to that device')
      .example('$0 expect --status 8 --token bbbb…bbbb', 'a notification rejected with status 8 (invalid token)')
      .example('$0 expect --outcome rejected --reason /BadTopic|status 8/ --alert Hello', 'a rejection whose reason and alert match')
      .example('$0 expect --count 5 --no-warnings --junit expect.xml', 'five clean accepted notifications, reported as JUnit')
      .example('$0 expect --control-port 49152 --outcome any --count 10 --json', '');
  },
  handler: async (args) => {
    const url = controlUrl(args);
    const count = wholeNumber(args.count, 'count', 1) ?? 1;
    const filter = recordFilterFromOptions(args);
    if (filter.status !== undefined && filter.status > 255)
      throw new UsageError(`--status must be a status byte (0-255); got ${filter.status}`);
    // Without --outcome: accepted records, or any when --status asks about a rejection.
    if (args.outcome === undefined && filter.status === undefined) filter.outcome = ['accepted'];
    // Flush markers are a sender's probes, not notifications: left out unless asked (--include-markers, or --marker itself).
    if (filter.marker === undefined && !args['include-markers']) filter.marker = false;
    const timeoutMs = parseDuration(single(args.timeout, 'timeout') ?? '5s', 'timeout');
    if (timeoutMs > MAX_TIMEOUT_MS)
      throw new UsageError(`--timeout must be at most 10m: the control API waits no longer; got ${single(args.timeout, 'timeout')}`);
    const junit = single(args.junit, 'junit');
    if (junit === '') throw new UsageError('--junit needs a file name');
    const { expectRecords } = await import('./run.js');
    process.exitCode = await expectRecords({
      url,
      token: single(args['control-token'], 'control-token'),
      count,
      exact: args.exact,
      timeoutMs,
      json: args.json,
      filter,
      noWarnings: !args.warnings,
      junit,
    });
  },
};
