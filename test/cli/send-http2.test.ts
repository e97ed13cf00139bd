import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, writeProviderBundle, type Simulator } from '../../server/index.js';
import { runCli } from '../support/cli-process.js';

// `apns-mock send --http2` from the built CLI (dist/): `npx tsc -p .` before `npx vitest run`.

const A = 'aa'.repeat(32);
const B = 'bb'.repeat(32);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let sim: Simulator;
let dir: string;
let state: string;
let p8: string;
let http2: string[];

const jsonLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'apns-h2-cli-'));
  state = join(dir, 'state');
  sim = await startSimulator({ state, controlPort: false });
  // As `apns-mock serve` does: the provider bundle under <state>/client/, named by its topic.
  await writeProviderBundle(
    join(state, 'client'),
    sim.credentials,
    { cert: sim.credentials.ca, key: '' },
    { baseName: sim.credentials.topic },
  );
  // As serve's instructions say: the key beside the certificate; the running simulator finds its registration.
  const made = await runCli([
    'keys',
    '--team',
    'TEAM000001',
    '--key-id',
    'KEY0000001',
    '--out',
    join(state, 'client'),
    '--state',
    state,
    '--json',
  ]);
  expect(made.code).toBe(0);
  p8 = String(JSON.parse(made.stdout).key);
  http2 = ['--http2', '--state', state, '--port', String(sim.ports.http2)];
});
afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  sim.recorder.clear();
  sim.rules.clear();
  sim.devices.clear();
});

