import { mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNotification } from '../../protocol/binary/index.js';
import { readRecordsFile } from '../../server/index.js';
import { runCli, startServe, type RunningServe } from '../support/cli-process.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'apns-mock-signals-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Senders writing batches of valid frames as fast as the sockets take them, until the server goes away. */
function load(serve: RunningServe, connections: number): { sockets: TLSSocket[]; stop(): void } {
  const tls = {
    cert: readFileSync(serve.facts.cert, 'utf8'),
    key: readFileSync(serve.facts.key, 'utf8'),
    ca: readFileSync(serve.facts.ca, 'utf8'),
  };
  const batch = Buffer.concat(
    Array.from({ length: 100 }, (_, i) =>
      encodeNotification({ token: 'ab'.repeat(32), payload: { aps: { alert: `load ${i}` } }, identifier: i + 1 }, 2),
    ),
  );
  let running = true;
  const sockets = Array.from({ length: connections }, () => {
    const socket = connect({ host: '127.0.0.1', port: serve.facts.gateway, servername: 'localhost', ...tls });
    socket.on('error', () => undefined);
    const pump = () => {
      // Bounded: each socket writes at most 2,000 batches.
      for (let i = 0; running && !socket.destroyed && i < 2000; i++) {
        if (!socket.write(batch)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    socket.once('secureConnect', pump);
    return socket;
  });
  return {
    sockets,
    stop() {
      running = false;
      for (const s of sockets) s.destroy();
    },
  };
}

/** GET /stats' total, polled while the load runs; returns the last two answers once `atLeast` records are reported. */
async function reportedTotals(serve: RunningServe, atLeast: number): Promise<[number, number]> {
  let previous = 0;
  for (let i = 0; i < 600; i++) {
    const stats = (await (await fetch(`${serve.controlUrl}/stats`)).json()) as { records: { total: number } };
    const total = stats.records.total;
    if (total >= atLeast) return [previous, total];
    previous = total;
    await sleep(20);
  }
  throw new Error(`the load never reached ${atLeast} records`);
}

describe('nothing lost when serve --record is stopped under load', () => {
  it('SIGTERM: the JSONL file holds every record the control API had reported, each line whole', async () => {
    const dir = tempDir();
    const file = join(dir, 'records.jsonl');
    const serve = await startServe(join(dir, 'state'), ['--record', file]);
    const sending = load(serve, 4);
    try {
      const [, reported] = await reportedTotals(serve, 20_000);
      const stopped = await serve.stop('SIGTERM');
      expect(stopped.code).toBe(0);
      const read = await readRecordsFile(file);
      expect(read.skipped).toEqual([]);
      expect(readFileSync(file, 'utf8').endsWith('\n')).toBe(true);
      expect(read.records.length).toBeGreaterThanOrEqual(reported);
      expect(read.records.every((r, i) => r.seq === i + 1)).toBe(true);
    } finally {
      sending.stop();
      await serve.stop('SIGKILL');
    }
  });

  it('SIGKILL: every line but possibly the last is whole, the records reported a poll earlier are all there, and the reader skips a torn last line with a warning', async () => {
    const dir = tempDir();
    const file = join(dir, 'records.jsonl');
    const serve = await startServe(join(dir, 'state'), ['--record', file]);
    const sending = load(serve, 4);
    let reportedEarlier: number;
    try {
      [reportedEarlier] = await reportedTotals(serve, 20_000);
      const killed = await serve.stop('SIGKILL');
      expect(killed.code).toBe(null);
    } finally {
      sending.stop();
    }
    const read = await readRecordsFile(file);
    expect(read.skipped.filter((s) => !s.torn)).toEqual([]);
    expect(read.skipped.length).toBeLessThanOrEqual(1);
    // Lines are written one event-loop turn at a time, in order: what is there is a prefix, with no gap.
    expect(read.records.every((r, i) => r.seq === i + 1)).toBe(true);
    // A record the API reported one poll earlier was written at the end of its own turn, before that answer went out.
    expect(read.records.length).toBeGreaterThanOrEqual(reportedEarlier);

    // A kill in the middle of a write: the last line cut off halfway.
    const text = readFileSync(file, 'utf8');
    const lastStart = text.lastIndexOf('\n', text.length - 2) + 1;
    truncateSync(file, Buffer.byteLength(text.slice(0, lastStart + Math.floor((text.length - lastStart) / 2))));
    const warnings: string[] = [];
    const torn = await readRecordsFile(file, { onWarning: (_s, message) => warnings.push(message) });
    expect(torn.records.length).toBe(read.records.length - 1);
    expect(torn.skipped).toEqual([expect.objectContaining({ torn: true, line: read.records.length })]);
    expect(warnings).toEqual([
      `line ${read.records.length} is the last line and is cut off (the writer stopped in the middle of it); skipped`,
    ]);

    const cli = await runCli(['records', file, '--json']);
    expect(cli.code).toBe(0);
    expect(cli.stdout.trim().split('\n').length).toBe(read.records.length - 1);
    expect(cli.stderr).toContain(`records.jsonl: line ${read.records.length} is the last line and is cut off`);
    const table = await runCli(['records', file, '--max', '3']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      new RegExp(
        `^${read.records.length - 1} record\\(s\\): \\d+ accepted, 0 rejected, \\d+ discarded, \\d+ incomplete; 1 line\\(s\\) skipped\\n`,
      ),
    );

    // The next run appends after the torn line: its first record starts a line of its own, so only the torn line is lost.
    const again = await startServe(join(dir, 'state'), ['--record', file]);
    try {
      const one = load(again, 1);
      await reportedTotals(again, 100);
      one.stop();
      expect((await again.stop('SIGTERM')).code).toBe(0);
    } finally {
      await again.stop('SIGKILL');
    }
    const appended = await readRecordsFile(file);
    expect(appended.skipped).toEqual([expect.objectContaining({ torn: false, line: read.records.length })]);
    const second = appended.records.slice(read.records.length - 1);
    expect(second.length).toBeGreaterThanOrEqual(100);
    expect(second.every((r, i) => r.seq === i + 1)).toBe(true);
  }, 60_000);
});
