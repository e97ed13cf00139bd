import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { recordFilterFromQuery, type RecordFilter, type Recorder } from '../recorder/index.js';
import type { DeviceRegistry } from '../registry/index.js';
import { parseRuleSpec, type RuleSet } from '../rules/index.js';
import type { BinaryGateway } from '../binary/index.js';
import type { Http2Gateway } from '../http2/index.js';
import type { KeyStore } from '../keys/index.js';
import type { RefusalLog } from '../tls/index.js';
import { RevocationError, type CertificateRevocations } from '../certs/index.js';
import { HttpError, decodePathSegment, durationParam, intParam, readJson, sendError, sendJson } from './http.js';
import { connectionSourcesOf, openEventStream, serveInspector } from '../inspector/index.js';
import { RequestGuard } from './guard.js';
import { asObject, parseDeviceScope } from './input.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, streamRecordLines, streamRecordPage } from './stream.js';
import { MAX_WAIT_MS, MAX_WAITERS, WaitRoom } from './waiters.js';

export interface ControlApiOptions {
  host?: string;
  port?: number;
  /** Required as `Authorization: Bearer <token>` when set; mandatory when bound beyond loopback. */
  token?: string;
  recorder: Recorder;
  /** Refused and dropped connections (GET /connections/refused, the `refused` event). */
  refusals?: RefusalLog;
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
  /**
   * Host names (`name`, or `name:port`) the API answers to besides the address it is bound
   * to (and `localhost` when that is loopback): a request naming any other Host is refused,
   * which is what stops a web page that re-points its own name at this address (DNS rebinding).
   */
  controlAllowedHosts?: readonly string[];
  /** Open `GET /records/wait` requests at once; more are refused with 503. Default 1000. */
  maxWaiters?: number;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
export const isLoopback = (host: string) => LOOPBACK.has(host) || host.startsWith('127.');

/** The records a query asks for; a bad value is a RecordFilterError, answered 400 with its code. */
function recordFilter(params: URLSearchParams): RecordFilter {
  return recordFilterFromQuery(params);
}

/**
 * The HTTP/JSON control API (default 127.0.0.1:2198): records, rules, devices, feedback,
 * connections and stats, for pipelines in any language.
 */
export class ControlApi {
  private readonly server: Server;
  private guard: RequestGuard | null = null;
  private readonly waits: WaitRoom;

