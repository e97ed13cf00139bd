import { explainHttp2Request, type Http2ExplainedCheck as Check } from '../../protocol/http2/explain.js';
import { h } from './dom.js';
import type { NotificationRecord } from './model.js';

/** Apple's checks in order, by the same code the server judges with (protocol/http2/explain.ts). */
const explainer = explainHttp2Request;

const OUTCOME_MARKS: Record<Check['outcome'], string> = { passed: '✓', failed: '✗', 'not reached': '·', server: '→' };

/** The request's checks, each with what Apple wants and what it carried, the failed one marked with its reason. */
export function http2ChecksSection(r: NotificationRecord): HTMLElement | null {
  const d = r.http2;
  if (!d) return null;
  const { checks } = explainer({
    method: d.method,
    path: d.path,
    headers: d.headers,
    body: r.payload,
    auth: d.auth,
    topic: r.topic,
    answered: { status: d.status, reason: d.reason, words: r.reason, rule: r.rule },
  });
  return h(
    'section',
    { class: 'block' },
    h('h3', null, "HTTP/2 checks, in Apple's order"),
    h(
      'ol',
      { class: 'checks' },
      ...checks.map((c) =>
        h(
          'li',
          { class: `check check-${c.outcome.replace(' ', '-')}` },
          h('span', { class: 'mark' }, OUTCOME_MARKS[c.outcome]),
          ` ${c.step}. ${c.name}: `,
          h('span', { class: 'found' }, c.found),
          c.failure ? h('p', { class: 'why' }, `${c.failure.status} ${c.failure.reason}: ${c.failure.words}`) : null,
        ),
      ),
    ),
  );
}
