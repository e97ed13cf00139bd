import { describeRecordFilter, recordFilterToQuery, type NotificationRecord, type RecordFilter } from '../../server/recorder/index.js';
import { formatRecordTable } from '../../server/recorder/table.js';
import type { ExpectCheck } from '../../server/report/index.js';

export interface ExpectOptions {
  /** Base URL of the control API. */
  url: string;
  /** Control token, sent as a bearer token. */
  token?: string;
  count: number;
  /** Fail when more than `count` match. */
  exact: boolean;
  timeoutMs: number;
  json: boolean;
  filter: RecordFilter;
  /** Fail when a matched record carries payload warnings. */
  noWarnings?: boolean;
  /** Also write the checks as JUnit XML to this file. */
  junit?: string;
}

/** The control API could not be used: exit 2, said on stderr. */
class Unusable extends Error {}

/** The control API's largest page of /records. */
const MAX_PAGE = 10_000;

function describeWanted(options: ExpectOptions): string {
  const outcome = options.filter.outcome;
  const what = outcome === undefined ? '' : `${[outcome].flat().join(' or ')} `;
  // "no flush markers" is the default, not worth saying.
  const parts = describeRecordFilter(options.filter).filter((part) => part !== 'no flush markers');
  return `${options.exact ? 'exactly' : 'at least'} ${options.count} ${what}record(s)${parts.length > 0 ? ` with ${parts.join(', ')}` : ''}`;
}

async function call(options: ExpectOptions, path: string, params: URLSearchParams, waitMs: number): Promise<{ status: number; body: any }> {
  const url = `${options.url}${path}?${params}`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
      // The server answers by the wait's timeout; the margin covers a slow machine.
      signal: AbortSignal.timeout(waitMs + 10_000),
    });
  } catch (error) {
    const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
    if ((error as Error).name === 'TimeoutError')
      throw new Unusable(`${options.url} did not answer within ${Math.round((waitMs + 10_000) / 1000)}s`);
    throw new Unusable(
      `no simulator answers at ${options.url}${cause?.code ? ` (${cause.code})` : ''}: start one with \`npm start\` (apns-mock serve), or point --control / --control-port at it`,
    );
  }
  const text = await response.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Unusable(`${options.url} answered HTTP ${response.status}, but not as the apns-mock control API (the answer is not JSON)`);
  }
  if (response.status === 401)
    throw new Unusable(`the control API at ${options.url} wants a token: pass --control-token (${body?.error ?? 'HTTP 401'})`);
  if (response.status === 400) throw new Unusable(`the control API refused the request: ${body?.error ?? 'HTTP 400'}`);
  if (response.status !== 200 && response.status !== 408)
    throw new Unusable(`the control API at ${options.url} answered HTTP ${response.status}: ${body?.error ?? text}`);
  return { status: response.status, body };
}

/** Up to `count + 1` matching records (enough to tell "more than count"), a page of /records at a time. */
async function firstMatching(options: ExpectOptions): Promise<NotificationRecord[]> {
  const wanted = options.count + 1;
  const found: NotificationRecord[] = [];
  for (;;) {
    const params = recordFilterToQuery({ ...options.filter, since: found.at(-1)?.seq ?? options.filter.since });
    const limit = Math.min(wanted - found.length, MAX_PAGE);
    params.set('limit', String(limit));
    const page = (await call(options, '/records', params, 0)).body as NotificationRecord[];
    found.push(...page);
    if (page.length < limit || found.length >= wanted) return found;
  }
}

const withWarnings = (records: readonly NotificationRecord[]) => records.filter((r) => (r.warnings?.length ?? 0) > 0);
const warningsNote = { title: 'warnings', cell: (r: NotificationRecord) => (r.warnings ?? []).map((w) => w.message).join('; ') };
const seconds = (ms: number) => `${+(ms / 1000).toFixed(3)}s`;

interface Judged {
  ok: boolean;
  /** For the terminal. */
  text: string[];
  json: Record<string, unknown>;
  checks: ExpectCheck[];
}

