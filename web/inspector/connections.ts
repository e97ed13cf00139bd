import type { ConnectionView } from './detail.js';
import { byId, h } from './dom.js';
import { clockTime } from './model.js';

/** A refused or dropped connection as the control API reports it (GET /connections/refused, the `refused` event). */
export interface RefusedConnection {
  id: number;
  at: string;
  service: 'binary' | 'feedback' | 'http2';
  peer: string;
  reason: string;
  message: string;
  closed: boolean;
}

/** Refused connections the page keeps; the control API keeps its own last ones. */
const MAX_REFUSED = 200;
const SERVICE_NAMES: Record<string, string> = { binary: 'binary', feedback: 'feedback', http2: 'HTTP/2' };

/** The connections view: who is connected now, and every refused connection with its reason, newest first. */
export class ConnectionsView {
  private refused: RefusedConnection[] = [];

  setRefused(list: RefusedConnection[]): void {
    this.refused = list.slice(-MAX_REFUSED);
    this.drawRefused();
  }

  addRefused(refusal: RefusedConnection): void {
    if (this.refused.some((r) => r.id === refusal.id)) return;
    this.refused.push(refusal);
    if (this.refused.length > MAX_REFUSED) this.refused.shift();
    this.drawRefused();
  }

  drawOpen(connections: Map<string, ConnectionView>): void {
    const open = [...connections.values()].filter((c) => c.summary.state !== 'closed').map((c) => c.summary);
    byId('open-count').textContent = String(open.length);
    byId('open-rows').replaceChildren(
      ...open.map((c) =>
        h(
          'tr',
          null,
          h('td', { class: 'num' }, `#${c.id}`),
          h('td', null, c.protocol === 'http2' ? 'HTTP/2' : 'binary'),
          h('td', null, c.peer),
          h('td', null, c.topic ?? '—'),
          h('td', { class: 'num' }, c.connectedAt ? clockTime(c.connectedAt) : ''),
        ),
      ),
    );
  }

  private drawRefused(): void {
    byId('refused-count').textContent = String(this.refused.length);
    byId('refused-rows').replaceChildren(
      ...[...this.refused]
        .reverse()
        .map((r) =>
          h(
            'tr',
            { class: 'refused', 'data-refusal': r.id },
            h('td', { class: 'num time' }, clockTime(r.at)),
            h('td', null, SERVICE_NAMES[r.service] ?? r.service),
            h('td', null, r.peer),
            h('td', null, h('span', { class: 'chip outcome-rejected' }, r.reason)),
            h('td', { class: 'reason' }, r.message),
          ),
        ),
    );
  }
}
