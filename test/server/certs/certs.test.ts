import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BasicConstraintsExtension,
  Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  X509Certificate as AsnCertificate,
  X509CertificateGenerator,
} from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCertificateAuthority,
  createProviderCertificate,
  loadOrCreateState,
  OID_APNS_DEVELOPMENT,
  OID_APNS_PRODUCTION,
  OID_APNS_TOPICS,
  OID_USER_ID,
  providerIdentity,
  writeProviderBundle,
  type PemPair,
  type StateCertificates,
} from '../../../server/certs/index.js';
import { generateKey, issueCertificate, privateKeyPem } from '../../../server/certs/issue.js';
import { handshake, run, startIdentityServer, type IdentityServer } from '../../support/certs-tls.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const TOPIC = 'com.example.app';
const OPENSSL = existsSync('/usr/bin/openssl') ? '/usr/bin/openssl' : 'openssl';
/** The seed's conversion step, word for word. */
const SEED_PKCS12_STEP = ['pkcs12', '-in', 'cert.p12', '-out', 'apple_push_notification_production.pem', '-nodes', '-clcerts'];

const mode = (path: string) => statSync(path).mode & 0o777;

/** Runs `work` with umask 000, as a careless shell would; children spawned meanwhile inherit it. */
async function withOpenUmask<T>(work: () => Promise<T>): Promise<T> {
  const previous = process.umask(0o000);
  try {
    return await work();
  } finally {
    process.umask(previous);
  }
}

/** The DER of a certificate's subject or issuer name: Go and others match a certificate to its issuer by these bytes. */
const nameBytes = (pem: string, which: 'subjectName' | 'issuerName') =>
  Buffer.from(new AsnCertificate(pem)[which].toArrayBuffer()).toString('hex');

let work: string;
let state: StateCertificates;
let server: IdentityServer;
/** Same certificates, but keeps connections whose certificate does not verify and says why. */
let lenient: IdentityServer;
/** RSA 2048 as Apple's, with extra topics. */
let development: PemPair;
/** RSA 2048 as Apple's. */
let production: PemPair;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'apns-mock-certs-'));
  state = await loadOrCreateState(join(work, 'state'));
  [development, production] = await Promise.all([
    createProviderCertificate(state.ca, { topic: TOPIC, extraTopics: [`${TOPIC}.voip`, `${TOPIC}.complication`] }),
    createProviderCertificate(state.ca, { topic: TOPIC, environment: 'production' }),
  ]);
  server = await startIdentityServer(state);
  lenient = await startIdentityServer(state, { reject: false });
});

