import type { NotificationRecord } from './record.js';
import { alertOf, shortToken } from './words.js';

export { alertOf, shortToken } from './words.js';

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function alertCell(record: NotificationRecord): string {
  const alert = alertOf(record.payloadJson);
  if (alert !== null) return clip(JSON.stringify(alert), 40);
  if (record.payloadJson !== null) return clip(JSON.stringify(record.payloadJson), 40);
  if (record.payload !== null) return clip(`(not JSON) ${record.payload}`, 40);
  return '-';
}

/** Long reasons are cut here: the whole reason is in the record's JSON. */
const REASON_WIDTH = 100;

function reasonCell(record: NotificationRecord): string {
  if (record.marker === true) return "flush marker: a sender's deliberate probe, not a rejection";
  return record.reason === null || record.reason === undefined ? '-' : clip(record.reason, REASON_WIDTH);
}

export interface RecordTableOptions {
  /** Rows shown at most; the newest are kept. Default 20. */
  max?: number;
  /** An extra last column (e.g. which expectations a record missed). */
  note?: { title: string; cell: (record: NotificationRecord) => string };
  indent?: string;
}

/**
 * A compact, aligned table of records (seq, outcome, token, identifier, status, alert, reason) for
 * failure messages and the CLI: what the simulator actually has.
 */
export function formatRecordTable(records: readonly NotificationRecord[], options: RecordTableOptions = {}): string {
  const indent = options.indent ?? '  ';
  if (records.length === 0) return `${indent}(no records)`;
  const max = options.max ?? 20;
  const shown = records.length > max ? records.slice(records.length - max) : records;
  const header = ['seq', 'outcome', 'token', 'id', 'status', 'alert', 'reason'];
  if (options.note) header.push(options.note.title);
  const rows = shown.map((r) => {
    const row = [
      String(r.seq),
      r.outcome,
      shortToken(r.token),
      r.identifier === null ? '-' : String(r.identifier),
      r.status === null ? '-' : `${r.status} ${r.statusName ?? ''}`.trim(),
      alertCell(r),
      reasonCell(r),
    ];
    if (options.note) row.push(options.note.cell(r));
    return row;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const numeric = new Set([0, 3]);
  const line = (cells: string[]) =>
    indent +
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : numeric.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const lines = [line(header), ...rows.map(line)];
  if (shown.length < records.length) lines.unshift(`${indent}(${records.length - shown.length} earlier record(s) not shown)`);
  return lines.join('\n');
}
