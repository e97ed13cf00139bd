import type { Argv, CommandModule } from 'yargs';
import { UsageError, parseDuration, parsePort } from '../shared/usage.js';
import { DEFAULT_CONTROL_PORT } from '../shared/explain-lookup.js';
import { controlPortOption, controlTokenOption, hostOption, stateOption, type StateArgs } from '../shared/options.js';
import { BAD_ENVIRONMENT_KEY_REASONS, DEFAULT_BAD_ENVIRONMENT_KEY_REASON, isBadEnvironmentKeyReason } from '../../protocol/http2/index.js';
import { LOG_MODES, defaultLogMode, type LogMode } from './log.js';

interface ServeArgs extends StateArgs {
  host: string;
  port: number;
  'feedback-port': number;
  'control-port': number;
  'http2-port': number;
  'max-streams': number;
  'token-update-interval': string;
  'control-token'?: string;
  topic: string;
  scenario?: string;
  record?: string;
  strict: boolean;
  'strict-devices': boolean;
  'error-delay': string;
  'idle-timeout': string;
  'frame-timeout': string;
  'certificate-alerts': boolean;
  'client-auth': string;
  environment?: string;
  'legacy-payload-limit': number;
  'payload-limit': number;
  'max-records': number;
  json: boolean;
  detach: boolean;
  log?: string;
  'control-host': string[];
  'early-streams': string;
  'explain-header': boolean;
  'bad-environment-key-reason': string;
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'Start the simulator: binary gateway, feedback service, HTTP/2 API and control API',
  builder: (yargs: Argv) =>
    yargs
      .options({
        ...hostOption('Address every service listens on'),
        port: { type: 'number', default: 2195, describe: 'Binary gateway port (0: a free port)' },
        'feedback-port': { type: 'number', default: 2196, describe: 'Feedback service port (0: a free port)' },
        ...controlPortOption('Control API port (0: a free port)', DEFAULT_CONTROL_PORT),
        'http2-port': { type: 'number', default: 2197, describe: 'HTTP/2 provider API port (0: a free port)' },
        'max-streams': {
          type: 'number',
          default: 1000,
          describe: 'HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS once authenticated (1 before a valid provider token)',
        },
        'token-update-interval': {
          type: 'string',
          default: '20m',
          describe: 'HTTP/2: a new provider token more often than this on a connection gets TooManyProviderTokenUpdates',
        },
        ...controlTokenOption('Bearer token the control API requires (needed off loopback)'),
        ...stateOption('State directory: CA, server and provider certificates'),
      })
      .option('topic', {
        type: 'string',
        default: 'com.example.app',
        describe: 'Topic of the provider certificate written to the state directory',
      })
      .option('scenario', { type: 'string', describe: 'JSON file of rules, devices and uninstalled tokens' })
      .option('record', { type: 'string', describe: 'Append every record to this JSON Lines file' })
      .option('strict', { type: 'boolean', default: false, describe: 'Reject payload warnings (not JSON, no aps, ...) with status 7' })
      .option('strict-devices', { type: 'boolean', default: false, describe: 'Only registered device tokens are valid (others: status 8)' })
      .option('error-delay', { type: 'string', default: '0', describe: 'Delay before an error response (Apple: 85-800ms)' })
      .option('idle-timeout', { type: 'string', default: '0', describe: 'Close connections idle this long (0: never)' })
      .option('frame-timeout', {
        type: 'string',
        default: '30s',
        describe: 'Close a binary connection whose frame is still incomplete this long after its first bytes (0: never)',
      })
      .option('certificate-alerts', {
        type: 'boolean',
        default: false,
        describe: 'Answer expired, unknown-CA and not-yet-valid provider certificates with their TLS alert (handshakes then use TLS 1.2)',
      })
      .option('client-auth', {
        type: 'string',
        default: 'require',
        choices: ['require', 'request', 'none'],
        describe: 'Client certificates',
      })
      .option('environment', {
        type: 'string',
        choices: ['development', 'production'],
        describe: 'Drop certificates of the other environment, as Apple did; the HTTP/2 API plays this environment (default development)',
      })
      .option('legacy-payload-limit', { type: 'number', default: 256, describe: 'Largest payload for commands 0 and 1' })
      .option('payload-limit', { type: 'number', default: 2048, describe: 'Largest payload for command 2 (4096 for VoIP)' })
      .option('max-records', { type: 'number', default: 100_000, describe: 'Records kept in memory' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON line with ports and paths first' })
      .option('log', {
        type: 'string',
        choices: LOG_MODES,
        describe:
          'What happens, on stdout: each (a line per connection, notification and refusal; default on a terminal), ' +
          'summary (counts every 5 s when they changed, and refusals; default otherwise), none',
      })
      .option('control-host', {
        type: 'string',
        array: true,
        default: [],
        describe: 'Another Host name the control API answers (name or name:port; repeatable): a proxy or a container name',
      })
      .option('early-streams', {
        type: 'string',
        default: 'hold',
        choices: ['hold', 'refuse'],
        describe:
          'HTTP/2: streams beyond the one-stream limit of a token connection sent before the client acknowledged SETTINGS: ' +
          'hold (answer them once the first token was judged, with a warning) or refuse (REFUSED_STREAM)',
      })
      .option('explain-header', {
        type: 'boolean',
        default: true,
        describe:
          "HTTP/2: the simulator's explanation in an x-apns-mock-reason response header (not Apple's); --no-explain-header for byte-exact responses",
      })
      .option('bad-environment-key-reason', {
        type: 'string',
        default: DEFAULT_BAD_ENVIRONMENT_KEY_REASON,
        describe: `HTTP/2: the reason for a provider key of the other environment: ${BAD_ENVIRONMENT_KEY_REASONS.join(" (Apple's table) or ")} (what the service was seen sending)`,
      })
      .option('detach', {
        type: 'boolean',
        default: false,
        describe: "Run in the background: print the --json line once every listener is ready and exit ('apns-mock stop' stops it)",
      }) as unknown as Argv<ServeArgs>,
  handler: async (args) => {
    const ports = {
      port: parsePort(args.port, 'port'),
      feedbackPort: parsePort(args['feedback-port'], 'feedback-port'),
      controlPort: parsePort(args['control-port'], 'control-port'),
      http2Port: parsePort(args['http2-port'], 'http2-port'),
    };
    if (!Number.isInteger(args['max-streams']) || args['max-streams'] < 1)
      throw new UsageError(`--max-streams must be a whole number >= 1; got ${args['max-streams']}`);
    for (const [name, value] of [
      ['legacy-payload-limit', args['legacy-payload-limit']],
      ['payload-limit', args['payload-limit']],
      ['max-records', args['max-records']],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${name} must be a whole number >= 1; got ${value}`);
    }
    const controlHosts = (args['control-host'] ?? []).map(String);
    for (const name of controlHosts) {
      if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(name))
        throw new UsageError(`--control-host must be a host name or name:port; got "${name}"`);
    }
    const badEnvironmentKeyReason = args['bad-environment-key-reason'];
    if (!isBadEnvironmentKeyReason(badEnvironmentKeyReason))
      throw new UsageError(
        `--bad-environment-key-reason must be ${BAD_ENVIRONMENT_KEY_REASONS.join(' or ')}; got "${String(badEnvironmentKeyReason)}"`,
      );
    if (Array.isArray(args.log)) throw new UsageError('--log was given more than once; give it once');
    if (args.detach) {
      const { serveDetached } = await import('./detach.js');
      return serveDetached(args.state, process.argv.slice(2));
    }
    const { serve } = await import('./run.js');
    await serve({
      host: args.host,
      ...ports,
      controlToken: args['control-token'],
      state: args.state,
      topic: args.topic,
      scenario: args.scenario,
      record: args.record,
      strict: args.strict,
      strictDevices: args['strict-devices'],
      errorDelayMs: parseDuration(args['error-delay'], 'error-delay'),
      idleTimeoutMs: parseDuration(args['idle-timeout'], 'idle-timeout'),
      frameTimeoutMs: parseDuration(args['frame-timeout'], 'frame-timeout'),
      certificateAlerts: args['certificate-alerts'],
      clientAuth: args['client-auth'] as 'require' | 'request' | 'none',
      gatewayEnvironment: (args.environment as 'development' | 'production' | undefined) ?? null,
      limits: { legacyPayload: args['legacy-payload-limit'], framePayload: args['payload-limit'] },
      maxRecords: args['max-records'],
      controlAllowedHosts: controlHosts.length > 0 ? controlHosts : undefined,
      log: (args.log as LogMode | undefined) ?? defaultLogMode(process.stdout.isTTY === true),
      http2: {
        environment: (args.environment as 'development' | 'production' | undefined) ?? 'development',
        maxConcurrentStreams: args['max-streams'],
        tokenUpdateIntervalMs: parseDuration(args['token-update-interval'], 'token-update-interval'),
        earlyStreams: args['early-streams'] as 'hold' | 'refuse',
        explainHeader: args['explain-header'],
        badEnvironmentKeyReason,
      },
      json: args.json,
    });
  },
};
