import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { BinaryClient, Http2Client, type BinaryClientOptions, type Http2ClientOptions } from '../../client/index.js';
import type { SigningKey } from '../../server/keys/index.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../server/simulator.js';

/** Reconnects and retries short enough for a test to wait on. */
const FAST_BINARY = { reconnect: { initialDelayMs: 10, maxDelayMs: 200 } } as const;
const FAST_HTTP2 = { retry: { initialDelayMs: 10, maxDelayMs: 100 }, reconnect: { initialDelayMs: 10, maxDelayMs: 100 } } as const;

export interface SimulatorFixtureOptions extends SimulatorOptions {
  /** Before each test: no records, no rules, no devices, devices not strict. Default false. */
  resetEach?: boolean;
}

export interface SimulatorFixture {
  /** A BinaryClient to the simulator's gateway with its provider certificate; closed after the test. */
  binaryClient(options?: Partial<BinaryClientOptions>): BinaryClient;
  /** An Http2Client with the provider certificate; closed after the test. */
  http2CertificateClient(options?: Partial<Http2ClientOptions>): Http2Client;
  /** An Http2Client with a provider token signed by `key`; closed after the test. */
  http2TokenClient(key: SigningKey, options?: Partial<Http2ClientOptions>): Http2Client;
}

/**
 * The set-up most suites share: one simulator for the file (started before its tests, closed
 * after them), handed to `onStart`, and clients made through the fixture closed after each test.
 *
 *   let sim: Simulator;
 *   const fixture = useSimulator({ controlPort: false, resetEach: true }, (started) => (sim = started));
 */
export function useSimulator(options: SimulatorFixtureOptions, onStart: (sim: Simulator) => void): SimulatorFixture {
  const { resetEach = false, ...simulatorOptions } = options;
  let sim: Simulator | undefined;
  const clients: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    sim = await startSimulator(simulatorOptions);
    onStart(sim);
  });
  afterAll(async () => {
    await sim?.close();
  });
  if (resetEach) {
    beforeEach(() => {
      sim!.recorder.clear();
      sim!.rules.clear();
      sim!.devices.clear();
      sim!.devices.strict = false;
    });
  }
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  const started = (): Simulator => {
    if (sim === undefined) throw new Error('useSimulator: the simulator starts in beforeAll; make clients inside a test or a hook');
    return sim;
  };
  const kept = <C extends { close(): Promise<void> }>(client: C): C => {
    clients.push(client);
    return client;
  };
  return {
    binaryClient(clientOptions = {}) {
      const s = started();
      const { cert, key, ca } = s.credentials;
      return kept(new BinaryClient({ host: '127.0.0.1', port: s.ports.gateway, cert, key, ca, ...FAST_BINARY, ...clientOptions }));
    },
    http2CertificateClient(clientOptions = {}) {
      const s = started();
      const { cert, key, ca } = s.credentials;
      return kept(new Http2Client({ host: '127.0.0.1', port: s.ports.http2!, cert, key, ca, ...FAST_HTTP2, ...clientOptions }));
    },
    http2TokenClient(signingKey, clientOptions = {}) {
      const s = started();
      const token = { teamId: signingKey.teamId, keyId: signingKey.keyId, key: signingKey.privateKey };
      return kept(
        new Http2Client({ host: '127.0.0.1', port: s.ports.http2!, ca: s.credentials.ca, token, ...FAST_HTTP2, ...clientOptions }),
      );
    },
  };
}
