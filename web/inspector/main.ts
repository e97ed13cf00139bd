import { ApiError, EventStream, adoptTokenFromFragment, api, download, setControlToken, type StreamState } from './api.js';
import { renderDetail, type ConnectionView, type DetailContext } from './detail.js';
import { byId, h, replaceChildren, visibleText } from './dom.js';
import { MAX_ROWS, RecordList } from './list.js';
import {
  OUTCOMES,
  RecordStore,
  connectionKey,
  emptyFilters,
  isFiltering,
  isMarker,
  matches,
  type ConnectionSummary,
  type NotificationRecord,
  type OutcomeFilter,
} from './model.js';
import { ConnectionsView, type RefusedConnection } from './connections.js';
import type { ServerEvent } from './sse.js';
import { RuleTools, setUpExplainBox } from './tools.js';

adoptTokenFromFragment();

const store = new RecordStore();
const filters = emptyFilters();
const connections = new Map<string, ConnectionView>();
let selected: number | null = null;
/** Records that arrived since the list was last drawn; drawn together, a burst at a time. */
let pending: NotificationRecord[] = [];
let redrawAll = false;
let flushTimer: number | undefined;
let matched = 0;

const notice = byId('notice');
let noticeTimer: number | undefined;
function notify(message: string, kind: 'ok' | 'error' = 'ok'): void {
  notice.textContent = visibleText(message);
  notice.dataset.kind = kind;
  window.clearTimeout(noticeTimer);
  noticeTimer = window.setTimeout(() => (notice.textContent = ''), kind === 'error' ? 15_000 : 6_000);
}

function failed(what: string, error: unknown): void {
  if (error instanceof ApiError && error.status === 401) showTokenForm();
  notify(`${what}: ${error instanceof Error ? error.message : String(error)}`, 'error');
}

// ---- the list, its counters and filters

const list = new RecordList(byId<HTMLTableSectionElement>('rows'), (seq) => select(seq));

const counterButtons = new Map<OutcomeFilter, HTMLButtonElement>();
const COUNTER_TITLES: Partial<Record<OutcomeFilter, string>> = {
  rejected: 'Rejected notifications; flush markers are counted apart',
  marker: "Senders' flush markers: the deliberate status-2 probe that proves the notifications before it arrived",
};
for (const outcome of [...OUTCOMES, 'marker' as const]) {
  const button = h(
    'button',
    {
      type: 'button',
      class: `counter outcome-${outcome}`,
      'aria-pressed': 'false',
      'data-outcome': outcome,
      title: COUNTER_TITLES[outcome] ?? null,
    },
    h('span', { class: 'counter-name' }, outcome === 'marker' ? 'markers' : outcome),
    ' ',
    h('span', { class: 'counter-count' }, '0'),
  );
  button.addEventListener('click', () => {
    if (filters.outcomes.has(outcome)) filters.outcomes.delete(outcome);
    else filters.outcomes.add(outcome);
    button.setAttribute('aria-pressed', String(filters.outcomes.has(outcome)));
    redraw();
  });
  counterButtons.set(outcome, button);
}
byId('counters').append(...counterButtons.values());

/** The simulator's totals (GET /stats, the `hello` event): the counters show these, not what the page holds. */
type RecordTotals = Record<(typeof OUTCOMES)[number], number> & { markers?: number; total: number };
let totals: RecordTotals | null = null;

function setTotals(next: RecordTotals | undefined): void {
  if (next === undefined) return;
  totals = next;
  drawCounters();
}

function drawCounters(): void {
  for (const [outcome, button] of counterButtons) {
    const count = totals === null ? 0 : outcome === 'marker' ? (totals.markers ?? 0) : totals[outcome];
    button.querySelector('.counter-count')!.textContent = count.toLocaleString('en-US');
  }
  byId('warned-count').textContent = store.warned.toLocaleString('en-US');
  const topics = byId<HTMLDataListElement>('topics');
  if (topics.options.length !== store.topics.size)
    replaceChildren(topics, ...[...store.topics].sort().map((t) => h('option', { value: t })));
}

function drawShown(): void {
  const total = store.size;
  const shown = list.rowCount;
  let text: string;
  if (total === 0) text = '';
  else if (isFiltering(filters))
    text = `${matched.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} match${matched > shown ? `; newest ${shown} shown` : ''}`;
  else text = matched > shown ? `newest ${shown} of ${total.toLocaleString('en-US')}` : `${total.toLocaleString('en-US')}`;
  byId('shown').textContent = text;
  const empty = byId('empty');
  empty.hidden = shown > 0;
  empty.textContent =
    total === 0 ? 'No notifications yet. Send one to the gateway and it appears here.' : 'No notification matches the filters.';
}

function redraw(): void {
  redrawAll = true;
  schedule(0);
}

function schedule(delay = 30): void {
  if (flushTimer !== undefined) return;
  flushTimer = window.setTimeout(flush, delay);
}