/** The wait's answer judged: the count, then --exact, then --no-warnings, each a check of its own. */
async function judge(options: ExpectOptions, wanted: string, startedAt: number): Promise<Judged> {
  const params = recordFilterToQuery(options.filter);
  params.set('count', String(options.count));
  params.set('timeout', `${options.timeoutMs}ms`);
  const waited = await call(options, '/records/wait', params, options.timeoutMs);
  const durationMs = Date.now() - startedAt;
  const countCheck: ExpectCheck = { name: wanted, ok: true, durationMs };
  if (waited.status === 408) {
    const matched = (waited.body.matched ?? []) as NotificationRecord[];
    const all = (waited.body.records ?? []) as NotificationRecord[];
    // What the simulator has, as the filter sees it: flush markers stay out unless asked for.
    const records = options.filter.marker === false ? all.filter((r) => r.marker !== true) : all;
    const message = `matched ${matched.length} of ${options.count} within ${seconds(options.timeoutMs)}`;
    const text = [`not matched: wanted ${wanted} within ${options.timeoutMs} ms; ${matched.length} matched.`];
    if (matched.length > 0) text.push(`Matching:\n${formatRecordTable(matched)}`);
    text.push(`What the simulator has${all.length >= 50 ? ' (the newest 50)' : ''}:\n${formatRecordTable(records)}`);
    const details = text.slice(1).join('\n');
    return { ok: false, text, json: { ok: false, wanted, matched, records }, checks: [{ ...countCheck, ok: false, message, details }] };
  }
  let matched = waited.body as NotificationRecord[];
  const checks = [countCheck];
  if (options.exact) {
    matched = await firstMatching(options);
    if (matched.length !== options.count) {
      const shown = formatRecordTable(matched);
      countCheck.ok = false;
      const how = matched.length > options.count ? `more than ${options.count}` : String(matched.length);
      countCheck.message = `${how} match`;
      countCheck.details = shown;
      const text = [`not matched: wanted ${wanted}; ${how} match:\n${shown}`];
      return { ok: false, text, json: { ok: false, wanted, matched, records: matched }, checks };
    }
  }
  const table = formatRecordTable(matched);
  const matchedWords = matched.length === 1 ? '1 record matches' : `${matched.length} records match`;
  countCheck.message = matchedWords;
  countCheck.details = table;
  if (options.noWarnings) {
    const warned = withWarnings(matched);
    const check: ExpectCheck = {
      name: `no payload warnings on the ${matched.length} matched record(s)`,
      ok: warned.length === 0,
      durationMs,
    };
    checks.push(check);
    if (warned.length > 0) {
      const shown = formatRecordTable(warned, { note: warningsNote });
      check.message = `${warned.length} of ${matched.length} matched record(s) carry payload warnings`;
      check.details = shown;
      const text = [`not clean: ${check.message} (--no-warnings; wanted ${wanted}):\n${shown}`];
      return { ok: false, text, json: { ok: false, wanted, matched, warned }, checks };
    }
  }
  return { ok: true, text: [`ok: ${matchedWords} (wanted ${wanted}):\n${table}`], json: { ok: true, wanted, matched }, checks };
}

/**
 * `apns-mock expect`: waits through GET /records/wait; 0 when the records match, 1 when not
 * (printing what the simulator has instead), 2 when the control API cannot be used.
 */
export async function expectRecords(options: ExpectOptions): Promise<number> {
  const out = (text: string) => process.stdout.write(`${text}\n`);
  const wanted = describeWanted(options);
  const startedAt = Date.now();
  let judged: Judged;
  try {
    judged = await judge(options, wanted, startedAt);
  } catch (error) {
    if (!(error instanceof Unusable)) throw error;
    process.stderr.write(`apns-mock expect: ${error.message}\n`);
    await writeJunit(options, [{ name: wanted, ok: false, message: error.message, durationMs: Date.now() - startedAt }]);
    return 2;
  }
  if (options.json) out(JSON.stringify(judged.json));
  else for (const text of judged.text) out(text);
  if (!(await writeJunit(options, judged.checks))) return 2;
  return judged.ok ? 0 : 1;
}

/** False when the file could not be written (said on stderr). */
async function writeJunit(options: ExpectOptions, checks: ExpectCheck[]): Promise<boolean> {
  if (options.junit === undefined) return true;
  const { writeExpectJunit } = await import('../../server/report/index.js');
  try {
    await writeExpectJunit(checks, options.junit);
    return true;
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    process.stderr.write(`apns-mock expect: cannot write --junit ${options.junit}: ${why}\n`);
    return false;
  }
}