describe('apns-mock send --http2 with a provider key from apns-mock keys', () => {
  it('--key AuthKey_<KEYID>.p8 alone: the key id from its name, the team from the state, the app from serve: exit 0', async () => {
    const result = await runCli(['send', ...http2, '--key', p8, '--token', A, '--alert', 'Hello']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const match = /^accepted +#1 +a{64} +apns-id ([0-9a-f-]{36})\n/.exec(result.stdout);
    expect(match).not.toBeNull();
    expect(result.stdout).toMatch(/1 notification\(s\) to 127\.0\.0\.1:\d+ over HTTP\/2: 1 accepted, 0 rejected, 0 failed/);
    const [record] = sim.records({ protocol: 'http2', apnsId: match![1] });
    expect(record).toMatchObject({ outcome: 'accepted', token: A, topic: 'com.example.app', payloadJson: { aps: { alert: 'Hello' } } });
    expect(record.http2).toMatchObject({ auth: 'token', teamId: 'TEAM000001', keyId: 'KEY0000001' });
  });

  it('--key-id alone finds the .p8 in the state directory; headers from options; --json', async () => {
    const result = await runCli([
      'send',
      ...http2,
      '--key-id',
      'KEY0000001',
      '--token',
      A,
      '--token',
      B,
      '--count',
      '2',
      '--badge',
      '3',
      '--push-type',
      'alert',
      '--priority',
      '5',
      '--collapse-id',
      'scores',
      '--expiration',
      '1900000000',
      '--topic',
      'com.example.app',
      '--json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    expect(lines).toHaveLength(5);
    expect(lines.slice(0, 4).map((l) => [l.status, l.attempts])).toEqual(Array(4).fill(['accepted', 1]));
    expect(lines.slice(0, 4).every((l) => UUID.test(String(l.apnsId)))).toBe(true);
    expect(lines[4]).toMatchObject({ summary: { sent: 4, accepted: 4, rejected: 0, failed: 0, protocol: 'http2', auth: 'token' } });
    const records = sim.records({ protocol: 'http2', outcome: 'accepted' });
    expect(records.map((r) => r.token)).toEqual([A, A, B, B]);
    expect(new Set(records.map((r) => r.http2!.apnsId))).toEqual(new Set(lines.slice(0, 4).map((l) => l.apnsId)));
    expect(records[0]).toMatchObject({ priority: 5, expiry: 1_900_000_000, payloadJson: { aps: { badge: 3 } } });
    expect(records[0].http2).toMatchObject({ pushType: 'alert', collapseId: 'scores', keyId: 'KEY0000001' });
  });

  it('--team and --key with a .p8 of any name', async () => {
    const renamed = join(dir, 'provider-key.p8');
    await copyFile(p8, renamed);
    const result = await runCli([
      'send',
      ...http2,
      '--team',
      'TEAM000001',
      '--key-id',
      'KEY0000001',
      '--key',
      renamed,
      '--token',
      A,
      '--alert',
      'x',
    ]);
    expect(result.code).toBe(0);
    expect(sim.records({ protocol: 'http2' })[0].http2).toMatchObject({ auth: 'token', status: 200 });
  });
});

describe('apns-mock send --http2 with the certificate serve wrote', () => {
  it('no key options: certificate authentication, exit 0; an apns-topic with a suffix picks the certificate of its app', async () => {
    const result = await runCli([
      'send',
      ...http2,
      '--token',
      A,
      '--payload',
      '{"aps":{}}',
      '--topic',
      'com.example.app.voip',
      '--push-type',
      'voip',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [record] = sim.records({ protocol: 'http2' });
    expect(record).toMatchObject({ outcome: 'accepted', topic: 'com.example.app.voip' });
    expect(record.http2).toMatchObject({ auth: 'certificate', pushType: 'voip' });
  });
});

describe('exit 1: a notification rejected or failed', () => {
  it('Unregistered (410, with when) and BadDeviceToken, each sent once', async () => {
    sim.devices.uninstall(B, { timestamp: 1_700_000_000 });
    sim.rules.add({ match: { token: 'cc'.repeat(32) }, action: { type: 'reject', reason: 'BadDeviceToken' } });
    const text = await runCli(['send', ...http2, '--key', p8, '--token', A, '--token', B, '--token', 'cc'.repeat(32), '--alert', 'x']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(
      new RegExp(
        `rejected +#2 +${B} +apns-id [0-9a-f-]{36}  410 Unregistered: The device token is inactive for the specified topic\\. \\(since 2023-11-14T22:13:20\\.000Z\\)\\n`,
      ),
    );
    expect(text.stdout).toMatch(/rejected +#3 +c{64} +apns-id [0-9a-f-]{36} {2}400 BadDeviceToken: /);
    expect(text.stdout).toMatch(/3 notification\(s\) .*: 1 accepted, 2 rejected, 0 failed/);
    expect(sim.records({ protocol: 'http2' })).toHaveLength(3);
    const json = await runCli(['send', ...http2, '--key', p8, '--token', B, '--alert', 'x', '--json']);
    expect(json.code).toBe(1);
    expect(jsonLines(json.stdout)[0]).toMatchObject({
      n: 1,
      status: 'rejected',
      statusCode: 410,
      reason: 'Unregistered',
      timestamp: 1_700_000_000_000,
      attempts: 1,
    });
  });

  it("prints the simulator's explanation under Apple's line (x-apns-mock-reason), and in --json", async () => {
    sim.rules.add({ id: 'gone', match: { token: A }, action: { type: 'reject', reason: 'BadDeviceToken' } });
    const text = await runCli(['send', ...http2, '--key', p8, '--token', A, '--alert', 'x']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/rejected +#1 +a{64} +apns-id [0-9a-f-]{36} {2}400 BadDeviceToken: .*\n {10}simulator: .*rule gone.*\n/);
    const json = await runCli(['send', ...http2, '--key', p8, '--token', A, '--alert', 'x', '--json']);
    expect(jsonLines(json.stdout)[0]).toMatchObject({ status: 'rejected', explanation: expect.stringMatching(/\S/) });
  });

  it('the binary port by mistake: exit 1 at once, saying it speaks the binary protocol and HTTP/2 is on 2197', async () => {
    const started = Date.now();
    const result = await runCli([
      'send',
      '--http2',
      '--state',
      state,
      '--port',
      String(sim.ports.gateway),
      '--key',
      p8,
      '--token',
      A,
      '--alert',
      'x',
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/failed +#1 .*speaks the binary protocol, not HTTP\/2 .*HTTP\/2 is on port 2197/);
    expect(result.stdout).toMatch(/1 notification\(s\) .*: 0 accepted, 0 rejected, 1 failed/);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('retries a 503 as Apple advises before reporting it', async () => {
    sim.rules.add({ action: { type: 'outage' } });
    const result = await runCli(['send', ...http2, '--key', p8, '--token', A, '--alert', 'x', '--json']);
    expect(result.code).toBe(1);
    expect(jsonLines(result.stdout)[0]).toMatchObject({ status: 'rejected', statusCode: 503, reason: 'ServiceUnavailable', attempts: 3 });
    expect(sim.records({ protocol: 'http2' })).toHaveLength(3);
  });

  it('nothing listening: failed, with a hint; port 2197 unless told', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    await new Promise((r) => server.close(r));
    const result = await runCli(['send', '--http2', '--state', state, '--port', String(port), '--key', p8, '--token', A, '--alert', 'x']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^failed +#1 .*ECONNREFUSED/);
    expect(result.stderr).toMatch(/nothing listens at 127\.0\.0\.1:\d+: start the simulator with 'npx apns-mock serve'/);
    const defaultPort = await runCli(['send', '--http2', '--state', state, '--key', p8, '--token', A, '--alert', 'x', '--json']);
    expect(jsonLines(defaultPort.stdout).at(-1)).toMatchObject({ summary: { port: 2197, protocol: 'http2' } });
  });
});

describe('exit 2 for options a person must fix', () => {
  const cases: [string, string[], RegExp][] = [
    ['--command with --http2', ['--command', '1'], /--command is for the binary protocol/],
    ['--flush with --http2', ['--flush', 'error-window'], /--flush is for the binary protocol/],
    ['a push type Apple does not have', ['--push-type', 'banner'], /--push-type must be one of alert, background, location, voip/],
    ['a priority HTTP/2 does not have', ['--priority', '3'], /--priority must be 10, 5 or 1/],
    ['a key id with no .p8 to be found', ['--key-id', 'KEY0000009'], /no AuthKey_KEY0000009\.p8 in .*: give --key FILE/],
    [
      'a .p8 that is not a P-256 key',
      ['--key-id', 'KEY0000001', '--key', 'CERT'],
      /cannot use the provider key from .*: the provider key is not a PEM private key/,
    ],
    [
      'a certificate and a provider key',
      ['--team', 'TEAM000001', '--cert', 'CERT', '--key', 'CERTKEY'],
      /a certificate .* or a provider key .*, not both/,
    ],
    [
      'a key of an unregistered team, without --team',
      ['--key-id', 'KEY0000002', '--key', 'P8'],
      /--team: the team id \(10 characters\) of key KEY0000002/,
    ],
  ];
  it('each case refused with its reason, before connecting', async () => {
    const resolve = (a: string) =>
      a === 'CERT'
        ? join(state, 'client', 'com.example.app-cert.pem')
        : a === 'CERTKEY'
          ? join(state, 'client', 'com.example.app-key.pem')
          : a === 'P8'
            ? p8
            : a;
    // Side by side: each is a process that exits before connecting.
    const results = await Promise.all(
      cases.map(([, args]) => runCli(['send', ...http2, '--token', A, '--alert', 'x', ...args.map(resolve)])),
    );
    results.forEach((result, i) => {
      const [name, , message] = cases[i];
      expect(result.stderr, name).toMatch(message);
      expect(result.code, name).toBe(2);
      expect(result.stdout, name).toBe('');
    });
    expect(sim.records()).toEqual([]);
  });

  it('HTTP/2 options without --http2', async () => {
    const result = await runCli([
      'send',
      '--state',
      state,
      '--port',
      String(sim.ports.gateway),
      '--token',
      A,
      '--alert',
      'x',
      '--push-type',
      'alert',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--push-type is for the HTTP\/2 API: add --http2/);
  });

  it('a provider key and no app to send to: asks for --topic', async () => {
    const bare = join(dir, 'bare-state');
    await mkdir(join(bare, 'keys'), { recursive: true });
    await copyFile(join(state, 'keys', 'KEY0000001.json'), join(bare, 'keys', 'KEY0000001.json'));
    const result = await runCli([
      'send',
      '--http2',
      '--state',
      bare,
      '--port',
      String(sim.ports.http2),
      '--key',
      p8,
      '--ca',
      sim.caPath,
      '--token',
      A,
      '--alert',
      'x',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--topic: the app \(bundle id\) to send to/);
    const given = await runCli([
      'send',
      '--http2',
      '--state',
      bare,
      '--port',
      String(sim.ports.http2),
      '--key',
      p8,
      '--ca',
      sim.caPath,
      '--topic',
      'com.example.app',
      '--token',
      A,
      '--alert',
      'x',
    ]);
    expect(given.stderr).toBe('');
    expect(given.code).toBe(0);
  });
});
