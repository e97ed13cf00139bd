import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNotification } from '../../protocol/binary/index.js';
import { FREE_PORTS, runCli, startServe } from '../support/cli-process.js';
import { sendFrames } from '../support/provider-socket.js';

// Issue 12, rows 4 and 10: a record file that cannot be opened, or that fails later, under `apns-mock serve`.

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'apns-mock-serve-record-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const frames = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) =>
    encodeNotification({ token: 'ab'.repeat(32), payload: { aps: { alert: `n${from + i}` } }, identifier: from + i }),
  );

describe('apns-mock serve --record', () => {
  it('a directory that does not exist: one readable line, exit 2, no stack trace', async () => {
    const dir = tempDir();
    const missing = join(dir, 'nonexistent', 'dir', 'x.jsonl');
    const result = await runCli(['serve', ...FREE_PORTS, '--state', join(dir, 'state'), '--record', missing]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`apns-mock: cannot open the record file ${missing}: its directory does not exist\n`);
  });

  it('a full disk (/dev/full): one line on stderr, and the simulator goes on accepting and recording in memory', async () => {
    const dir = tempDir();
    const serve = await startServe(join(dir, 'state'), ['--record', '/dev/full']);
    try {
      const tls = {
        cert: readFileSync(serve.facts.cert, 'utf8'),
        key: readFileSync(serve.facts.key, 'utf8'),
        ca: readFileSync(serve.facts.ca, 'utf8'),
      };
      await sendFrames(serve.facts.gateway, tls, frames(1, 20), 300);
      await sendFrames(serve.facts.gateway, tls, frames(21, 20), 300);
      const response = await fetch(`${serve.controlUrl}/records/wait?count=40&timeout=5s`);
      expect(response.status).toBe(200);
    } finally {
      const stopped = await serve.stop('SIGTERM');
      expect(stopped.code).toBe(0);
      const lines = stopped.stderr.split('\n').filter((line) => line.includes('stopped writing records'));
      expect(lines).toEqual([
        expect.stringMatching(
          /^apns-mock: stopped writing records to \/dev\/full \(ENOSPC: no space left on device, write\) after 0 record\(s\)/,
        ),
      ]);
    }
  });
});
