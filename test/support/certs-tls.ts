import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server } from 'node:tls';
import { providerIdentity, type ProviderIdentity, type StateCertificates } from '../../server/certs/index.js';

/**
 * A TLS server that asks for a client certificate from the state's CA and answers each
 * connection it keeps with an `Answer`, as JSON. With `reject` (the default) it refuses
 * certificates that do not verify; without, it keeps them and tells why they did not.
 */
export interface IdentityServer {
  port: number;
  /** Errors of handshakes the server refused, in order. */
  refused: Error[];
  close(): Promise<void>;
}

export interface Answer {
  authorized: boolean;
  /** OpenSSL's verification error code, e.g. CERT_HAS_EXPIRED. */
  authorizationError: string | null;
  identity: ProviderIdentity;
}

export async function startIdentityServer(state: StateCertificates, options: { reject?: boolean } = {}): Promise<IdentityServer> {
  const refused: Error[] = [];
  const server: Server = createServer(
    {
      key: state.server.key,
      cert: state.server.cert,
      ca: state.ca.cert,
      requestCert: true,
      rejectUnauthorized: options.reject ?? true,
    },
    (socket) => {
      const answer: Answer = {
        authorized: socket.authorized,
        authorizationError: socket.authorizationError ? String(socket.authorizationError) : null,
        identity: providerIdentity(socket.getPeerX509Certificate()),
      };
      socket.end(JSON.stringify(answer));
    },
  );
  server.on('tlsClientError', (error) => refused.push(error));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    refused,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export type Handshake = ({ ok: true } & Answer) | { ok: false; error: NodeJS.ErrnoException };

/**
 * Connects with a client certificate and reads the server's answer. With TLS 1.3 the client
 * finishes its side before the server judges its certificate, so success is the server's
 * answer arriving, not 'secureConnect'. A node server refusing a certificate closes the
 * connection without an alert (it verifies after OpenSSL's handshake), so a refusal shows as a
 * close without an answer or a reset.
 */
export function handshake(
  port: number,
  client: { cert: string; key: string; ca: string; host?: string; servername?: string },
): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = connect({
      host: client.host ?? '127.0.0.1',
      port,
      cert: client.cert,
      key: client.key,
      ca: client.ca,
      ...(client.servername ? { servername: client.servername } : {}),
    });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      socket.destroy();
      resolve({ ok: false, error });
    });
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve(text ? { ok: true, ...(JSON.parse(text) as Answer) } : { ok: false, error: new Error('closed without an answer') });
    });
  });
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to completion. `detached` starts it in a new session with no controlling
 * terminal, so a program that prompts (openssl asking for a passphrase) reads the answer from
 * `input` on its standard input.
 */
export function run(command: string, args: string[], options: { cwd?: string; input?: string; detached?: boolean } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, detached: options.detached ?? false, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
