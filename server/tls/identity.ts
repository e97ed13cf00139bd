import type { TLSSocket } from 'node:tls';
import { providerIdentity, type ProviderIdentity } from '../certs/index.js';
import { HandshakeTap } from './handshake-tap.js';

/** A connection without a client certificate: no topic, no environment. */
const EMPTY_IDENTITY: ProviderIdentity = providerIdentity(null);

/**
 * Identities read before, by certificate fingerprint. A provider opens many connections with
 * one certificate, and reading one with @peculiar/x509 left about 25 KB of process memory
 * behind per connection.
 */
const identities = new Map<string, ProviderIdentity>();
const IDENTITIES_KEPT = 256;

/** Who is on the other end of a provider connection, from its certificate (if any). */
export function identityOf(socket: TLSSocket): ProviderIdentity {
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) return EMPTY_IDENTITY;
  let identity = identities.get(cert.fingerprint256);
  if (identity === undefined) {
    identity = providerIdentity(cert);
    if (identities.size >= IDENTITIES_KEPT) identities.delete(identities.keys().next().value!);
    identities.set(cert.fingerprint256, identity);
  }
  return { ...identity, topics: [...identity.topics] };
}

export function peerOf(socket: TLSSocket): string {
  const remote = remoteOf(socket);
  const address = remote.address ?? 'unknown';
  return `${address.includes(':') ? `[${address}]` : address}:${remote.port ?? 0}`;
}

/** The TCP peer of a TLS socket, also when the socket runs over a handshake tap. */
export function remoteOf(socket: TLSSocket): { address: string | undefined; port: number | undefined } {
  if (socket.remoteAddress !== undefined) return { address: socket.remoteAddress, port: socket.remotePort };
  const parent = (socket as TLSSocket & { _parent?: unknown })._parent;
  if (parent instanceof HandshakeTap) return { address: parent.remoteAddress, port: parent.remotePort };
  return { address: undefined, port: undefined };
}
