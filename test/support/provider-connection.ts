import type { TLSSocket } from 'node:tls';
import { openProvider, type ProviderTlsOptions } from './provider-socket.js';

/** A provider connection kept open across steps: what the gateway wrote, how it ended, when. */
export interface ProviderConnection {
  socket: TLSSocket;
  /** Everything the gateway wrote so far. */
  received(): Buffer;
  /** Resolves when the socket closes, with the error that closed it (ECONNRESET for a reset), if any. */
  closed: Promise<NodeJS.ErrnoException | null>;
  /** Time (Date.now()) the first bytes from the gateway arrived, or null. */
  firstDataAt(): number | null;
  /** True if the socket closed within `ms`. */
  closedWithin(ms: number): Promise<boolean>;
  write(bytes: Buffer): void;
}

export async function connectProvider(port: number, tls: ProviderTlsOptions): Promise<ProviderConnection> {
  const socket = await openProvider(port, tls);
  const chunks: Buffer[] = [];
  let firstData: number | null = null;
  let error: NodeJS.ErrnoException | null = null;
  socket.on('data', (c: Buffer) => {
    firstData ??= Date.now();
    chunks.push(c);
  });
  socket.on('error', (e: NodeJS.ErrnoException) => (error = e));
  const closed = new Promise<NodeJS.ErrnoException | null>((resolve) => socket.once('close', () => resolve(error)));
  return {
    socket,
    received: () => Buffer.concat(chunks),
    closed,
    firstDataAt: () => firstData,
    closedWithin: (ms) => Promise.race([closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]),
    write: (bytes) => {
      if (!socket.destroyed) socket.write(bytes);
    },
  };
}
