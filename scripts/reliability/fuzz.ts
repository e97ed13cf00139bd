#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { fuzzGateway, type FuzzReport } from './fuzz-run.js';
import { parseDuration } from '../../common/duration.js';

// Usage: node dist/scripts/reliability/fuzz.js [--frames 10000000] [--per-connection 1000] [--concurrency 16] [--seed 1] [--time 30m] [--json FILE]

const duration = (text: string): number => parseDuration(text, '--time');

const n = (x: number) => Math.round(x).toLocaleString('en-US');

function print(r: FuzzReport): string {
  return [
    `${n(r.frames)} frames (${(r.bytes / 1048576).toFixed(1)} MB) on ${n(r.connections)} TLS connections in ${(r.elapsedMs / 1000).toFixed(1)} s: ${n(r.frames / (r.elapsedMs / 1000))} frames/s${r.stoppedByTime ? ' (stopped by the time limit)' : ''}`,
    `  inputs: ${Object.entries(r.byKind)
      .map(([k, v]) => `${k} ${n(v)}`)
      .join(', ')}`,
    `  records: ${n(r.records)} (${Object.entries(r.recordsByOutcome)
      .map(([k, v]) => `${k} ${n(v)}`)
      .join(', ')}); ${(r.unparsedBytes / 1048576).toFixed(1)} MB counted unparsed after an unknown command`,
    `  ends: ${n(r.ends.errorResponse)} error response then close, ${n(r.ends.closed)} close; unexpected reply ${n(r.ends.unexpectedReply)}, hung ${n(r.ends.hung)}, without a record ${n(r.connectionsWithoutRecord)}, open after ${n(r.openAfter)}`,
    `  faults: ${n(r.internalErrors)} internal errors, ${n(r.uncaughtExceptions)} uncaught exceptions, ${n(r.handshakeFailures)} handshake failures`,
    `  heap: ${r.heapBeforeMb.toFixed(1)} MB before, ${r.heapPeakMb.toFixed(1)} MB peak (sampled), ${r.heapAfterMb.toFixed(1)} MB after (records capped at 5,000)`,
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      frames: { type: 'string', default: '10000000' },
      'per-connection': { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '16' },
      seed: { type: 'string', default: '1' },
      time: { type: 'string', default: '30m' },
      json: { type: 'string' },
    },
  });
  const frames = Number(values.frames);
  const report = await fuzzGateway({
    frames,
    perConnection: Number(values['per-connection']),
    concurrency: Number(values.concurrency),
    seed: Number(values.seed),
    timeLimitMs: duration(values.time),
    onProgress: (r) =>
      process.stdout.write(
        `  ${n(r.frames)} frames, ${n(r.connections)} connections, ${n(r.records)} records after ${(r.elapsedMs / 1000).toFixed(0)} s\n`,
      ),
  });
  process.stdout.write(`${print(report)}\n`);
  if (values.json !== undefined) (await import('node:fs')).writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  const clean =
    report.internalErrors === 0 &&
    report.uncaughtExceptions === 0 &&
    report.ends.hung === 0 &&
    report.ends.unexpectedReply === 0 &&
    report.connectionsWithoutRecord === 0 &&
    report.openAfter === 0;
  process.exitCode = clean ? 0 : 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`fuzz: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 2;
});
