import { FILTER_KEYS, RECORD_FIELDS, RECORD_FILTERS, paramOf, type FieldName, type FilterSpec, type RecordFilter } from './fields.js';
import { QUERY_WORDING, type FilterWording } from './filter-values.js';
import type { NotificationRecord, StoredRecord } from './record.js';

export { RecordFilterError, type FilterWording } from './filter-values.js';
export type { RecordFilter } from './fields.js';

interface Check {
  field: FieldName;
  value: unknown;
  test: ((field: unknown, value: unknown) => boolean) | undefined;
}

/** The given filters, each with its value in the spelling records are compared in. */
function checksOf(filter: RecordFilter): Check[] {
  const checks: Check[] = [];
  for (const key of FILTER_KEYS) {
    const given = filter[key];
    if (given === undefined) continue;
    const spec = RECORD_FILTERS[key] as FilterSpec;
    checks.push({ field: spec.field, value: spec.value.normalize(given), test: spec.test as Check['test'] });
  }
  return checks;
}

function matcher<R>(checks: Check[], read: (record: R, field: FieldName) => unknown): (record: R) => boolean {
  return (record) => {
    for (const { field, value, test } of checks) {
      const actual = read(record, field);
      if (test === undefined ? actual !== value : !test(actual, value)) return false;
    }
    return true;
  };
}

/** Whether a stored record matches the filter: every given field must. */
export function compileFilter(filter: RecordFilter = {}): (record: StoredRecord) => boolean {
  return matcher(checksOf(filter), (record: StoredRecord, field) => RECORD_FIELDS[field](record));
}

/** The same for records as JSON (read back from a JSONL file, or from the control API). */
export function compileJsonFilter(filter: RecordFilter = {}): (record: NotificationRecord) => boolean {
  return matcher(checksOf(filter), (record: NotificationRecord, field) => record[field]);
}

/**
 * A filter from values given as text, each under its param name (the control API's query,
 * the command line): a number or a flag is one the command line parsed already. Throws
 * RecordFilterError for a value a filter cannot take.
 */
export function recordFilterFromText(
  given: (param: string) => string | number | boolean | undefined,
  wording: FilterWording,
): RecordFilter {
  const filter: Record<string, unknown> = {};
  for (const key of FILTER_KEYS) {
    const param = paramOf(key);
    const text = given(param);
    if (text === undefined || text === '') continue;
    const value = (RECORD_FILTERS[key] as FilterSpec).value.parse(text, param, wording);
    if (value !== undefined) filter[key] = value;
  }
  return filter;
}

/** The record filter of a control API query (`?token=...&outcome=rejected,discarded&connection=2`); throws RecordFilterError. */
export function recordFilterFromQuery(params: URLSearchParams): RecordFilter {
  // A parameter given more than once: its values together where a filter takes several; the first otherwise.
  return recordFilterFromText((param) => {
    const values = params.getAll(param).filter((value) => value !== '');
    if (values.length === 0) return undefined;
    return TAKES_SEVERAL.has(param) ? values.join(',') : values[0];
  }, QUERY_WORDING);
}

const TAKES_SEVERAL = new Set(FILTER_KEYS.filter((key) => (RECORD_FILTERS[key] as FilterSpec).value.several).map(paramOf));

/** The query that asks the control API for this filter's records. */
export function recordFilterToQuery(filter: RecordFilter): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = filter[key];
    if (value !== undefined) params.set(paramOf(key), (RECORD_FILTERS[key] as FilterSpec).value.format(value));
  }
  return params;
}

/** The filter in words: `token aaaa…aaaa, identifier 7` (without its outcome, which is said apart). */
export function describeRecordFilter(filter: RecordFilter): string[] {
  return FILTER_KEYS.filter((key) => key !== 'outcome' && filter[key] !== undefined).map((key) =>
    (RECORD_FILTERS[key] as FilterSpec).phrase(filter[key]),
  );
}
