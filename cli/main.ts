#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands.js';
import { InputError } from '../common/errors.js';
import { readFileSync } from 'node:fs';

/** The package's version: package.json beside dist/ (the built CLI) or beside cli/ (the sources). */
function packageVersion(): string {
  for (const path of ['../../package.json', '../package.json']) {
    try {
      const json = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (json.name === 'apns-mock-gateway' && json.version) return json.version;
    } catch {
      // Not at this level; the other one.
    }
  }
  return 'unknown';
}

const commandNames = commands.map((command) => String(command.command).split(' ')[0]);

/** Exit codes: 0 success, 1 a negative answer (rejected, not matched), 2 unusable input or options. */
export async function main(argv: string[]): Promise<void> {
  let parser = yargs(argv)
    .scriptName('apns-mock')
    .usage('$0 <command> [options]')
    .strict()
    .demandCommand(1, `Name a command: ${commandNames.join(', ')}.`)
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(packageVersion())
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((message, error) => {
      if (error && !(error instanceof InputError)) throw error;
      process.stderr.write(`apns-mock: ${message ?? error?.message}\nRun 'apns-mock --help' for usage.\n`);
      process.exit(2);
    });
  for (const command of commands) parser = parser.command(command as never);
  await parser.parseAsync();
}

main(hideBin(process.argv)).catch((error: unknown) => {
  if (error instanceof InputError) {
    process.stderr.write(`apns-mock: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`apns-mock: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(2);
});
