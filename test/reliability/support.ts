import { once } from 'node:events';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import type { BinaryGateway, Simulator } from '../../server/index.js';

export interface Attempt {
  /** The client saw its side of the handshake finish. */
  secure: boolean;
  /** The TLS version the client negotiated, when it did. */
  protocol: string | null;
  /** The client's error code: ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED, ECONNRESET... */
  code: string | null;
  message: string | null;
  /** What the server wrote before the end. */
  received: Buffer;
  /** The server kept the connection for `holdMs` after the handshake. */
  kept: boolean;
  /** The handshake resumed the given session. */
  reused: boolean;
}

export interface AttemptOptions {
  cert?: string;
  key?: string;
  ca: string;
  /** Written once the handshake is done. */
  write?: Buffer;
  /** How long a connection the server keeps is watched before the client closes it. */
  holdMs?: number;
  session?: Buffer;
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  onSession?: (session: Buffer) => void;
}

/**
 * One TLS connection to a provider port, watched until the server ends it (or `holdMs` after
 * the handshake): what a client sees of a refusal. With TLS 1.3 the client's handshake ends
 * before the server judges its certificate, so an alert shows up after 'secureConnect'.
 */
export function attempt(port: number, options: AttemptOptions): Promise<Attempt> {
  return new Promise((resolve) => {
    const socket = connectTls({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      session: options.session,
      maxVersion: options.maxVersion,
    });
    const chunks: Buffer[] = [];
    const result: Attempt = {
      secure: false,
      protocol: null,
      code: null,
      message: null,
      received: Buffer.alloc(0),
      kept: false,
      reused: false,
    };
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(timer);
      result.received = Buffer.concat(chunks);
      socket.destroy();
      resolve(result);
    };
    socket.on('session', (session: Buffer) => options.onSession?.(session));
    socket.on('secureConnect', () => {
      result.secure = true;
      result.protocol = socket.getProtocol();
      result.reused = socket.isSessionReused();
      if (options.write) socket.write(options.write);
      timer = setTimeout(() => {
        result.kept = true;
        done();
      }, options.holdMs ?? 1000);
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      result.code ??= error.code ?? 'ERROR';
      result.message ??= error.message;
    });
    socket.on('close', done);
  });
}

/** A plain TCP connection: for bytes that are not TLS at all. */
export async function openTcp(port: number): Promise<Socket> {
  const socket = connectTcp({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return socket;
}

/** Resolves when the socket closes; the bytes it received and whether it was closed by the server within `waitMs`. */
export function closeOf(socket: Socket | TLSSocket, waitMs: number): Promise<{ closed: boolean; received: Buffer; error: string | null }> {
  const chunks: Buffer[] = [];
  let error: string | null = null;
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ closed: false, received: Buffer.concat(chunks), error }), waitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, received: Buffer.concat(chunks), error });
    });
  });
}

/** Polls a condition every 10 ms, up to `timeoutMs`; returns whether it held. */
export async function eventually(condition: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** Internal errors the gateway reported, collected from its 'internalError' event. */
export function watchInternalErrors(gateway: BinaryGateway): unknown[] {
  const errors: unknown[] = [];
  gateway.on('internalError', (error: unknown) => errors.push(error));
  return errors;
}

/** process 'uncaughtException' and 'unhandledRejection' while a test runs. */
export function watchProcess(): { errors: unknown[]; stop(): void } {
  const errors: unknown[] = [];
  const onError = (error: unknown) => errors.push(error);
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  return {
    errors,
    stop() {
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
    },
  };
}

/** The heap after two full collections when the test runs with --expose-gc; otherwise after a pause. */
export async function settledHeap(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc?.();
  }
  return process.memoryUsage().heapUsed;
}

/** Handles node keeps open (sockets, servers, timers), by kind. */
export function activeHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  const handles = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles();
  for (const h of handles) {
    const name = h.constructor?.name ?? 'unknown';
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

export function handleCount(): number {
  return (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles().length;
}

/** A control API request with JSON in and out. */
export async function control(sim: Simulator, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${sim.controlUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? null : JSON.parse(text) };
}

export { seededRandom as seeded } from '../../common/random.js';
