// `apns-mock decode --http2`: a request (or a record pasted back) explained check by check in
// Apple's order, agreeing with what the simulator answered over a real HTTP/2 connection.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { explainHttp2Request, http2RequestFromJson, type Http2Explanation } from '../../protocol/http2/explain.js';
import { startSimulator, type NotificationRecord, type Simulator } from '../../server/index.js';
import { runCli } from '../support/cli-process.js';
import { ALERT, OTHER_TOKEN, TOKEN, close, open, send, type Send } from '../server/http2/support.js';

let sim: Simulator;
let session: ClientHttp2Session;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'apns-decode-http2-'));
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
  sim.devices.clear();
});

/** Sends the request over HTTP/2 and gives back the simulator's record of it. */
async function recorded(request: Send): Promise<NotificationRecord> {
  await send(session, request);
  const [record] = await sim.waitFor();
  return record;
}

const decode = (record: unknown, args: string[] = []) => runCli(['decode', '--http2', '-', ...args], { input: JSON.stringify(record) });
const failedStep = (e: Http2Explanation) => e.checks.find((c) => c.outcome === 'failed');

describe('decode --http2 on records the simulator made', () => {
  const requests: [string, Send, number | null][] = [
    [
      'BadPriority (background at 10)',
      { headers: { 'apns-push-type': 'background', 'apns-priority': '10' }, body: { aps: { 'content-available': 1 } } },
      7,
    ],
    ['BadTopic (a topic the certificate does not allow)', { headers: { 'apns-topic': 'com.other.app' }, body: ALERT }, 6],
    ['BadDeviceToken (not hex)', { path: '/3/device/not-hex', body: ALERT }, 10],
    ['PayloadEmpty', { headers: { 'apns-topic': 'com.example.app' } }, 11],
    ['BadMessageId', { headers: { 'apns-id': 'not-a-uuid' }, body: ALERT }, 3],
    ['accepted', { headers: { 'apns-topic': 'com.example.app' }, body: ALERT }, null],
  ];
  for (const [name, request, step] of requests) {
    it(`${name}: the same answer as the simulator's, at step ${step ?? '-'}`, async () => {
      const record = await recorded(request);
      const explanation = explainHttp2Request(http2RequestFromJson(record));
      expect(explanation.status).toBe(record.http2!.status);
      expect(explanation.reason).toBe(record.http2!.reason);
      expect(failedStep(explanation)?.step ?? null).toBe(step);
      const result = await decode(record);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(step === null ? 0 : 1);
      const last = result.stdout.trimEnd().split('\n').at(-1)!;
      expect(last).toBe(
        step === null
          ? `ACCEPTED 200: ${explanation.words}`
          : `REJECTED ${record.http2!.status} ${record.http2!.reason}: ${explanation.words}`,
      );
    });
  }

  it('a rejection by the device registry is placed at step 12 with the record’s words', async () => {
    sim.devices.register(OTHER_TOKEN, { topic: 'com.other.app' });
    const record = await recorded({ path: `/3/device/${OTHER_TOKEN}`, body: ALERT });
    expect(record.http2!.reason).toBe('DeviceTokenNotForTopic');
    const explanation = explainHttp2Request(http2RequestFromJson(record));
    expect(failedStep(explanation)).toMatchObject({
      step: 12,
      name: 'devices',
      failure: { reason: 'DeviceTokenNotForTopic', status: 400 },
    });
    expect(failedStep(explanation)!.failure!.words).toBe(record.reason!.replace('DeviceTokenNotForTopic: ', ''));
  });

  it('lists every check in order, the failed one marked ✗ with why, the rest not reached', async () => {
    const record = await recorded({ headers: { 'apns-topic': 'com.other.app' }, body: ALERT });
    const { stdout } = await decode(record);
    const lines = stdout.split('\n');
    const steps = lines.filter((l) => /^ {2}\S +\d+ {2}/.test(l)).map((l) => Number(l.trim().split(/\s+/)[1]));
    expect(steps).toEqual([1, 2, 3, 4, 5, 5, 6, 7, 8, 9, 10, 11, 11, 12, 13]);
    const failed = lines.findIndex((l) => l.startsWith('  ✗'));
    expect(lines[failed]).toMatch(/✗ +6 +apns-topic +com\.other\.app$/);
    expect(lines[failed + 1].trim()).toMatch(
      /^\^ 400 BadTopic: the certificate does not allow topic com\.other\.app; it allows com\.example\.app/,
    );
    expect(lines[failed + 2].trim()).toBe(
      'wanted: present when needed, allowed by the certificate or key, its suffix fitting the push type',
    );
    expect(lines.filter((l) => /^ {2}· /.test(l))).toHaveLength(6);
  });

  it('takes the request shape from a file, and --json', async () => {
    const file = join(dir, 'request.json');
    await writeFile(file, JSON.stringify({ method: 'POST', path: `/3/device/${TOKEN}`, headers: { 'apns-priority': '7' }, body: ALERT }));
    const result = await runCli(['decode', '--http2', file, '--json']);
    expect(result.code).toBe(1);
    const explanation = JSON.parse(result.stdout) as Http2Explanation;
    expect(explanation).toMatchObject({ outcome: 'rejected', status: 400, reason: 'BadPriority' });
    expect(failedStep(explanation)).toMatchObject({ step: 7, name: 'apns-priority', found: '"7"' });
  });

  it('refuses input that is not a request (exit 2)', async () => {
    const notJson = await runCli(['decode', '--http2', '-'], { input: 'hello' });
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/^apns-mock: --http2 -: not JSON/);
    const noPath = await runCli(['decode', '--http2', '-'], { input: '{"method":"POST"}' });
    expect(noPath.code).toBe(2);
    expect(noPath.stderr).toMatch(/^apns-mock: --http2 -: the request has no "path"/);
    const both = await runCli(['decode', '--http2', '-', '--strict'], { input: '{}' });
    expect(both.code).toBe(2);
  });
});
