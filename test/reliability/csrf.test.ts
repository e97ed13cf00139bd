// A web page the developer happens to open must not drive the simulator's control API: not by
// simple cross-site requests (text/plain fetches, form posts), and not by DNS rebinding (its
// own name re-pointed at 127.0.0.1, so its requests are same-origin but carry its Host).
import { existsSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Simulator } from '../../server/index.js';
import { useSimulator } from '../support/simulator.js';

// Debian's chromium package; never a browser downloaded by a test tool.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const inCi = Boolean(process.env.CI);

const TOKEN = 'ab'.repeat(32);
const RULE = { id: 'csrf', match: { token: TOKEN }, action: { type: 'reject', status: 8 } };

let sim: Simulator;

/** What the simulator holds that an attack would change. */
const state = () => ({ rules: sim.rules.size, devices: sim.devices.devices().length, feedback: sim.devices.pendingFeedback().length });
const untouched = { rules: 0, devices: 0, feedback: 0 };

/** A raw request with the headers given as they are (fetch would set Host and Origin itself). */
function rawRequest(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: sim.ports.control!, method, path, headers, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, json: text === '' ? null : JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

useSimulator({ http2Port: false }, (started) => (sim = started));
beforeEach(() => {
  sim.rules.clear();
  sim.devices.clear();
});

describe('the control API checks Host, Origin and Content-Type', () => {
  const own = () => `127.0.0.1:${sim.ports.control}`;

  it('a foreign Host (DNS rebinding) is 403 for reads and writes, with a readable JSON error', async () => {
    for (const [method, path] of [
      ['GET', '/records'],
      ['GET', '/stats'],
      ['GET', '/'],
      ['DELETE', '/rules'],
    ] as const) {
      const reply = await rawRequest(method, path, { host: `evil.example:${sim.ports.control}` });
      expect({ method, path, status: reply.status, code: reply.json.code }).toEqual({
        method,
        path,
        status: 403,
        code: 'ERR_APNS_CONTROL_FORBIDDEN_HOST',
      });
      expect(reply.json.error).toMatch(/answers only requests addressed to it/);
    }
    sim.rules.add(RULE);
    expect((await rawRequest('DELETE', '/rules', { host: `evil.example:${sim.ports.control}` })).status).toBe(403);
    expect(sim.rules.size).toBe(1);
    // The same port with another name, another port with this name, no Host at all.
    for (const host of [`evil.example`, `127.0.0.1:${sim.ports.control! + 1}`, `localhost.evil.example:${sim.ports.control}`]) {
      expect((await rawRequest('GET', '/health', { host })).status).toBe(403);
    }
  });

  it('its own address and localhost on its port are taken', async () => {
    for (const host of [own(), `localhost:${sim.ports.control}`, `LOCALHOST:${sim.ports.control}`]) {
      expect((await rawRequest('GET', '/health', { host })).status).toBe(200);
    }
  });

  it('a foreign Origin is 403, even for a read; its own Origin is fine', async () => {
    const foreign = await rawRequest('GET', '/records', { host: own(), origin: 'http://evil.example' });
    expect(foreign).toMatchObject({ status: 403, json: { code: 'ERR_APNS_CONTROL_FORBIDDEN_ORIGIN' } });
    expect((await rawRequest('GET', '/records', { host: own(), origin: 'null' })).status).toBe(403);
    expect((await rawRequest('GET', '/records', { host: own(), origin: `http://127.0.0.1:${sim.ports.control! + 1}` })).status).toBe(403);
    expect((await rawRequest('GET', '/records', { host: own(), origin: `http://${own()}` })).status).toBe(200);
    expect((await rawRequest('GET', '/records', { host: own(), origin: `http://localhost:${sim.ports.control}` })).status).toBe(200);
  });

  for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    it(`a changing request with Content-Type ${type} is 415 and changes nothing`, async () => {
      const reply = await rawRequest('POST', '/rules', { host: own(), 'content-type': type }, JSON.stringify(RULE));
      expect(reply).toMatchObject({ status: 415, json: { code: 'ERR_APNS_CONTROL_CONTENT_TYPE' } });
      expect(reply.json.error).toMatch(/POST needs "Content-Type: application\/json"/);
      const uninstall = await rawRequest('POST', '/uninstall', { host: own(), 'content-type': type }, JSON.stringify({ token: TOKEN }));
      expect(uninstall.status).toBe(415);
      expect(state()).toEqual(untouched);
    });
  }

  it('a body without a Content-Type is 415; a bodiless POST or DELETE without one is taken (curl -X DELETE)', async () => {
    expect(
      (await rawRequest('POST', '/rules', { host: own(), 'content-length': String(JSON.stringify(RULE).length) }, JSON.stringify(RULE)))
        .status,
    ).toBe(415);
    sim.rules.add(RULE);
    expect((await rawRequest('DELETE', '/rules', { host: own() })).status).toBe(200);
    expect(sim.rules.size).toBe(0);
    expect(
      (await rawRequest('POST', '/rules', { host: own(), 'content-type': 'application/json; charset=utf-8' }, JSON.stringify(RULE))).status,
    ).toBe(201);
  });

  it('controlAllowedHosts adds names the API answers to', async () => {
    const { ControlApi } = await import('../../server/control/index.js');
    const api = new ControlApi({
      port: 0,
      recorder: sim.recorder,
      rules: sim.rules,
      registry: sim.devices,
      gateway: sim.gateway,
      controlAllowedHosts: ['apns-mock.test', 'proxy.test:8443'],
    });
    const { port } = await api.listen();
    try {
      const at = (host: string) =>
        new Promise<number>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path: '/health', headers: { host }, agent: false }, (r) => {
            r.resume();
            resolve(r.statusCode!);
          });
          req.on('error', reject).end();
        });
      expect(await at(`apns-mock.test:${port}`)).toBe(200);
      expect(await at('apns-mock.test')).toBe(200);
      expect(await at('proxy.test:8443')).toBe(200);
      expect(await at(`proxy.test:${port}`)).toBe(403);
      expect(await at(`evil.example:${port}`)).toBe(403);
    } finally {
      await api.close();
    }
  });
});

