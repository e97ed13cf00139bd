import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNotification } from '../../protocol/binary/index.js';
import { parseRecords, startSimulator } from '../../server/index.js';
import { FREE_PORTS, runCli, startServe } from '../support/cli-process.js';
import { sendFrames } from '../support/provider-socket.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'apns-mock-security-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Every file under a directory, with its mode. */
function filesUnder(dir: string): { path: string; mode: number }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const path = join(e.parentPath, e.name);
      return { path, mode: statSync(path).mode & 0o777 };
    });
}

/** Whether a TCP connection to host:port is accepted. */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('the control API and inspector stay on loopback unless given a token', () => {
  it('by default every service listens on 127.0.0.1: the control port answers there and nowhere else', async () => {
    const sim = await startSimulator({ http2Port: false });
    try {
      expect(sim.controlUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await reachable('127.0.0.1', sim.ports.control!)).toBe(true);
      const external = Object.values(networkInterfaces())
        .flat()
        .find((a) => a !== undefined && !a.internal && a.family === 'IPv4');
      // Another address of this machine, when it has one, must refuse the control port.
      if (external) expect(await reachable(external.address, sim.ports.control!)).toBe(false);
      expect(await reachable('127.0.0.2', sim.ports.control!)).toBe(false);
    } finally {
      await sim.close();
    }
  });

  it('bound to 0.0.0.0 it refuses to start without a control token, in the library and in the CLI', async () => {
    await expect(startSimulator({ host: '0.0.0.0' })).rejects.toThrow(/control token/);
    const dir = tempDir();
    const cli = await runCli(['serve', '--host', '0.0.0.0', ...FREE_PORTS, '--state', join(dir, 'state')]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('--control-token');
  });

  // Tests bind to loopback only; the token is enforced the same wherever the API is bound.
  it('with --control-token: every data endpoint wants the bearer token; the page and its script, which hold no data, do not', async () => {
    const dir = tempDir();
    const serve = await startServe(join(dir, 'state'), ['--control-token', 's3cret']);
    try {
      const url = `http://127.0.0.1:${serve.facts.control}`;
      for (const path of ['/records', '/stats', '/connections', '/rules', '/devices', '/events', '/certificates/revoked']) {
        expect((await fetch(`${url}${path}`)).status).toBe(401);
        expect((await fetch(`${url}${path}`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      }
      const revoke = await fetch(`${url}/certificates/revoke`, { method: 'POST', body: JSON.stringify({ serial: '01' }) });
      expect(revoke.status).toBe(401);
      const ok = await fetch(`${url}/stats`, { headers: { authorization: 'Bearer s3cret' } });
      expect(ok.status).toBe(200);
      const page = await fetch(`${url}/`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
    } finally {
      await serve.stop();
    }
  });
});

describe('private keys', () => {
  it('every file in the state directory that holds a private key is 0600 (the directory 0700), even with a permissive umask', async () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const previous = process.umask(0o000);
    try {
      const sim = await startSimulator({ state, controlPort: false });
      await sim.close();
      // serve writes the provider's PEM pair and .p12; keys --out writes a .p8 (both children inherit the umask).
      const serve = await startServe(state);
      await serve.stop();
      const keys = await runCli([
        'keys',
        '--team',
        'TEAM000001',
        '--key-id',
        'KEY0000001',
        '--out',
        join(state, 'client'),
        '--state',
        state,
      ]);
      expect(keys.code).toBe(0);
    } finally {
      process.umask(previous);
    }
    expect(statSync(state).mode & 0o777).toBe(0o700);
    const files = filesUnder(state);
    const secret = files.filter((f) => /\.p12$/.test(f.path) || readFileSync(f.path, 'latin1').includes('PRIVATE KEY-----'));
    // The CA's key, the server's, the provider's PEM and .p12, the .p8.
    expect(secret.map((f) => f.path.slice(state.length + 1)).sort()).toEqual(
      [
        'ca-key.pem',
        'server-key.pem',
        'client/com.example.app-key.pem',
        'client/com.example.app.p12',
        'client/AuthKey_KEY0000001.p8',
      ].sort(),
    );
    expect(secret.filter((f) => f.mode !== 0o600)).toEqual([]);
    // And a file of a public part is readable, so the check above tells the two apart.
    expect(files.find((f) => f.path.endsWith('ca.pem'))?.mode).toBe(0o644);
  });
});

describe('payloads are data', () => {
  it('payloads that look like code or prototype pollution are recorded verbatim and never run or merged', async () => {
    const sim = await startSimulator({ http2Port: false });
    try {
      const payloads = [
        '{"aps":{"alert":"x"},"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
        '{"aps":{"alert":"${process.exit(3)}"},"x":"`+process.exit(4)+`"}',
        '"); process.exit(5); //',
        '<script>globalThis.polluted = true</script>',
      ];
      const frames = payloads.map((payload, i) => encodeNotification({ token: 'aa'.repeat(32), payload, identifier: i + 1 }, 2));
      await sendFrames(sim.ports.gateway, sim.credentials, frames, 300);
      const records = await sim.waitFor({}, { count: payloads.length });
      expect(records.map((r) => r.payload)).toEqual(payloads);
      const api = (await (await fetch(`${sim.controlUrl}/records`)).json()) as { payload: string }[];
      expect(api.map((r) => r.payload)).toEqual(payloads);
      // JSON.parse makes __proto__ an own property, never the prototype: nothing leaked into objects.
      const reread = parseRecords(`${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
      expect(reread.records.map((r) => r.payload)).toEqual(payloads);
      expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
      expect((globalThis as { polluted?: unknown }).polluted).toBeUndefined();
      expect(Object.getPrototypeOf(records[0].payloadJson)).toBe(Object.prototype);
    } finally {
      await sim.close();
    }
  });
});

describe('identifiers that become paths', () => {
  it('DELETE /keys/:id with ../ in the id is refused with 400 and the file outside the state directory survives', async () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const outside = join(dir, 'somewhere');
    mkdirSync(outside);
    writeFileSync(join(outside, 'file.json'), '{"precious":true}\n');
    const sim = await startSimulator({ state, http2Port: false });
    try {
      await sim.createSigningKey('TEAM000001', 'KEY0000001');
      for (const id of [
        '..%2F..%2Fsomewhere%2Ffile',
        '..%2F..%2F..%2F..%2F..%2F..%2Ftmp%2Fx',
        '..%2Fkeys%2FKEY0000001',
        'KEY0000001%00',
        'key0000001',
      ]) {
        const reply = await fetch(`${sim.controlUrl}/keys/${id}`, { method: 'DELETE' });
        const body = (await reply.json()) as { error: string; code: string };
        expect({ id, status: reply.status, code: body.code }).toEqual({ id, status: 400, code: 'ERR_APNS_KEY_STORE' });
        expect(body.error).toMatch(/a key id is 10 upper-case letters or digits/);
      }
      expect(readFileSync(join(outside, 'file.json'), 'utf8')).toBe('{"precious":true}\n');
      // The library refuses the same ids: the check is in the store, not only in the HTTP route.
      await expect(sim.keys.remove('../../somewhere/file')).rejects.toMatchObject({ code: 'ERR_APNS_KEY_STORE' });
      expect(readFileSync(join(outside, 'file.json'), 'utf8')).toBe('{"precious":true}\n');
      // A real key id still works, and its file goes.
      expect(readdirSync(join(state, 'keys'))).toContain('KEY0000001.json');
      expect((await fetch(`${sim.controlUrl}/keys/KEY0000001`, { method: 'DELETE' })).status).toBe(200);
      expect(readdirSync(join(state, 'keys'))).not.toContain('KEY0000001.json');
      expect((await fetch(`${sim.controlUrl}/keys/KEY0000001`, { method: 'DELETE' })).status).toBe(404);
    } finally {
      await sim.close();
    }
  });
});

describe('the feedback service never throws on what reached the registry', () => {
  it('a token the tuple cannot hold (over 65,535 bytes), given through the library, is left out; the rest is delivered', async () => {
    const sim = await startSimulator({ http2Port: false, controlPort: false });
    try {
      const good = 'ab'.repeat(32);
      // The library's registry normalises but does not refuse: this is how a long token could reach the service.
      sim.devices.uninstall('cd'.repeat(70_000), { timestamp: 1_700_000_000 });
      sim.devices.uninstall(good, { timestamp: 1_700_000_001 });
      const read = await sendFrames(sim.ports.feedback, sim.credentials, []);
      expect(read.closed).toBe(true);
      // u32 1700000001 = 0x6553f101, u16 32, the token: only the good tuple.
      expect(read.received.toString('hex')).toBe(`6553f1010020${good}`);
      const again = await sendFrames(sim.ports.feedback, sim.credentials, []);
      expect(again.received.length).toBe(0);
    } finally {
      await sim.close();
    }
  });
});
