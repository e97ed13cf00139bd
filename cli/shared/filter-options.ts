import type { Argv } from 'yargs';
// The table's own modules, not the recorder's index: every command's options are built at start-up.
import { FILTER_KEYS, RECORD_FILTERS, paramOf, type FilterSpec } from '../../server/recorder/fields.js';
import { recordFilterFromText, type FilterWording, type RecordFilter } from '../../server/recorder/filter.js';
import { UsageError } from './usage.js';

/** `apnsId` is `--apns-id` on the command line. */
export const optionOf = (param: string) => param.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

const CLI_WORDING: FilterWording = {
  name: (param) => `--${optionOf(param)}`,
  wholeNumber: (min) => `a whole number >= ${min}`,
  any: 'any',
};

/** The record filters as options (`--token`, `--outcome`, `--connection`...), from the table of record fields. */
export function recordFilterOptions<T>(yargs: Argv<T>, describe: Partial<Record<string, string>> = {}): Argv<T> {
  let options = yargs;
  for (const key of FILTER_KEYS) {
    const spec = RECORD_FILTERS[key] as FilterSpec;
    const { type, choices } = spec.value.option;
    options = options.option(optionOf(paramOf(key)), {
      type,
      choices: choices as string[] | undefined,
      describe: describe[key] ?? spec.describe,
    });
  }
  return options;
}

/** The filter the options give; `any` for a value means no filter. Throws RecordFilterError (exit 2). */
export function recordFilterFromOptions(args: Record<string, unknown>): RecordFilter {
  return recordFilterFromText((param) => {
    const option = optionOf(param);
    const value = args[option];
    if (Array.isArray(value)) throw new UsageError(`--${option} was given ${value.length} times; give it once`);
    return value as string | number | undefined;
  }, CLI_WORDING);
}
