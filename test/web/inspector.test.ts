import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNotification, explain, type Explanation } from '../../protocol/binary/index.js';
import { startSimulator, type NotificationRecord, type Simulator } from '../../server/index.js';
import { enhancedFrame } from '../support/bytes.js';
import { connectProvider } from '../support/provider-connection.js';
import { close as closeHttp2, open as openHttp2, send as sendHttp2 } from '../server/http2/support.js';
import { CLI, runCli } from '../support/cli-process.js';
import { sendFrames } from '../support/provider-socket.js';
import { loadVectors } from '../support/vectors.js';

// Debian's chromium package; never a browser downloaded by a test tool.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const inCi = Boolean(process.env.CI);
if (!haveChromium && !inCi) {
  console.warn(
    `inspector browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH); in CI they run and fail instead`,
  );
}

// The flags this machine's Chromium needs: no sandbox as root, and no background
// connections, which the closed network refuses.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** expect.poll with room for a loaded CI machine: its default gives up after one second. */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 10_000 });

const SCREENSHOT = fileURLToPath(new URL('../../test-output/inspector.png', import.meta.url));

const ALICE = 'a1'.repeat(32);
const BOB = 'b0b0'.repeat(16);
const CAROL = 'c0'.repeat(32);
const EVIL = 'e7'.repeat(32);
const HELLO = { aps: { alert: 'Hello' } };
const SCRIPT_ALERT = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';

/** Command 1 with a 33-byte token: Apple's status 5, the token length field to blame. */
const badTokenFrame = (identifier: number) => enhancedFrame(identifier, 0, Buffer.alloc(33, 0x74), Buffer.from(JSON.stringify(HELLO)));
const notification = (identifier: number, token: string, payload: object = HELLO) => encodeNotification({ token, payload, identifier }, 2);

let sim: Simulator;
let browser: Browser;
let context: BrowserContext;
let page: Page;

const rows = () => page.locator('#rows tr');
const rowOf = (seq: number) => page.locator(`#rows tr[data-seq="${seq}"]`);
const send = (writes: Buffer | Buffer[], waitMs = 1500) => sendFrames(sim.ports.gateway, sim.credentials, writes, waitMs);

async function recordsWhere(filter: (r: NotificationRecord) => boolean, count: number): Promise<NotificationRecord[]> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const found = sim.records().filter(filter);
    if (found.length >= count) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`fewer than ${count} matching records arrived`);
}

/** What the paste box shows: per frame, the fields as the table lists them and the verdict. */
async function pastedExplanation(hex: string, strict: boolean) {
  return page.evaluate(
    ({ hex, strict }) => {
      const input = document.getElementById('hex-input') as HTMLTextAreaElement;
      const box = document.getElementById('hex-strict') as HTMLInputElement;
      input.value = hex;
      box.checked = strict;
      // A change of the strict box explains at once, without the typing delay.
      box.dispatchEvent(new Event('change'));
      const output = document.getElementById('hex-output')!;
      return {
        error: output.querySelector('.input-error')?.textContent ?? null,
        frames: [...output.querySelectorAll('section.frame')].map((frame) => ({
          fields: [...frame.querySelectorAll('tr.field')].map((tr) => {
            const cells = tr.querySelectorAll('td, th');
            const next = tr.nextElementSibling;
            return {
              offset: Number(cells[0].textContent),
              hex: [...cells[1].querySelectorAll('.hex')].map((part) => part.textContent).join('\n'),
              name: (tr as HTMLElement).dataset.field,
              meaning: cells[3].textContent,
              problem: next?.classList.contains('problem-reason') ? next.textContent : null,
            };
          }),
          verdict: frame.querySelector('.verdict p')?.textContent ?? '',
          reason: frame.querySelector('.verdict .reason')?.textContent ?? '',
          hints: [...frame.querySelectorAll('.verdict .hints li')].map((li) => li.textContent),
        })),
      };
    },
    { hex, strict },
  );
}

