import { http2Rows } from '../../server/recorder/http2-rows.js';
import { explain, type ExplainedField, type Explanation } from '../../protocol/binary/explain.js';
import { h, replaceChildren, type Child } from './dom.js';
import { payloadView, renderExplanation } from './explain-view.js';
import { http2ChecksSection } from './http2-checks.js';
import {
  clockTime,
  connectionKey,
  isMarker,
  statusText,
  type ConnectionSummary,
  type NotificationRecord,
  type RecordStore,
} from './model.js';

/** What the page knows of a connection beyond its records: its summary and when it opened and closed. */
export interface ConnectionView {
  summary: ConnectionSummary;
  events: { at: string; text: string }[];
}

export interface DetailContext {
  store: RecordStore;
  connections: Map<string, ConnectionView>;
  select(seq: number): void;
  shutdown(record: NotificationRecord): void;
  rejectToken(token: string): void;
  uninstallToken(token: string, topic: string | null): void;
  filterToken(token: string): void;
  filterText(text: string): void;
}

/** Records of the selected one's connection listed around it; the rest are a filter away. */
const BEFORE = 4;
const AFTER = 6;

/**
 * Which field a rejection decided by the gateway's policy (registry, rules, strict mode)
 * is about, by its status: the frame itself was well formed, so `explain` marks nothing.
 */
const POLICY_FIELD: Record<number, string> = {
  2: 'device token',
  5: 'device token',
  8: 'device token',
  4: 'payload',
  7: 'payload',
};

interface RecordExplanation {
  explanation: Explanation;
  /** Where `explain` and the gateway's verdict part, in words. */
  note: string | null;
}

/** The record's bytes explained in this page, with the gateway's own verdict marked where `explain` alone cannot see it. */
export function explainRecord(r: NotificationRecord): RecordExplanation {
  const explanation = explain(Buffer.from(r.bytes, 'hex'));
  const frame = explanation.frames[0];
  let note: string | null = null;
  if (frame === undefined) return { explanation, note };
  const marked = frame.fields.some((f) => f.problem !== undefined);
  if (r.outcome === 'rejected' && frame.verdict.outcome === 'accepted' && r.reason !== null) {
    const name = r.status === null ? undefined : POLICY_FIELD[r.status];
    // Command 2 names an item's data by the item ('device token', 'payload'), as commands 0 and 1 name their fields.
    const field: ExplainedField | undefined = name === undefined ? undefined : [...frame.fields].reverse().find((f) => f.name === name);
    if (field && !marked) field.problem = r.reason;
    note = `The frame is well formed; the gateway's ${r.rule ? `rule ${r.rule}` : 'policy'} rejected it with status ${statusText(r)}.`;
  } else if (r.outcome === 'accepted' && frame.verdict.outcome === 'rejected') {
    note = `Explained with Apple's limits, this frame is rejected (${frame.verdict.reason}); this simulator runs with other limits and accepted it.`;
  } else if (r.outcome === 'discarded') {
    note = 'The gateway had already failed this connection: it read this frame but did not judge it.';
  }
  return { explanation, note };
}

function facts(r: NotificationRecord): HTMLElement {
  const rows: [string, Child][] = [
    ['Protocol', r.protocol === 'http2' ? 'HTTP/2' : 'binary'],
    ['Topic', r.topic ?? '—'],
    ['Connection', `#${r.connectionId} from ${r.peer}`],
    ['Environment', r.environment ?? '—'],
  ];
  if (r.protocol === 'binary') {
    rows.push(['Command', r.command === null ? '—' : String(r.command)]);
    rows.push(['Identifier', r.identifier === null ? '—' : String(r.identifier)]);
  } else if (r.http2) {
    // HTTP/2's own words: a request (method, path) answered with a status and Apple's reason.
    rows.push(['Method', r.http2.method], ['Path', r.http2.path]);
    rows.push([':status', r.http2.status === null ? 'no response' : String(r.http2.status)], ['Reason', r.http2.reason ?? '—']);
    rows.push(['apns-id', r.http2.apnsId]);
  }
  if (r.expiry !== null)
    rows.push(['Expiry', r.expiry === 0 ? '0 (try once)' : `${r.expiry} (${new Date(r.expiry * 1000).toISOString()})`]);
  if (r.priority !== null) rows.push(['Priority', String(r.priority)]);
  if (r.rule !== null) rows.push(['Rule', r.rule]);
  rows.push(['Time', r.time], ['Token', r.token === null ? '—' : h('code', { class: 'token' }, r.token)]);
  // Two facts a line; the time and the token, last, take a line each.
  const wide = new Set(['Time', 'Token']);
  return h(
    'dl',
    { class: 'facts' },
    ...rows.map(([term, value]) => h('div', { class: wide.has(term) ? 'fact wide' : 'fact' }, h('dt', null, term), h('dd', null, value))),
  );
}

