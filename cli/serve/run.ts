import { join, relative } from 'node:path';
import { startSimulator, writeProviderBundle, RuleError, type SimulatorOptions } from '../../server/index.js';
import { RecordFileError, type SinkState } from '../../server/recorder/jsonl.js';
import { UsageError } from '../shared/usage.js';
import { followSimulator, type LogMode } from './log.js';
import { watchParent } from './parent-watch.js';

export interface ServeOptions extends SimulatorOptions {
  state: string;
  topic: string;
  json: boolean;
  /** What happens while it runs, on stdout. Default none (a library caller has its own events). */
  log?: LogMode;
}

const shown = (path: string) => {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel || '.';
};

/** `apns-mock serve`: runs until SIGINT or SIGTERM, then flushes the records and closes. */
export async function serve(options: ServeOptions): Promise<void> {
  // Who the parent and grandparent are is read before anything is printed: a wrapper killed
  // as soon as the first line appears would otherwise be gone before it was known.
  let stop: (why: string) => Promise<void> = () => process.exit(0);
  watchParent(() => void stop('its parent ending'));
  let sim;
  try {
    sim = await startSimulator(options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      const { address, port } = error as NodeJS.ErrnoException & { address?: string; port?: number };
      throw new UsageError(
        `cannot listen on ${address ?? options.host}:${port ?? '?'} (${code}); pick other ports with --port, --feedback-port, --http2-port and --control-port (0: a free one)`,
      );
    }
    if (error instanceof RuleError || (error instanceof Error && error.message.includes('control token')))
      throw new UsageError(error.message);
    if (error instanceof RecordFileError) {
      // A path, not a usage mistake: the one line says what to fix, without the --help hint.
      process.stderr.write(`apns-mock: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  // The simulator goes on without its file: records stay in memory, /stats shows the sink failed.
  sim.recorder.once('sinkFailed', (state: SinkState) => {
    process.stderr.write(
      `apns-mock: stopped writing records to ${shown(state.path)} (${state.error}) after ${state.written} record(s); ` +
        `records go on in memory and in the control API\n`,
    );
  });
  const client = await writeProviderBundle(
    join(sim.state, 'client'),
    sim.credentials,
    { cert: sim.credentials.ca, key: '' },
    { baseName: sim.credentials.topic },
  );
  const facts = {
    ...sim.describe(),
    cert: client.cert,
    key: client.key,
    p12: client.p12,
    passphrase: client.passphrase,
    topic: sim.credentials.topic,
  };
  if (options.json) {
    process.stdout.write(`${JSON.stringify(facts)}\n`);
  } else {
    const h = sim.host;
    const stateFlag = options.state === '.apns-mock' ? '' : ` --state ${shown(sim.state)}`;
    const http2Host = h === '127.0.0.1' || h === '::1' ? 'localhost' : h.includes(':') ? `[${h}]` : h;
    process.stdout.write(
      [
        `apns-mock-gateway is running`,
        `  binary gateway   ${h}:${sim.ports.gateway}   (Apple: gateway.sandbox.push.apple.com:2195)`,
        `  feedback         ${h}:${sim.ports.feedback}   (Apple: feedback.sandbox.push.apple.com:2196)`,
        sim.ports.http2 === null
          ? `  HTTP/2 API       off`
          : `  HTTP/2 API       ${h}:${sim.ports.http2}   (Apple: api.sandbox.push.apple.com:443 or 2197)`,
        sim.controlUrl ? `  control API      ${sim.controlUrl}` : `  control API      off`,
        sim.controlUrl
          ? `  inspector        ${sim.controlUrl}/${options.controlToken ? '#token=<control token>' : ''}   (open in a browser)`
          : `  inspector        off (it is served by the control API)`,
        ``,
        `  CA to trust      ${shown(sim.caPath)}`,
        `  provider cert    ${shown(client.cert)}  (topic ${sim.credentials.topic}, ${sim.credentials.environment})`,
        `  provider key     ${shown(client.key)}`,
        `  provider .p12    ${shown(client.p12)}  (passphrase "${client.passphrase}")`,
        ``,
        `Send a notification (in another terminal):`,
        `  npx apns-mock send --port ${sim.ports.gateway} --token ${'aa'.repeat(32)} --alert "Hello"`,
        ...(sim.ports.http2 === null
          ? []
          : [
              `Send over HTTP/2 with token authentication (a .p8 key made and registered, then a request):`,
              `  npx apns-mock keys --team TEAM000001 --key-id KEY0000001 --out ${shown(join(sim.state, 'client'))}${stateFlag}`,
              `  npx apns-mock send --http2 --port ${sim.ports.http2} --key-id KEY0000001${stateFlag} --token ${'aa'.repeat(32)} --alert "Hello"`,
              `The same with curl (the token is good for an hour):`,
              `  TOKEN=$(npx apns-mock keys --team TEAM000001 --key-id KEY0000001 --out ${shown(join(sim.state, 'client'))}${stateFlag} --token)`,
              `  curl --http2 --cacert ${shown(sim.caPath)} -H "authorization: bearer $TOKEN" -H 'apns-topic: ${sim.credentials.topic}' -H 'apns-push-type: alert' -d '{"aps":{"alert":"Hello"}}' https://${http2Host}:${sim.ports.http2}/3/device/${'aa'.repeat(32)}`,
              `Or with the provider certificate:`,
              `  curl --http2 --cacert ${shown(sim.caPath)} --cert ${shown(client.cert)} --key ${shown(client.key)} -d '{"aps":{"alert":"Hello"}}' https://${http2Host}:${sim.ports.http2}/3/device/${'aa'.repeat(32)}`,
            ]),
        `See what arrived:`,
        sim.controlUrl ? `  curl ${sim.controlUrl}/records` : `  (control API off)`,
        `Another provider certificate:`,
        `  npx apns-mock certs --topic com.your.app --out ./certs${stateFlag}`,
        ``,
        `Ctrl-C stops it.${options.log === 'each' ? ' What happens is printed below (--log summary or --log none for less).' : ''}`,
        ``,
      ].join('\n'),
    );
  }
  const unfollow = followSimulator(sim, options.log ?? 'none', (line) => process.stdout.write(`${line}\n`));
  let stopping = false;
  stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    unfollow();
    sim.recorder.flush();
    await sim.close();
    if (!options.json) process.stderr.write(`apns-mock: stopped on ${signal}; ${sim.recorder.stats().total} record(s)\n`);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
