import { describeRecordFilter, recordFilterToQuery, type NotificationRecord, type RecordFilter } from '../../server/recorder/index.js';
import { formatRecordTable } from '../../server/recorder/table.js';

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
}

/** The control API could not be used: exit 2, said on stderr. */
class Unusable extends Error {}

function describeWanted(options: ExpectOptions): string {
  const outcome = options.filter.outcome;
  const what = outcome === undefined ? '' : `${[outcome].flat().join(' or ')} `;
  const parts = describeRecordFilter(options.filter);
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

/**
 * `apns-mock expect`: waits through GET /records/wait; 0 when the records match, 1 when not
 * (printing what the simulator has instead), 2 when the control API cannot be used.
 */
export async function expectRecords(options: ExpectOptions): Promise<number> {
  const out = (text: string) => process.stdout.write(`${text}\n`);
  const wanted = describeWanted(options);
  try {
    const params = recordFilterToQuery(options.filter);
    params.set('count', String(options.count));
    params.set('timeout', `${options.timeoutMs}ms`);
    const waited = await call(options, '/records/wait', params, options.timeoutMs);
    if (waited.status === 408) {
      const matched = (waited.body.matched ?? []) as NotificationRecord[];
      const records = (waited.body.records ?? []) as NotificationRecord[];
      if (options.json) out(JSON.stringify({ ok: false, wanted, matched, records }));
      else {
        out(`not matched: wanted ${wanted} within ${options.timeoutMs} ms; ${matched.length} matched.`);
        if (matched.length > 0) out(`Matching:\n${formatRecordTable(matched)}`);
        out(`What the simulator has${records.length >= 50 ? ' (the newest 50)' : ''}:\n${formatRecordTable(records)}`);
      }
      return 1;
    }
    let matched = waited.body as NotificationRecord[];
    if (options.exact) {
      const all = await call(options, '/records', recordFilterToQuery(options.filter), 0);
      matched = all.body as NotificationRecord[];
      if (matched.length !== options.count) {
        if (options.json) out(JSON.stringify({ ok: false, wanted, matched, records: matched }));
        else out(`not matched: wanted ${wanted}; ${matched.length} match:\n${formatRecordTable(matched)}`);
        return 1;
      }
    }
    if (options.json) out(JSON.stringify({ ok: true, wanted, matched }));
    else
      out(
        `ok: ${matched.length === 1 ? '1 record matches' : `${matched.length} records match`} (wanted ${wanted}):\n${formatRecordTable(matched)}`,
      );
    return 0;
  } catch (error) {
    if (!(error instanceof Unusable)) throw error;
    process.stderr.write(`apns-mock expect: ${error.message}\n`);
    return 2;
  }
}
