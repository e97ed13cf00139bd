import { h } from './dom.js';
import { alertText, clockTime, isMarker, isWarned, shortToken, statusText, type NotificationRecord } from './model.js';

/** Rows drawn at once: the newest matching records; the rest stay in the page, a filter away. */
export const MAX_ROWS = 500;

function row(r: NotificationRecord): HTMLTableRowElement {
  const marker = isMarker(r);
  const classes = ['row', `outcome-${r.outcome}`, marker ? 'marker' : '', isWarned(r) ? 'warned' : ''].filter(Boolean).join(' ');
  const alert = alertText(r);
  return h(
    'tr',
    { class: classes, tabindex: -1, 'data-seq': r.seq, 'aria-selected': 'false' },
    h('td', { class: 'num time' }, clockTime(r.time)),
    h(
      'td',
      { class: 'outcome' },
      h(
        'span',
        {
          class: `chip outcome-${marker ? 'marker' : r.outcome}`,
          title: marker ? "the sender's flush marker: status 2 on purpose, not counted" : null,
        },
        marker ? 'marker' : r.outcome,
      ),
      isWarned(r) ? h('span', { class: 'badge warned', title: `warned: ${r.warnings.map((w) => w.message).join('; ')}` }, '⚠') : null,
    ),
    h('td', { class: 'conn' }, `${r.protocol === 'http2' ? 'HTTP/2' : 'binary'} #${r.connectionId}`),
    h('td', { class: 'topic' }, r.topic ?? ''),
    h('td', { class: 'token', title: r.token ?? '' }, h('code', null, shortToken(r.token))),
    h('td', { class: 'num' }, r.identifier === null ? '' : String(r.identifier)),
    h('td', { class: 'status' }, statusText(r)),
    h('td', { class: 'alert', title: alert }, alert),
    h('td', { class: 'reason' }, r.reason ?? ''),
  );
}

/**
 * The records table, newest first. One row is in the tab order at a time (the selected one,
 * else the first); arrow keys, Home and End move between rows, Enter or Space selects.
 */
export class RecordList {
  private selected: number | null = null;

  constructor(
    private readonly tbody: HTMLTableSectionElement,
    private readonly onSelect: (seq: number) => void,
  ) {
    tbody.addEventListener('click', (event) => {
      const tr = (event.target as Element).closest('tr');
      if (tr?.dataset.seq) {
        tr.focus();
        this.onSelect(Number(tr.dataset.seq));
      }
    });
    tbody.addEventListener('keydown', (event) => this.onKey(event));
    tbody.addEventListener('focusin', (event) => {
      const tr = (event.target as Element).closest('tr');
      if (tr) this.makeTabbable(tr);
    });
  }

  get rowCount(): number {
    return this.tbody.rows.length;
  }

  /** Draws these records (newest first) in place of all rows. */
  render(records: NotificationRecord[]): void {
    const hadFocus = this.tbody.contains(document.activeElement);
    const focusedSeq = hadFocus ? (document.activeElement as HTMLElement).dataset.seq : undefined;
    this.tbody.replaceChildren(...records.map(row));
    this.markSelected();
    const again = focusedSeq === undefined ? null : this.rowOf(Number(focusedSeq));
    if (again) again.focus();
    this.ensureTabbable();
  }

  /** Adds newly arrived records (oldest first) at the top, keeping at most MAX_ROWS. */
  prepend(records: NotificationRecord[]): void {
    for (const r of records) this.tbody.insertBefore(row(r), this.tbody.firstChild);
    while (this.tbody.rows.length > MAX_ROWS) this.tbody.deleteRow(-1);
    this.markSelected();
    this.ensureTabbable();
  }

  select(seq: number | null): void {
    this.selected = seq;
    this.markSelected();
    const tr = seq === null ? null : this.rowOf(seq);
    if (tr) this.makeTabbable(tr);
    else this.ensureTabbable();
  }

  focusSelected(): void {
    const tr = this.selected === null ? null : this.rowOf(this.selected);
    (tr ?? this.tbody.rows[0])?.focus();
  }

  private rowOf(seq: number): HTMLTableRowElement | null {
    return this.tbody.querySelector(`tr[data-seq="${seq}"]`);
  }

  private markSelected(): void {
    for (const tr of this.tbody.querySelectorAll('tr[aria-selected="true"]')) tr.setAttribute('aria-selected', 'false');
    const tr = this.selected === null ? null : this.rowOf(this.selected);
    tr?.setAttribute('aria-selected', 'true');
  }

  private makeTabbable(tr: HTMLTableRowElement): void {
    for (const other of this.tbody.querySelectorAll('tr[tabindex="0"]')) if (other !== tr) other.setAttribute('tabindex', '-1');
    tr.setAttribute('tabindex', '0');
  }

  private ensureTabbable(): void {
    if (this.tbody.querySelector('tr[tabindex="0"]')) return;
    const tr = (this.selected === null ? null : this.rowOf(this.selected)) ?? this.tbody.rows[0];
    if (tr) tr.setAttribute('tabindex', '0');
  }

  private onKey(event: KeyboardEvent): void {
    const tr = (event.target as Element).closest('tr');
    if (!tr) return;
    let next: Element | null;
    switch (event.key) {
      case 'ArrowDown':
        next = tr.nextElementSibling;
        break;
      case 'ArrowUp':
        next = tr.previousElementSibling;
        break;
      case 'Home':
        next = this.tbody.rows[0] ?? null;
        break;
      case 'End':
        next = this.tbody.rows[this.tbody.rows.length - 1] ?? null;
        break;
      case 'Enter':
      case ' ':
        event.preventDefault();
        this.onSelect(Number(tr.dataset.seq));
        return;
      default:
        return;
    }
    event.preventDefault();
    if (next instanceof HTMLTableRowElement) {
      this.makeTabbable(next);
      next.focus();
    }
  }
}