/** The same facts as pastedExplanation, from Node's own `explain`. */
function expectedExplanation(e: Explanation) {
  return e.frames.map((frame) => ({
    fields: frame.fields.map((f) => ({
      offset: f.offset,
      hex: f.hex.replace(/(..)(?!$)/g, '$1 ').replace(/((?:.. ){15}..) /g, '$1\n'),
      name: f.name,
      meaning: f.meaning,
      problem: f.problem === undefined ? null : `✗ ${f.name}: ${f.problem}`,
    })),
    reason: frame.verdict.reason,
    hints: frame.verdict.hints,
  }));
}

describe.skipIf(!haveChromium && !inCi)('the inspector page in Chromium', () => {
  beforeAll(async () => {
    sim = await startSimulator();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
    page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    (globalThis as { pageProblems?: string[] }).pageProblems = problems;
    await page.goto(sim.controlUrl!);
    await page.locator('#live[data-state="live"]').waitFor();
    // Survives only as long as the page is not reloaded.
    await page.evaluate(() => ((window as unknown as { loadedOnce: boolean }).loadedOnce = true));
  });

  afterAll(async () => {
    await browser?.close();
    await sim?.close();
  });

  it('is the page for a browser at /, and the JSON index for fetch and curl', async () => {
    expect(await page.title()).toBe('apns-mock inspector');
    await poll(() => page.locator('#where').textContent()).toContain(`binary gateway 127.0.0.1:${sim.ports.gateway}`);
    const json = await fetch(`${sim.controlUrl}/`);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await json.json()) as { endpoints: string[] }).endpoints).toContain('GET /events');
    const html = await fetch(`${sim.controlUrl}/`, {
      headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
    });
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('lists notifications as they arrive over TLS, newest first, without a reload', async () => {
    await send(notification(1, ALICE));
    await poll(() => rows().count()).toBe(1);
    await expect(page.locator('#rows tr').first().textContent()).resolves.toContain('accepted');

    // One connection: accepted, rejected (33-byte token), then a frame the gateway discards.
    await send([Buffer.concat([notification(7, BOB), badTokenFrame(8), notification(9, BOB)])]);
    await poll(() => rows().count()).toBe(4);
    const outcomes = await page.locator('#rows tr .chip').allTextContents();
    expect(outcomes).toEqual(['discarded', 'rejected', 'accepted', 'accepted']);
    const seqs = await page.locator('#rows tr').evaluateAll((trs) => trs.map((tr) => Number((tr as HTMLElement).dataset.seq)));
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    const rejected = await page.locator('#rows tr.outcome-rejected').textContent();
    expect(rejected).toContain('5 InvalidTokenSize');
    expect(rejected).toContain('#2');
    expect(await page.locator('[data-outcome="accepted"] .counter-count').textContent()).toBe('2');
    expect(await page.locator('[data-outcome="rejected"] .counter-count').textContent()).toBe('1');
    expect(await page.locator('[data-outcome="discarded"] .counter-count').textContent()).toBe('1');
    expect(await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
  });

  it('shows a rejected notification with its failing field marked with the reason, and its connection', async () => {
    const [record] = await recordsWhere((r) => r.outcome === 'rejected' && r.status === 5, 1);
    await rowOf(record.seq).click();
    await poll(() => page.locator('#detail-title').textContent()).toBe(`#${record.seq} rejected status 5 InvalidTokenSize`);

    // The field and words `explain` gives for these bytes in Node are the ones the page marks.
    const problem = explain(Buffer.from(record.bytes, 'hex')).frames[0].fields.find((f) => f.problem !== undefined)!;
    expect(problem.name).toBe('token length');
    const marked = page.locator('#detail .bytes-table tr.problem');
    expect(await marked.count()).toBe(1);
    expect(await marked.getAttribute('data-field')).toBe('token length');
    expect(await page.locator('#detail .bytes-table tr.problem-reason').textContent()).toBe(`✗ token length: ${problem.problem}`);
    expect(await page.locator('#detail .verdict-rejected .reason').first().textContent()).toBe(record.reason);

    // The rest of the connection: the accepted frame before and the discarded one after.
    const timeline = page.locator('#detail .timeline-record');
    await poll(() => timeline.count()).toBe(3);
    const lines = await timeline.allTextContents();
    expect(lines[0]).toMatch(/accepted id 7/);
    expect(lines[1]).toMatch(/rejected id 8 · 5 InvalidTokenSize/);
    expect(lines[2]).toMatch(/discarded id 9.*discarded: the connection had already failed/);
    // The page was open when the connection opened and closed: it saw both.
    await poll(() => page.locator('#detail .timeline-event').allTextContents()).toEqual([
      expect.stringMatching(/connected from 127\.0\.0\.1:\d+$/),
      expect.stringMatching(/closed$/),
    ]);
  });

  it('selects with the keyboard: rows take focus visibly, arrows move, Enter selects', async () => {
    await page.locator('#rows tr').first().focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    const focused = await page.evaluate(() => (document.activeElement as HTMLElement).dataset.seq);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).toBe('solid');
    await page.keyboard.press('Enter');
    await poll(() => page.locator('#detail-title').textContent()).toMatch(new RegExp(`^#${focused} `));
    expect(await rowOf(Number(focused)).getAttribute('aria-selected')).toBe('true');
    expect(await page.locator('#rows tr[tabindex="0"]').count()).toBe(1);
  });

  it('adds a rule from the page, and marks the token of the notification the rule rejects', async () => {
    await page.fill('#rule-token', CAROL);
    await page.selectOption('#rule-status', '8');
    await page.fill('#rule-description', 'device gone');
    await page.click('#rule-form button[type="submit"]');
    await poll(() => page.locator('#notice').textContent()).toMatch(
      /^Rule \S+ added: notifications to c0c0c0…c0c0 are rejected with status 8 InvalidToken\.$/,
    );
    expect(sim.rules.list()).toHaveLength(1);
    await poll(() => page.locator('#rules li').textContent()).toContain('reject with status 8 InvalidToken when token c0c0c0…c0c0');

    await send(notification(21, CAROL));
    const [record] = await recordsWhere((r) => r.token === CAROL, 1);
    await poll(() => rowOf(record.seq).count()).toBe(1);
    await rowOf(record.seq).click();
    await poll(() => page.locator('#detail-title').textContent()).toBe(`#${record.seq} rejected status 8 InvalidToken`);
    expect(await page.locator('#detail .bytes-table tr.problem').getAttribute('data-field')).toBe('device token');
    expect(await page.locator('#detail .bytes-table tr.problem-reason').textContent()).toBe(`✗ device token: ${record.reason}`);

    await page.locator('#rules button', { hasText: 'Remove' }).click();
    await poll(() => page.locator('#rules li').textContent()).toBe("No rules: the gateway judges by Apple's rules alone.");
    expect(sim.rules.list()).toEqual([]);
  });

  it('explains pasted hex in the page, as explain does in Node, without sending the bytes anywhere', async () => {
    // Whatever else the page asks the control API meanwhile, no request carries the pasted bytes.
    const requests: string[] = [];
    const listen = (request: { url(): string; postData(): string | null }) =>
      requests.push(`${request.url()} ${request.postData() ?? ''}`.toLowerCase());
    const pasted: string[] = [];
    page.on('request', listen);
    try {
      // Typed as a person pastes it: comments, 0x, commas.
      await page.fill('#hex-input', '01 // command\n0x00,0x00,0x00,0x05 00000000 0021 ' + '74'.repeat(33) + ' 0002 7b7d');
      await poll(() => page.locator('#hex-output .bytes-table tr.problem').getAttribute('data-field')).toBe('token length');
      expect(await page.locator('#hex-output .verdict p').first().textContent()).toContain('status 5 InvalidTokenSize, identifier 5');

      let compared = 0;
      for (const vector of loadVectors()) {
        const strict = vector.options?.strict ?? false;
        pasted.push(vector.bytes.toString('hex'));
        const shown = await pastedExplanation(vector.bytes.toString('hex'), strict);
        const expected = expectedExplanation(explain(vector.bytes, { strict }));
        expect(shown.error, vector.name).toBeNull();
        expect(
          shown.frames.map((f) => ({ fields: f.fields, reason: f.reason, hints: f.hints })),
          vector.name,
        ).toEqual(expected);
        compared++;
      }
      expect(compared).toBeGreaterThan(40);

      const bad = await pastedExplanation('02 zz', false);
      expect(bad.error).toBe("not hex: 'zz' at character 4");
    } finally {
      page.off('request', listen);
    }
    expect(requests.filter((r) => r.includes('74'.repeat(33)) || pasted.some((hex) => r.includes(hex)))).toEqual([]);
  });

  it('filters by outcome, protocol, topic, token and free text', async () => {
    const total = await rows().count();
    await page.click('[data-outcome="rejected"]');
    await poll(() => page.locator('#rows tr .chip').allTextContents()).toEqual(['rejected', 'rejected']);
    expect(await page.locator('[data-outcome="rejected"]').getAttribute('aria-pressed')).toBe('true');
    await page.click('[data-outcome="rejected"]');
    await poll(() => rows().count()).toBe(total);

    await page.fill('#filter-token', BOB.slice(0, 12));
    await poll(() => rows().count()).toBe(2);
    expect(await page.locator('#shown').textContent()).toBe(`2 of ${total} match`);
    await page.fill('#filter-token', '');

    await page.fill('#filter-text', 'InvalidToken device gone');
    await poll(() => rows().count()).toBe(1);
    await page.fill('#filter-text', '');

    await page.selectOption('#filter-protocol', 'http2');
    await poll(() => rows().count()).toBe(0);
    expect(await page.locator('#empty').textContent()).toBe('No notification matches the filters.');
    await page.selectOption('#filter-protocol', 'binary');
    await poll(() => rows().count()).toBe(total);

    await page.fill('#filter-topic', 'no.such.topic');
    await poll(() => rows().count()).toBe(0);
    await page.fill('#filter-topic', sim.credentials.topic.slice(4, 12).toUpperCase());
    await poll(() => rows().count()).toBe(total);

    await page.click('#filter-reset');
    await poll(() => page.locator('#filter-topic').inputValue()).toBe('');
    expect(await page.locator('#filter-protocol').inputValue()).toBe('');
  });

  it('shows a payload carrying <script> as text: nothing in it runs or becomes an element', async () => {
    await send(notification(31, EVIL, { aps: { alert: SCRIPT_ALERT } }));
    const [record] = await recordsWhere((r) => r.token === EVIL, 1);
    await poll(() => rowOf(record.seq).count()).toBe(1);
    await rowOf(record.seq).click();
    const payload = page.locator('#detail pre.payload');
    await poll(() => payload.textContent()).toContain(SCRIPT_ALERT.replace(/"/g, '\\"'));
    expect(JSON.parse((await payload.textContent())!)).toEqual({ aps: { alert: SCRIPT_ALERT } });

    // The same text pasted as bytes, and found by free-text search.
    await page.fill('#hex-input', Buffer.from(record.bytes, 'hex').toString('hex'));
    await poll(() => page.locator('#hex-output pre.payload').textContent()).toContain('<script>');
    await page.fill('#filter-text', '<script>');
    await poll(() => rows().count()).toBe(1);
    await page.fill('#filter-text', '');

    const injected = await page.evaluate(() => ({
      elements: document.querySelectorAll('main script, main img, .tools script, .tools img').length,
      pwned: (window as unknown as { __pwned?: number }).__pwned ?? null,
    }));
    expect(injected).toEqual({ elements: 0, pwned: null });
  });

  it('shows bidi override characters in a payload as marked escapes, never raw (issue 12, row 10)', async () => {
    const BIDI = 'abc\u202egnp.exe\u202c \u2066x\u2069';
    const BIDI_TOKEN = 'b1'.repeat(32);
    await send(notification(32, BIDI_TOKEN, { aps: { alert: BIDI } }));
    const [record] = await recordsWhere((r) => r.token === BIDI_TOKEN, 1);
    await poll(() => rowOf(record.seq).count()).toBe(1);
    await rowOf(record.seq).click();
    const payload = page.locator('#detail pre.payload');
    await poll(() => payload.textContent()).toContain('abc\\u202Egnp.exe\\u202C \\u2066x\\u2069');
    // Written out as JSON escapes, the text still reads back as the payload.
    expect(JSON.parse((await payload.textContent())!)).toEqual({ aps: { alert: BIDI } });
    expect(await page.locator('#detail pre.payload .bidi').count()).toBe(4);
    const raw = await page.evaluate(() => /[\u202a-\u202e\u2066-\u2069]/.test(document.querySelector('main')!.textContent ?? ''));
    expect(raw).toBe(false);
  });

  it('warns, until reloaded, when /stats says the record file failed (issue 12, row 4)', async () => {
    const other = await context.newPage();
    try {
      await other.route('**/stats', async (route) => {
        const response = await route.fetch();
        const stats = (await response.json()) as Record<string, unknown>;
        const sink = {
          path: 'records.jsonl',
          failed: true,
          error: 'ENOSPC: no space left on device, write',
          written: 1234,
          flushedSeq: 1234,
        };
        await route.fulfill({ response, json: { ...stats, sink } });
      });
      await other.goto(sim.controlUrl!);
      const warning = other.locator('#sink-warning');
      await poll(() => warning.isVisible()).toBe(true);
      expect(await warning.textContent()).toBe(
        'Records are no longer written to records.jsonl: ENOSPC: no space left on device, write (1,234 written). They go on in memory.',
      );
      // Without a failure (or without a record file) nothing shows.
      expect(await page.locator('#sink-warning').isVisible()).toBe(false);
    } finally {
      await other.close();
    }
  });

  it('takes a screenshot of a rejected notification selected', async () => {
    const [record] = await recordsWhere((r) => r.outcome === 'rejected' && r.status === 5, 1);
    await rowOf(record.seq).click();
    await page.fill('#hex-input', notification(5, ALICE, { aps: { alert: 'Hi' } }).toString('hex'));
    await poll(() => page.locator('#hex-output pre.payload').textContent()).toContain('"alert": "Hi"');
    await page.setViewportSize({ width: 1440, height: 1300 });
    await mkdir(fileURLToPath(new URL('../../test-output/', import.meta.url)), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`inspector screenshot: ${SCREENSHOT}`);
    expect((await readFile(SCREENSHOT)).subarray(1, 4).toString()).toBe('PNG');
  });

  it('shuts a connection down from the page: status 10 with the last accepted identifier, then the close', async () => {
    const provider = await connectProvider(sim.ports.gateway, sim.credentials);
    provider.write(notification(41, ALICE));
    const [record] = await recordsWhere((r) => r.identifier === 41, 1);
    await poll(() => rowOf(record.seq).count()).toBe(1);
    await rowOf(record.seq).click();
    await poll(() => page.locator('#detail .state').textContent()).toBe('open');
    await page.click('#detail button:has-text("Shut down")');
    expect(await provider.closed).toBeNull();
    expect(provider.received().toString('hex')).toBe('080a00000029');
    await poll(() => page.locator('#detail .state').textContent()).toBe('closed');
    // The close may reach the page before the answer to its request does.
    await poll(() => page.locator('#detail .timeline-event').allTextContents()).toEqual([
      expect.stringMatching(/connected from 127\.0\.0\.1:\d+$/),
      expect.stringMatching(/shutdown requested here: status 10 with identifier 41, the last accepted$/),
      expect.stringMatching(/closed$/),
    ]);
  });

  it('uninstalls a token, downloads the records as JSONL and clears them', async () => {
    await page.fill('#uninstall-token', BOB);
    await page.fill('#uninstall-topic', sim.credentials.topic);
    await page.click('#uninstall-form button[type="submit"]');
    await poll(() => page.locator('#notice').textContent()).toBe(
      `Uninstalled b0b0b0…b0b0 for ${sim.credentials.topic}: the feedback service now reports it.`,
    );
    expect(sim.devices.pendingFeedback().map((e) => e.token)).toEqual([BOB]);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(download.suggestedFilename()).toBe('records.jsonl');
    const lines = (await readFile(await download.path(), 'utf8')).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as NotificationRecord).seq)).toEqual(sim.records().map((r) => r.seq));

    await page.click('#clear');
    await poll(() => rows().count()).toBe(0);
    expect(sim.records()).toEqual([]);
    // The counters are the simulator's totals: clearing the kept records does not change them.
    const totals = sim.recorder.stats();
    await poll(() => page.locator('[data-outcome="accepted"] .counter-count').textContent()).toBe(totals.accepted.toLocaleString('en-US'));
    expect(await page.locator('#detail-title').textContent()).toBe('Details');
    await send(notification(51, ALICE));
    await poll(() => rows().count()).toBe(1);
  });

  it('shows HTTP/2 requests beside binary frames, with their headers and answers', async () => {
    const session = await openHttp2(sim, { cert: sim.credentials });
    try {
      const ok = await sendHttp2(session, {
        path: `/3/device/${CAROL}`,
        headers: { 'apns-topic': sim.credentials.topic, 'apns-push-type': 'alert' },
        body: HELLO,
      });
      expect(ok.status).toBe(200);
      const bad = await sendHttp2(session, {
        path: '/3/device/1234',
        headers: { 'apns-topic': sim.credentials.topic, 'apns-push-type': 'alert' },
        body: HELLO,
      });
      expect(bad.status).toBe(400);
    } finally {
      await closeHttp2(session);
    }
    const [accepted, rejected] = await recordsWhere((r) => r.protocol === 'http2', 2);
    await page.selectOption('#filter-protocol', 'http2');
    await poll(() => page.locator('#rows tr .chip').allTextContents()).toEqual(['rejected', 'accepted']);
    expect(await rowOf(rejected.seq).locator('.status').textContent()).toBe(`400 ${rejected.statusName}`);

    await rowOf(accepted.seq).click();
    await poll(() => page.locator('#detail-title').textContent()).toBe(`#${accepted.seq} accepted :status 200`);
    const header = (name: string) =>
      page.locator('#detail .headers-table tr', { has: page.locator('th', { hasText: new RegExp(`^${name}$`) }) }).locator('td');
    expect(await header(':path').textContent()).toBe(`/3/device/${CAROL}`);
    expect(await header('apns-topic').textContent()).toBe(sim.credentials.topic);
    expect(await header('apns-id').textContent()).toBe(accepted.http2!.apnsId);
    expect(JSON.parse((await page.locator('#detail pre.payload').textContent())!)).toEqual(HELLO);
    // Request bodies are not binary-protocol frames: shown as bytes, not explained as one.
    expect(await page.locator('#detail .bytes-table').count()).toBe(0);
    expect(await page.locator('#detail pre.hex-dump').textContent()).toContain(
      Buffer.from(JSON.stringify(HELLO))
        .subarray(0, 16)
        .toString('hex')
        .replace(/(..)(?!$)/g, '$1 '),
    );
    await page.selectOption('#filter-protocol', '');
  });

  it('ran without an error in the page', () => {
    expect((globalThis as { pageProblems?: string[] }).pageProblems).toEqual([]);
  });
});

