import { once } from 'node:events';
import { connect, type TLSSocket } from 'node:tls';

export interface ProviderTlsOptions {
  cert?: string;
  key?: string;
  ca: string;
}

/** A raw TLS connection to one of the simulator's services, as a provider opens it. */
export async function openProvider(port: number, tls: ProviderTlsOptions, host = '127.0.0.1'): Promise<TLSSocket> {
  const socket = connect({ host, port, cert: tls.cert, key: tls.key, ca: tls.ca, servername: 'localhost' });
  await once(socket, 'secureConnect');
  return socket;
}

export interface Exchange {
  /** Everything the server wrote before it closed. */
  received: Buffer;
  /** The socket closed (by the server, within the wait). */
  closed: boolean;
  /** Why the socket failed, if it did (ECONNRESET for a reset). */
  error: NodeJS.ErrnoException | null;
}

/**
 * Writes the bytes (each element in its own write) and collects the reply until the server
 * closes or `waitMs` passes without a close.
 */
export async function exchange(socket: TLSSocket, writes: Buffer | Buffer[], waitMs = 3000): Promise<Exchange> {
  const chunks: Buffer[] = [];
  let error: NodeJS.ErrnoException | null = null;
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', (e) => (error = e));
  const closed = new Promise<boolean>((resolve) => {
    if (socket.destroyed) resolve(true);
    socket.once('close', () => resolve(true));
    setTimeout(() => resolve(false), waitMs).unref();
  });
  for (const w of Array.isArray(writes) ? writes : [writes]) {
    if (!socket.destroyed) socket.write(w);
  }
  const wasClosed = await closed;
  return { received: Buffer.concat(chunks), closed: wasClosed, error };
}

/** Opens, writes, collects, closes: one provider connection in one call. */
export async function sendFrames(port: number, tls: ProviderTlsOptions, writes: Buffer | Buffer[], waitMs = 3000): Promise<Exchange> {
  const socket = await openProvider(port, tls);
  try {
    return await exchange(socket, writes, waitMs);
  } finally {
    socket.destroy();
  }
}

/** Resolves when the handshake fails (with the error) or rejects if it succeeds. */
export async function handshakeError(port: number, tls: Partial<ProviderTlsOptions>): Promise<Error> {
  const socket = connect({ host: '127.0.0.1', port, cert: tls.cert, key: tls.key, ca: tls.ca, servername: 'localhost' });
  return new Promise((resolve, reject) => {
    socket.once('error', (e) => resolve(e));
    // TLS 1.3: the client's handshake completes before the server refuses its certificate; the refusal arrives next.
    socket.once('secureConnect', () => {
      socket.once('close', () => resolve(new Error('closed after the handshake')));
      socket.once('data', () => reject(new Error('the server answered data')));
      setTimeout(() => reject(new Error('the handshake succeeded and the server kept the connection')), 2000).unref();
    });
  });
}
