import { createReadStream } from 'node:fs';
import type { NotificationRecord } from './record.js';

/** A line of a records file that is not a record. */
export interface SkippedLine {
  /** 1-based. */
  line: number;
  /**
   * The file's last line, cut off: the writer was killed in the middle of it (the file is
   * appended one event-loop turn at a time, so only the last line can be torn).
   */
  torn: boolean;
  reason: string;
  /** Its first characters. */
  start: string;
}

export interface RecordsFile {
  records: NotificationRecord[];
  /** Lines that are not records, in file order: a torn last line, or a torn line an earlier run left before it appended more. */
  skipped: SkippedLine[];
}

export interface ReadRecordsOptions {
  /** Told about each skipped line as it is found; default: nothing (see `skipped`). */
  onWarning?: (skipped: SkippedLine, message: string) => void;
  /** Given each record instead of keeping it (`records` stays empty): for files too large to hold. */
  onRecord?: (record: NotificationRecord) => void;
}

function isRecord(value: unknown): value is NotificationRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const r = value as Partial<NotificationRecord>;
  return typeof r.seq === 'number' && typeof r.outcome === 'string' && typeof r.bytes === 'string';
}

/** How a skipped line is told to a person (the CLI prints it as a warning). */
export function describeSkipped(skipped: SkippedLine): string {
  return skipped.torn
    ? `line ${skipped.line} is the last line and is cut off (the writer stopped in the middle of it); skipped`
    : `line ${skipped.line} is not a record (${skipped.reason}; a run that was killed may have left it before another appended); skipped`;
}

/**
 * Reads records from JSON Lines text, one record per line, skipping what is not a record.
 * `complete`: the text is the whole file, so a last line without its newline is the end.
 */
export class RecordsReader {
  private rest = '';
  private lineNumber = 0;
  readonly records: NotificationRecord[] = [];
  readonly skipped: SkippedLine[] = [];

  constructor(private readonly options: ReadRecordsOptions = {}) {}

  push(text: string): void {
    const buffered = this.rest + text;
    let from = 0;
    for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n', from)) {
      this.take(buffered.slice(from, at), false);
      from = at + 1;
    }
    this.rest = buffered.slice(from);
  }

  end(): RecordsFile {
    // A last line without its newline: whole if it parses, torn otherwise.
    if (this.rest !== '') this.take(this.rest, true);
    this.rest = '';
    return { records: this.records, skipped: this.skipped };
  }

  private take(line: string, last: boolean): void {
    this.lineNumber++;
    if (line.trim() === '') return;
    let reason: string;
    try {
      const value: unknown = JSON.parse(line);
      if (isRecord(value)) {
        if (this.options.onRecord) this.options.onRecord(value);
        else this.records.push(value);
        return;
      }
      reason = 'JSON, but not a record';
    } catch (error) {
      reason = `not JSON: ${(error as Error).message}`;
    }
    const skipped: SkippedLine = { line: this.lineNumber, torn: last, reason, start: line.slice(0, 60) };
    this.skipped.push(skipped);
    this.options.onWarning?.(skipped, describeSkipped(skipped));
  }
}

/** Parses a whole records file's text. */
export function parseRecords(text: string, options?: ReadRecordsOptions): RecordsFile {
  const reader = new RecordsReader(options);
  reader.push(text);
  return reader.end();
}

/**
 * Reads a JSONL records file (`--record FILE`, `startSimulator({ record })`). A last line cut
 * off by a crash is skipped with a warning (`onWarning`, and in `skipped`), as is any other
 * line that is not a record.
 */
export async function readRecordsFile(path: string, options?: ReadRecordsOptions): Promise<RecordsFile> {
  const reader = new RecordsReader(options);
  for await (const chunk of createReadStream(path, { encoding: 'utf8' })) reader.push(chunk as string);
  return reader.end();
}
