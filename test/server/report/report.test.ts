import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNotification } from '../../../protocol/binary/index.js';
import { startSimulator, type Simulator } from '../../../server/index.js';
import { writeExpectJunit } from '../../../server/report/index.js';
import { enhancedFrame } from '../../support/bytes.js';
import { runCli } from '../../support/cli-process.js';
import { sendFrames } from '../../support/provider-socket.js';

// Debian's chromium package; never a browser downloaded by a test tool. As test/inspector does.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const runBrowser = existsSync(CHROMIUM) || Boolean(process.env.CI);

const GOOD = 'a1'.repeat(32);
const XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';
/** Right-to-left override: shown text would read backwards without the mark. */
const BIDI = 'pay\u202Egnp.exe';

let dir: string;
let sim: Simulator;
let browser: Browser | undefined;

/** Command 1 with a 33-byte token: Apple's status 5, the token length field to blame. */
const badTokenFrame = (identifier: number) => enhancedFrame(identifier, 0, Buffer.alloc(33, 0x74), Buffer.from('{"aps":{"alert":"x"}}'));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'apns-report-'));
  sim = await startSimulator({ record: join(dir, 'records.jsonl') });
  // One connection: accepted (markup and a bidi override in the payload), accepted (not JSON,
  // with characters XML cannot hold), rejected (status 5), then one the gateway discards.
  await sendFrames(
    sim.ports.gateway,
    sim.credentials,
    Buffer.concat([
      encodeNotification({ token: GOOD, payload: { aps: { alert: XSS }, file: BIDI }, identifier: 1 }, 2),
      enhancedFrame(2, 0, Buffer.from(GOOD, 'hex'), Buffer.from('not json \u0001\u000b\uFFFF <&> ]]>', 'utf8')),
      badTokenFrame(3),
      encodeNotification({ token: GOOD, payload: { aps: { alert: 'after' } }, identifier: 4 }, 2),
    ]),
    1500,
  );
  await sim.recorder.waitFor({ outcome: 'discarded' }, { count: 1, timeoutMs: 5000 });
  sim.recorder.flush();
  if (runBrowser) browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
});

async function openPage(file: string): Promise<{ page: Page; requests: string[]; problems: string[] }> {
  const context = await browser!.newContext();
  const page = await context.newPage();
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  await page.goto(pathToFileURL(file).href);
  return { page, requests, problems };
}

