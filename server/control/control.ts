import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OUTCOMES, WaitTimeoutError, type Outcome, type RecordFilter, type Recorder } from '../recorder/index.js';
import type { DeviceRegistry } from '../registry/index.js';
import { RuleError, parseRuleSpec, type RuleSet } from '../rules/index.js';
import type { BinaryGateway } from '../binary/index.js';
import type { Http2Gateway } from '../http2/index.js';
import { KeyStoreError, type KeyStore } from '../keys/index.js';
import { RevocationError, type CertificateRevocations } from '../certs/index.js';
import { HttpError, durationParam, intParam, readJson, sendJson } from './http.js';
import { connectionSourcesOf, openEventStream, serveInspector } from '../inspector/index.js';

export interface ControlApiOptions {
  host?: string;
  port?: number;
  /** Required as `Authorization: Bearer <token>` when set; mandatory when bound beyond loopback. */
  token?: string;
  recorder: Recorder;
  rules: RuleSet;
  registry: DeviceRegistry;
  gateway: BinaryGateway;
  /** The HTTP/2 API: its connections are listed and shut down with the binary ones. */
  http2?: Http2Gateway | null;
  /** Provider keys for the HTTP/2 API (GET/POST /keys). */
  keys?: KeyStore;
  /** Revoked provider certificates (GET /certificates/revoked, POST /certificates/revoke). */
  revocations?: CertificateRevocations;
  /** Extra facts for GET /stats and GET / (ports, state directory). */
  describe?: () => Record<string, unknown>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
export const isLoopback = (host: string) => LOOPBACK.has(host) || host.startsWith('127.');

const ENVIRONMENTS = new Set(['development', 'production']);

function recordFilter(params: URLSearchParams): RecordFilter {
  const filter: RecordFilter = {};
  const token = params.get('token');
  if (token) {
    if (!/^[0-9a-fA-F\s]*$/.test(token)) throw new HttpError(400, `query parameter token must be hex; got "${token}"`);
    filter.token = token;
  }
  const outcome = params.getAll('outcome').flatMap((o) => o.split(','));
  if (outcome.length > 0) {
    for (const o of outcome) if (!OUTCOMES.includes(o as Outcome)) throw new HttpError(400, `query parameter outcome must be one of ${OUTCOMES.join(', ')}; got "${o}"`);
    filter.outcome = outcome as Outcome[];
  }
  const topic = params.get('topic');
  if (topic) filter.topic = topic;
  filter.since = intParam(params, 'since');
  filter.connectionId = intParam(params, 'connection');
  filter.identifier = intParam(params, 'identifier');
  filter.status = intParam(params, 'status');
  const protocol = params.get('protocol');
  if (protocol) {
    if (protocol !== 'binary' && protocol !== 'http2') throw new HttpError(400, `query parameter protocol must be binary or http2; got "${protocol}"`);
    filter.protocol = protocol;
  }
  const apnsId = params.get('apnsId');
  if (apnsId) filter.apnsId = apnsId.toLowerCase();
  return filter;
}

function scope(body: Record<string, unknown>, where: string) {
  if (typeof body.token !== 'string' || !/^[0-9a-fA-F\s<>]+$/.test(body.token)) throw new HttpError(400, `${where}: "token" must be a hex string`);
  if (body.topic !== undefined && body.topic !== null && typeof body.topic !== 'string') throw new HttpError(400, `${where}: "topic" must be a string`);
  if (body.environment !== undefined && body.environment !== null && !ENVIRONMENTS.has(body.environment as string)) {
    throw new HttpError(400, `${where}: "environment" must be "development" or "production"`);
  }
  if (body.timestamp !== undefined && !(Number.isInteger(body.timestamp) && (body.timestamp as number) >= 0)) {
    throw new HttpError(400, `${where}: "timestamp" must be UNIX seconds`);
  }
  return {
    token: body.token,
    topic: (body.topic as string | null | undefined) ?? null,
    environment: (body.environment as 'development' | 'production' | null | undefined) ?? null,
    timestamp: body.timestamp as number | undefined,
  };
}

const asObject = (value: unknown, where: string): Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, `${where}: the body must be a JSON object`);
  return value as Record<string, unknown>;
};

/**
 * The HTTP/JSON control API (default 127.0.0.1:2198): records, rules, devices, feedback,
 * connections and stats, for pipelines in any language.
 */
export class ControlApi {
  private readonly server: Server;