/** A record newer than the totals last read counts at once; /stats corrects the totals within a second. */
function countArrival(r: NotificationRecord): void {
  if (totals === null || r.seq <= totals.total) return;
  totals.total = r.seq;
  if (isMarker(r)) totals.markers = (totals.markers ?? 0) + 1;
  else totals[r.outcome]++;
}

function flush(): void {
  flushTimer = undefined;
  const arrived = pending;
  pending = [];
  for (const r of arrived) {
    countArrival(r);
    store.add(r);
  }
  if (redrawAll) {
    redrawAll = false;
    const { shown, matched: count } = store.newest(filters, MAX_ROWS);
    matched = count;
    list.render(shown);
  } else {
    const fresh = arrived.filter((r) => store.get(r.seq) === r && matches(r, filters));
    matched += fresh.length;
    list.prepend(fresh);
  }
  drawCounters();
  drawShown();
  const current = selected === null ? undefined : store.get(selected);
  if (current && arrived.some((r) => r.protocol === current.protocol && r.connectionId === current.connectionId)) drawDetail();
}

const filterInputs: [string, (value: string) => void][] = [
  ['filter-protocol', (v) => (filters.protocol = v as typeof filters.protocol)],
  ['filter-warnings', (v) => (filters.warnings = v as typeof filters.warnings)],
  ['filter-topic', (v) => (filters.topic = v.trim())],
  ['filter-token', (v) => (filters.token = v.trim())],
  ['filter-text', (v) => (filters.text = v)],
];
for (const [id, set] of filterInputs) {
  const input = byId<HTMLInputElement | HTMLSelectElement>(id);
  input.addEventListener('input', () => {
    set(input.value);
    redraw();
  });
}
byId('filter-reset').addEventListener('click', () => {
  for (const [id, set] of filterInputs) {
    byId<HTMLInputElement | HTMLSelectElement>(id).value = '';
    set('');
  }
  filters.outcomes.clear();
  filters.warnings = '';
  for (const button of counterButtons.values()) button.setAttribute('aria-pressed', 'false');
  redraw();
});

// ---- the selected record

const detail = byId('detail');
const emptyDetail = [...detail.childNodes].map((n) => n.cloneNode(true));

const tools = new RuleTools(notify);

const detailContext: DetailContext = {
  store,
  connections,
  select: (seq) => select(seq),
  shutdown: (r) => void shutdown(r),
  rejectToken: (token) => tools.prefillRule(token),
  uninstallToken: (token, topic) => tools.prefillUninstall(token, topic),
  filterToken: (token) => {
    byId<HTMLInputElement>('filter-token').value = token;
    filters.token = token;
    redraw();
  },
  filterText: (text) => {
    byId<HTMLInputElement>('filter-text').value = text;
    filters.text = text;
    redraw();
  },
};

function drawDetail(): void {
  const r = selected === null ? undefined : store.get(selected);
  if (r === undefined) {
    detail.replaceChildren(...emptyDetail.map((n) => n.cloneNode(true)));
    return;
  }
  // A redraw (a record arrived on the same connection) keeps the focus where it was.
  const focused = detail.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.seq : undefined;
  renderDetail(detail, r, detailContext);
  if (focused !== undefined) detail.querySelector<HTMLElement>(`[data-seq="${focused}"]`)?.focus();
}

function select(seq: number): void {
  selected = seq;
  list.select(seq);
  drawDetail();
}

async function shutdown(r: NotificationRecord): Promise<void> {
  try {
    // Status 10 carries the last accepted identifier: read it before the connection goes away.
    const before = (await api<ConnectionSummary[]>('GET', 'connections')).find((c) => c.protocol === r.protocol && c.id === r.connectionId);
    const at = new Date().toISOString();
    const { shutdown: count } = await api<{ shutdown: number }>('POST', `connections/${r.connectionId}/shutdown`);
    const view = connections.get(connectionKey(r.protocol, r.connectionId));
    if (view && count > 0) {
      const last = before?.lastAcceptedIdentifier;
      view.events.push({
        at,
        text: `shutdown requested here: status 10${last === null || last === undefined ? '' : ` with identifier ${last}, the last accepted`}`,
      });
    }
    notify(count > 0 ? `Connection #${r.connectionId} is shutting down (status 10).` : `Connection #${r.connectionId} was no longer open.`);
    drawDetail();
  } catch (error) {
    failed(`Connection #${r.connectionId} was not shut down`, error);
  }
}

// ---- the live stream

const connectionsView = new ConnectionsView();

function noteConnection(summary: ConnectionSummary, event?: { at: string; text: string }): void {
  const key = connectionKey(summary.protocol, summary.id);
  const view = connections.get(key) ?? { summary, events: [] };
  view.summary = summary;
  if (event) view.events.push(event);
  connections.set(key, view);
  connectionsView.drawOpen(connections);
}

