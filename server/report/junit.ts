import { writeFile } from 'node:fs/promises';
import type { NotificationRecord } from '../recorder/index.js';
import { statusText } from './explain-html.js';
import { escapeXml } from './text.js';

/**
 * One test case of a JUnit file: passed when neither `failure` nor `skipped` is given.
 * `details` is the text a CI page shows under the failure (or in system-out).
 */
export interface JunitCase {
  name: string;
  classname: string;
  timeSeconds?: number;
  failure?: { message: string; type: string; details?: string };
  skipped?: { message: string };
  output?: string;
}

export interface JunitSuite {
  name: string;
  timestamp?: string;
  cases: JunitCase[];
}

const attr = (name: string, value: string | number) => ` ${name}="${escapeXml(String(value)).replace(/\n/g, '&#10;')}"`;
const count = (cases: JunitCase[], what: 'failure' | 'skipped') => cases.filter((c) => c[what] !== undefined).length;

function caseXml(c: JunitCase): string {
  const open = `    <testcase${attr('classname', c.classname)}${attr('name', c.name)}${attr('time', (c.timeSeconds ?? 0).toFixed(3))}`;
  const inner: string[] = [];
  if (c.failure)
    inner.push(
      `      <failure${attr('message', c.failure.message)}${attr('type', c.failure.type)}>${escapeXml(c.failure.details ?? c.failure.message)}</failure>`,
    );
  if (c.skipped) inner.push(`      <skipped${attr('message', c.skipped.message)}/>`);
  if (c.output) inner.push(`      <system-out>${escapeXml(c.output)}</system-out>`);
  return inner.length === 0 ? `${open}/>` : `${open}>\n${inner.join('\n')}\n    </testcase>`;
}

/** A JUnit XML document (the schema Jenkins, GitHub and GitLab read): valid XML 1.0 whatever the names hold. */
export function junitXml(name: string, suites: JunitSuite[]): string {
  const all = suites.flatMap((s) => s.cases);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attr('name', name)}${attr('tests', all.length)}${attr('failures', count(all, 'failure'))}${attr('errors', 0)}${attr('skipped', count(all, 'skipped'))}>`,
  ];
  suites.forEach((suite, id) => {
    const head =
      `  <testsuite${attr('name', suite.name)}${attr('id', id)}${attr('tests', suite.cases.length)}${attr('failures', count(suite.cases, 'failure'))}` +
      `${attr('errors', 0)}${attr('skipped', count(suite.cases, 'skipped'))}${suite.timestamp ? attr('timestamp', suite.timestamp) : ''}>`;
    lines.push(head, ...suite.cases.map(caseXml), '  </testsuite>');
  });
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

const shortToken = (token: string | null) =>
  token === null ? 'no token' : `token ${token.length > 16 ? `${token.slice(0, 8)}…${token.slice(-8)}` : token}`;

/**
 * Pushy's and `apns-mock send`'s flush (command 1, no token, no payload), whose status-2 reply is
 * wanted: the record says so; record files written before `marker` existed are read by its bytes.
 */
const isFlushMarker = (r: NotificationRecord) =>
  r.marker ?? (r.protocol === 'binary' && r.bytes.length === 26 && r.bytes.startsWith('01') && r.bytes.endsWith('00000000'));

function recordCase(r: NotificationRecord, classname: string): JunitCase {
  if (isFlushMarker(r)) {
    return {
      name: `#${r.seq} flush marker`,
      classname,
      output: `status ${statusText(r)}: a sender's deliberate probe, whose reply proves the notifications before it accepted`,
    };
  }
  const id = r.identifier === null ? '' : ` identifier ${r.identifier}`;
  const name = `#${r.seq}${id} to ${shortToken(r.token)}${r.topic ? ` (${r.topic})` : ''}`;
  const status = statusText(r);
  const why = `${status ? `status ${status}: ` : ''}${r.reason ?? r.outcome}`;
  const details = [why, `time ${r.time}`, `peer ${r.peer}`, r.payload === null ? null : `payload ${r.payload}`, `bytes ${r.bytes}`]
    .filter((l) => l !== null)
    .join('\n');
  const c: JunitCase = { name, classname };
  if (r.outcome === 'rejected' || r.outcome === 'incomplete') c.failure = { message: why, type: r.outcome, details };
  else c.output = details;
  if (r.outcome === 'discarded') c.skipped = { message: r.reason ?? 'discarded: read after the connection had failed; never judged' };
  return c;
}

/**
 * Records as JUnit: a test suite per connection, a test case per notification. Rejected and
 * incomplete notifications are failures with their reason; discarded ones are skipped: the
 * gateway read them after it had failed the connection and never judged them, and the
 * failure is the rejection before them, already counted. A flush marker (the frame without a
 * token that senders write to learn that all before it was accepted) passes.
 */
export function renderJunitReport(records: readonly NotificationRecord[], options: { name?: string } = {}): string {
  const byConnection = new Map<string, NotificationRecord[]>();
  for (const r of records) {
    const key = `${r.protocol} ${r.connectionId}`;
    let list = byConnection.get(key);
    if (!list) byConnection.set(key, (list = []));
    list.push(r);
  }
  const suites: JunitSuite[] = [...byConnection.values()].map((list) => {
    const first = list[0];
    const protocol = first.protocol === 'http2' ? 'HTTP/2' : 'binary';
    const classname = `apns-mock.${first.protocol}.connection-${first.connectionId}`;
    return {
      name: `${protocol} connection #${first.connectionId} from ${first.peer}`,
      timestamp: first.time.slice(0, 19),
      cases: list.map((r) => recordCase(r, classname)),
    };
  });
  return junitXml(options.name ?? 'apns-mock notifications', suites);
}

/** One check `apns-mock expect` made: passed or not, with the words a CI page shows. */
export interface ExpectCheck {
  /** What was wanted, in words: "3 accepted records with token aaaa…aaaa". */
  name: string;
  ok: boolean;
  /** Why it failed (or what was found), one line. */
  message?: string;
  /** More lines: the records that matched, the closest misses. */
  details?: string;
  durationMs?: number;
}

/** Writes expect's checks as a JUnit file: one suite, "apns-mock expect", a test case per check. */
export async function writeExpectJunit(checks: readonly ExpectCheck[], file: string): Promise<void> {
  const cases: JunitCase[] = checks.map((check) => ({
    name: check.name,
    classname: 'apns-mock.expect',
    timeSeconds: (check.durationMs ?? 0) / 1000,
    failure: check.ok
      ? undefined
      : { message: check.message ?? 'not matched', type: 'expect', details: [check.message, check.details].filter(Boolean).join('\n') },
    output: check.ok ? [check.message, check.details].filter(Boolean).join('\n') || undefined : undefined,
  }));
  await writeFile(
    file,
    junitXml('apns-mock expect', [{ name: 'apns-mock expect', timestamp: new Date().toISOString().slice(0, 19), cases }]),
  );
}