function http2Section(r: NotificationRecord): HTMLElement | null {
  const d = r.http2;
  if (!d) return null;
  const { request, response } = http2Rows(d);
  const table = (caption: string, rows: [string, string][]) =>
    h(
      'table',
      { class: 'headers-table' },
      h('caption', null, caption),
      h('tbody', null, ...rows.map(([name, value]) => h('tr', null, h('th', { scope: 'row' }, name), h('td', null, value)))),
    );
  const auth =
    d.auth === 'token'
      ? `provider token (team ${d.teamId ?? '?'}, key ${d.keyId ?? '?'})`
      : d.auth === 'certificate'
        ? 'certificate'
        : 'none';
  return h(
    'section',
    { class: 'block' },
    h('h3', null, 'HTTP/2 request'),
    h('p', { class: 'muted' }, `stream ${d.streamId}, authenticated by ${auth}`),
    table('Request headers', request),
    table('Response', response),
  );
}

function bodyHex(hex: string): HTMLElement {
  const lines: string[] = [];
  for (let i = 0; i < hex.length; i += 32) lines.push(`${String(i / 2).padStart(6)}  ${hex.slice(i, i + 32).replace(/(..)(?!$)/g, '$1 ')}`);
  return h('pre', { class: 'hex-dump' }, lines.length > 0 ? lines.join('\n') : '(empty)');
}

function connectionSection(r: NotificationRecord, ctx: DetailContext): HTMLElement {
  const key = connectionKey(r.protocol, r.connectionId);
  const known = ctx.connections.get(key);
  const state = known?.summary.state ?? 'not open';
  const timeline: { at: string; node: HTMLElement }[] = [];
  const all = ctx.store.ofConnection(r.protocol, r.connectionId);
  const at = all.findIndex((o) => o.seq === r.seq);
  const from = Math.max(0, at - BEFORE);
  const to = Math.min(all.length, at + AFTER + 1);
  const more = (n: number, where: string) =>
    h('li', { class: 'timeline-more' }, `… ${n} ${where} record${n === 1 ? '' : 's'} on this connection`);
  for (const other of all.slice(from, to)) {
    const current = other.seq === r.seq;
    const bits = [other.identifier === null ? null : `id ${other.identifier}`, statusText(other) || null].filter(Boolean).join(' · ');
    timeline.push({
      at: other.time,
      node: h(
        'li',
        { class: `timeline-record outcome-${other.outcome}` },
        h('span', { class: 'when' }, clockTime(other.time)),
        h(
          'button',
          {
            type: 'button',
            class: 'link',
            'aria-current': current ? 'true' : null,
            'data-seq': other.seq,
            onclick: () => ctx.select(other.seq),
          },
          `#${other.seq} `,
          h('span', { class: `chip outcome-${other.outcome}` }, other.outcome),
          bits ? ` ${bits}` : '',
        ),
        other.reason ? h('span', { class: 'why' }, other.reason) : null,
      ),
    });
  }
  const first = from > 0 ? all[from].time : '';
  const last = to < all.length ? all[to - 1].time : '\uffff';
  for (const event of known?.events ?? []) {
    if (event.at < first || event.at > last) continue;
    timeline.push({
      at: event.at,
      node: h('li', { class: 'timeline-event' }, h('span', { class: 'when' }, clockTime(event.at)), h('span', null, event.text)),
    });
  }
  timeline.sort((a, b) => a.at.localeCompare(b.at));
  const canShutdown = r.protocol === 'binary' && state === 'open';
  return h(
    'section',
    { class: 'block' },
    h('h3', null, `Connection #${r.connectionId}`),
    h(
      'p',
      { class: 'connection-line' },
      `${r.protocol === 'http2' ? 'HTTP/2' : 'binary'} from ${r.peer} · `,
      h('span', { class: `state state-${state.replace(/\s/g, '-')}` }, state),
      known?.summary.lastAcceptedIdentifier !== undefined && known.summary.lastAcceptedIdentifier !== null
        ? ` · last accepted identifier ${known.summary.lastAcceptedIdentifier}`
        : '',
      ' ',
      canShutdown ? h('button', { type: 'button', class: 'danger small', onclick: () => ctx.shutdown(r) }, 'Shut down (status 10)') : null,
    ),
    h(
      'ol',
      { class: 'timeline', 'aria-label': `What happened on connection ${r.connectionId}` },
      from > 0 ? more(from, 'earlier') : null,
      ...timeline.map((t) => t.node),
      to < all.length ? more(all.length - to, 'later') : null,
    ),
    all.length > to - from
      ? h('button', { type: 'button', class: 'small', onclick: () => ctx.filterText(r.peer) }, `List all ${all.length} in the table`)
      : null,
  );
}

