// Flush markers (the deliberately bad frame a sender writes so that its status-2 answer proves
// everything before it accepted) are recorded as they were, marked, and counted nowhere.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BinaryClient } from '../../../client/index.js';
import { startSimulator, writeProviderBundle, type NotificationRecord, type Simulator } from '../../../server/index.js';
import '../../../harness/vitest.js';
import { runCli } from '../../support/cli-process.js';

const TOKEN = 'a1'.repeat(32);

let sim: Simulator;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'apns-markers-'));
  sim = await startSimulator({ state: join(dir, 'state') });
  // As `apns-mock serve` does: the provider bundle under <state>/client/, for `apns-mock send`.
  await writeProviderBundle(
    join(dir, 'state', 'client'),
    sim.credentials,
    { cert: sim.credentials.ca, key: '' },
    { baseName: sim.credentials.topic },
  );
});
afterAll(async () => {
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => sim.recorder.clear());

async function controlJson(path: string): Promise<any> {
  const response = await fetch(`${sim.controlUrl}${path}`);
  expect(response.status).toBe(200);
  return response.json();
}

describe('a flush marker', () => {
  it('from a BinaryClient: recorded as it was (status 2, rejected) with marker: true, and counted apart', async () => {
    const before = sim.recorder.stats();
    const { cert, key, ca } = sim.credentials;
    const client = new BinaryClient({ host: '127.0.0.1', port: sim.ports.gateway, cert, key, ca });
    try {
      const outcomes = await Promise.all([1, 2, 3].map((n) => client.send({ token: TOKEN, payload: { aps: { alert: `n${n}` } } })));
      expect(outcomes.map((o) => o.status)).toEqual(['accepted', 'accepted', 'accepted']);
    } finally {
      await client.close();
    }
    const markers = sim.records({ marker: true });
    expect(markers.length).toBeGreaterThanOrEqual(1);
    expect(markers[0]).toMatchObject({
      outcome: 'rejected',
      status: 2,
      statusName: 'MissingDeviceToken',
      command: 1,
      marker: true,
      token: null,
    });
    expect(sim.records({ marker: false }).every((r) => r.marker === false && r.outcome === 'accepted')).toBe(true);

    const stats = sim.recorder.stats();
    expect(stats.rejected - before.rejected).toBe(0);
    expect(stats.accepted - before.accepted).toBe(3);
    expect(stats.markers - before.markers).toBe(markers.length);
    const served = await controlJson('/stats');
    expect(served.records).toMatchObject({ rejected: stats.rejected, markers: stats.markers, accepted: stats.accepted });
    expect(((await controlJson('/records?marker=false')) as NotificationRecord[]).map((r) => r.outcome)).toEqual([
      'accepted',
      'accepted',
      'accepted',
    ]);
    expect(((await controlJson('/records?marker=true')) as NotificationRecord[]).length).toBe(markers.length);
  });

  it('is left out by the matchers unless asked for', async () => {
    const { cert, key, ca } = sim.credentials;
    const client = new BinaryClient({ host: '127.0.0.1', port: sim.ports.gateway, cert, key, ca });
    try {
      await client.send({ token: TOKEN, payload: { aps: { alert: 'hi' } } });
    } finally {
      await client.close();
    }
    await sim.waitFor({ marker: true });
    expect(sim).not.toHaveRejected();
    expect(sim).not.toHaveRejected({ status: 2 });
    expect(sim).toHaveRejected({ status: 2, markers: true });
    expect(sim).toHaveReceived({ token: TOKEN, count: 1 });
    // An array of records (read back from a file) is judged the same way.
    expect(sim.records()).not.toHaveRejected();
    expect(sim.records()).toHaveRejected({ markers: true, reason: 'flush marker' });
  });

  it('`apns-mock send --count 3000` leaves 3 markers: /stats says rejected 0, `expect` sees no rejection unless asked', async () => {
    const before = sim.recorder.stats();
    const state = join(dir, 'state');
    const sent = await runCli(
      ['send', '--state', state, '--port', String(sim.ports.gateway), '--token', TOKEN, '--count', '3000', '--alert', 'x', '--json'],
      {
        timeoutMs: 60_000,
      },
    );
    expect(sent.code).toBe(0);
    await sim.waitFor({ outcome: 'accepted' }, { count: 3000 });
    const stats = (await controlJson('/stats')).records;
    expect(stats.accepted - before.accepted).toBe(3000);
    expect(stats.rejected - before.rejected).toBe(0);
    // One marker per 1000 notifications (the client's buffer), the last one proving the rest.
    expect(stats.markers - before.markers).toBe(3);

    const expectCli = (args: string[]) => runCli(['expect', '--control', sim.controlUrl!, '--timeout', '300ms', ...args]);
    expect((await expectCli(['--outcome', 'rejected'])).code).toBe(1);
    expect((await expectCli(['--status', '2'])).code).toBe(1);
    const asked = await expectCli(['--status', '2', '--include-markers', '--count', '3', '--exact']);
    expect(asked.stdout).toMatch(/^ok: 3 records match/);
    expect(asked.stdout).toContain('flush marker');
    expect(asked.code).toBe(0);
    expect((await expectCli(['--marker', '--outcome', 'rejected', '--count', '3'])).code).toBe(0);
    const failed = await expectCli(['--outcome', 'rejected']);
    // What the simulator has, as shown on a failure, leaves the markers out too.
    expect(failed.stdout).not.toContain('flush marker');
  }, 60_000);
});
