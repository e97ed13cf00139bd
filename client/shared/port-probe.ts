import { connect } from 'node:tls';

/** What answers on a port, as a client without a certificate sees it in one TLS handshake. */
export interface PortProbe {
  /** 'http2': the server chose ALPN h2 (an HTTP/2 API); 'tls': TLS without h2 (a binary gateway); 'not-tls'; 'unreachable'. */
  speaks: 'http2' | 'tls' | 'not-tls' | 'unreachable';
  /** The server refused the handshake for want of a client certificate. */
  requiresCertificate: boolean;
  /** The error code of the failure, when there was one. */
  code: string | null;
}

export interface ProbeOptions {
  host: string;
  port: number;
  ca?: string | string[];
  servername?: string;
  /** Default 3000 ms. */
  timeoutMs?: number;
}

/** TLS alerts a server sends a client that presented no certificate it wanted (TLS 1.3, TLS 1.2). */
const CERTIFICATE_WANTED = /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE/;

/**
 * One handshake offering ALPN h2 and no client certificate, then a short wait for the alert a
 * TLS 1.3 server sends after the handshake when it requires one. Tells a wrong port or a
 * missing certificate apart from a failure the protocol itself reports.
 */
export function probePort(options: ProbeOptions): Promise<PortProbe> {
  return new Promise((resolve) => {
    const socket = connect({
      host: options.host,
      port: options.port,
      ca: options.ca,
      servername: options.servername ?? (/^[\d.:]+$/.test(options.host) ? 'localhost' : options.host),
      ALPNProtocols: ['h2'],
      rejectUnauthorized: false,
    });
    let result: PortProbe | null = null;
    const finish = (probe: PortProbe) => {
      if (result !== null) return;
      result = probe;
      clearTimeout(timer);
      socket.destroy();
      resolve(probe);
    };
    const timer = setTimeout(
      () =>
        finish({
          speaks: socket.encrypted && socket.alpnProtocol !== undefined ? 'tls' : 'not-tls',
          requiresCertificate: false,
          code: 'ETIMEDOUT',
        }),
      options.timeoutMs ?? 3000,
    );
    let secure = false;
    socket.on('secureConnect', () => {
      secure = true;
      if (socket.alpnProtocol === 'h2') finish({ speaks: 'http2', requiresCertificate: false, code: null });
      // A TLS 1.3 server that requires a certificate says so only after the handshake.
      else setTimeout(() => finish({ speaks: 'tls', requiresCertificate: false, code: null }), 300);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? null;
      if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH')
        finish({ speaks: 'unreachable', requiresCertificate: false, code });
      else if (code !== null && CERTIFICATE_WANTED.test(code)) finish({ speaks: 'tls', requiresCertificate: true, code });
      else if (!secure && /WRONG_VERSION_NUMBER|PACKET_LENGTH|UNKNOWN_PROTOCOL|ECONNRESET/.test(code ?? ''))
        finish({ speaks: 'not-tls', requiresCertificate: false, code });
      else finish({ speaks: secure ? 'tls' : 'not-tls', requiresCertificate: false, code });
    });
    socket.on('close', () => finish({ speaks: secure ? 'tls' : 'not-tls', requiresCertificate: false, code: null }));
  });
}

/**
 * What to tell a person whose binary sender failed at this port, or null when the probe
 * found nothing wrong with the port itself. `ports` are the usual ones of `apns-mock serve`.
 */
export function binaryPortAdvice(
  probe: PortProbe,
  port: number,
  hasCertificate: boolean,
  ports = { binary: 2195, http2: 2197 },
): string | null {
  if (probe.speaks === 'http2') return `${port} speaks HTTP/2; the binary gateway is on ${ports.binary} (or send with --http2)`;
  if (probe.requiresCertificate && !hasCertificate) return 'the gateway requires a client certificate: pass --cert/--key or --p12';
  if (probe.speaks === 'not-tls')
    return `${port} does not speak TLS: is it the binary gateway? (apns-mock serve puts it on ${ports.binary})`;
  return null;
}