  constructor(private readonly options: ControlApiOptions) {
    const host = options.host ?? '127.0.0.1';
    if (!isLoopback(host) && !options.token) {
      throw new Error(`the control API may bind to ${host} only with a control token (--control-token): it can change the simulator`);
    }
    this.waits = new WaitRoom(options.recorder, options.maxWaiters ?? MAX_WAITERS);
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (response.headersSent) {
          response.destroy();
          return;
        }
        sendError(response, error);
      });
    });
  }

  /** `GET /records/wait` requests open now. */
  get openWaits(): number {
    return this.waits.size;
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
    const host = this.options.host ?? '127.0.0.1';
    this.server.listen(this.options.port ?? 2198, host);
    await once(this.server, 'listening');
    const address = this.server.address() as AddressInfo;
    // Known only now when the port was 0.
    this.guard = new RequestGuard({ boundHost: host, port: address.port, allowedHosts: this.options.controlAllowedHosts });
    return address;
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
    this.guard?.checkAddress(request);
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://control');
    } catch {
      throw new HttpError(400, `the request target ${JSON.stringify(request.url)} is not a path`);
    }
    // HEAD is answered as GET is, without the body (node leaves it out).
    const headOnly = request.method === 'HEAD';
    const method = headOnly ? 'GET' : (request.method ?? 'GET');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const params = url.searchParams;
    // The inspector page and its script hold no data, so a browser loads them without the
    // token; the page then sends the token with every request it makes.
    if (method === 'GET' && (await serveInspector(request, response, path))) return;
    if (this.options.token && request.headers.authorization !== `Bearer ${this.options.token}`) {
      throw new HttpError(401, 'this control API needs "Authorization: Bearer <control token>"');
    }
    // After the token: a caller without it learns that first.
    this.guard?.checkContentType(request);
    const { recorder, rules, registry, gateway } = this.options;
    const http2 = this.options.http2 ?? null;
    const route = `${method} ${path}`;
    let match: RegExpExecArray | null;

    switch (route) {
      case 'GET /':
        return sendJson(response, 200, { name: 'apns-mock-gateway control API', ...this.options.describe?.(), endpoints: ENDPOINTS });
      case 'GET /health':
        return sendJson(response, 200, { ok: true });
      case 'GET /stats': {
        // A count the reply gives must survive a SIGKILL right after it: wait until the sink
        // has handed every record counted here to the OS.
        const written = recorder.whenWritten();
        const stats = {
          records: recorder.stats(),
          sink: recorder.sinkState,
          connections: gateway.stats,
          http2Connections: http2?.stats ?? null,
          refusedConnections: this.options.refusals?.stats() ?? null,
          rules: rules.size,
          devices: registry.devices().length,
          pendingFeedback: registry.pendingFeedback().length,
          openWaits: this.waits.size,
          ...this.options.describe?.(),
        };
        await written;
        return sendJson(response, 200, stats);
      }
      case 'GET /records': {
        const filter = recordFilter(params);
        await recorder.whenWritten();
        const limit = intParam(params, 'limit', 1, MAX_PAGE_SIZE) ?? DEFAULT_PAGE_SIZE;
        return streamRecordPage(response, recorder, { filter, limit, url, headOnly });
      }
      case 'GET /records.jsonl': {
        const filter = recordFilter(params);
        await recorder.whenWritten();
        return streamRecordLines(response, recorder, filter, intParam(params, 'limit', 1) ?? Infinity, headOnly);
      }
      case 'GET /records/wait':
        return this.waitForRecords(request, response, params);
      case 'GET /events':
        return openEventStream(
          request,
          response,
          params,
          { recorder, connections: connectionSourcesOf(this.options), refusals: this.options.refusals },
          headOnly,
        );
      case 'DELETE /records':
        recorder.clear();
        return sendJson(response, 200, { cleared: true });
      case 'GET /connections':
        return sendJson(response, 200, [...gateway.connections(), ...(http2?.connections() ?? [])]);
      case 'GET /connections/refused': {
        const log = this.options.refusals;
        if (!log) throw new HttpError(404, 'this simulator keeps no refused connections');
        return sendJson(response, 200, { total: log.total, kept: log.limit, refused: log.list() });
      }
      case 'POST /connections/shutdown':
        return sendJson(response, 200, { shutdown: gateway.shutdown() + (http2?.shutdown() ?? 0) });
      case 'GET /keys':
        return sendJson(response, 200, this.keyStore().list());
      case 'POST /keys': {
        const body = asObject(await readJson(request), 'keys');
        const { teamId, keyId, environments, topics, publicKey } = body as Record<string, never>;
        if (topics !== undefined && !(Array.isArray(topics) && (topics as unknown[]).every((t) => typeof t === 'string')))
          throw new HttpError(400, 'keys: "topics" must be an array of bundle ids');
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
        const target =
          typeof body.cert === 'string'
            ? body.cert
            : ({ serialNumber, fingerprint256 } as { serialNumber?: string; fingerprint256?: string });
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
        const scopes = list.map((item, i) => parseDeviceScope(asObject(item, `devices[${i}]`), `devices[${i}]`));
        const added = scopes.map((s) => registry.register(s.token, s));
        return sendJson(response, 201, Array.isArray(body) ? added : added[0]);
      }
      case 'GET /feedback':
        return sendJson(response, 200, registry.pendingFeedback());
      case 'POST /uninstall':
      case 'POST /feedback': {
        const body = await readJson(request);
        const list = Array.isArray(body) ? body : [body];
        const scopes = list.map((item, i) => parseDeviceScope(asObject(item, `uninstall[${i}]`), `uninstall[${i}]`));
        const added = scopes.map((s) => registry.uninstall(s.token, s));
        return sendJson(response, 201, Array.isArray(body) ? added : added[0]);
      }
    }
    if (method === 'POST' && (match = /^\/connections\/(\d+)\/shutdown$/.exec(path))) {
      const id = Number(match[1]);
      const count = gateway.shutdown(id) + (http2?.shutdown(id) ?? 0);
      const known = [...gateway.connections(), ...(http2?.connections() ?? [])].some((c) => c.id === id);
      if (count === 0 && !known) throw new HttpError(404, `no open connection ${id}`);
      return sendJson(response, 200, { shutdown: count });
    }
    if (method === 'DELETE' && (match = /^\/rules\/([^/]+)$/.exec(path))) {
      const id = decodePathSegment(match[1]);
      if (!rules.remove(id)) throw new HttpError(404, `no rule "${id}"`);
      return sendJson(response, 200, { removed: id });
    }
    if (method === 'DELETE' && (match = /^\/keys\/([^/]+)$/.exec(path))) {
      const keyId = decodePathSegment(match[1]);
      if (!(await this.keyStore().remove(keyId))) throw new HttpError(404, `no key "${keyId}"`);
      return sendJson(response, 200, { removed: keyId });
    }
    if (method === 'DELETE' && (match = /^\/devices\/([0-9a-fA-F]+)$/.exec(path))) {
      if (!registry.unregister(match[1])) throw new HttpError(404, `no registered device ${match[1]}`);
      return sendJson(response, 200, { removed: match[1].toLowerCase() });
    }
    const known = ENDPOINT_PATHS.some((pattern) => pattern.test(path));
    throw new HttpError(known ? 405 : 404, known ? `${request.method} is not allowed on ${path}` : `no endpoint ${path}; GET / lists them`);
  }

  /** `GET /records/wait`: bounded in time and in number, and let go as soon as its client is. */
  private async waitForRecords(request: IncomingMessage, response: ServerResponse, params: URLSearchParams): Promise<void> {
    const count = intParam(params, 'count', 1) ?? 1;
    const timeoutMs = durationParam(params, 'timeout', MAX_WAIT_MS) ?? 5000;
    const filter = recordFilter(params);
    const gone = new AbortController();
    const onClose = () => gone.abort();
    response.once('close', onClose);
    try {
      const result = await this.waits.wait(filter, count, timeoutMs, gone.signal);
      if (result.status === 'aborted') return;
      if (result.status === 'matched') {
        await this.options.recorder.whenWritten();
        return sendJson(response, 200, result.records);
      }
      return sendJson(response, 408, {
        error: result.message,
        code: 'ERR_APNS_WAIT_TIMEOUT',
        matched: result.matched,
        records: result.seen,
      });
    } finally {
      response.off('close', onClose);
    }
  }
}

export const ENDPOINTS = [
  'GET /records',
  'GET /records/wait',
  'GET /records.jsonl',
  'GET /events',
  'DELETE /records',
  'GET /connections',
  'GET /connections/refused',
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
