import { http2Rows } from '../recorder/http2-rows.js';
import { createHash } from 'node:crypto';
import { OUTCOMES, type NotificationRecord } from '../recorder/index.js';
import { explainRecord, explanationHtml, statusText } from './explain-html.js';
import { el, raw, type Child, type Html } from './html-builder.js';
import { REPORT_CSS, REPORT_SCRIPT } from './page-assets.js';
import { escapeHtml } from './text.js';

export interface HtmlReportOptions {
  /** Where the records came from, in words (a file name, a control URL). */
  source: string;
  title?: string;
  /** When the report was made; default now. */
  generatedAt?: Date;
  /** Records shown at most (the newest); default 10,000. A page holds each one's details, so it grows with them. */
  maxRecords?: number;
}

const DEFAULT_MAX_RECORDS = 10_000;
const anchor = (r: NotificationRecord) => `record-${r.seq}`;
const shortToken = (token: string | null) => (token === null ? '—' : token.length > 16 ? `${token.slice(0, 8)}…${token.slice(-8)}` : token);
const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

function row(r: NotificationRecord): Html {
  return el(
    'tr',
    { class: `outcome-${r.outcome}`, 'data-outcome': r.outcome, 'data-record': anchor(r) },
    el('td', { class: 'num' }, el('a', { href: `#${anchor(r)}` }, `#${r.seq}`)),
    el('td', null, r.time.slice(11, 23)),
    el('td', null, `#${r.connectionId} ${r.protocol === 'http2' ? 'HTTP/2' : 'binary'}`),
    el('td', null, el('code', { class: 'token', title: r.token ?? '' }, shortToken(r.token))),
    el('td', null, r.topic ?? '—'),
    el('td', null, el('span', { class: 'chip' }, r.outcome)),
    el('td', null, statusText(r)),
    el('td', { class: 'reason' }, r.reason ?? ''),
  );
}

function facts(r: NotificationRecord): Html {
  const rows: [string, Child][] = [
    ['Protocol', r.protocol === 'http2' ? 'HTTP/2' : 'binary'],
    ['Connection', `#${r.connectionId} from ${r.peer}`],
    ['Topic', r.topic ?? '—'],
    ['Environment', r.environment ?? '—'],
    ['Identifier', r.identifier === null ? '—' : String(r.identifier)],
  ];
  if (r.protocol === 'binary') rows.push(['Command', r.command === null ? '—' : String(r.command)]);
  if (r.expiry !== null)
    rows.push(['Expiry', r.expiry === 0 ? '0 (try once)' : `${r.expiry} (${new Date(r.expiry * 1000).toISOString()})`]);
  if (r.priority !== null) rows.push(['Priority', String(r.priority)]);
  if (r.rule !== null) rows.push(['Rule', r.rule]);
  rows.push(['Time', r.time], ['Token', r.token === null ? '—' : el('code', { class: 'token' }, r.token)]);
  return el(
    'dl',
    { class: 'facts' },
    rows.map(([term, value]) => el('div', null, el('dt', null, term), el('dd', null, value))),
  );
}

function http2Section(r: NotificationRecord): Html | null {
  const d = r.http2;
  if (!d) return null;
  const { request, response } = http2Rows(d);
  const table = (caption: string, rows: [string, string][]) =>
    el(
      'table',
      { class: 'headers-table' },
      el('caption', null, caption),
      el(
        'tbody',
        null,
        rows.map(([name, value]) => el('tr', null, el('th', { scope: 'row' }, name), el('td', null, value))),
      ),
    );
  const auth = d.auth === 'token' ? `provider token (team ${d.teamId ?? '?'}, key ${d.keyId ?? '?'})` : (d.auth ?? 'none');
  return el(
    'section',
    null,
    el('h3', null, 'HTTP/2 request'),
    el('p', { class: 'muted' }, `stream ${d.streamId}, authenticated by ${auth}`),
    table('Request headers', request),
    table('Response', response),
  );
}

function hexDump(hex: string): Html {
  const lines: string[] = [];
  for (let i = 0; i < hex.length; i += 32) lines.push(`${String(i / 2).padStart(6)}  ${hex.slice(i, i + 32).replace(/(..)(?!$)/g, '$1 ')}`);
  return el('pre', { class: 'hex-dump' }, lines.length > 0 ? lines.join('\n') : '(empty)');
}

