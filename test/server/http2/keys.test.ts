import { createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signProviderToken } from '../../../protocol/http2/index.js';
import { KeyStore, KeyStoreError, startSimulator } from '../../../server/index.js';
import { runCli } from '../../support/cli-process.js';
import { ALERT, open, send } from './support.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'apns-mock-keys-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('the key store', () => {
  it('keeps keys in <state>/keys: another store on the directory loads them, or finds them on first use', async () => {
    const state = await tempDir();
    const first = await KeyStore.open(state);
    const made = await first.create('TEAM000001', 'KEY0000001', { environments: 'production', topics: ['com.x'] });
    expect(made).toMatchObject({
      teamId: 'TEAM000001',
      keyId: 'KEY0000001',
      environments: ['production'],
      topics: ['com.x'],
      revoked: false,
    });
    expect(createPrivateKey(made.privateKey).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const second = await KeyStore.open(state);
    expect(second.list().map((k) => k.keyId)).toEqual(['KEY0000001']);
    const later = await first.create('TEAM000002', 'KEY0000002');
    expect(second.list()).toHaveLength(1);
    expect((await second.lookup('KEY0000002'))?.publicKey).toBe(later.publicKey);
    await first.revoke('KEY0000001');
    expect((await (await KeyStore.open(state)).lookup('KEY0000001'))?.revoked).toBe(true);
    expect(await first.remove('KEY0000002')).toBe(true);
    expect(await (await KeyStore.open(state)).lookup('KEY0000002')).toBeNull();
  });

  it('refuses ids that are not 10 letters or digits, and keys that are not P-256', async () => {
    const store = new KeyStore();
    await expect(store.create('TEAM1', 'KEY0000001')).rejects.toThrow(KeyStoreError);
    await expect(store.create('TEAM000001', 'KEY-000001')).rejects.toThrow(/key id/);
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    await expect(store.add({ teamId: 'TEAM000001', keyId: 'KEY0000001', publicKey: rsa })).rejects.toThrow(/P-256/);
  });

  it('a simulator on a state directory trusts the keys registered there, even ones made after it started', async () => {
    const state = await tempDir();
    const before = await (await KeyStore.open(state)).create('TEAM000001', 'KEYBEFORE1');
    const sim = await startSimulator({ state });
    try {
      const after = await (await KeyStore.open(state)).create('TEAM000001', 'KEYAFTER01');
      for (const key of [before, after]) {
        const s = await open(sim);
        const jwt = await signProviderToken({ teamId: key.teamId, keyId: key.keyId, privateKey: key.privateKey });
        const reply = await send(s, { headers: { 'apns-topic': 'com.example.app', authorization: `bearer ${jwt}` }, body: ALERT });
        expect(reply.status).toBe(200);
        s.destroy();
      }
    } finally {
      await sim.close();
    }
  });

  it('the control API makes and lists keys', async () => {
    const sim = await startSimulator();
    try {
      // The control API takes JSON bodies only with their content type (its CSRF guard).
      const json = { 'content-type': 'application/json' };
      const body = JSON.stringify({ teamId: 'TEAM000001', keyId: 'KEYCONTROL', environments: ['development'] });
      const made = await fetch(`${sim.controlUrl}/keys`, { method: 'POST', headers: json, body });
      expect(made.status).toBe(201);
      const key = (await made.json()) as { privateKey: string; keyId: string; environments: string[] };
      expect(key).toMatchObject({ keyId: 'KEYCONTROL', environments: ['development'] });
      const listed = (await (await fetch(`${sim.controlUrl}/keys`)).json()) as Record<string, unknown>[];
      expect(listed.map((k) => k.keyId)).toEqual(['KEYCONTROL']);
      expect(JSON.stringify(listed)).not.toContain('PRIVATE KEY');
      const bad = await fetch(`${sim.controlUrl}/keys`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ teamId: 'T', keyId: 'K' }),
      });
      expect(bad.status).toBe(400);
      expect((await fetch(`${sim.controlUrl}/keys/KEYCONTROL`, { method: 'DELETE' })).status).toBe(200);
      expect((await fetch(`${sim.controlUrl}/keys/KEYCONTROL`, { method: 'DELETE' })).status).toBe(404);
    } finally {
      await sim.close();
    }
  });
});

