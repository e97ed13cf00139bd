import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Limits } from '../protocol/binary/index.js';
import {
  CertificateRevocations,
  createProviderCertificate,
  loadOrCreateState,
  type ApnsEnvironment,
  type PemPair,
  type RevocationTarget,
  type RevokedCertificate,
  type StateCertificates,
} from './certs/index.js';
import { ControlApi, isLoopback } from './control/index.js';
import { FeedbackService } from './feedback/index.js';
import { BinaryGateway } from './binary/index.js';
import {
  RefusalLog,
  certificateFacts,
  peerOf,
  trustedCaFacts,
  trustedCasOf,
  watchRefusals,
  type ClientAuth,
  type RefusalFacts,
  type RefusalReason,
} from './tls/index.js';
import type { TLSSocket } from 'node:tls';
import { Http2Gateway, type Http2GatewayOptions } from './http2/index.js';
import { KeyStore, type SigningKey } from './keys/index.js';
import { Recorder, type NotificationRecord, type RecordFilter, type WaitOptions } from './recorder/index.js';
import { DeviceRegistry } from './registry/index.js';
import { RuleSet, loadScenario, parseScenario, type RuleSpec, type Scenario } from './rules/index.js';

export interface SimulatorOptions {
  /** Listening address for every service. Default 127.0.0.1. */
  host?: string;
  /** Binary gateway port. Default 0 (a free port); `apns-mock serve` uses 2195. */
  port?: number;
  /** Feedback service port. Default 0; `serve` uses 2196. */
  feedbackPort?: number;
  /** Control API port, or false for none. Default 0; `serve` uses 2198. */
  controlPort?: number | false;
  /** Bearer token the control API requires; needed when host is not loopback. */
  controlToken?: string;
  /** Host names (or name:port) the control API answers besides its own address: for a proxy or a container name. */
  controlAllowedHosts?: string[];
  /** State directory (CA, server certificate). Default: a fresh temporary one, removed by close(). */
  state?: string;
  /** Topic (bundle id) of the provider credentials made for the caller. Default com.example.app. */
  topic?: string;
  /** Environment of those credentials. Default development. */
  environment?: ApnsEnvironment;
  clientAuth?: ClientAuth;
  /** Payload warnings reject with status 7. */
  strict?: boolean;
  /** Only registered device tokens are valid; others get status 8. */
  strictDevices?: boolean;
  errorDelayMs?: number;
  idleTimeoutMs?: number;
  /** A binary frame still incomplete this long after its first bytes closes its connection; 0: never. Default 30,000 ms. */
  frameTimeoutMs?: number;
  /** A binary-gateway connection that has not finished its TLS handshake by then is closed. Default 30,000 ms. */
  handshakeTimeoutMs?: number;
  /** Refused provider certificates get Apple's TLS alerts (expired, unknown CA...) over TLS 1.2; see the README. Default false. */
  certificateAlerts?: boolean;
  /** A certificate for the other environment connects, then is dropped (as Apple's did). */
  gatewayEnvironment?: ApnsEnvironment | null;
  limits?: Partial<Limits>;
  maxRecords?: number;
  /** Refused connections kept for GET /connections/refused and the inspector. Default 200. */
  maxRefusals?: number;
  /** Append every record to this JSON Lines file. */
  record?: string;
  /** A scenario file path, or its contents: rules, devices, uninstalled tokens. */
  scenario?: string | Scenario | object;
  rules?: RuleSpec[];
  /** HTTP/2 provider API port, or false for none. Default 0; `serve` uses 2197. */
  http2Port?: number | false;
  /** The HTTP/2 API's behaviour: environment, stream limit, token timing, rate limit, broadcast. */
  http2?: Http2SimulatorOptions;
}

/** What the HTTP/2 API can be told; `idleTimeoutMs` defaults to the simulator's. */
export type Http2SimulatorOptions = Omit<
  Http2GatewayOptions,
  'host' | 'port' | 'tls' | 'clientAuth' | 'recorder' | 'registry' | 'rules' | 'keys' | 'connectionIds'
>;

export interface ProviderCredentials extends PemPair {
  /** The CA that signed the simulator's server certificate: trust it to connect. */
  ca: string;
  topic: string;
  environment: ApnsEnvironment;
}