function bytesSection(r: NotificationRecord): Html {
  if (r.protocol !== 'binary') return el('section', null, el('h3', null, 'Request body'), hexDump(r.bytes));
  const { explanation, note } = explainRecord(r);
  // explain's own verdict only where it is the gateway's: not for a frame the policy rejected or the gateway discarded.
  const agrees = explanation.frames.length === 1 && explanation.frames[0].verdict.outcome === r.outcome;
  return el(
    'section',
    null,
    el('h3', null, 'Frame bytes'),
    note ? el('p', { class: 'note' }, note) : null,
    explanationHtml(explanation, { verdict: agrees }),
  );
}

function detail(r: NotificationRecord): Html {
  const status = statusText(r);
  const why = r.reason ?? (r.outcome === 'accepted' ? 'Accepted: the gateway sent nothing back.' : '');
  return el(
    'article',
    { class: `record outcome-${r.outcome}`, id: anchor(r) },
    el('h2', null, `#${r.seq} `, el('span', { class: 'chip' }, r.outcome), status ? ` status ${status}` : ''),
    el(
      'div',
      { class: `verdict verdict-${r.outcome}` },
      el('p', { class: 'reason' }, why),
      r.warnings.length > 0
        ? el(
            'ul',
            { class: 'warnings' },
            r.warnings.map((w) => el('li', null, `warning: ${w.message}`)),
          )
        : null,
    ),
    facts(r),
    bytesSection(r),
    r.payload === null
      ? null
      : el(
          'section',
          null,
          el('h3', null, r.payloadJson === null ? 'Payload (not JSON)' : 'Payload'),
          el('pre', { class: 'payload' }, r.payloadJson === null ? r.payload : JSON.stringify(r.payloadJson, null, 2)),
        ),
    http2Section(r),
  );
}

/**
 * One HTML page that shows records as the inspector does (the table; each record's verdict,
 * facts, annotated bytes, payload and HTTP/2 headers) and needs nothing else: its style and
 * script are inline, a Content-Security-Policy lets it load nothing and run no other script,
 * and every string from a record is escaped with its invisible characters shown.
 */
export function renderHtmlReport(records: readonly NotificationRecord[], options: HtmlReportOptions): string {
  const max = options.maxRecords ?? DEFAULT_MAX_RECORDS;
  const shown = records.length > max ? records.slice(records.length - max) : records;
  const title = options.title ?? 'apns-mock report';
  const generated = (options.generatedAt ?? new Date()).toISOString();
  const counts = OUTCOMES.map((o) => ({ outcome: o, count: records.filter((r) => r.outcome === o).length }));
  const csp = `default-src 'none'; style-src ${sha256(REPORT_CSS)}; script-src ${sha256(REPORT_SCRIPT)}; base-uri 'none'; form-action 'none'`;
  const body = el(
    'body',
    null,
    el(
      'header',
      null,
      el('h1', null, title),
      el('p', { class: 'muted' }, `${records.length} record(s) from ${options.source}, ${generated}`),
      shown.length < records.length ? el('p', { class: 'note' }, `Showing the newest ${shown.length}.`) : null,
      el(
        'p',
        { class: 'counts' },
        counts.map(({ outcome, count }) => el('span', { class: `chip outcome-${outcome}`, 'data-count': outcome }, `${count} ${outcome}`)),
      ),
      el(
        'div',
        { class: 'filters', hidden: true },
        ['all', ...OUTCOMES].map((o) => el('button', { type: 'button', 'data-outcome': o }, o)),
        el('input', { type: 'search', placeholder: 'Filter: token, topic, reason…', 'aria-label': 'Filter the records' }),
      ),
    ),
    el(
      'main',
      null,
      shown.length === 0
        ? el('p', null, 'No records.')
        : [
            el(
              'table',
              { class: 'records' },
              el(
                'thead',
                null,
                el(
                  'tr',
                  null,
                  ['#', 'Time (UTC)', 'Connection', 'Token', 'Topic', 'Outcome', 'Status', 'Reason'].map((c) =>
                    el('th', { scope: 'col' }, c),
                  ),
                ),
              ),
              el('tbody', null, shown.map(row)),
            ),
            el('section', { class: 'details' }, shown.map(detail)),
          ],
    ),
    el('script', null, raw(REPORT_SCRIPT)),
  );
  return (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="${csp}">` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${escapeHtml(title)}</title><style>${REPORT_CSS}</style></head>\n${body.html}</html>\n`
  );
}
