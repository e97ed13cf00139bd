import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signProviderToken } from '../../protocol/http2/index.js';
import { runCli, startServe } from '../support/cli-process.js';

const TOKEN = 'aa'.repeat(32);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Answer {
  status: number;
  reason: string | null;
  explanation: string | undefined;
}

function post(session: ClientHttp2Session, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': `/3/device/${TOKEN}`, ...headers });
    let body = '';
    let status = 0;
    let explanation: string | undefined;
    stream.on('response', (h) => {
      status = Number(h[':status']);
      explanation = h['x-apns-mock-reason'] as string | undefined;
    });
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => resolve({ status, reason: body === '' ? null : (JSON.parse(body) as { reason: string }).reason, explanation }));
    stream.on('error', reject);
    stream.end(JSON.stringify({ aps: { alert: 'hi' } }));
  });
}

async function tokenSession(port: number, ca: string): Promise<ClientHttp2Session> {
  const session = connect(`https://127.0.0.1:${port}`, { ca });
  session.on('error', () => undefined);
  await new Promise((resolve) => session.once('remoteSettings', resolve));
  return session;
}

describe('apns-mock serve: the HTTP/2 choices as flags', () => {
  it('--no-explain-header leaves out x-apns-mock-reason; --bad-environment-key-reason picks the spelling the service was seen sending', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apns-mock-serve-h2-'));
    dirs.push(dir);
    const state = join(dir, 'state');
    // A key for production only; the simulator's HTTP/2 API is the development environment.
    const made = await runCli([
      'keys',
      '--team',
      'TEAM000001',
      '--key-id',
      'KEY0000001',
      '--env',
      'production',
      '--out',
      join(dir, 'keys'),
      '--state',
      state,
      '--json',
    ]);
    expect(made.code).toBe(0);
    const privateKey = readFileSync(String((JSON.parse(made.stdout) as { key: string }).key), 'utf8');
    const jwt = await signProviderToken({ teamId: 'TEAM000001', keyId: 'KEY0000001', privateKey });

    const serve = await startServe(state, ['--no-explain-header', '--bad-environment-key-reason', 'BadEnvironmentKeyInToken']);
    try {
      const ca = readFileSync(serve.facts.ca, 'utf8');
      const session = await tokenSession(serve.facts.http2, ca);
      const answer = await post(session, {
        authorization: `bearer ${jwt}`,
        'apns-topic': 'com.example.app',
        'apns-push-type': 'alert',
      });
      session.close();
      expect(answer).toEqual({ status: 403, reason: 'BadEnvironmentKeyInToken', explanation: undefined });
    } finally {
      await serve.stop();
    }

    // The same request to a simulator with the defaults: Apple's table's spelling, and the explanation header.
    const defaults = await startServe(state);
    try {
      const ca = readFileSync(defaults.facts.ca, 'utf8');
      const session = await tokenSession(defaults.facts.http2, ca);
      const answer = await post(session, { authorization: `bearer ${jwt}`, 'apns-topic': 'com.example.app', 'apns-push-type': 'alert' });
      session.close();
      expect(answer.status).toBe(403);
      expect(answer.reason).toBe('BadEnvironmentKeyIdInToken');
      expect(answer.explanation).toMatch(/production/);
    } finally {
      await defaults.stop();
    }
  });

  it('refuses a spelling it does not know, and an --early-streams mode, with exit 2', async () => {
    const bad = await runCli(['serve', '--bad-environment-key-reason', 'BadKey', '--port', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad-environment-key-reason/);
    const early = await runCli(['serve', '--early-streams', 'sometimes', '--port', '0']);
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(/early-streams/);
  });
});
