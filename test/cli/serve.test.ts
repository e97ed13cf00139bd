import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNotification } from '../../protocol/binary/index.js';
import type { NotificationRecord } from '../../server/index.js';
import { FREE_PORTS, runCli, startServe } from '../support/cli-process.js';
import { sendFrames } from '../support/provider-socket.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'apns-mock-serve-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('apns-mock serve', () => {
  it('prints one JSON line of ports and paths, serves, and flushes the JSONL file on SIGTERM', async () => {
    const dir = tempDir();
    const recordFile = join(dir, 'records.jsonl');
    const serve = await startServe(join(dir, 'state'), ['--record', recordFile]);
    const { facts } = serve;
    expect(Object.keys(facts)).toEqual(expect.arrayContaining(['gateway', 'feedback', 'control', 'ca', 'state', 'cert', 'key']));
    for (const port of [facts.gateway, facts.feedback, facts.control]) expect(port).toBeGreaterThan(0);
    expect(statSync(join(dir, 'state')).isDirectory()).toBe(true);
    expect(statSync(facts.key).mode & 0o777).toBe(0o600);

    const tls = { cert: readFileSync(facts.cert, 'utf8'), key: readFileSync(facts.key, 'utf8'), ca: readFileSync(facts.ca, 'utf8') };
    const frames = Array.from({ length: 20 }, (_, i) =>
      encodeNotification({ token: 'ab'.repeat(32), payload: { aps: { alert: `n${i}` } }, identifier: i + 1 }),
    );
    await sendFrames(facts.gateway, tls, frames, 300);
    const response = await fetch(`${serve.controlUrl}/records/wait?count=20&timeout=5s`);
    expect(response.status).toBe(200);
    const reported = (await response.json()) as NotificationRecord[];

    const stopped = await serve.stop('SIGTERM');
    expect(stopped.code).toBe(0);
    const lines = readFileSync(recordFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as NotificationRecord);
    expect(lines.map((r) => r.seq)).toEqual(reported.map((r) => r.seq));
    expect(lines[19].payloadJson).toEqual({ aps: { alert: 'n19' } });
  });

  it('reuses the state directory: the same CA on the second start', async () => {
    const dir = tempDir();
    const first = await startServe(join(dir, 'state'));
    const ca = readFileSync(first.facts.ca, 'utf8');
    await first.stop();
    const second = await startServe(join(dir, 'state'));
    expect(readFileSync(second.facts.ca, 'utf8')).toBe(ca);
    await second.stop();
  });

  it('prints how to reach it for a person', async () => {
    const dir = tempDir();
    const serve = await import('node:child_process').then(({ spawn }) =>
      spawn(process.execPath, ['dist/cli/main.js', 'serve', ...FREE_PORTS, '--state', join(dir, 'state')], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let out = '';
    await new Promise<void>((resolve) => {
      serve.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('Ctrl-C')) resolve();
      });
    });
    serve.kill('SIGINT');
    expect(out).toMatch(/binary gateway\s+127\.0\.0\.1:\d+/);
    expect(out).toMatch(/control API\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toContain('apns-mock send');
    expect(out).toContain('CA to trust');
  });

  const bad: [string, string[], RegExp][] = [
    ['a port that is not a number', ['--port', 'abc'], /--port must be a port number/],
    ['a port out of range', ['--control-port', '70000'], /--control-port must be a port number/],
    ['an unknown option', ['--colour', 'red'], /Unknown argument/i],
    ['a bad duration', ['--error-delay', 'soon'], /--error-delay must be a duration/],
    ['a missing scenario file', ['--scenario', 'no-such-file.json'], /cannot read scenario file/],
    ['a bad client-auth value', ['--client-auth', 'maybe'], /Invalid values|client-auth/],
    ['a control API off loopback without a token', ['--host', '0.0.0.0'], /control token/],
  ];
  for (const [name, args, message] of bad) {
    it(`exits 2 with a clear message on ${name}`, async () => {
      const dir = tempDir();
      const result = await runCli(['serve', ...FREE_PORTS, '--state', join(dir, 'state'), ...args]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('exits 2 when the port is taken, naming it', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await runCli([
        'serve',
        '--port',
        String(port),
        '--feedback-port',
        '0',
        '--control-port',
        '0',
        '--http2-port',
        '0',
        '--state',
        join(tempDir(), 'state'),
      ]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`:${port}`);
      expect(result.stderr).toMatch(/EADDRINUSE/);
    } finally {
      blocker.close();
    }
  });
});