export interface Simulator {
  host: string;
  ports: { gateway: number; feedback: number; control: number | null; http2: number | null };
  /** Base URL of the HTTP/2 API (`https://host:port`), or null when it is off. */
  http2Url: string | null;
  /** Base URL of the control API, or null when it is off. */
  controlUrl: string | null;
  state: string;
  caPath: string;
  /** A provider certificate and key for `topic`, and the CA to trust. */
  credentials: ProviderCredentials;
  /** Another provider certificate, signed by the same CA. */
  createCredentials(topic: string, environment?: ApnsEnvironment, extraTopics?: string[]): Promise<ProviderCredentials>;
  recorder: Recorder;
  /** Every refused or dropped connection of the three listeners, with its reason ('refused' event; the last ones kept). */
  refusals: RefusalLog;
  rules: RuleSet;
  devices: DeviceRegistry;
  gateway: BinaryGateway;
  feedback: FeedbackService;
  control: ControlApi | null;
  http2: Http2Gateway | null;
  /** Provider certificates refused from their next handshake on. */
  revocations: CertificateRevocations;
  /** Revokes a provider certificate (its PEM, serial or SHA-256 fingerprint): its next handshake fails with `certificate revoked`. */
  revokeCertificate(target: RevocationTarget): Promise<RevokedCertificate>;
  /** Provider keys the HTTP/2 API trusts (kept in `<state>/keys`). */
  keys: KeyStore;
  /** Makes a P-256 provider key and registers it: sign provider tokens with `privateKey` (the .p8's PEM). */
  createSigningKey(
    teamId: string,
    keyId: string,
    environments?: ApnsEnvironment | ApnsEnvironment[],
    topics?: string[],
  ): Promise<SigningKey>;
  records(filter?: RecordFilter): NotificationRecord[];
  waitFor(filter?: RecordFilter, options?: WaitOptions): Promise<NotificationRecord[]>;
  /** Machine-readable facts: ports, CA path, state directory. */
  describe(): Record<string, unknown>;
  close(): Promise<void>;
}

const UNTRUSTED: Record<string, RefusalReason> = {
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not-yet-valid',
  CERT_REVOKED: 'revoked',
};

/**
 * The HTTP/2 API's refusals: failed handshakes, and certificates that do not verify, which it
 * keeps (a token connection needs none) but answers 403 BadCertificate on every request.
 */
function watchHttp2Refusals(http2: Http2Gateway, ca: string, refusals: RefusalLog): void {
  watchRefusals(http2.server, { ca, peerOf, onRefusal: (facts) => refusals.add('http2', facts) });
  const authority = trustedCasOf(ca)[0];
  http2.server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.authorized) return;
    const cert = socket.getPeerX509Certificate();
    if (cert === undefined) return;
    const code = String(socket.authorizationError ?? '');
    const facts = certificateFacts(cert);
    const reason = UNTRUSTED[code] ?? 'unknown-ca';
    const why = reason === 'unknown-ca' ? `was not issued by the simulator's CA (${code})` : reason.replace(/-/g, ' ');
    refusals.add('http2', {
      reason,
      message: `the client certificate "${facts.subject}" (issuer "${facts.issuer}") ${why}: every request on this connection is answered 403 BadCertificate`,
      peer: peerOf(socket),
      certificate: facts,
      trustedCa: reason === 'unknown-ca' && authority !== undefined ? trustedCaFacts(authority) : null,
      errorCode: code || null,
      closed: false,
    });
  });
  // The HTTP/2 API may report its own refusals (a client that does not speak HTTP/2): the same log.
  http2.on('refused', (facts: RefusalFacts) => refusals.add('http2', facts));
}

async function scenarioOf(input: SimulatorOptions['scenario']): Promise<Scenario | null> {
  if (input === undefined || input === null) return null;
  return typeof input === 'string' ? loadScenario(input) : parseScenario(input);
}

