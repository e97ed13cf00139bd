import type { TLSSocket } from 'node:tls';

/** Every HTTP/2 connection starts with these 24 bytes from the client (RFC 9113, section 3.4). */
export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * Reads the first bytes of a TLS connection that negotiated no ALPN and tells whether they
 * are the HTTP/2 preface. The bytes read are put back (`unshift`), so whoever takes the
 * socket next reads them again; an HTTP/2 session reads them from the socket's buffer.
 */
export function sniffPreface(socket: TLSSocket, timeoutMs: number): Promise<'h2' | 'other' | 'closed'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let seen = 0;
    const finish = (verdict: 'h2' | 'other' | 'closed') => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      socket.pause();
      if (verdict !== 'closed' && seen > 0) socket.unshift(Buffer.concat(chunks));
      resolve(verdict);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      seen += chunk.length;
      const head = Buffer.concat(chunks).subarray(0, HTTP2_PREFACE.length);
      if (!head.equals(HTTP2_PREFACE.subarray(0, head.length))) finish('other');
      else if (head.length === HTTP2_PREFACE.length) finish('h2');
    };
    const onClose = () => finish('closed');
    const timer = setTimeout(() => {
      finish('closed');
      socket.destroy();
    }, timeoutMs);
    timer.unref();
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}
