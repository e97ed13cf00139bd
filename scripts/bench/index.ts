#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Bench, BenchRow } from './types.js';

/** Every benchmark, one module each in this folder; add new ones here. */
const benches: (() => Promise<Bench>)[] = [
  async () => (await import('./ingest.js')).ingestBench,
  async () => (await import('./decoder.js')).decoderBench,
  async () => (await import('./client.js')).clientBench,
  async () => (await import('./http2.js')).http2Bench,
  async () => (await import('./http2-client.js')).http2ClientBench,
  async () => (await import('./memory.js')).memoryBench,
];

const fmt = (n: number | null, digits = 0) =>
  n === null ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function print(rows: readonly BenchRow[]): void {
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) {
    const verdict = r.goal === null ? '' : `  ${r.goal} ${r.met ? 'met' : 'NOT MET'}`;
    process.stdout.write(
      `  ${r.name.padEnd(width)}  ${fmt(r.value).padStart(13)} ${r.unit}  baseline ${fmt(r.baseline).padStart(13)}  ratio ${fmt(r.ratio, 2).padStart(5)}${verdict}\n`,
    );
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'string' }, only: { type: 'string' } } });
  const rows: BenchRow[] = [];
  for (const load of benches) {
    const bench = await load();
    if (values.only !== undefined && bench.name !== values.only) continue;
    process.stdout.write(`${bench.name}: ${bench.describe}\n`);
    const result = await bench.run();
    print(result);
    rows.push(...result);
  }
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify({ rows }, null, 2)}\n`);
  if (rows.some((r) => r.met === false)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 2;
});
