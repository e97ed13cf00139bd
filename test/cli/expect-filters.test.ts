// `apns-mock expect` as a pipeline gate: payload warnings fail it when asked (an HTTP/2 payload
// that is not JSON is answered 200, but its record carries the warning), the alert and reason
// filters, the JUnit file, and the matchers' `warnings` option on the same records.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeNotification } from '../../protocol/binary/index.js';
import { startSimulator, type Simulator } from '../../server/index.js';
import '../../harness/vitest.js';
import { runCli } from '../support/cli-process.js';
import { sendFrames } from '../support/provider-socket.js';
import { TOKEN, close, open, send } from '../server/http2/support.js';

const OTHER = 'bb'.repeat(32);

let sim: Simulator;
let session: ClientHttp2Session;
let dir: string;
const expectCli = (args: string[]) =>
  runCli(['expect', '--control', sim.controlUrl!, ...(args.includes('--timeout') ? [] : ['--timeout', '1s']), ...args]);
const frame = (identifier: number, alert: string, token = TOKEN) =>
  encodeNotification({ token, payload: { aps: { alert } }, identifier }, 2);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'apns-expect-'));
  sim = await startSimulator();
  session = await open(sim, { cert: sim.credentials });
});
afterAll(async () => {
  await close(session);
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  sim.recorder.clear();
  sim.rules.clear();
});

describe('payload warnings', () => {
  it('an HTTP/2 payload that is not JSON: answered 200, its record carries the warning', async () => {
    const reply = await send(session, { headers: { 'apns-topic': 'com.example.app' }, body: 'hello, not JSON' });
    expect(reply.status).toBe(200);
    const [record] = await sim.waitFor();
    expect(record).toMatchObject({ protocol: 'http2', outcome: 'accepted', payloadJson: null });
    expect(record.warnings.map((w) => w.code)).toEqual(['payload-not-json']);
    expect(sim.records({ warned: true })).toHaveLength(1);
  });

  it('expect --no-warnings fails on it (exit 1), names the warning, and writes the JUnit checks', async () => {
    await send(session, { headers: { 'apns-topic': 'com.example.app' }, body: 'hello, not JSON' });
    await sim.waitFor();
    expect((await expectCli([])).code).toBe(0);
    const junit = join(dir, 'expect.xml');
    const gated = await expectCli(['--no-warnings', '--junit', junit]);
    expect(gated.code).toBe(1);
    expect(gated.stdout.split('\n')[0]).toBe(
      'not clean: 1 of 1 matched record(s) carry payload warnings (--no-warnings; wanted at least 1 accepted record(s)):',
    );
    expect(gated.stdout).toContain('payload is not valid JSON');
    const xml = await readFile(junit, 'utf8');
    expect(xml).toContain('name="at least 1 accepted record(s)"');
    expect(xml).toContain('name="no payload warnings on the 1 matched record(s)"');
    expect(xml).toMatch(/<failure message="1 of 1 matched record\(s\) carry payload warnings"/);
    const json = JSON.parse((await expectCli(['--no-warnings', '--json'])).stdout);
    expect(json).toMatchObject({ ok: false, warned: [{ protocol: 'http2' }] });
  });

  it('clean records pass --no-warnings; a failed wait still writes its JUnit check', async () => {
    await sendFrames(sim.ports.gateway, sim.credentials, frame(1, 'clean'), 100);
    await sim.waitFor();
    const junit = join(dir, 'clean.xml');
    expect((await expectCli(['--no-warnings', '--junit', junit])).code).toBe(0);
    expect(await readFile(junit, 'utf8')).not.toContain('<failure');
    const missed = await expectCli(['--count', '2', '--timeout', '200ms', '--junit', junit]);
    expect(missed.code).toBe(1);
    expect(await readFile(junit, 'utf8')).toContain('<failure message="matched 1 of 2 within 0.2s"');
  });

  it('the matchers: warnings: false fails on a warned record, warnings: true asks for one', async () => {
    await send(session, { headers: { 'apns-topic': 'com.example.app' }, body: 'hello, not JSON' });
    await sim.waitFor();
    expect(sim).toHaveReceived({ protocol: 'http2' });
    expect(sim).toHaveReceived({ warnings: true });
    let message = '';
    try {
      expect(sim).toHaveReceived({ protocol: 'http2', warnings: false });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(
      'toHaveReceived: expected the simulator to have received a notification with protocol http2, no payload warnings,',
    );
    expect(message).toContain('but 1 of the 1 matching record(s) carry payload warnings:');
    expect(message).toContain('payload is not valid JSON');
  });
});

describe('--alert and --reason', () => {
  it('take a substring or a /regex/, and show in the reason column', async () => {
    sim.rules.add({ match: { token: OTHER }, action: { type: 'reject', status: 8 } });
    await sendFrames(sim.ports.gateway, sim.credentials, [frame(1, 'Hello world'), frame(2, 'Bye', OTHER)], 200);
    await sim.waitFor({}, { count: 2 });
    expect((await expectCli(['--alert', 'world'])).code).toBe(0);
    expect((await expectCli(['--alert', '/^hello/i'])).code).toBe(0);
    expect((await expectCli(['--alert', 'World', '--timeout', '200ms'])).code).toBe(1);
    const rejected = await expectCli(['--outcome', 'rejected', '--reason', '/InvalidToken|BadDeviceToken/', '--alert', 'Bye']);
    expect(rejected.code).toBe(0);
    expect(rejected.stdout.split('\n')[0]).toBe(
      'ok: 1 record matches (wanted at least 1 rejected record(s) with alert "Bye", reason /InvalidToken|BadDeviceToken/):',
    );
    const [header, row] = rejected.stdout.split('\n').slice(1);
    expect(header).toMatch(/ alert +reason$/);
    expect(row).toMatch(/"Bye" +InvalidToken/);
  });

  it('refuses a bad /regex/ and a --timeout the control API would refuse (exit 2)', async () => {
    const bad = await runCli(['expect', '--reason', '/(/']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')[0]).toMatch(/^apns-mock: --reason is not a valid \/regex\/: /);
    const long = await runCli(['expect', '--timeout', '11m']);
    expect(long.code).toBe(2);
    expect(long.stderr.split('\n')[0]).toBe('apns-mock: --timeout must be at most 10m: the control API waits no longer; got 11m');
  });
});
