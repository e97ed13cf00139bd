import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNotification } from '../../protocol/binary/index.js';
import { createCertificateAuthority, createProviderCertificate, startSimulator, type Simulator } from '../../server/index.js';
import { enhancedFrame } from '../support/bytes.js';
import { sendFrames } from '../support/provider-socket.js';
import { close as closeHttp2, open as openHttp2, send as sendHttp2 } from '../server/http2/support.js';
import { attempt } from '../reliability/support.js';

// Debian's chromium package; never a browser downloaded by a test tool.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 10_000 });
const SCREENSHOT = process.env.INSPECTOR_SCREENSHOT ?? 'test-output/inspector-1280.png';

const TOKEN = 'a1'.repeat(32);
const LONG_ALERT = 'Your order #4711 has shipped and will arrive on Thursday';

let sim: Simulator;
let browser: Browser;
let page: Page;

describe.skipIf(!haveChromium && !process.env.CI)(
  'the inspector at 1280 px: totals, markers, warnings, HTTP/2 words, refused connections',
  () => {
    beforeAll(async () => {
      sim = await startSimulator({ strictDevices: false });
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
      page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
      await page.goto(sim.controlUrl!);
      await page.locator('#live[data-state="live"]').waitFor();
    });
    afterAll(async () => {
      await browser?.close();
      await sim?.close();
    });

    it("counts the simulator's totals, flush markers apart and muted, and marks warned records", async () => {
      const frames = [
        encodeNotification({ token: TOKEN, payload: { aps: { alert: LONG_ALERT } }, identifier: 1 }, 2),
        encodeNotification({ token: TOKEN, payload: '{"aps":{}} trailing', identifier: 2 }, 2),
        // `apns-mock send`'s flush marker: command 1, no token, no payload.
        enhancedFrame(3, 0, Buffer.alloc(0), Buffer.alloc(0)),
      ];
      await sendFrames(sim.ports.gateway, sim.credentials, frames, 800);
      await poll(() => page.locator('#rows tr').count()).toBe(3);
      const stats = sim.recorder.stats();
      expect(stats.markers).toBe(1);
      await poll(() => page.locator('[data-outcome="accepted"] .counter-count').textContent()).toBe(String(stats.accepted));
      expect(await page.locator('[data-outcome="rejected"] .counter-count').textContent()).toBe('0');
      expect(await page.locator('[data-outcome="marker"] .counter-count').textContent()).toBe('1');

      const marker = page.locator('#rows tr.marker');
      expect(await marker.locator('.chip').textContent()).toBe('marker');
      expect(
        Number(
          await marker
            .locator('td')
            .first()
            .evaluate((td) => getComputedStyle(td).opacity),
        ),
      ).toBeLessThan(1);

      expect(await page.locator('#rows tr.warned').count()).toBe(1);
      expect(await page.locator('#warned-count').textContent()).toBe('1');
      await page.selectOption('#filter-warnings', 'warned');
      await poll(() => page.locator('#rows tr').count()).toBe(1);
      await page.selectOption('#filter-warnings', 'clean');
      await poll(() => page.locator('#rows tr').count()).toBe(2);
      await page.selectOption('#filter-warnings', '');

      // Totals follow the simulator, not the page: more records than the page holds still count.
      await sendFrames(
        sim.ports.gateway,
        sim.credentials,
        [encodeNotification({ token: TOKEN, payload: { aps: {} }, identifier: 9 }, 2)],
        300,
      );
      await poll(() => page.locator('[data-outcome="accepted"] .counter-count').textContent()).toBe(String(sim.recorder.stats().accepted));
    });

    it('shows the alert, and the whole reason at 1280 px', async () => {
      expect(await page.locator('#rows tr td.alert').allTextContents()).toContain(LONG_ALERT);
      await page.locator('#rows tr.marker').click();
      const reason = page.locator('#rows tr.marker td.reason');
      const text = (await reason.textContent())!;
      expect(text.length).toBeGreaterThan(40);
      const box = await reason.evaluate((td) => ({ width: td.getBoundingClientRect().width, cut: td.scrollWidth > td.clientWidth }));
      expect(box.cut).toBe(false);
      expect(box.width).toBeGreaterThan(180);
      expect(await page.locator('#detail-title').textContent()).toContain('flush marker');
    });

    it('uses HTTP/2 words for an HTTP/2 record: method, path, :status, reason', async () => {
      const session = await openHttp2(sim, { cert: sim.credentials });
      try {
        const bad = await sendHttp2(session, {
          path: '/3/device/1234',
          headers: { 'apns-topic': sim.credentials.topic, 'apns-push-type': 'alert' },
          body: { aps: { alert: 'x' } },
        });
        expect(bad.status).toBe(400);
      } finally {
        await closeHttp2(session);
      }
      const record = sim.records().find((r) => r.protocol === 'http2')!;
      await page.locator(`#rows tr[data-seq="${record.seq}"]`).click();
      await poll(() => page.locator('#detail-title').textContent()).toBe(
        `#${record.seq} rejected :status 400, reason ${record.http2!.reason}`,
      );
      const fact = (term: string) =>
        page.locator('#detail dl.facts .fact', { has: page.locator('dt', { hasText: new RegExp(`^${term}$`) }) }).locator('dd');
      expect(await fact('Method').textContent()).toBe('POST');
      expect(await fact('Path').textContent()).toBe('/3/device/1234');
      expect(await fact(':status').textContent()).toBe('400');
      expect(await fact('Reason').textContent()).toBe(record.http2!.reason);
      expect(await page.locator('#detail dl.facts dt', { hasText: /^Identifier$/ }).count()).toBe(0);
    });

    it('lists refused connections with their reason, live', async () => {
      const otherCa = await createCertificateAuthority({ keyType: 'ec' });
      const stranger = await createProviderCertificate(otherCa, { topic: 'com.example.app', keyType: 'ec' });
      await attempt(sim.ports.gateway, { ...stranger, ca: sim.credentials.ca });
      await poll(() => page.locator('#refused-rows tr').count()).toBe(1);
      expect(await page.locator('#refused-count').textContent()).toBe('1');
      const row = page.locator('#refused-rows tr').first();
      expect(await row.locator('.chip').textContent()).toBe('unknown-ca');
      expect(await row.locator('td.reason').textContent()).toContain('not by the CA the simulator trusts');

      await page.locator('#rows tr').first().click();
      await page.screenshot({ path: SCREENSHOT });
    });
  },
);
