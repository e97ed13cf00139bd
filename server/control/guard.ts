import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { HttpError } from './http.js';

/**
 * Who may talk to the control API from a browser. A page on another site can make a browser
 * send simple requests (a form post, a text/plain fetch) to 127.0.0.1, and a site whose name
 * is re-pointed at 127.0.0.1 (DNS rebinding) can even read the answers. So a request must
 * name this server in `Host`, must come from this server's own pages when it has an `Origin`,
 * and a request that changes something must be JSON, which no browser sends across origins
 * without asking first (and the control API never answers that question with a yes).
 */
export interface RequestGuardOptions {
  /** The address the control API is bound to (a name, an IP, or a wildcard such as 0.0.0.0). */
  boundHost: string;
  /** The port it listens on. */
  port: number;
  /** More names this API answers to: `name` (on its own port, or with none) or `name:port`. */
  allowedHosts?: readonly string[];
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);
const CHANGING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const isLoopbackAddress = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

/** `host[:port]` as a browser writes it (IPv6 in brackets) split into a lower-case name and a port (null: none given). */
function splitHostPort(text: string): { name: string; port: number | null } | null {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(text.trim());
  if (match === null) return null;
  const name = match[1].toLowerCase();
  return { name: name.startsWith('[') ? name.slice(1, -1) : name, port: match[2] === undefined ? null : Number(match[2]) };
}

export class RequestGuard {
  /** Names accepted on the bound port (or with no port, which a browser leaves out only for 80). */
  private readonly names = new Set<string>();
  /** `name:port` pairs configured explicitly. */
  private readonly exact = new Set<string>();
  private readonly anyAddressLiteral: boolean;

  constructor(private readonly options: RequestGuardOptions) {
    const bound = options.boundHost.replace(/^\[|\]$/g, '').toLowerCase();
    // Bound everywhere: any literal address reaches it. A rebinding attack needs a name, so literals are safe.
    this.anyAddressLiteral = WILDCARDS.has(bound);
    if (!this.anyAddressLiteral) this.names.add(bound);
    if (this.anyAddressLiteral || isLoopbackAddress(bound)) {
      for (const name of ['localhost', '127.0.0.1', '::1']) this.names.add(name);
    }
    for (const entry of options.allowedHosts ?? []) {
      const parsed = splitHostPort(entry);
      if (parsed === null) throw new TypeError(`controlAllowedHosts: "${entry}" is not a host name or host:port`);
      if (parsed.port === null) this.names.add(parsed.name);
      else this.exact.add(`${parsed.name}:${parsed.port}`);
    }
  }

  /** True when `host[:port]` (a Host header, or an Origin's host part) names this server. */
  private namesThisServer(hostHeader: string, defaultPort: number | null): boolean {
    const parsed = splitHostPort(hostHeader);
    if (parsed === null) return false;
    const port = parsed.port ?? defaultPort;
    if (port !== null && this.exact.has(`${parsed.name}:${port}`)) return true;
    if (port !== null && port !== this.options.port) return false;
    if (this.names.has(parsed.name)) return true;
    return this.anyAddressLiteral && isIP(parsed.name) !== 0;
  }

  /** Throws 403 for a foreign Host or Origin. */
  checkAddress(request: IncomingMessage): void {
    const host = request.headers.host;
    if (host === undefined || !this.namesThisServer(host, null)) {
      throw new HttpError(
        403,
        `the control API answers only requests addressed to it (Host ${this.describeAllowed()}); ` +
          `got Host ${JSON.stringify(host ?? null)}. ` +
          'Another name needs controlAllowedHosts (--control-host)',
        'ERR_APNS_CONTROL_FORBIDDEN_HOST',
      );
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !this.isOwnOrigin(origin)) {
      throw new HttpError(
        403,
        `the control API refuses requests from other sites' pages; got Origin ${JSON.stringify(origin)}`,
        'ERR_APNS_CONTROL_FORBIDDEN_ORIGIN',
      );
    }
  }

  /** Throws 415 for a changing request that is not JSON. */
  checkContentType(request: IncomingMessage): void {
    if (CHANGING_METHODS.has(request.method ?? '') && !isJsonOrEmpty(request)) {
      throw new HttpError(
        415,
        `${request.method} needs "Content-Type: application/json"; got ${JSON.stringify(request.headers['content-type'] ?? null)}`,
        'ERR_APNS_CONTROL_CONTENT_TYPE',
      );
    }
  }

  private isOwnOrigin(origin: string): boolean {
    const match = /^(https?):\/\/([^/]+)$/i.exec(origin);
    if (match === null) return false;
    return this.namesThisServer(match[2], match[1].toLowerCase() === 'https' ? 443 : 80);
  }

  private describeAllowed(): string {
    const names = [...this.names].map((n) => `${n.includes(':') ? `[${n}]` : n}:${this.options.port}`);
    if (this.anyAddressLiteral) names.push(`any IP address:${this.options.port}`);
    return [...names, ...this.exact].join(', ');
  }
}

/**
 * JSON, or no body and no content type at all: a bodiless POST or DELETE (curl -X DELETE)
 * stays easy, and a browser adds an Origin to every cross-site POST, which checkAddress refuses.
 */
function isJsonOrEmpty(request: IncomingMessage): boolean {
  const type = request.headers['content-type'];
  if (type === undefined) return !hasBody(request);
  const mediaType = type.split(';')[0].trim().toLowerCase();
  return mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
}

const hasBody = (request: IncomingMessage) =>
  request.headers['transfer-encoding'] !== undefined ||
  (request.headers['content-length'] !== undefined && request.headers['content-length'] !== '0');
