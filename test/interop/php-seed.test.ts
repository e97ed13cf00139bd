import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationRecord } from '../../server/index.js';
import { ROOT, runCli, startServe, type RunningServe } from '../support/cli-process.js';

// The seed's sender (fixtures/seed/push.php), run by Debian's php-cli against `apns-mock serve`,
// with a provider certificate from `apns-mock certs` converted by the seed's own openssl step.
const hasPhp = spawnSync('php', ['--version']).status === 0;
const SEED_TOKEN = '740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad';

describe.runIf(hasPhp || process.env.CI)('the seed PHP sender against apns-mock serve', () => {
  let dir: string;
  let serve: RunningServe;
  let ca: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'apns-mock-php-'));
    serve = await startServe(join(dir, 'state'));
    const certs = await runCli([
      'certs',
      '--topic',
      'com.tadpole.TestAPNs',
      '--out',
      dir,
      '--state',
      join(dir, 'state'),
      '--passphrase',
      'abc123456',
      '--json',
    ]);
    expect(certs.code, certs.stderr).toBe(0);
    const paths = JSON.parse(certs.stdout) as { p12: string; ca: string };
    ca = paths.ca;
    copyFileSync(paths.p12, join(dir, 'cert.p12'));
    // The seed's step, verbatim but for -passin (the seed types the passphrase at the prompt).
    execFileSync(
      'openssl',
      ['pkcs12', '-in', 'cert.p12', '-out', 'apple_push_notification_production.pem', '-nodes', '-clcerts', '-passin', 'pass:abc123456'],
      { cwd: dir },
    );
  }, 60_000);

  afterAll(async () => {
    await serve?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const runSeed = (token: string | null) => {
    let script = readFileSync(join(ROOT, 'fixtures/seed/push.php'), 'utf8');
    if (token !== null) script = script.replace(/\$deviceToken = '[^']*';/, `$deviceToken = '${token}';`);
    writeFileSync(join(dir, 'push.php'), script);
    return spawnSync('php', ['push.php'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, APNS_MOCK_CA: ca, APNS_MOCK_GATEWAY: `ssl://127.0.0.1:${serve.facts.gateway}` },
      timeout: 20_000,
    });
  };

  const waitRecords = async (query: string): Promise<NotificationRecord[]> => {
    const response = await fetch(`${serve.controlUrl}/records/wait?${query}&timeout=5s`);
    expect(response.status).toBe(200);
    return (await response.json()) as NotificationRecord[];
  };

  it('with the spaces taken out of its token, its notification is recorded as accepted', async () => {
    const php = runSeed(SEED_TOKEN);
    expect(php.stdout, php.stderr).toContain('Connected to APNS');
    expect(php.stdout).toContain('Message successfully delivered');
    const [record] = await waitRecords(`token=${SEED_TOKEN}&outcome=accepted`);
    expect(record).toMatchObject({
      command: 0,
      token: SEED_TOKEN,
      topic: 'com.tadpole.TestAPNs',
      environment: 'development',
      payloadJson: { aps: { alert: 'My first push test!', sound: 'default' } },
    });
    expect(record.payload).toBe('{"aps":{"alert":"My first push test!","sound":"default"}}');
  });

  it('with the token literal as the seed has it (spaces), it is rejected and the reason says the token is 2 bytes too long', async () => {
    const php = runSeed(null);
    // PHP's fwrite succeeds: command 0 gets no reply, so the sender believes it delivered.
    expect(php.stdout, php.stderr).toContain('Message successfully delivered');
    const [record] = await waitRecords('outcome=rejected');
    expect(record.command).toBe(0);
    expect(record.status).toBe(7);
    expect(record.reason).toMatch(/token is 2 bytes longer than its length field/);
  });
});