describe.skipIf(!haveChromium && !inCi)('the inspector page with a control token', () => {
  let guarded: Simulator;

  beforeAll(async () => {
    guarded = await startSimulator({ controlToken: 's3cret' });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await guarded?.close();
  });

  it('takes the token from the fragment once, keeps it for the tab, and follows the records', async () => {
    const tab = await (await browser.newContext()).newPage();
    await tab.goto(`${guarded.controlUrl}/#token=s3cret`);
    await poll(() => tab.locator('#live').getAttribute('data-state')).toBe('live');
    expect(new URL(tab.url()).hash).toBe('');
    await sendFrames(guarded.ports.gateway, guarded.credentials, notification(1, ALICE), 1000);
    await poll(() => tab.locator('#rows tr').count()).toBe(1);
    await tab.reload();
    await poll(() => tab.locator('#live').getAttribute('data-state')).toBe('live');
    await poll(() => tab.locator('#rows tr').count()).toBe(1);
  });

  it('asks for the token when it has none, then works with the one typed', async () => {
    const tab = await (await browser.newContext()).newPage();
    await tab.goto(`${guarded.controlUrl}/`);
    await poll(() => tab.locator('#live').getAttribute('data-state')).toBe('unauthorized');
    expect(await tab.locator('#token-form').isVisible()).toBe(true);
    await tab.fill('#token-input', 's3cret');
    await tab.press('#token-input', 'Enter');
    await poll(() => tab.locator('#live').getAttribute('data-state')).toBe('live');
    await poll(() => tab.locator('#rows tr').count()).toBe(1);
    expect(await tab.locator('#token-form').isVisible()).toBe(false);
  });
});