/**
 * Starts the whole simulator: binary gateway, feedback service and control API, sharing one
 * recorder, device registry and rule set. Defaults suit tests: free ports, fresh certificates.
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const host = options.host ?? '127.0.0.1';
  if (options.controlPort !== false && !isLoopback(host) && !options.controlToken) {
    // Checked before anything binds: the control API can change the simulator, so off loopback it needs a token.
    throw new Error(`the control API may bind to ${host} only with a control token (--control-token)`);
  }
  const scenario = await scenarioOf(options.scenario);
  const temporaryState = options.state === undefined;
  const stateDir = options.state === undefined ? await mkdtemp(join(tmpdir(), 'apns-mock-')) : resolve(options.state);
  let certs: StateCertificates;
  try {
    certs = await loadOrCreateState(stateDir);
  } catch (error) {
    if (temporaryState) await rm(stateDir, { recursive: true, force: true });
    throw error;
  }
  const topic = options.topic ?? 'com.example.app';
  const environment = options.environment ?? 'development';
  const createCredentials = async (
    t: string,
    env: ApnsEnvironment = 'development',
    extraTopics?: string[],
  ): Promise<ProviderCredentials> => {
    const pair = await createProviderCertificate(certs.ca, { topic: t, environment: env, extraTopics });
    return { ...pair, ca: certs.ca.cert, topic: t, environment: env };
  };
  const credentials = await createCredentials(topic, environment);

  const recorder = new Recorder({ maxRecords: options.maxRecords, jsonlPath: options.record });
  const devices = new DeviceRegistry({ strict: options.strictDevices });
  const rules = new RuleSet();
  const keys = await KeyStore.open(stateDir);
  const revocations = new CertificateRevocations(certs.ca);
  let nextConnectionId = 1;
  const connectionIds = () => nextConnectionId++;
  for (const spec of [...(scenario?.rules ?? []), ...(options.rules ?? [])]) rules.add(spec);
  for (const d of scenario?.devices ?? []) devices.register(d.token, d);
  for (const d of scenario?.uninstalled ?? []) devices.uninstall(d.token, d);

  const tls = { key: certs.server.key, cert: certs.server.cert, ca: certs.ca.cert };
  const refusals = new RefusalLog(options.maxRefusals);
  const gateway = new BinaryGateway({
    onRefusal: (facts) => refusals.add('binary', facts),
    host,
    port: options.port ?? 0,
    tls,
    clientAuth: options.clientAuth,
    recorder,
    registry: devices,
    rules,
    limits: options.limits,
    strict: options.strict,
    errorDelayMs: options.errorDelayMs,
    idleTimeoutMs: options.idleTimeoutMs,
    frameTimeoutMs: options.frameTimeoutMs,
    revocations,
    certificateAlerts: options.certificateAlerts,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    environment: options.gatewayEnvironment,
    connectionIds,
  });
  const http2 =
    options.http2Port === false
      ? null
      : new Http2Gateway({
          idleTimeoutMs: options.idleTimeoutMs,
          handshakeTimeoutMs: options.handshakeTimeoutMs,
          environment: options.gatewayEnvironment ?? undefined,
          ...options.http2,
          host,
          port: options.http2Port ?? 0,
          tls,
          clientAuth: options.clientAuth === 'none' ? 'none' : 'request',
          recorder,
          registry: devices,
          rules,
          keys,
          connectionIds,
        });
  if (http2 !== null) watchHttp2Refusals(http2, tls.ca, refusals);
  if (http2 !== null) {
    // The HTTP/2 API asks for a certificate without requiring one: OpenSSL checks the CRL and a
    // revoked certificate is answered BadCertificate on every request.
    revocations.on('crl', (crl) => {
      if (crl !== null) http2.server.setSecureContext({ key: tls.key, cert: tls.cert, ca: tls.ca, minVersion: 'TLSv1.2', crl });
    });
  }
  const feedback = new FeedbackService({
    onRefusal: (facts) => refusals.add('feedback', facts),
    host,
    port: options.feedbackPort ?? 0,
    tls,
    clientAuth: options.clientAuth,
    registry: devices,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
  });
  let control: ControlApi | null = null;
  const started: { close(): Promise<void> }[] = [];
  const describe = () => ({
    gateway: gateway.port,
    feedback: feedback.port,
    control: control?.port ?? null,
    http2: http2?.port ?? null,
    host,
    ca: certs.ca.certPath,
    state: stateDir,
  });
  try {
    await gateway.listen();
    started.push(gateway);
    await feedback.listen();
    started.push(feedback);
    if (http2 !== null) {
      await http2.listen();
      started.push(http2);
    }
    if (options.controlPort !== false) {
      control = new ControlApi({
        host,
        port: options.controlPort ?? 0,
        token: options.controlToken,
        controlAllowedHosts: options.controlAllowedHosts,
        recorder,
        refusals,
        rules,
        registry: devices,
        gateway,
        http2,
        keys,
        revocations,
        describe,
      });
      await control.listen();
      started.push(control);
    }
  } catch (error) {
    await Promise.all(started.map((s) => s.close()));
    recorder.close();
    if (temporaryState) await rm(stateDir, { recursive: true, force: true });
    throw error;
  }

  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closed: Promise<void> | null = null;
  return {
    host,
    ports: { gateway: gateway.port, feedback: feedback.port, control: control?.port ?? null, http2: http2?.port ?? null },
    http2Url: http2 === null ? null : `https://${urlHost}:${http2.port}`,
    controlUrl: control === null ? null : `http://${urlHost}:${control.port}`,
    state: stateDir,
    caPath: certs.ca.certPath,
    credentials,
    createCredentials,
    recorder,
    refusals,
    rules,
    devices,
    gateway,
    feedback,
    control,
    http2,
    revocations,
    revokeCertificate: (target) => revocations.revoke(target),
    keys,
    createSigningKey: (teamId, keyId, environments, topics) => keys.create(teamId, keyId, { environments, topics }),
    records: (filter) => recorder.list(filter),
    waitFor: (filter, waitOptions) => recorder.waitFor(filter, waitOptions),
    describe,
    close() {
      closed ??= (async () => {
        await Promise.all(started.map((s) => s.close()));
        recorder.close();
        if (temporaryState) await rm(stateDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
