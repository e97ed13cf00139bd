import { writeFile } from 'node:fs/promises';
import { OUTCOMES } from '../../server/recorder/fields.js';
import { parseRecords, readRecordsFile, type NotificationRecord } from '../../server/recorder/index.js';
import { renderHtmlReport, renderJunitReport } from '../../server/report/index.js';
import { controlUrlOf, readDaemon } from '../shared/daemon.js';
import { UsageError } from '../shared/usage.js';

export interface ReportOptions {
  records?: string;
  control?: string;
  state: string;
  controlToken?: string;
  html?: string;
  junit?: string;
  title?: string;
  max: number;
}

const warn = (source: string) => (_: unknown, message: string) => process.stderr.write(`apns-mock: ${source}: ${message}\n`);

async function fromControl(url: string, token: string | undefined): Promise<NotificationRecord[]> {
  let response: Response;
  try {
    response = await fetch(`${url.replace(/\/+$/, '')}/records.jsonl`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  } catch (error) {
    throw new UsageError(
      `cannot reach the control API at ${url}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`,
    );
  }
  if (!response.ok)
    throw new UsageError(`the control API at ${url} answered ${response.status}${response.status === 401 ? ': give --control-token' : ''}`);
  return parseRecords(await response.text(), { onWarning: warn(url) }).records;
}

/** The records and where they came from: a file, a control URL, or the state directory's detached simulator. */
async function loadRecords(options: ReportOptions): Promise<{ records: NotificationRecord[]; source: string }> {
  if (options.records !== undefined) {
    try {
      return { records: (await readRecordsFile(options.records, { onWarning: warn(options.records) })).records, source: options.records };
    } catch (error) {
      throw new UsageError(
        `cannot read --records ${options.records}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
  }
  if (options.control !== undefined) return { records: await fromControl(options.control, options.controlToken), source: options.control };
  const daemon = await readDaemon(options.state);
  const url = daemon?.running && daemon.facts ? controlUrlOf(daemon.facts) : null;
  if (url === null) {
    throw new UsageError(
      `no simulator started with 'serve --detach --state ${options.state}' runs (with a control API): give --records FILE or --control URL`,
    );
  }
  return { records: await fromControl(url, options.controlToken), source: url };
}

/** `apns-mock report`: the HTML page and/or the JUnit file, and a line saying what they hold. */
export async function writeReport(options: ReportOptions): Promise<void> {
  const { records, source } = await loadRecords(options);
  const written: string[] = [];
  if (options.html !== undefined) {
    await writeFile(options.html, renderHtmlReport(records, { source, title: options.title, maxRecords: options.max }));
    written.push(options.html);
  }
  if (options.junit !== undefined) {
    await writeFile(options.junit, renderJunitReport(records));
    written.push(options.junit);
  }
  const counts = OUTCOMES.map((o) => `${records.filter((r) => r.outcome === o).length} ${o}`).join(', ');
  process.stderr.write(`apns-mock: ${records.length} record(s) (${counts}) written to ${written.join(' and ')}\n`);
}
