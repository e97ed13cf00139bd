#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { formatSoak, soak } from './soak-run.js';
import { parseDuration } from '../../common/duration.js';

// Usage: node dist/scripts/reliability/soak.js [--connections 1000] [--per-connection 1000] [--faults 0.01] [--seed 1] [--time 30m]
//   [--connect-timeout 10s] [--jitter] [--poll 100] [--json FILE]
// Needs the build (npm run build): the simulator runs as `apns-mock serve --record` in another process.

const duration = (text: string): number => parseDuration(text, '--time');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '1000' },
      'per-connection': { type: 'string', default: '1000' },
      faults: { type: 'string', default: '0.01' },
      seed: { type: 'string', default: '1' },
      time: { type: 'string', default: '30m' },
      poll: { type: 'string', default: '100' },
      'connect-timeout': { type: 'string', default: '10s' },
      jitter: { type: 'boolean', default: false },
      json: { type: 'string' },
    },
  });
  const report = await soak({
    connections: Number(values.connections),
    perConnection: Number(values['per-connection']),
    faultRate: Number(values.faults),
    seed: Number(values.seed),
    timeLimitMs: duration(values.time),
    pollIntervalMs: Number(values.poll),
    connectTimeoutMs: duration(values['connect-timeout']),
    jitter: values.jitter,
    onProgress: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`${formatSoak(report)}\n`);
  if (values.json !== undefined) (await import('node:fs')).writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  const clean =
    !report.stoppedByTime &&
    report.unsettled === 0 &&
    report.settledTwice === 0 &&
    report.lost === 0 &&
    report.rejectionsUnrecorded === 0 &&
    report.unflaggedWrong === 0 &&
    report.duplicates <= report.flaggedPossibleDuplicate &&
    report.unknownRecords === 0 &&
    report.records === report.recordsReported;
  process.exitCode = clean ? 0 : 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 2;
});
