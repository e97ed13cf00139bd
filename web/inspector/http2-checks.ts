import { h } from './dom.js';
import type { NotificationRecord } from './model.js';

/** One of Apple's HTTP/2 checks as protocol/http2/explain.ts reports it. */
interface Check {
  step: number;
  name: string;
  wants: string;
  outcome: 'passed' | 'failed' | 'not reached' | 'server';
  found: string;
  failure?: { reason: string; status: number; words: string };
}

/** What the page needs of `explainHttp2Request` (protocol/http2/explain.ts). */
type Explainer = (input: {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | null;
  auth: 'certificate' | 'token' | null;
  topic: string | null;
  answered: { status: number | null; reason: string | null; words: string | null; rule: string | null };
}) => { checks: Check[] };

/**
 * The hook for the HTTP/2 checks in Apple's order. protocol/http2/explain.ts is being written
 * beside this page: once it is in the repository, import `explainHttp2Request` from
 * '../../protocol/http2/explain.js' and set it here; until then the section says so.
 */
const explainer: Explainer | null = null;

const OUTCOME_MARKS: Record<Check['outcome'], string> = { passed: '✓', failed: '✗', 'not reached': '·', server: '→' };

/** The request's checks, each with what Apple wants and what it carried, the failed one marked with its reason. */
export function http2ChecksSection(r: NotificationRecord): HTMLElement | null {
  const d = r.http2;
  if (!d) return null;
  if (explainer === null) return null;
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