describe('apns-mock keys', () => {
  it('--json writes AuthKey_<KEYID>.p8 (PKCS#8 P-256, mode 0600), registers it and prints the paths', async () => {
    const dir = await tempDir();
    const result = await runCli([
      'keys',
      '--team',
      'TEAM000001',
      '--key-id',
      'KEY0000001',
      '--out',
      join(dir, 'out'),
      '--state',
      join(dir, 'state'),
      '--json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { key: string; keyId: string; teamId: string };
    expect(printed).toEqual({ key: join(dir, 'out', 'AuthKey_KEY0000001.p8'), keyId: 'KEY0000001', teamId: 'TEAM000001' });
    const pem = await readFile(printed.key, 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(createPrivateKey(pem).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    if (process.platform !== 'win32') expect((await stat(printed.key)).mode & 0o777).toBe(0o600);
    const registered = JSON.parse(await readFile(join(dir, 'state', 'keys', 'KEY0000001.json'), 'utf8')) as Record<string, unknown>;
    expect(registered).toMatchObject({ teamId: 'TEAM000001', keyId: 'KEY0000001', environments: ['development', 'production'] });
    expect(JSON.stringify(registered)).not.toContain('PRIVATE');
  });

  it('--token prints a provider token a serve on that state accepts', async () => {
    const dir = await tempDir();
    const state = join(dir, 'state');
    const sim = await startSimulator({ state });
    try {
      const result = await runCli([
        'keys',
        '--team',
        'TEAM000001',
        '--key-id',
        'KEY0000002',
        '--env',
        'development',
        '--out',
        join(dir, 'out'),
        '--state',
        state,
        '--token',
      ]);
      expect(result.code).toBe(0);
      const jwt = result.stdout.trim();
      expect(jwt).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      const s = await open(sim);
      const reply = await send(s, { headers: { 'apns-topic': 'com.example.app', authorization: `bearer ${jwt}` }, body: ALERT });
      expect(reply.status).toBe(200);
      s.destroy();
    } finally {
      await sim.close();
    }
  });

  it('says what to do next in text, with a curl command', async () => {
    const dir = await tempDir();
    const result = await runCli([
      'keys',
      '--team',
      'TEAM000001',
      '--key-id',
      'KEY0000003',
      '--out',
      join(dir, 'out'),
      '--state',
      join(dir, 'state'),
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('AuthKey_KEY0000003.p8');
    expect(result.stdout).toMatch(/curl --http2 --cacert \S+ca\.pem -H "authorization: bearer [\w-]+\.[\w-]+\.[\w-]+"/);
  });

  it('exits 2 with a clear message on a bad team or key id', async () => {
    const dir = await tempDir();
    for (const [args, message] of [
      [['--team', 'SHORT', '--key-id', 'KEY0000001'], /--team: a team id is 10 upper-case letters or digits/],
      [['--team', 'TEAM000001', '--key-id', 'KEY 000001'], /--key-id: a key id is 10 upper-case letters or digits/],
    ] as const) {
      const result = await runCli(['keys', ...args, '--out', join(dir, 'out'), '--state', join(dir, 'state')]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('serve --json names the HTTP/2 port', async () => {
    const dir = await tempDir();
    const { startServe } = await import('../../support/cli-process.js');
    const serve = await startServe(join(dir, 'state'));
    try {
      const facts = serve.facts as unknown as { http2: number; ca: string };
      expect(facts.http2).toBeGreaterThan(0);
      const ca = await readFile(facts.ca, 'utf8');
      const { connect } = await import('node:http2');
      const s = connect(`https://127.0.0.1:${facts.http2}`, { ca });
      s.on('error', () => undefined);
      const reply = await send(s, { headers: { 'apns-topic': 'com.example.app' }, body: ALERT });
      expect([reply.status, reply.json?.reason]).toEqual([403, 'MissingProviderToken']);
      s.destroy();
    } finally {
      await serve.stop();
    }
  });
});
