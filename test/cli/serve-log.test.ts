import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNotification } from '../../protocol/binary/index.js';
import { createCertificateAuthority, createProviderCertificate } from '../../server/index.js';
import { enhancedFrame } from '../support/bytes.js';
import { CLI, ROOT, runCli, type ServeFacts } from '../support/cli-process.js';
import { sendFrames } from '../support/provider-socket.js';
import { attempt } from '../reliability/support.js';

const FREE_PORTS = ['--port', '0', '--feedback-port', '0', '--control-port', '0', '--http2-port', '0'];
const TOKEN = 'ab'.repeat(32);
const dir = mkdtempSync(join(tmpdir(), 'apns-serve-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Watched {
  child: ChildProcess;
  facts: ServeFacts;
  output(): string;
  /** Resolves once stdout holds a line matching the pattern. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

async function serve(name: string, extra: string[]): Promise<Watched> {
  const child = spawn(process.execPath, [CLI, 'serve', '--json', ...FREE_PORTS, '--state', join(dir, name), ...extra], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.resume();
  for (let i = 0; i < 600 && !out.includes('\n'); i++) await new Promise((r) => setTimeout(r, 50));
  const facts = JSON.parse(out.slice(0, out.indexOf('\n'))) as ServeFacts;
  return {
    child,
    facts,
    output: () => out,
    async waitFor(pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = out.split('\n').find((l) => pattern.test(l));
        if (line !== undefined) return line;
        if (Date.now() > deadline) throw new Error(`no line matching ${pattern} in:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

async function stop(watched: Watched): Promise<void> {
  const closed = once(watched.child, 'close');
  watched.child.kill('SIGTERM');
  await closed;
}

const tlsOf = (facts: ServeFacts) => ({
  cert: readFileSync(facts.cert, 'utf8'),
  key: readFileSync(facts.key, 'utf8'),
  ca: readFileSync(facts.ca, 'utf8'),
});

describe('serve --log', () => {
  it('each: a line per connection, per notification (the flush marker marked as such) and per refused connection', async () => {
    const watched = await serve('each', ['--log', 'each']);
    try {
      const tls = tlsOf(watched.facts);
      const marker = enhancedFrame(3, 0, Buffer.alloc(0), Buffer.alloc(0));
      await sendFrames(
        watched.facts.gateway,
        tls,
        [encodeNotification({ token: TOKEN, payload: { aps: { alert: 'hi' } }, identifier: 1 }), marker],
        500,
      );
      expect(await watched.waitFor(/ connected binary #\d+ from 127\.0\.0\.1:\d+ \(com\.example\.app, development\)$/)).toBeTruthy();
      expect(await watched.waitFor(/ accepted {2}binary #\d+ {2}id 1 {2}abababab…abab {2}com\.example\.app$/)).toBeTruthy();
      expect(
        await watched.waitFor(/ marker {4}binary #\d+ .* no token {2}\(the sender's flush marker: status 2, not counted as rejected\)$/),
      ).toBeTruthy();
      await watched.waitFor(/ closed {4}binary #\d+ from /);

      const otherCa = await createCertificateAuthority({ keyType: 'ec' });
      const stranger = await createProviderCertificate(otherCa, { topic: 'com.example.app', keyType: 'ec' });
      await attempt(watched.facts.gateway, { ...stranger, ca: tls.ca });
      const refused = await watched.waitFor(/ refused {3}binary from 127\.0\.0\.1:\d+: unknown-ca: /);
      expect(refused).toContain('not by the CA the simulator trusts');
      expect(refused).toContain('SHA-256');
    } finally {
      await stop(watched);
    }
  }, 30_000);

  it('summary (the default when stdout is not a terminal): counts when they changed, and refused connections at once', async () => {
    const watched = await serve('summary', []);
    try {
      const tls = tlsOf(watched.facts);
      await attempt(watched.facts.gateway, { ca: tls.ca });
      expect(await watched.waitFor(/ refused {3}binary from .*: no-certificate: /)).toContain('--cert');
      const frames = Array.from({ length: 5 }, (_, i) => encodeNotification({ token: TOKEN, payload: { aps: {} }, identifier: i + 1 }));
      await sendFrames(watched.facts.gateway, tls, frames, 300);
      const line = await watched.waitFor(/ 5 notification\(s\): 5 accepted, 0 rejected; \d+ connection\(s\) open; 1 refused$/, 12_000);
      expect(line).toBeTruthy();
      expect(watched.output()).not.toMatch(/ accepted {2}binary #/);
    } finally {
      await stop(watched);
    }
  }, 30_000);

  it('none: only the JSON line', async () => {
    const watched = await serve('none', ['--log', 'none']);
    try {
      await attempt(watched.facts.gateway, { ca: readFileSync(watched.facts.ca, 'utf8') });
      await new Promise((r) => setTimeout(r, 500));
      expect(watched.output().trim().split('\n')).toHaveLength(1);
    } finally {
      await stop(watched);
    }
  }, 30_000);
});

describe('serve --control-host', () => {
  const get = (port: number, host: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/health', headers: { host } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });

  it('answers the names given (name, or name:port) besides its own address, and no other', async () => {
    const watched = await serve('hosts', ['--log', 'none', '--control-host', 'apns-mock', '--control-host', 'proxy.example:8080']);
    try {
      const port = watched.facts.control;
      expect(await get(port, `127.0.0.1:${port}`)).toBe(200);
      // A name without a port is that name on the control API's own port.
      expect(await get(port, `apns-mock:${port}`)).toBe(200);
      expect(await get(port, 'proxy.example:8080')).toBe(200);
      expect(await get(port, 'proxy.example:9090')).toBe(403);
      expect(await get(port, 'evil.example')).toBe(403);
    } finally {
      await stop(watched);
    }
  }, 30_000);

  it('refuses a value that is not a host name', async () => {
    const result = await runCli(['serve', ...FREE_PORTS, '--state', join(dir, 'bad'), '--control-host', 'http://x/']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--control-host must be a host name or name:port');
  });
});
