import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli-process.js';

// Issue 12, row 8: after SIGKILL the JSONL file held fewer records than a reply had just counted.
// A child records as fast as it can into a JSONL file; at a random moment it takes the newest
// sequence number, waits (or not) for the sink to hand it to the OS, prints it and is killed at once.

const TRIALS = 10;
const RECORDER = pathToFileURL(join(ROOT, 'dist/server/recorder/index.js')).href;

const child = (wait: boolean) => `
import { Recorder } from ${JSON.stringify(RECORDER)};
const recorder = new Recorder({ jsonlPath: process.argv[1], maxRecords: 1000 });
const connection = { id: 1, protocol: 'binary', peer: '127.0.0.1:1', topic: 'com.example.app', environment: 'development' };
let identifier = 0;
const load = () => {
  for (let i = 0; i < 1001; i++) recorder.add({ connection, command: 2, identifier: ++identifier, bytes: Buffer.from('frame'), outcome: 'accepted' });
  setImmediate(load);
};
load();
setTimeout(async () => {
  const seq = recorder.lastSeq;
  ${wait ? 'await recorder.whenWritten(seq);' : ''}
  process.stdout.write(seq + '\\n');
}, 100 + Math.floor(Math.random() * 200));
`;

const dir = mkdtempSync(join(tmpdir(), 'apns-mock-sigkill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One trial: the count the child reported, and the whole lines in its file after SIGKILL. */
async function trial(wait: boolean, n: number): Promise<{ reported: number; lines: number }> {
  const path = join(dir, `${wait ? 'wait' : 'nowait'}-${n}.jsonl`);
  const proc = spawn(process.execPath, ['--input-type=module', '-e', child(wait), path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const reported = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) {
        proc.kill('SIGKILL');
        resolve(Number(out.trim()));
      }
    });
    proc.once('close', (code) => reject(new Error(`the child exited (${code}) before reporting`)));
    setTimeout(() => reject(new Error('no report within 10 s')), 10_000).unref();
  });
  await new Promise((resolve) => proc.once('close', resolve));
  const text = readFileSync(path, 'utf8');
  // Lines ended by a newline: a torn last line does not count.
  return { reported, lines: text.split('\n').length - 1 };
}

describe('SIGKILL right after a count was reported', () => {
  it(`over ${TRIALS} trials, with whenWritten the file always holds every record counted (without, it falls short)`, async () => {
    const waited = [];
    const unwaited = [];
    for (let n = 0; n < TRIALS; n++) {
      waited.push(await trial(true, n));
      unwaited.push(await trial(false, n));
    }
    const short = (runs: { reported: number; lines: number }[]) => runs.filter((r) => r.lines < r.reported);
    const lost = (runs: { reported: number; lines: number }[]) => runs.map((r) => Math.max(0, r.reported - r.lines));
    process.stdout.write(
      `SIGKILL after a reported count, ${TRIALS} trials each: awaiting whenWritten ${short(waited).length} short (lost ${lost(waited).join(',')}); ` +
        `not awaiting ${short(unwaited).length} short (lost ${lost(unwaited).join(',')})\n`,
    );
    expect(short(waited)).toEqual([]);
  }, 120_000);
});