function onEvent(event: ServerEvent): void {
  switch (event.event) {
    case 'hello': {
      const hello = JSON.parse(event.data) as { connections: ConnectionSummary[]; refused?: RefusedConnection[]; stats?: RecordTotals };
      setTotals(hello.stats);
      connectionsView.setRefused(hello.refused ?? []);
      // Every (re)connection starts over from what the recorder keeps.
      store.clear();
      pending = [];
      const open = new Set(hello.connections.map((c) => connectionKey(c.protocol, c.id)));
      for (const [key, view] of connections)
        if (!open.has(key) && view.summary.state !== 'closed') view.summary = { ...view.summary, state: 'closed' };
      for (const summary of hello.connections) {
        noteConnection(
          summary,
          connections.has(connectionKey(summary.protocol, summary.id))
            ? undefined
            : { at: summary.connectedAt ?? new Date().toISOString(), text: 'connected' },
        );
      }
      redraw();
      break;
    }
    case 'record':
      pending.push(JSON.parse(event.data) as NotificationRecord);
      schedule();
      break;
    case 'clear':
      store.clear();
      pending = [];
      selected = null;
      list.select(null);
      drawDetail();
      redraw();
      break;
    case 'sink':
      showSink(JSON.parse(event.data) as SinkState);
      break;
    case 'refused':
      connectionsView.addRefused(JSON.parse(event.data) as RefusedConnection);
      break;
    case 'connection': {
      const change = JSON.parse(event.data) as { event: 'connect' | 'disconnect'; at: string; connection: ConnectionSummary };
      noteConnection(change.connection, {
        at: change.at,
        text: change.event === 'connect' ? `connected from ${change.connection.peer}` : 'closed',
      });
      const current = selected === null ? undefined : store.get(selected);
      if (current && current.protocol === change.connection.protocol && current.connectionId === change.connection.id) drawDetail();
      break;
    }
  }
}

/** The record file's state as /stats gives it (`sink`), or the 'sink' event: shown while writing has failed. */
interface SinkState {
  path: string;
  failed: boolean;
  error: string | null;
  written: number;
}

function showSink(sink: SinkState | null | undefined): void {
  const warning = byId('sink-warning');
  warning.hidden = !sink?.failed;
  warning.textContent = sink?.failed
    ? visibleText(
        `Records are no longer written to ${sink.path}: ${sink.error ?? 'a write failed'} (${sink.written.toLocaleString('en-US')} written). They go on in memory.`,
      )
    : '';
}

const live = byId('live');
const LIVE_TEXT: Record<StreamState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  unauthorized: 'token needed',
};
function onState(state: StreamState, why?: string): void {
  live.dataset.state = state;
  live.textContent = LIVE_TEXT[state];
  live.title = visibleText(why ?? '');
  if (state === 'unauthorized') showTokenForm();
}

const stream = new EventStream(onEvent, onState);

// ---- the control token, when the control API has one

const tokenForm = byId<HTMLFormElement>('token-form');
function showTokenForm(): void {
  if (!tokenForm.hidden) return;
  tokenForm.hidden = false;
  byId<HTMLInputElement>('token-input').focus();
}
tokenForm.addEventListener('submit', (event) => {
  event.preventDefault();
  setControlToken(byId<HTMLInputElement>('token-input').value.trim());
  byId<HTMLInputElement>('token-input').value = '';
  tokenForm.hidden = true;
  start();
});

// ---- header facts and actions

async function describeWhere(): Promise<void> {
  const index = await api<Record<string, unknown>>('GET', './');
  const host = typeof index.host === 'string' ? (index.host.includes(':') ? `[${index.host}]` : index.host) : location.hostname;
  const names: [string, string][] = [
    ['gateway', 'binary gateway'],
    ['http2', 'HTTP/2 API'],
    ['feedback', 'feedback'],
  ];
  const parts = names.filter(([key]) => typeof index[key] === 'number').map(([key, name]) => `${name} ${host}:${index[key]}`);
  byId('where').textContent = parts.join(' · ');
  // Only a warning: the page works the same without it.
  await refreshStats();
}

/** /stats, for the totals and the record file's state; while the stream is live, every STATS_MS. */
async function refreshStats(): Promise<void> {
  await api<{ sink?: SinkState | null; records?: RecordTotals }>('GET', 'stats').then(
    (stats) => {
      showSink(stats.sink);
      setTotals(stats.records);
    },
    () => undefined,
  );
}

const STATS_MS = 1000;
let statsTimer: number | undefined;
function followStats(): void {
  window.clearTimeout(statsTimer);
  statsTimer = window.setTimeout(() => {
    if (live.dataset.state === 'live') void refreshStats().finally(followStats);
    else followStats();
  }, STATS_MS);
}

byId('clear').addEventListener('click', () => {
  api('DELETE', 'records').then(
    () => notify('Records cleared.'),
    (error) => failed('The records were not cleared', error),
  );
});
byId('download').addEventListener('click', () => {
  download('records.jsonl', 'records.jsonl').then(
    (size) => notify(`Downloaded records.jsonl (${size.toLocaleString('en-US')} bytes).`),
    (error) => failed('The download failed', error),
  );
});

function start(): void {
  stream.start();
  describeWhere().catch((error) => failed('The control API did not answer', error));
  tools.refresh().catch((error) => failed('The rules could not be read', error));
  followStats();
}

setUpExplainBox();
drawShown();
start();