  constructor(private readonly options: ControlApiOptions) {
    const host = options.host ?? '127.0.0.1';
    if (!isLoopback(host) && !options.token) {
      throw new Error(`the control API may bind to ${host} only with a control token (--control-token): it can change the simulator`);
    }
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (response.headersSent) {
          response.destroy();
          return;
        }
        if (error instanceof HttpError) sendJson(response, error.status, { error: error.message });
        else if (error instanceof RuleError || error instanceof KeyStoreError) sendJson(response, 400, { error: error.message });
        else sendJson(response, 500, { error: error instanceof Error ? error.message : String(error) });
      });
    });
  }

  private revocationList(): CertificateRevocations {
    if (!this.options.revocations) throw new HttpError(404, 'this simulator does not revoke certificates');
    return this.options.revocations;
  }

  private keyStore(): KeyStore {
    if (!this.options.keys) throw new HttpError(404, 'this simulator has no key store');
    return this.options.keys;
  }

  async listen(): Promise<AddressInfo> {
    this.server.listen(this.options.port ?? 2198, this.options.host ?? '127.0.0.1');
    await once(this.server, 'listening');
    return this.server.address() as AddressInfo;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://control');
    const method = request.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const params = url.searchParams;
    // The inspector page and its script hold no data, so a browser loads them without the
    // token; the page then sends the token with every request it makes.
    if (method === 'GET' && (await serveInspector(request, response, path))) return;
    if (this.options.token && request.headers.authorization !== `Bearer ${this.options.token}`) {
      throw new HttpError(401, 'this control API needs "Authorization: Bearer <control token>"');
    }
    const { recorder, rules, registry, gateway } = this.options;
    const http2 = this.options.http2 ?? null;
    const route = `${method} ${path}`;
    let match: RegExpExecArray | null;

    switch (route) {
      case 'GET /':
        return sendJson(response, 200, { name: 'apns-mock-gateway control API', ...this.options.describe?.(), endpoints: ENDPOINTS });
      case 'GET /health':
        return sendJson(response, 200, { ok: true });
      case 'GET /stats':
        return sendJson(response, 200, {
          records: recorder.stats(),
          connections: gateway.stats,
          http2Connections: http2?.stats ?? null,
          rules: rules.size,
          devices: registry.devices().length,
          pendingFeedback: registry.pendingFeedback().length,
          ...this.options.describe?.(),
        });
      case 'GET /records':
        return sendJson(response, 200, recorder.list(recordFilter(params), intParam(params, 'limit', 1)));
      case 'GET /records.jsonl': {
        const lines = recorder.find(recordFilter(params)).map((r) => JSON.stringify(r)).join('\n');
        response.writeHead(200, { 'content-type': 'application/x-ndjson', 'content-disposition': 'attachment; filename="records.jsonl"' });
        response.end(lines === '' ? '' : `${lines}\n`);
        return;
      }
      case 'GET /records/wait': {
        const count = intParam(params, 'count', 1) ?? 1;
        const timeoutMs = durationParam(params, 'timeout') ?? 5000;
        const filter = recordFilter(params);
        try {
          return sendJson(response, 200, await recorder.waitFor(filter, { count, timeoutMs }));
        } catch (error) {
          if (!(error instanceof WaitTimeoutError)) throw error;
          return sendJson(response, 408, { error: error.message, matched: error.matched, records: error.seen });
        }
      }
      case 'GET /events':
        return openEventStream(request, response, params, { recorder, connections: connectionSourcesOf(this.options) });
      case 'DELETE /records':
        recorder.clear();
        return sendJson(response, 200, { cleared: true });
      case 'GET /connections':
        return sendJson(response, 200, [...gateway.connections(), ...(http2?.connectionList() ?? [])]);
      case 'POST /connections/shutdown':
        return sendJson(response, 200, { shutdown: gateway.shutdown() + (http2?.shutdown() ?? 0) });
      case 'GET /keys':
        return sendJson(response, 200, this.keyStore().list());
      case 'POST /keys': {
        const body = asObject(await readJson(request), 'keys');
        const { teamId, keyId, environments, topics, publicKey } = body as Record<string, never>;
        if (topics !== undefined && !(Array.isArray(topics) && (topics as unknown[]).every((t) => typeof t === 'string'))) throw new HttpError(400, 'keys: "topics" must be an array of bundle ids');
        const store = this.keyStore();
        if (publicKey !== undefined) return sendJson(response, 201, await store.add({ teamId, keyId, publicKey, environments, topics }));
        return sendJson(response, 201, await store.create(teamId, keyId, { environments, topics }));
      }
      case 'GET /certificates/revoked':
        return sendJson(response, 200, this.revocationList().list());
      case 'POST /certificates/revoke': {
        const body = asObject(await readJson(request), 'revoke');
        const serialNumber = body.serialNumber ?? body.serial;
        const fingerprint256 = body.fingerprint256 ?? body.fingerprint;
        const target = typeof body.cert === 'string' ? body.cert : ({ serialNumber, fingerprint256 } as { serialNumber?: string; fingerprint256?: string });
        try {
          return sendJson(response, 201, await this.revocationList().revoke(target));
        } catch (error) {
          if (error instanceof RevocationError) throw new HttpError(400, `revoke: ${error.message}`);
          throw error;
        }
      }
      case 'GET /rules':
        return sendJson(response, 200, rules.list());
      case 'POST /rules': {
        const body = await readJson(request);
        // Every rule is checked before any is added: a refused array changes nothing.
        const specs = Array.isArray(body) ? body.map((r, i) => parseRuleSpec(r, `rules[${i}]`)) : [parseRuleSpec(body)];
        const added = specs.map((spec) => rules.add(spec));
        return sendJson(response, 201, Array.isArray(body) ? added : added[0]);
      }
      case 'DELETE /rules':
        rules.clear();
        return sendJson(response, 200, { cleared: true });
      case 'GET /devices':
        return sendJson(response, 200, registry.devices());
      case 'POST /devices': {
        const body = await readJson(request);
        const list = Array.isArray(body) ? body : [body];
        // All are checked before any is registered: a refused array changes nothing.
        const scopes = list.map((item, i) => scope(asObject(item, `devices[${i}]`), `devices[${i}]`));
        const added = scopes.map((s) => registry.register(s.token, s));
        return sendJson(response, 201, Array.isArray(body) ? added : added[0]);
      }
      case 'GET /feedback':
        return sendJson(response, 200, registry.pendingFeedback());
      case 'POST /uninstall':
      case 'POST /feedback': {
        const body = await readJson(request);
        const list = Array.isArray(body) ? body : [body];
        const scopes = list.map((item, i) => scope(asObject(item, `uninstall[${i}]`), `uninstall[${i}]`));
        const added = scopes.map((s) => registry.uninstall(s.token, s));
        return sendJson(response, 201, Array.isArray(body) ? added : added[0]);
      }
    }
    if (method === 'POST' && (match = /^\/connections\/(\d+)\/shutdown$/.exec(path))) {
      const id = Number(match[1]);
      const count = gateway.shutdown(id) + (http2?.shutdown(id) ?? 0);
      const known = [...gateway.connections(), ...(http2?.connectionList() ?? [])].some((c) => c.id === id);
      if (count === 0 && !known) throw new HttpError(404, `no open connection ${id}`);
      return sendJson(response, 200, { shutdown: count });
    }
    if (method === 'DELETE' && (match = /^\/rules\/([^/]+)$/.exec(path))) {
      const id = decodeURIComponent(match[1]);
      if (!rules.remove(id)) throw new HttpError(404, `no rule "${id}"`);
      return sendJson(response, 200, { removed: id });
    }
    if (method === 'DELETE' && (match = /^\/keys\/([^/]+)$/.exec(path))) {
      const keyId = decodeURIComponent(match[1]);
      if (!(await this.keyStore().remove(keyId))) throw new HttpError(404, `no key "${keyId}"`);
      return sendJson(response, 200, { removed: keyId });
    }
    if (method === 'DELETE' && (match = /^\/devices\/([0-9a-fA-F]+)$/.exec(path))) {
      if (!registry.unregister(match[1])) throw new HttpError(404, `no registered device ${match[1]}`);
      return sendJson(response, 200, { removed: match[1].toLowerCase() });
    }
    const known = ENDPOINT_PATHS.some((pattern) => pattern.test(path));
    throw new HttpError(known ? 405 : 404, known ? `${method} is not allowed on ${path}` : `no endpoint ${path}; GET / lists them`);
  }
}

export const ENDPOINTS = [
  'GET /records',
  'GET /records/wait',
  'GET /records.jsonl',
  'GET /events',
  'DELETE /records',
  'GET /connections',
  'POST /connections/shutdown',
  'POST /connections/:id/shutdown',
  'GET /rules',
  'POST /rules',
  'DELETE /rules',
  'DELETE /rules/:id',
  'GET /devices',
  'POST /devices',
  'DELETE /devices/:token',
  'GET /feedback',
  'POST /uninstall',
  'GET /keys',
  'POST /keys',
  'DELETE /keys/:id',
  'GET /certificates/revoked',
  'POST /certificates/revoke',
  'GET /stats',
  'GET /health',
];

/** The endpoints' paths as patterns (`:id` is one segment), to tell a wrong method (405) from an unknown path (404). */
const ENDPOINT_PATHS = [...new Set(ENDPOINTS.map((e) => e.split(' ')[1]))].map((p) => new RegExp(`^${p.replace(/:[a-z]+/g, '[^/]+')}$`));
