import type { Argv, CommandModule } from 'yargs';
import { controlTokenOption, stateOption, type ControlTokenArgs, type StateArgs } from '../shared/options.js';
import { UsageError } from '../shared/usage.js';

interface ReportArgs extends StateArgs, ControlTokenArgs {
  records?: string;
  control?: string;
  html?: string;
  junit?: string;
  title?: string;
  max: number;
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report',
  describe: 'Write what a simulator recorded as a self-contained HTML page and/or a JUnit XML file, for CI artifacts',
  builder: (yargs: Argv) =>
    yargs
      .option('records', { type: 'string', describe: 'A JSONL records file (serve --record FILE)' })
      .option('control', { type: 'string', describe: 'Control API URL of a running simulator (http://127.0.0.1:2198)' })
      .options({
        ...stateOption("Without --records or --control: the simulator 'serve --detach' started with this state directory"),
        ...controlTokenOption(),
      })
      .option('html', {
        type: 'string',
        describe: 'Write the HTML page here: the table, each record with its bytes explained; opens from file://',
      })
      .option('junit', {
        type: 'string',
        describe: 'Write JUnit XML here: a suite per connection; rejected and incomplete notifications fail, discarded ones are skipped',
      })
      .option('title', { type: 'string', describe: 'Title of the HTML page' })
      .option('max', { type: 'number', default: 10_000, describe: 'Records on the HTML page at most (the newest)' })
      .example('$0 report --html report.html --junit junit.xml', "from the simulator of 'serve --detach'")
      .example('$0 report --records records.jsonl --html report.html', 'from a records file'),
  handler: async (args) => {
    if (args.html === undefined && args.junit === undefined) throw new UsageError('give --html FILE, --junit FILE or both');
    if (args.records !== undefined && args.control !== undefined) throw new UsageError('give --records or --control, not both');
    if (!Number.isInteger(args.max) || args.max < 1) throw new UsageError(`--max must be a whole number >= 1; got ${args.max}`);
    const { writeReport } = await import('./run.js');
    await writeReport({
      records: args.records,
      control: args.control,
      state: args.state,
      controlToken: args['control-token'],
      html: args.html,
      junit: args.junit,
      title: args.title,
      max: args.max,
    });
  },
};