afterAll(async () => {
  await server?.close();
  await lenient?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('state directory', () => {
  it('holds the CA and the server certificate, keys readable by the owner only', async () => {
    expect(state.dir).toBe(join(work, 'state'));
    expect(state.ca.certPath).toBe(join(state.dir, 'ca.pem'));
    expect(state.ca.keyPath).toBe(join(state.dir, 'ca-key.pem'));
    expect(await readFile(state.ca.certPath, 'utf8')).toBe(state.ca.cert);
    expect(await readFile(state.ca.keyPath, 'utf8')).toBe(state.ca.key);
    expect((await readdir(state.dir)).sort()).toEqual(['ca-key.pem', 'ca.pem', 'server-key.pem', 'server.pem']);
    expect(mode(state.ca.keyPath)).toBe(0o600);
    expect(mode(join(state.dir, 'server-key.pem'))).toBe(0o600);
    expect(mode(state.dir)).toBe(0o700);

    const ca = new X509Certificate(state.ca.cert);
    expect(ca.ca).toBe(true);
    const serverCert = new X509Certificate(state.server.cert);
    expect(serverCert.verify(ca.publicKey)).toBe(true);
    expect(serverCert.checkHost('localhost')).toBe('localhost');
    expect(serverCert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(serverCert.checkIP('::1')).toBeDefined();
    expect(serverCert.checkHost('gateway.sandbox.push.apple.com')).toBe('gateway.sandbox.push.apple.com');
  });

  it("passes OpenSSL's strict verification (Python 3.13's default): key identifiers, issuer name byte for byte", async () => {
    expect(state.createdCa).toBe(true);
    const strict = await run(OPENSSL, ['verify', '-x509_strict', '-CAfile', state.ca.certPath, join(state.dir, 'server.pem')]);
    expect(strict.code, strict.stdout + strict.stderr).toBe(0);
    expect(nameBytes(state.server.cert, 'issuerName')).toBe(nameBytes(state.ca.cert, 'subjectName'));
    const server = new AsnCertificate(state.server.cert);
    expect(server.signatureAlgorithm).toMatchObject({ hash: { name: 'SHA-256' } });
  });

  it('keeps the key identifiers when states are made at once, and again after (the scope is switched off between)', async () => {
    const together = await Promise.all(['a', 'b', 'c'].map((name) => loadOrCreateState(join(work, `together-${name}`))));
    const after = await loadOrCreateState(join(work, 'after'));
    for (const made of [...together, after]) {
      const strict = await run(OPENSSL, ['verify', '-x509_strict', '-CAfile', made.ca.certPath, join(made.dir, 'server.pem')]);
      expect(strict.code, strict.stdout + strict.stderr).toBe(0);
    }
  });

  it('is reused on the next start: same CA, same server certificate', async () => {
    const again = await loadOrCreateState(state.dir);
    expect(again.createdCa).toBe(false);
    expect(new X509Certificate(again.ca.cert).fingerprint256).toBe(new X509Certificate(state.ca.cert).fingerprint256);
    expect(again.ca.key).toBe(state.ca.key);
    expect(again.server).toEqual(state.server);
  });

  it('replaces a damaged server certificate and keeps the CA', async () => {
    const dir = join(work, 'damaged');
    const first = await loadOrCreateState(dir);
    await writeFile(join(dir, 'server.pem'), 'not a certificate');
    const second = await loadOrCreateState(dir);
    expect(second.ca.cert).toBe(first.ca.cert);
    expect(second.server.cert).not.toBe(first.server.cert);
    expect(new X509Certificate(second.server.cert).verify(new X509Certificate(first.ca.cert).publicKey)).toBe(true);
    expect(await readFile(join(dir, 'server.pem'), 'utf8')).toBe(second.server.cert);
  });

  it('loads a state made before selfsigned made the CA, and signs a new server certificate with that CA', async () => {
    // The CA as the earlier code made it: @peculiar/x509, a JSON subject, PKCS#8 key.
    const dir = join(work, 'earlier');
    await mkdir(dir, { mode: 0o700 });
    const key = await generateKey('rsa');
    const notBefore = new Date(Date.now() - 60_000);
    const caCert = await issueCertificate({
      subject: [{ CN: ['apns-mock-gateway local CA'] }, { O: ['apns-mock-gateway'] }],
      subjectKey: key,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 3650 * 86_400_000),
      extensions: [
        new BasicConstraintsExtension(true, 0, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
      ],
    });
    await writeFile(join(dir, 'ca.pem'), caCert);
    await writeFile(join(dir, 'ca-key.pem'), privateKeyPem(key), { mode: 0o600 });

    const loaded = await loadOrCreateState(dir);
    expect(loaded.createdCa).toBe(false);
    expect(loaded.ca.cert).toBe(caCert);
    expect(nameBytes(loaded.server.cert, 'issuerName')).toBe(nameBytes(caCert, 'subjectName'));
    const strict = await run(OPENSSL, ['verify', '-x509_strict', '-CAfile', join(dir, 'ca.pem'), join(dir, 'server.pem')]);
    expect(strict.code, strict.stdout + strict.stderr).toBe(0);
  });

  it('creates directories 0700 and key files 0600 even with umask 000', async () => {
    const dir = join(work, 'umask', 'nested', 'state');
    const made = await withOpenUmask(() => loadOrCreateState(dir));
    expect(made.createdCa).toBe(true);
    for (const directory of [join(work, 'umask'), join(work, 'umask', 'nested'), dir]) expect(mode(directory)).toBe(0o700);
    expect(mode(join(dir, 'ca-key.pem'))).toBe(0o600);
    expect(mode(join(dir, 'server-key.pem'))).toBe(0o600);
    expect(mode(join(dir, 'ca.pem'))).toBe(0o644);

    const bundle = await withOpenUmask(() => writeProviderBundle(join(dir, 'client'), production, made.ca, {}));
    expect(mode(join(dir, 'client'))).toBe(0o700);
    expect(mode(bundle.key)).toBe(0o600);
    expect(mode(bundle.p12)).toBe(0o600);
    expect(mode(bundle.cert)).toBe(0o644);
  });

  it('agrees on one CA when several starts race on an empty directory', async () => {
    const dir = join(work, 'race');
    const results = await Promise.all([loadOrCreateState(dir), loadOrCreateState(dir), loadOrCreateState(dir)]);
    const onDisk = await readFile(join(dir, 'ca.pem'), 'utf8');
    for (const result of results) {
      expect(result.ca.cert).toBe(onDisk);
      expect(result.server.cert).toBe(results[0].server.cert);
    }
    expect(existsSync(join(dir, '.lock'))).toBe(false);
  });
});

describe('provider certificates over TLS', () => {
  it('a development certificate is accepted; the server reads topic, topics and environment', async () => {
    const result = await handshake(server.port, { ...development, ca: state.ca.cert, servername: 'localhost' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.authorized).toBe(true);
    expect(result.identity.topic).toBe(TOPIC);
    expect(result.identity.topics).toEqual([TOPIC, `${TOPIC}.voip`, `${TOPIC}.complication`]);
    expect(result.identity.environment).toBe('development');
    expect(result.identity.commonName).toBe(`Apple Push Services: ${TOPIC}`);
    const cert = new X509Certificate(development.cert);
    expect(result.identity.serialNumber).toBe(cert.serialNumber);
    expect(result.identity.fingerprint256).toBe(cert.fingerprint256);
  });

  it('a production certificate is accepted and read as production', async () => {
    // No servername: the client checks the server certificate against the IP address.
    const result = await handshake(server.port, { ...production, ca: state.ca.cert });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.identity).toMatchObject({ topic: TOPIC, topics: [TOPIC], environment: 'production' });
  });

  it('the certificate looks like Apple issued it', () => {
    const cert = new X509Certificate(development.cert);
    expect(cert.subject.split('\n')).toEqual([`UID=${TOPIC}`, `CN=Apple Push Services: ${TOPIC}`, 'O=apns-mock-gateway']);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(cert.checkIssued(new X509Certificate(state.ca.cert))).toBe(true);
    expect(cert.publicKey.asymmetricKeyType).toBe('rsa');
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    // About 13 months, as Apple's were.
    const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
    expect(days).toBeGreaterThan(390);
    expect(days).toBeLessThan(400);
  });

  it('a certificate from another CA is refused', async () => {
    const otherCa = await createCertificateAuthority({ commonName: 'Someone else', keyType: 'ec' });
    const stranger = await createProviderCertificate(otherCa, { topic: TOPIC, keyType: 'ec' });
    const refusedBefore = server.refused.length;
    const result = await handshake(server.port, { ...stranger, ca: state.ca.cert, servername: 'localhost' });
    expect(result.ok).toBe(false);
    await waitFor(() => server.refused.length > refusedBefore);

    const why = await handshake(lenient.port, { ...stranger, ca: state.ca.cert, servername: 'localhost' });
    expect(why).toMatchObject({ ok: true, authorized: false, identity: { topic: TOPIC } });
    if (why.ok) expect(why.authorizationError).toMatch(/UNABLE_TO_(GET_ISSUER_CERT_LOCALLY|VERIFY_LEAF_SIGNATURE)/);
  });

  it('an expired certificate fails the handshake', async () => {
    const day = 86_400_000;
    const expired = await createProviderCertificate(state.ca, {
      topic: TOPIC,
      notBefore: new Date(Date.now() - 30 * day),
      notAfter: new Date(Date.now() - day),
      keyType: 'ec',
    });
    const result = await handshake(server.port, { ...expired, ca: state.ca.cert, servername: 'localhost' });
    expect(result.ok).toBe(false);

    const why = await handshake(lenient.port, { ...expired, ca: state.ca.cert, servername: 'localhost' });
    expect(why).toMatchObject({ ok: true, authorized: false, authorizationError: 'CERT_HAS_EXPIRED' });
  });
});

describe('providerIdentity', () => {
  it('reads DER bytes as it reads a peer certificate', () => {
    const cert = new X509Certificate(development.cert);
    expect(providerIdentity(cert.raw)).toEqual(providerIdentity(cert));
    expect(providerIdentity(new Uint8Array(cert.raw))).toEqual(providerIdentity(cert));
  });

  it('reads the older common names and a custom one as given', async () => {
    const older = await createProviderCertificate(state.ca, {
      topic: 'com.tadpole.TestAPNs',
      commonName: 'Apple Development IOS Push Services: com.tadpole.TestAPNs',
      keyType: 'ec',
    });
    expect(providerIdentity(new X509Certificate(older.cert))).toMatchObject({
      topic: 'com.tadpole.TestAPNs',
      commonName: 'Apple Development IOS Push Services: com.tadpole.TestAPNs',
      environment: 'development',
    });
  });

  it("a certificate for both environments (Apple's later ones) has no single environment", async () => {
    // Built by hand: both environment extensions, and the topics sequence wrapped in one more
    // OCTET STRING as some tools write it.
    const utf8 = (text: string) => der(0x0c, Buffer.from(text, 'utf8'));
    const topics = der(
      0x04,
      der(
        0x30,
        utf8(TOPIC),
        der(0x30, utf8('app')),
        utf8(`${TOPIC}.voip`),
        der(0x30, utf8('voip')),
        utf8(`${TOPIC}.complication`),
        der(0x30, utf8('complication')),
      ),
    );
    const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    const cert = await X509CertificateGenerator.createSelfSigned(
      {
        name: [{ [OID_USER_ID]: [TOPIC] }, { CN: [`Apple Push Services: ${TOPIC}`] }],
        keys: keys,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
        extensions: [
          new Extension(OID_APNS_DEVELOPMENT, false, Uint8Array.of(5, 0)),
          new Extension(OID_APNS_PRODUCTION, false, Uint8Array.of(5, 0)),
          new Extension(OID_APNS_TOPICS, false, new Uint8Array(topics)),
        ],
      },
      webcrypto as never,
    );
    const identity = providerIdentity(Buffer.from(cert.rawData));
    expect(identity.environment).toBe('unknown');
    expect(identity.topic).toBe(TOPIC);
    expect(identity.topics).toEqual([TOPIC, `${TOPIC}.voip`, `${TOPIC}.complication`]);
  });

  it('never throws: odd certificates give nulls and unknown', () => {
    const ca = providerIdentity(new X509Certificate(state.ca.cert));
    expect(ca).toMatchObject({ topic: null, topics: [], environment: 'unknown', commonName: 'apns-mock-gateway local CA' });

    const garbage = Buffer.from('30820122300d06092a864886f70d0101', 'hex');
    expect(providerIdentity(garbage)).toEqual({
      topic: null,
      topics: [],
      environment: 'unknown',
      commonName: null,
      serialNumber: '',
      fingerprint256: createHash('sha256').update(garbage).digest('hex').toUpperCase().match(/../g)!.join(':'),
    });
    expect(providerIdentity(Buffer.alloc(0)).topic).toBeNull();
    expect(providerIdentity(undefined).environment).toBe('unknown');
  });
});

describe('options are checked before any key is made', () => {
  it('rejects a missing topic, an unknown environment and an empty validity', async () => {
    await expect(createProviderCertificate(state.ca, { topic: '' })).rejects.toThrow(TypeError);
    await expect(createProviderCertificate(state.ca, { topic: TOPIC, environment: 'staging' as never })).rejects.toThrow(
      /development or production/,
    );
    const now = new Date();
    await expect(createProviderCertificate(state.ca, { topic: TOPIC, notBefore: now, notAfter: now })).rejects.toThrow(RangeError);
    await expect(writeProviderBundle(join(work, 'never'), development, state.ca, { passphrase: '' })).rejects.toThrow(RangeError);
    expect(existsSync(join(work, 'never'))).toBe(false);
  });
});

describe("provider bundle and the seed's openssl step", () => {
  let bundleDir: string;
  let paths: Awaited<ReturnType<typeof writeProviderBundle>>;

  beforeAll(async () => {
    bundleDir = join(work, 'bundle');
    paths = await writeProviderBundle(bundleDir, development, state.ca, {});
  });

  it('writes cert.pem, key.pem (0600), cert.p12 and ca.pem', async () => {
    expect(paths).toEqual({
      cert: join(bundleDir, 'cert.pem'),
      key: join(bundleDir, 'key.pem'),
      p12: join(bundleDir, 'cert.p12'),
      passphrase: 'apns-mock',
      ca: join(bundleDir, 'ca.pem'),
    });
    expect(await readFile(paths.cert, 'utf8')).toBe(development.cert);
    expect(await readFile(paths.key, 'utf8')).toBe(development.key);
    expect(await readFile(paths.ca, 'utf8')).toBe(state.ca.cert);
    expect(mode(paths.key)).toBe(0o600);
    expect(mode(paths.p12)).toBe(0o600);
  });

  it("converts with the seed's command verbatim, the passphrase typed at the prompt, and the .pem connects", async () => {
    const converted = await run(OPENSSL, SEED_PKCS12_STEP, { cwd: bundleDir, input: 'apns-mock\n', detached: true });
    expect(converted.code, converted.stderr).toBe(0);
    const pem = await readFile(join(bundleDir, 'apple_push_notification_production.pem'), 'utf8');
    expect(pem).toContain('friendlyName: Apple Push Services: com.example.app');
    expect(pem.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(1);
    expect(pem).toContain('-----BEGIN PRIVATE KEY-----');
    expect(pem).not.toContain('ENCRYPTED');

    const result = await handshake(server.port, { cert: pem, key: pem, ca: state.ca.cert, servername: 'localhost' });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.identity).toMatchObject({ topic: TOPIC, environment: 'development' });
  });

  it('uses algorithms OpenSSL 3 reads without -legacy', async () => {
    const info = await run(OPENSSL, ['pkcs12', '-in', paths.p12, '-info', '-noout', '-passin', 'pass:apns-mock']);
    expect(info.code, info.stderr).toBe(0);
    const text = info.stdout + info.stderr;
    expect(text).toMatch(/Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC/);
    expect(text).not.toMatch(/RC2|3DES|40-bit/i);
  });

  it("--passphrase sets the .p12's: -passin with it converts, a wrong one does not", async () => {
    const named = await writeProviderBundle(bundleDir, production, state.ca, { passphrase: 's3cret', baseName: 'prod' });
    expect(named.cert).toBe(join(bundleDir, 'prod-cert.pem'));
    expect(named.key).toBe(join(bundleDir, 'prod-key.pem'));
    expect(named.p12).toBe(join(bundleDir, 'prod.p12'));
    const wrong = await run(
      OPENSSL,
      ['pkcs12', '-in', 'prod.p12', '-out', 'wrong.pem', '-nodes', '-clcerts', '-passin', 'pass:apns-mock'],
      { cwd: bundleDir },
    );
    expect(wrong.code).not.toBe(0);
    const right = await run(OPENSSL, ['pkcs12', '-in', 'prod.p12', '-out', 'prod.pem', '-nodes', '-clcerts', '-passin', 'pass:s3cret'], {
      cwd: bundleDir,
    });
    expect(right.code, right.stderr).toBe(0);
    const pem = await readFile(join(bundleDir, 'prod.pem'), 'utf8');
    const result = await handshake(server.port, { cert: pem, key: pem, ca: state.ca.cert, servername: 'localhost' });
    expect(result.ok && result.identity.environment).toBe('production');
  });

  it('refuses an EC key, which node-forge cannot put in a .p12', async () => {
    const ec = await createProviderCertificate(state.ca, { topic: TOPIC, keyType: 'ec' });
    await expect(writeProviderBundle(join(work, 'ec'), ec, state.ca, {})).rejects.toThrow(/RSA keys only/);
  });
});

describe('apns-mock certs', () => {
  const cli = join(root, 'dist', 'cli', 'main.js');
  let cwd: string;

  beforeAll(async () => {
    // `npm test` builds first; a direct vitest run may find dist/ older than the sources.
    const sources = [
      'cli/main.ts',
      'cli/commands.ts',
      'cli/certs/command.ts',
      ...(await readdir(join(root, 'server', 'certs'))).map((name) => `server/certs/${name}`),
    ];
    const built = existsSync(cli) ? statSync(cli).mtimeMs : 0;
    const builtCerts = existsSync(join(root, 'dist/server/certs/index.js'))
      ? statSync(join(root, 'dist/server/certs/index.js')).mtimeMs
      : 0;
    if (sources.some((source) => statSync(join(root, source)).mtimeMs > Math.min(built, builtCerts))) {
      await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], {
        cwd: root,
      });
    }
    expect(existsSync(cli)).toBe(true);
    cwd = join(work, 'cli');
    await mkdir(cwd, { recursive: true });
  }, 120_000);

  const apnsMock = (...args: string[]) => run(process.execPath, [cli, ...args], { cwd });

  it("writes the files, signed by the state directory's CA, and says how to convert the .p12", async () => {
    const result = await apnsMock('certs', '--topic', 'com.example.cli', '--out', 'out', '--state', state.dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('passphrase: apns-mock');
    expect(result.stdout).toContain('openssl pkcs12 -in cert.p12 -out apple_push_notification_production.pem -nodes -clcerts');
    expect(result.stdout).toContain(join('out', 'cert.p12'));
    const ca = new X509Certificate(state.ca.cert);
    expect(result.stdout).toContain(`issued by    CN=apns-mock-gateway local CA, O=apns-mock-gateway (SHA-256 ${ca.fingerprint256})`);
    expect(result.stderr).toBe('');
    expect((await readdir(join(cwd, 'out'))).sort()).toEqual(['ca.pem', 'cert.p12', 'cert.pem', 'key.pem']);
    expect(await readFile(join(cwd, 'out', 'ca.pem'), 'utf8')).toBe(state.ca.cert);
    expect(mode(join(cwd, 'out', 'key.pem'))).toBe(0o600);
    const identity = providerIdentity(new X509Certificate(await readFile(join(cwd, 'out', 'cert.pem'))));
    expect(identity).toMatchObject({ topic: 'com.example.cli', environment: 'development', topics: ['com.example.cli'] });
  });

  it('--json prints exactly one line with the paths and the passphrase', async () => {
    const result = await apnsMock(
      'certs',
      '--topic',
      'com.example.cli',
      '--env',
      'production',
      '--extra-topic',
      'com.example.cli.voip',
      '--out',
      'json-out',
      '--passphrase',
      's3cret',
      '--state',
      state.dir,
      '--json',
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.endsWith('\n')).toBe(true);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
    const printed = JSON.parse(result.stdout) as Record<string, string>;
    expect(Object.keys(printed)).toEqual(['cert', 'key', 'p12', 'passphrase', 'ca']);
    expect(printed.passphrase).toBe('s3cret');
    for (const key of ['cert', 'key', 'p12', 'ca']) {
      expect(isAbsolute(printed[key])).toBe(true);
      expect(dirname(printed[key])).toBe(join(cwd, 'json-out'));
      expect((await stat(printed[key])).isFile()).toBe(true);
    }
    const cert = await readFile(printed.cert, 'utf8');
    const key = await readFile(printed.key, 'utf8');
    const result2 = await handshake(server.port, { cert, key, ca: await readFile(printed.ca, 'utf8'), servername: 'localhost' });
    expect(result2.ok).toBe(true);
    if (result2.ok) {
      expect(result2.identity).toMatchObject({
        topic: 'com.example.cli',
        topics: ['com.example.cli', 'com.example.cli.voip'],
        environment: 'production',
      });
    }
  });

  it('creates the state directory when it is missing', async () => {
    const result = await apnsMock('certs', '--topic', 'com.example.cli', '--out', 'fresh-out', '--state', 'fresh-state', '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
    const fresh = new X509Certificate(await readFile(join(cwd, 'fresh-state', 'ca.pem'), 'utf8'));
    expect(result.stderr).toContain('No usable CA in fresh-state: created a new one, CN=apns-mock-gateway local CA, O=apns-mock-gateway');
    expect(result.stderr).toContain(`(SHA-256 ${fresh.fingerprint256})`);
    expect(fresh.fingerprint256).not.toBe(new X509Certificate(state.ca.cert).fingerprint256);

    const reused = await apnsMock('certs', '--topic', 'com.example.cli', '--out', 'fresh-out', '--state', 'fresh-state', '--json');
    expect(reused.code, reused.stderr).toBe(0);
    expect(reused.stderr).toBe('');
    expect(await readFile(join(cwd, 'fresh-out', 'ca.pem'), 'utf8')).toBe(await readFile(join(cwd, 'fresh-state', 'ca.pem'), 'utf8'));
    expect(mode(join(cwd, 'fresh-state', 'ca-key.pem'))).toBe(0o600);
  });

  it('--out and its missing parents are created 0700, the key and the .p12 0600, even with umask 000', async () => {
    const out = 'open/umask/out';
    const result = await withOpenUmask(() => apnsMock('certs', '--topic', 'com.example.cli', '--out', out, '--state', state.dir));
    expect(result.code, result.stderr).toBe(0);
    for (const directory of ['open', 'open/umask', 'open/umask/out']) expect(mode(join(cwd, directory))).toBe(0o700);
    expect(mode(join(cwd, 'open/umask/out/key.pem'))).toBe(0o600);
    expect(mode(join(cwd, 'open/umask/out/cert.p12'))).toBe(0o600);
    expect(mode(join(cwd, 'open/umask/out/cert.pem'))).toBe(0o644);
  });

  it.each([
    ['a missing --topic', ['--out', 'bad'], /topic/],
    ['an unknown --env', ['--topic', TOPIC, '--env', 'staging', '--out', 'bad'], /env.*development.*production/s],
    ['a --topic that is no bundle id', ['--topic', 'com example', '--out', 'bad'], /--topic must be a bundle id/],
    ['an empty --passphrase', ['--topic', TOPIC, '--out', 'bad', '--passphrase', ''], /--passphrase must not be empty/],
    ['an --out below a file', ['--topic', TOPIC, '--out', 'a-file/out'], /cannot use --out a-file\/out: part of the path is a file/],
    ['a --state below a file', ['--topic', TOPIC, '--out', 'bad', '--state', 'a-file/state'], /cannot use --state a-file\/state/],
  ])('exits 2 with a clear message on %s', async (_name, args, message) => {
    await writeFile(join(cwd, 'a-file'), '');
    const result = await apnsMock('certs', ...args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

/** A short-form DER element (contents under 128 bytes), built apart from the code under test. */
function der(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  if (body.length > 127) throw new Error('long form not needed here');
  return Buffer.concat([Buffer.of(tag, body.length), body]);
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