describe.skipIf(!haveChromium && !inCi)('from a real page in Chromium', () => {
  let browser: Browser;
  let attacker: Server;
  let attackerOrigin: string;
  /** Statuses the control API answered the browser with, by method and path. */
  let answered: string[];

  beforeAll(async () => {
    // A site on another origin (another port): a page a developer could have open.
    attacker = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>a page</title><iframe name="sink"></iframe>');
    });
    attacker.listen(0, '127.0.0.1');
    await new Promise((resolve) => attacker.once('listening', resolve));
    attackerOrigin = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // evil.example resolves to 127.0.0.1 in this browser: a rebinding attack after the re-pointing.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--host-resolver-rules=MAP evil.example 127.0.0.1',
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => attacker?.close(resolve));
  });

  async function openPage(url: string): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    answered = [];
    page.on('response', (response) => {
      const url = new URL(response.url());
      if (url.port === String(sim.ports.control)) answered.push(`${response.request().method()} ${url.pathname} ${response.status()}`);
    });
    await page.goto(url);
    return page;
  }

  it('text/plain fetches and a form post from another origin reach the API, are refused, and change nothing', async () => {
    const page = await openPage(attackerOrigin);
    const control = sim.controlUrl!;
    await page.evaluate(
      async ({ control, rule, token }) => {
        const simple = (path: string, body: unknown) =>
          fetch(`${control}${path}`, {
            method: 'POST',
            mode: 'no-cors',
            headers: { 'content-type': 'text/plain' },
            body: JSON.stringify(body),
          });
        await simple('/rules', rule);
        await simple('/uninstall', { token });
        await simple('/devices', { token });
        await fetch(`${control}/connections/shutdown`, { method: 'POST', mode: 'no-cors' });
        // A form whose text/plain body is JSON: {"token":"<hex>","x":"="}
        const form = document.createElement('form');
        form.method = 'POST';
        form.action = `${control}/uninstall`;
        form.enctype = 'text/plain';
        form.target = 'sink';
        const input = document.createElement('input');
        input.name = `{"token":"${token}","x":"`;
        input.value = '"}';
        form.append(input);
        document.body.append(form);
        form.submit();
      },
      { control, rule: RULE, token: TOKEN },
    );
    await expect.poll(() => answered.length, { timeout: 10_000 }).toBe(5);
    expect(answered.sort()).toEqual(
      ['POST /connections/shutdown 403', 'POST /devices 403', 'POST /rules 403', 'POST /uninstall 403', 'POST /uninstall 403'].sort(),
    );
    expect(state()).toEqual(untouched);
  });

  it('a JSON request from another origin needs a preflight, which is not granted: it is never sent', async () => {
    const page = await openPage(attackerOrigin);
    const outcome = await page.evaluate(async (control) => {
      try {
        await fetch(`${control}/rules`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        return 'sent';
      } catch {
        return 'blocked';
      }
    }, sim.controlUrl!);
    expect(outcome).toBe('blocked');
    expect(answered.filter((a) => a.startsWith('POST'))).toEqual([]);
    expect(state()).toEqual(untouched);
  });

  it('after DNS rebinding, the page (same-origin with the API under its own name) can neither read records nor delete rules', async () => {
    sim.rules.add(RULE);
    sim.devices.register(TOKEN);
    const page = await openPage(`http://evil.example:${sim.ports.control}/`);
    const seen = await page.evaluate(async () => {
      const read = await fetch('/records');
      const devices = await fetch('/devices');
      const removed = await fetch('/rules', { method: 'DELETE', headers: { 'content-type': 'application/json' } });
      return { read: read.status, devices: devices.status, body: await devices.text(), removed: removed.status };
    });
    expect(seen).toMatchObject({ read: 403, devices: 403, removed: 403 });
    expect(seen.body).not.toContain(TOKEN);
    expect(JSON.parse(seen.body)).toMatchObject({ code: 'ERR_APNS_CONTROL_FORBIDDEN_HOST' });
    expect(state()).toEqual({ rules: 1, devices: 1, feedback: 0 });
  });

  it("the inspector's own page, on its own origin, still changes things", async () => {
    const page = await openPage(`${sim.controlUrl}/`);
    const statuses = await page.evaluate(async (rule) => {
      const json = { 'content-type': 'application/json' };
      const added = await fetch('rules', { method: 'POST', headers: json, body: JSON.stringify(rule) });
      const cleared = await fetch('records', { method: 'DELETE', headers: json });
      return [added.status, cleared.status];
    }, RULE);
    expect(statuses).toEqual([201, 200]);
    expect(sim.rules.size).toBe(1);
  });
});
