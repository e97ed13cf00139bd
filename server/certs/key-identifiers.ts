import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import type * as X509 from '@peculiar/x509';

type X509Module = typeof X509;

/**
 * The @peculiar/x509 that selfsigned itself loads, resolved from selfsigned's own folder, so
 * the generator extended below is the one it calls even if npm ever nests a second copy.
 */
function selfsignedX509(): X509Module {
  const require = createRequire(import.meta.url);
  return createRequire(require.resolve('selfsigned'))('@peculiar/x509') as X509Module;
}

interface Scope {
  /** The signing CA's public key (SPKI DER); null for a self-signed certificate. */
  issuerPublicKey: Uint8Array<ArrayBuffer> | null;
}

const scope = new AsyncLocalStorage<Scope>();
let installed = false;

/**
 * selfsigned 5.5.0 takes four kinds of extension and writes no key identifiers, but OpenSSL's
 * strict verification (the default of Python 3.13's ssl contexts) refuses a CA without a
 * subject key identifier and a certificate without an authority key identifier. Inside
 * `withKeyIdentifiers`, every certificate selfsigned makes gets both; outside, the generator
 * behaves exactly as before, so no other user of @peculiar/x509 in the process sees a change.
 */
function install(): void {
  if (installed) return;
  installed = true;
  const x509 = selfsignedX509();
  const generator = x509.X509CertificateGenerator;
  const create = generator.create.bind(generator);
  generator.create = async (params, crypto) => {
    const current = scope.getStore();
    if (!current) return create(params, crypto);
    const extensions = [
      ...(params.extensions ?? []),
      await x509.SubjectKeyIdentifierExtension.create(params.publicKey, false, crypto),
      await x509.AuthorityKeyIdentifierExtension.create(current.issuerPublicKey ?? params.publicKey, false, crypto),
    ];
    return create({ ...params, extensions }, crypto);
  };
}

/** Calls of withKeyIdentifiers still running. */
let running = 0;

/**
 * Runs `make` (a call to selfsigned's generate) so the certificate it makes carries both key
 * identifiers. The scope is disabled once no call runs: an AsyncLocalStorage left enabled keeps
 * node's promise hooks on for the life of the process, and every await then cost three times
 * as much (0.16 µs against 0.05), in the simulator and in a client alike.
 */
export async function withKeyIdentifiers<T>(issuerPublicKey: Uint8Array<ArrayBuffer> | null, make: () => Promise<T>): Promise<T> {
  install();
  running++;
  try {
    return await scope.run({ issuerPublicKey }, make);
  } finally {
    if (--running === 0) scope.disable();
  }
}
