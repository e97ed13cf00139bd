import { once } from 'node:events';
import { connect as connectHttp2, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { connect as connectTls } from 'node:tls';
import { signProviderToken } from '../../../protocol/http2/index.js';
import type { PemPair, Simulator, SigningKey } from '../../../server/index.js';

export const TOKEN = 'aa'.repeat(32);
export const OTHER_TOKEN = 'bb'.repeat(32);
export const TEAM = 'TEAM000001';
export const KEY_ID = 'KEY0000001';
export const ALERT = { aps: { alert: 'hello' } };

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed, or null when empty or not JSON. */
  json: Record<string, unknown> | null;
}

export interface ConnectOptions {
  /** A client certificate (certificate authentication); none: token authentication. */
  cert?: PemPair;
  /** false: TLS without ALPN, HTTP/2 spoken all the same. */
  alpn?: boolean;
  servername?: string;
}

/** An HTTP/2 client session to the simulator, once the server's first SETTINGS arrived. */
export async function open(sim: Simulator, options: ConnectOptions = {}): Promise<ClientHttp2Session> {
  const port = sim.ports.http2!;
  const tlsOptions = {
    host: '127.0.0.1',
    port,
    ca: sim.credentials.ca,
    ...(options.cert === undefined ? {} : { cert: options.cert.cert, key: options.cert.key }),
    ...(options.servername === undefined ? {} : { servername: options.servername }),
  };
  const session =
    options.alpn === false
      ? connectHttp2(`https://127.0.0.1:${port}`, { createConnection: () => connectTls({ ...tlsOptions }) })
      : connectHttp2(`https://127.0.0.1:${port}`, tlsOptions);
  session.on('error', () => undefined);
  await once(session, 'remoteSettings');
  return session;
}

export interface Send {
  method?: string;
  path?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer | object;
}

/** One request; resolves with the response, rejects when the stream is reset or refused. */
export function send(session: ClientHttp2Session, request: Send = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': request.method ?? 'POST',
      ':path': request.path ?? `/3/device/${TOKEN}`,
      ...request.headers,
    });
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      headers = h;
      status = Number(h[':status']);
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      if (status === 0) {
        reject(Object.assign(new Error(`stream ended without a response (code ${stream.rstCode})`), { rstCode: stream.rstCode }));
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      let json: Record<string, unknown> | null;
      try {
        json = body === '' ? null : (JSON.parse(body) as Record<string, unknown>);
      } catch {
        json = null;
      }
      resolve({ status, headers, body, json });
    });
    stream.on('error', reject);
    stream.on('close', () => {
      if (status === 0)
        reject(Object.assign(new Error(`stream closed without a response (code ${stream.rstCode})`), { rstCode: stream.rstCode }));
    });
    const body =
      request.body === undefined
        ? undefined
        : typeof request.body === 'string' || Buffer.isBuffer(request.body)
          ? request.body
          : JSON.stringify(request.body);
    stream.end(body);
  });
}

export async function bearer(key: SigningKey, issuedAt?: number): Promise<string> {
  return `bearer ${await signProviderToken({ teamId: key.teamId, keyId: key.keyId, privateKey: key.privateKey, issuedAt })}`;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

export async function close(session: ClientHttp2Session): Promise<void> {
  if (session.destroyed) return;
  const closed = once(session, 'close');
  session.close();
  await closed;
}
