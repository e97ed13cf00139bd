import type { Argv, CommandModule } from 'yargs';
import { OUTCOMES } from '../../server/recorder/fields.js';
import { compileJsonFilter } from '../../server/recorder/filter.js';
import { recordFilterFromOptions, recordFilterOptions } from '../shared/filter-options.js';
import { UsageError } from '../shared/usage.js';

interface RecordsArgs {
  file: string;
  json: boolean;
  max: number;
  /** The record filters, one option each (the table of record fields). */
  [filter: string]: unknown;
}

export const recordsCommand: CommandModule<object, RecordsArgs> = {
  command: 'records <file>',
  describe:
    'Read a JSONL records file (serve --record FILE): a table and the counts, or the records as JSON lines; a line cut off by a crash is skipped with a warning',
  builder: (yargs: Argv) =>
    recordFilterOptions(
      yargs
        .positional('file', { type: 'string', demandOption: true, describe: 'the JSONL file serve --record wrote' })
        .option('json', { type: 'boolean', default: false, describe: 'print the records as JSON lines (the whole ones only)' }),
    )
      .option('max', { type: 'number', default: 50, describe: 'rows of the table (the newest)' })
      .example('$0 records records.jsonl', 'what a run recorded, even one that was killed')
      .example('$0 records records.jsonl --json --outcome rejected', 'the rejected records as JSON lines'),
  handler: async (args) => {
    if (!Number.isInteger(args.max) || args.max < 1) throw new UsageError(`--max must be a whole number >= 1; got ${args.max}`);
    const matches = compileJsonFilter(recordFilterFromOptions(args));
    const { readRecordsFile } = await import('../../server/recorder/reader.js');
    const { formatRecordTable } = await import('../../server/recorder/table.js');
    let file;
    try {
      file = await readRecordsFile(args.file, {
        onWarning: (_skipped, message) => process.stderr.write(`apns-mock: ${args.file}: ${message}\n`),
      });
    } catch (error) {
      throw new UsageError(`cannot read ${args.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    const records = file.records.filter(matches);
    if (args.json) {
      for (const r of records) process.stdout.write(`${JSON.stringify(r)}\n`);
      return;
    }
    // Flush markers are counted apart: a sender's deliberate probe is no rejection.
    const markers = file.records.filter((r) => r.marker === true).length;
    const notifications = file.records.filter((r) => r.marker !== true);
    const byOutcome = OUTCOMES.map((o) => `${notifications.filter((r) => r.outcome === o).length} ${o}`);
    const counts = [...byOutcome, ...(markers > 0 ? [`${markers} flush marker(s)`] : [])].join(', ');
    const skipped = file.skipped.length === 0 ? '' : `; ${file.skipped.length} line(s) skipped`;
    process.stdout.write(`${file.records.length} record(s): ${counts}${skipped}\n${formatRecordTable(records, { max: args.max })}\n`);
  },
};
