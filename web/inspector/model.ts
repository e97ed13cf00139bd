import type { NotificationRecord, Outcome } from '../../server/recorder/record.js';

export type { NotificationRecord, Outcome };

export const OUTCOMES: readonly Outcome[] = ['accepted', 'rejected', 'discarded', 'incomplete'];

/** A connection as the control API summarises it (binary gateway or HTTP/2 API). */
export interface ConnectionSummary {
  id: number;
  protocol: 'binary' | 'http2';
  peer: string;
  topic: string | null;
  environment: string | null;
  state?: string;
  connectedAt?: string;
  lastAcceptedIdentifier?: number | null;
  [more: string]: unknown;
}

/** A counter's filter: an outcome (flush markers left out), or the markers themselves. */
export type OutcomeFilter = Outcome | 'marker';

export interface Filters {
  /** Empty: every outcome, markers too (muted). */
  outcomes: Set<OutcomeFilter>;
  /** '' any; 'warned': records with payload warnings; 'clean': without. */
  warnings: '' | 'warned' | 'clean';
  protocol: '' | 'binary' | 'http2';
  topic: string;
  token: string;
  text: string;
}

export const emptyFilters = (): Filters => ({ outcomes: new Set(), warnings: '', protocol: '', topic: '', token: '', text: '' });

/** A sender's flush marker (the deliberate status-2 probe): a faithful record, not a rejection to count. */
export const isMarker = (r: NotificationRecord) => (r as { marker?: unknown }).marker === true;
export const isWarned = (r: NotificationRecord) => r.warnings.length > 0;

/** The alert text a person reads on the device: aps.alert, or its title and body. */
export function alertText(r: NotificationRecord): string {
  const aps = (r.payloadJson as { aps?: { alert?: unknown } } | null)?.aps;
  const alert = aps?.alert;
  if (typeof alert === 'string') return alert;
  if (typeof alert === 'object' && alert !== null) {
    const { title, body } = alert as { title?: unknown; body?: unknown };
    return [title, body].filter((p) => typeof p === 'string').join(': ');
  }
  return '';
}

export const normalizeToken = (text: string) => text.replace(/[\s<>:]/g, '').toLowerCase();

/** Records of one connection share this key; the binary gateway and the HTTP/2 API number their connections apart. */
export const connectionKey = (protocol: string, id: number) => `${protocol}:${id}`;

const haystacks = new WeakMap<NotificationRecord, string>();

/** Everything free-text search looks through, lower case. */
function haystack(r: NotificationRecord): string {
  let text = haystacks.get(r);
  if (text === undefined) {
    const parts: (string | number | boolean | null | undefined)[] = [
      `#${r.seq}`,
      r.outcome,
      r.protocol,
      r.peer,
      r.topic,
      r.environment,
      r.identifier,
      r.status,
      r.statusName,
      r.reason,
      r.rule,
      r.token,
      r.payload,
      ...r.warnings.map((w) => w.message),
    ];
    if (r.http2) parts.push(r.http2.path, r.http2.apnsId, r.http2.pushType, r.http2.reason, ...Object.entries(r.http2.headers).flat());
    text = parts
      .filter((p) => p !== null && p !== undefined)
      .join('\n')
      .toLowerCase();
    haystacks.set(r, text);
  }
  return text;
}

export function matches(r: NotificationRecord, f: Filters): boolean {
  if (f.outcomes.size > 0 && !f.outcomes.has(isMarker(r) ? 'marker' : r.outcome)) return false;
  if (f.warnings !== '' && isWarned(r) !== (f.warnings === 'warned')) return false;
  if (f.protocol !== '' && r.protocol !== f.protocol) return false;
  if (f.topic !== '' && !(r.topic ?? '').toLowerCase().includes(f.topic.toLowerCase())) return false;
  if (f.token !== '') {
    const wanted = normalizeToken(f.token);
    if (wanted !== '' && !(r.token ?? '').includes(wanted)) return false;
  }
  const words = f.text
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w !== '');
  if (words.length > 0) {
    const text = haystack(r);
    if (!words.every((w) => text.includes(w))) return false;
  }
  return true;
}

export const isFiltering = (f: Filters) =>
  f.outcomes.size > 0 || f.warnings !== '' || f.protocol !== '' || f.topic !== '' || f.token !== '' || f.text.trim() !== '';

/** `740f47…adff`: enough of a token to tell tokens apart in a row. */
export function shortToken(token: string | null): string {
  if (token === null) return '';
  return token.length <= 12 ? token : `${token.slice(0, 6)}…${token.slice(-4)}`;
}

/** `12:03:04.567`, local time: records of one debugging session are minutes apart, not days. */
export function clockTime(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function statusText(r: Pick<NotificationRecord, 'status' | 'statusName'>): string {
  if (r.status === null) return '';
  return r.statusName ? `${r.status} ${r.statusName}` : String(r.status);
}

/**
 * Records kept by the page, oldest first, as the control API streams them; the page keeps
 * at most `limit` (the oldest go first, as the recorder's own bound does).
 */
export class RecordStore {
  private records: NotificationRecord[] = [];
  private readonly bySeq = new Map<number, NotificationRecord>();
  readonly counts: Record<Outcome, number> = { accepted: 0, rejected: 0, discarded: 0, incomplete: 0 };
  /** Records in the page with payload warnings. */
  warned = 0;
  readonly topics = new Set<string>();

  constructor(readonly limit = 20_000) {}

  get size(): number {
    return this.records.length;
  }

  add(r: NotificationRecord): void {
    if (this.bySeq.has(r.seq)) return;
    this.records.push(r);
    this.bySeq.set(r.seq, r);
    this.counts[r.outcome]++;
    if (isWarned(r)) this.warned++;
    if (r.topic !== null) this.topics.add(r.topic);
    if (this.records.length > this.limit) {
      const dropped = this.records.splice(0, this.records.length - this.limit);
      for (const d of dropped) {
        this.bySeq.delete(d.seq);
        this.counts[d.outcome]--;
        if (isWarned(d)) this.warned--;
      }
    }
  }

  clear(): void {
    this.records = [];
    this.bySeq.clear();
    for (const o of OUTCOMES) this.counts[o] = 0;
    this.warned = 0;
  }

  get(seq: number): NotificationRecord | undefined {
    return this.bySeq.get(seq);
  }

  /** Newest first, at most `max`, with how many matched in all. */
  newest(filters: Filters, max: number): { shown: NotificationRecord[]; matched: number } {
    const shown: NotificationRecord[] = [];
    let matched = 0;
    for (let i = this.records.length - 1; i >= 0; i--) {
      const r = this.records[i];
      if (!matches(r, filters)) continue;
      matched++;
      if (shown.length < max) shown.push(r);
    }
    return { shown, matched };
  }

  /** The records of one connection, oldest first. */
  ofConnection(protocol: string, id: number): NotificationRecord[] {
    return this.records.filter((r) => r.protocol === protocol && r.connectionId === id);
  }
}