/** Fills the detail pane with one record: verdict, facts, annotated bytes, payload, HTTP/2 headers and its connection. */
export function renderDetail(container: HTMLElement, r: NotificationRecord, ctx: DetailContext): void {
  const status = statusText(r);
  const marker = isMarker(r);
  const http2 = r.protocol === 'http2' ? r.http2 : null;
  const answer = http2
    ? http2.status === null
      ? ' no response'
      : ` :status ${http2.status}${http2.reason ? `, reason ${http2.reason}` : ''}`
    : status
      ? ` status ${status}`
      : '';
  const chip = h('span', { class: `chip outcome-${marker ? 'marker' : r.outcome}` }, marker ? 'flush marker' : r.outcome);
  const title = h('h2', { id: 'detail-title' }, `#${r.seq} `, chip, answer);
  const accepted = http2 ? 'Accepted: answered 200 with its apns-id.' : 'Accepted: the gateway sent nothing back.';
  const banner = h(
    'div',
    { class: `verdict verdict-${r.outcome}` },
    h('p', { class: 'reason' }, r.reason ?? (r.outcome === 'accepted' ? accepted : '')),
  );
  if (marker) {
    banner.prepend(
      h(
        'p',
        { class: 'note' },
        "The sender's flush marker: a deliberately bad notification whose status 2 proves every one before it arrived. Not counted as rejected.",
      ),
    );
  }
  if (r.warnings.length > 0)
    banner.append(h('ul', { class: 'warnings' }, ...r.warnings.map((w) => h('li', null, `warning: ${w.message}`))));

  const actions = h('div', { class: 'detail-actions' });
  if (r.token !== null) {
    const token = r.token;
    actions.append(
      h('button', { type: 'button', class: 'small', onclick: () => ctx.filterToken(token) }, 'Only this token'),
      h('button', { type: 'button', class: 'small', onclick: () => ctx.rejectToken(token) }, 'Reject this token…'),
      h('button', { type: 'button', class: 'small', onclick: () => ctx.uninstallToken(token, r.topic) }, 'Uninstall this token…'),
    );
  }

  const sections: Child[] = [];
  if (r.protocol === 'binary') {
    const { explanation, note } = explainRecord(r);
    // explain's own verdict only where it is the gateway's: not for a frame the policy rejected or the gateway discarded.
    const agrees = explanation.frames.length === 1 && explanation.frames[0].verdict.outcome === r.outcome;
    sections.push(
      h(
        'section',
        { class: 'block' },
        h('h3', null, 'Frame bytes'),
        note ? h('p', { class: 'note' }, note) : null,
        renderExplanation(explanation, { payload: false, verdict: agrees, bytesPerLine: 8 }),
      ),
    );
  } else {
    sections.push(http2ChecksSection(r), h('section', { class: 'block' }, h('h3', null, 'Request body'), bodyHex(r.bytes)));
  }
  if (r.payload !== null) {
    sections.push(
      h(
        'section',
        { class: 'block' },
        h('h3', null, r.payloadJson === null ? 'Payload (not JSON)' : 'Payload'),
        payloadView(r.payload, r.payloadJson, r.payloadJson !== null),
      ),
    );
  }
  sections.push(http2Section(r), connectionSection(r, ctx));
  replaceChildren(container, title, banner, facts(r), actions, ...sections);
}