describe('apns-mock report --records', () => {
  it('writes an HTML page and a JUnit file, and says what they hold', async () => {
    const result = await runCli([
      'report',
      '--records',
      join(dir, 'records.jsonl'),
      '--html',
      join(dir, 'report.html'),
      '--junit',
      join(dir, 'junit.xml'),
    ]);
    expect(result.stderr).toContain('4 record(s) (2 accepted, 1 rejected, 1 discarded, 0 incomplete)');
    expect(result.code).toBe(0);
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    expect(html).not.toContain('<script>window.__pwned');
    expect(html).not.toMatch(/<(img|link|iframe|object|embed)\b|url\(/i);
    expect(html.match(/<script>/g)).toHaveLength(1);
  });

  it.runIf(runBrowser)(
    "shows a rejected record's reason and bytes in Chromium from file://, loading nothing and running no payload",
    async () => {
      const { page, requests, problems } = await openPage(join(dir, 'report.html'));
      const rejected = page.locator('article.record.outcome-rejected');
      await expect.poll(() => rejected.count()).toBe(1);
      const reason = await rejected.locator('.verdict .reason').first().textContent();
      expect(reason).toMatch(/token length/i);
      expect(await rejected.textContent()).toContain('status 5 InvalidTokenSize');
      // The byte table: the token length field (33, 0x0021) marked with the reason.
      const problem = rejected.locator('.bytes-table tr.field.problem');
      expect(await problem.count()).toBe(1);
      expect(await problem.locator('.hex').textContent()).toBe('00 21');
      expect(await problem.locator('th').textContent()).toContain('token length');
      expect(await rejected.locator('tr.problem-reason').textContent()).toContain('33');
      // The payload's markup is text; the bidi override is shown by name.
      const first = page.locator('article#record-1');
      // Shown as JSON (its quotes escaped), as the inspector shows it.
      expect(await first.locator('pre.payload').textContent()).toContain('<script>window.__pwned = 1</script><img src=x onerror=');
      expect(await first.textContent()).toContain('pay⟨U+202E⟩gnp.exe');
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
      // The page's own script runs under its Content-Security-Policy: the outcome filter works.
      await page.locator('.filters button[data-outcome="rejected"]').click();
      expect(await page.locator('table.records tbody tr:not([hidden])').count()).toBe(1);
      expect(await page.locator('article.record:not([hidden])').count()).toBe(1);
      expect(requests).toEqual([pathToFileURL(join(dir, 'report.html')).href]);
      expect(problems).toEqual([]);
    },
  );

  it.runIf(runBrowser)(
    'writes JUnit XML a strict XML parser reads: a suite per connection, the rejection a failure, the discarded one skipped',
    async () => {
      const xml = await readFile(join(dir, 'junit.xml'), 'utf8');
      const { page } = await openPage(join(dir, 'report.html'));
      const parsed = await page.evaluate((text) => {
        const doc = new DOMParser().parseFromString(text, 'application/xml');
        const error = doc.getElementsByTagName('parsererror')[0];
        const root = doc.documentElement;
        const suites = [...doc.getElementsByTagName('testsuite')];
        const failures = [...doc.getElementsByTagName('failure')];
        return {
          error: error?.textContent ?? null,
          root: root.tagName,
          totals: ['tests', 'failures', 'skipped', 'errors'].map((a) => root.getAttribute(a)),
          suites: suites.map((s) => [s.getAttribute('tests'), s.getAttribute('failures'), s.getAttribute('skipped')]),
          cases: doc.getElementsByTagName('testcase').length,
          failureType: failures[0]?.getAttribute('type'),
          failureMessage: failures[0]?.getAttribute('message'),
          skipped: doc.getElementsByTagName('skipped')[0]?.getAttribute('message'),
          notJson: [...doc.getElementsByTagName('testcase')].find((c) => c.getAttribute('name')?.startsWith('#2'))?.textContent ?? '',
        };
      }, xml);
      expect(parsed.error).toBeNull();
      expect(parsed.root).toBe('testsuites');
      expect(parsed.totals).toEqual(['4', '1', '1', '0']);
      expect(parsed.suites).toEqual([['4', '1', '1']]);
      expect(parsed.cases).toBe(4);
      expect(parsed.failureType).toBe('rejected');
      expect(parsed.failureMessage).toMatch(/^status 5 InvalidTokenSize: .*token/);
      expect(parsed.skipped).toMatch(/^discarded: /);
    },
  );

  it('replaces characters XML 1.0 cannot hold and escapes markup in the JUnit file', async () => {
    const xml = await readFile(join(dir, 'junit.xml'), 'utf8');

    expect(xml).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/);
    expect(xml).toContain('[U+0001]');
    expect(xml).toContain('&lt;script&gt;');
    expect(xml).toContain('[U+202E]');
  });

  it('says which source is missing, with exit code 2', async () => {
    const result = await runCli(['report', '--records', join(dir, 'none.jsonl'), '--junit', join(dir, 'x.xml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cannot read --records');
    const neither = await runCli(['report', '--records', join(dir, 'records.jsonl')]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('give --html FILE, --junit FILE or both');
  });
});

describe('apns-mock report from a running simulator', () => {
  it('reads the records from --control', async () => {
    const result = await runCli(['report', '--control', sim.controlUrl!, '--junit', join(dir, 'live.xml')]);
    expect(result.code).toBe(0);
    expect(await readFile(join(dir, 'live.xml'), 'utf8')).toContain('tests="4" failures="1" errors="0" skipped="1"');
  });
});

describe('writeExpectJunit', () => {
  it("writes expect's checks as one suite, the failed ones as failures", async () => {
    const file = join(dir, 'expect.xml');
    await writeExpectJunit(
      [
        { name: '1 accepted record with token a1a1…a1a1', ok: true, message: 'matched 1', durationMs: 12 },
        { name: '2 rejected records with status 8', ok: false, message: 'matched 0 of 2 within 5s', details: 'closest: #3 <status 5>' },
      ],
      file,
    );
    const xml = await readFile(file, 'utf8');
    expect(xml).toContain('<testsuites name="apns-mock expect" tests="2" failures="1" errors="0" skipped="0">');
    expect(xml).toContain(
      '<failure message="matched 0 of 2 within 5s" type="expect">matched 0 of 2 within 5s\nclosest: #3 &lt;status 5&gt;</failure>',
    );
    expect(xml).toContain('time="0.012"');
  });
});