describe.skipIf(!haveChromium && !inCi)("the README's quick start, seen in the inspector", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'apns-mock-inspector-'));
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serve prints the inspector address, and the page shows what apns-mock send sent', async () => {
    // As `npm start` runs it, on free ports, in a folder of its own (state in .apns-mock/ there).
    const serve = spawn(
      process.execPath,
      [CLI, 'serve', '--port', '0', '--feedback-port', '0', '--control-port', '0', '--http2-port', '0'],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let out = '';
      let err = '';
      serve.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      await new Promise<void>((resolve, reject) => {
        serve.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (out.includes('Ctrl-C')) resolve();
        });
        serve.once('close', (code) => reject(new Error(`serve exited with ${code}: ${out}${err}`)));
      });
      const inspector = /^ {2}inspector {8}(http:\/\/127\.0\.0\.1:\d+\/) {3}\(open in a browser\)$/m.exec(out);
      expect(inspector, out).not.toBeNull();
      const gateway = /binary gateway\s+127\.0\.0\.1:(\d+)/.exec(out)![1];

      const tab = await (await browser.newContext()).newPage();
      await tab.goto(inspector![1]);
      await tab.locator('#live[data-state="live"]').waitFor();
      const sent = await runCli(['send', '--port', gateway, '--token', 'aa'.repeat(32), '--alert', 'Hello'], { cwd: dir });
      expect(sent.code, sent.stderr).toBe(0);

      // apns-mock send proves delivery with a marker notification the gateway rejects; the Hello is the accepted one.
      const row = tab.locator('#rows tr.outcome-accepted');
      await poll(() => row.count()).toBe(1);
      expect(await row.locator('.topic').textContent()).toBe('com.example.app');
      await row.click();
      await poll(() => tab.locator('#detail pre.payload').textContent()).toContain('"alert": "Hello"');
      expect(await tab.locator('#detail dd code.token').textContent()).toBe('aa'.repeat(32));
    } finally {
      serve.kill('SIGTERM');
      if (serve.exitCode === null) await once(serve, 'close');
    }
  });
});
