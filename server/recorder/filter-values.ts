import { InputError } from '../../common/errors.js';
import { normalizeToken } from '../../common/token.js';

/** A record filter given a value it cannot take: the control API answers 400, the CLI exits 2. */
export class RecordFilterError extends InputError {
  constructor(message: string) {
    super(message, 'ERR_APNS_RECORD_FILTER');
  }
}

/**
 * How a place that takes filters as text names them in its messages: the control API speaks of
 * query parameters and integers, the command line of options and whole numbers.
 */
export interface FilterWording {
  /** `query parameter since`, `--since`. */
  name(param: string): string;
  /** `an integer >= 0`, `a whole number >= 0`. */
  wholeNumber(min: number): string;
  /** A word taken in place of a value to mean "any" (no filter), where the place takes one. */
  any?: string;
}

export const QUERY_WORDING: FilterWording = {
  name: (param) => `query parameter ${param}`,
  wholeNumber: (min) => `an integer >= ${min}`,
};

/** What a filter takes, and how it is read from text (a query parameter, a command-line option). */
export interface FilterValue<T> {
  /**
   * The value given, checked; undefined for the wording's `any` word. A number is one the
   * command line parsed already. Throws RecordFilterError.
   */
  parse(given: string | number | boolean, param: string, wording: FilterWording): T | undefined;
  /** The one spelling records are compared in; a library caller's value goes through it too. */
  normalize(value: T): T;
  /** The value as text again, for a query string. */
  format(value: T): string;
  /** How the command line takes it (yargs' type and choices). */
  option: { type: 'string' | 'number' | 'boolean'; choices?: readonly string[] };
  /** Takes several values, comma-separated (in a query, also the parameter repeated). */
  several?: true;
}

const shown = (given: string | number | boolean) => (typeof given === 'string' ? `"${given}"` : String(given));

function wanted(choices: readonly string[], wording: FilterWording): string {
  if (wording.any !== undefined) return `one of ${choices.join(', ')} or ${wording.any}`;
  return choices.length === 2 ? `${choices[0]} or ${choices[1]}` : `one of ${choices.join(', ')}`;
}

const same = <T>(value: T) => value;

export function wholeNumber(min: number): FilterValue<number> {
  return {
    parse(given, param, wording) {
      const value = typeof given === 'number' ? given : String(given).trim() === '' ? NaN : Number(given);
      if (!Number.isInteger(value) || value < min) {
        throw new RecordFilterError(`${wording.name(param)} must be ${wording.wholeNumber(min)}; got ${shown(given)}`);
      }
      return value;
    },
    normalize: same,
    format: String,
    option: { type: 'number' },
  };
}

export const TEXT: FilterValue<string> = { parse: (given) => String(given), normalize: same, format: same, option: { type: 'string' } };

/** Text compared whatever its case (a UUID). */
export const CASELESS_TEXT: FilterValue<string> = {
  parse: (given) => String(given).toLowerCase(),
  normalize: (value) => value.toLowerCase(),
  format: same,
  option: { type: 'string' },
};

/** Yes or no: a command-line flag (`--marker`, `--no-marker`), `true` or `false` in a query. */
export const BOOLEAN: FilterValue<boolean> = {
  parse(given, param, wording) {
    if (typeof given === 'boolean') return given;
    const text = String(given).trim().toLowerCase();
    if (text === wording.any) return undefined;
    if (text === 'true' || text === '1') return true;
    if (text === 'false' || text === '0') return false;
    throw new RecordFilterError(`${wording.name(param)} must be true or false; got ${shown(given)}`);
  },
  normalize: (value) => value === true,
  format: String,
  option: { type: 'boolean' },
};

/** The longest /regex/ a filter takes: a pattern runs against every record the simulator keeps. */
const MAX_PATTERN = 200;
const REGEX_SHAPE = /^\/(.*)\/([a-z]*)$/s;
const compiledPatterns = new Map<string, (text: string) => boolean>();

/**
 * Whether `text` matches a text filter: a `/regex/flags`, or else a substring (case counts).
 * Patterns are compiled once; the filter's parse() has refused bad ones already.
 */
export function matchesTextPattern(pattern: string, text: string | null): boolean {
  if (text === null) return false;
  let test = compiledPatterns.get(pattern);
  if (test === undefined) {
    const regex = regexOf(pattern);
    test = regex === null ? (t: string) => t.includes(pattern) : (t: string) => regex.test(t);
    if (compiledPatterns.size >= 64) compiledPatterns.clear();
    compiledPatterns.set(pattern, test);
  }
  return test(text);
}

/** The RegExp a `/.../flags` pattern spells, null for plain text; throws SyntaxError for a bad one. */
function regexOf(pattern: string): RegExp | null {
  const match = REGEX_SHAPE.exec(pattern);
  // Without the sticky and global flags, test() keeps no state between records.
  return match === null || pattern.length < 2 ? null : new RegExp(match[1], match[2].replace(/[gy]/g, ''));
}

/** Words a record carries (its alert, its reason): a substring, or a `/regex/` with flags. */
export const TEXT_PATTERN: FilterValue<string> = {
  parse(given, param, wording) {
    const text = String(given);
    if (text.length > MAX_PATTERN)
      throw new RecordFilterError(`${wording.name(param)} must be at most ${MAX_PATTERN} characters; got ${text.length}`);
    try {
      regexOf(text);
    } catch (error) {
      throw new RecordFilterError(`${wording.name(param)} is not a valid /regex/: ${(error as Error).message}`);
    }
    return text;
  },
  normalize: same,
  format: same,
  option: { type: 'string' },
};

/** A device token: hex, with the spaces, `<>`, colons and capitals people paste ignored. */
export const HEX_TOKEN: FilterValue<string> = {
  parse(given, param, wording) {
    const hex = normalizeToken(String(given));
    if (!/^[0-9a-f]+$/.test(hex))
      throw new RecordFilterError(`${wording.name(param)} must be hex, such as ${'ab'.repeat(32)}; got ${shown(String(given))}`);
    return hex;
  },
  normalize: normalizeToken,
  format: same,
  option: { type: 'string' },
};

function choice<T extends string>(text: string, choices: readonly T[], param: string, wording: FilterWording): T {
  if (!choices.includes(text as T))
    throw new RecordFilterError(`${wording.name(param)} must be ${wanted(choices, wording)}; got "${text}"`);
  return text as T;
}

export function oneOf<T extends string>(choices: readonly T[]): FilterValue<T> {
  return {
    parse(given, param, wording) {
      const text = String(given).trim();
      return text === wording.any ? undefined : choice(text, choices, param, wording);
    },
    normalize: same,
    format: same,
    option: { type: 'string', choices },
  };
}

/** One value or several, comma-separated (or, in a query, the parameter repeated); a record matches any of them. */
export function anyOf<T extends string>(choices: readonly T[]): FilterValue<T | T[]> {
  return {
    parse(given, param, wording) {
      const text = String(given).trim();
      if (text === wording.any) return undefined;
      return text.split(',').map((part) => choice(part.trim(), choices, param, wording));
    },
    normalize: same,
    format: (value) => (Array.isArray(value) ? value.join(',') : value),
    option: { type: 'string' },
    several: true,
  };
}
