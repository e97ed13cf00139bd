import apn from '@parse/node-apn';
import { ApnsClient, Notification as Apns2Notification } from 'apns2';
import { Pool } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SigningKey } from '../../server/index.js';

// Issue 17: a burst of ten on a fresh connection, as these clients' users send it, answered as
// Apple would: seven good notifications, one to a token a rule marks invalid, one to a 16-byte
// token, one payload over 4096 bytes. Every answer is checked.

const TOPIC = 'com.example.app';
const GOOD = Array.from({ length: 7 }, (_, i) => `${(i + 1).toString(16)}a`.repeat(32));
const RULED = 'dd'.repeat(32);
const SHORT = 'cc'.repeat(16);
const BIG = 'ee'.repeat(32);
const BIG_ALERT = 'x'.repeat(4200);

let sim: Simulator;
let key: SigningKey;

beforeAll(async () => {
  sim = await startSimulator();
  key = await sim.createSigningKey('TEAM000001', 'KEY0000001');
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.recorder.clear();
  sim.rules.clear();
  sim.rules.add({ id: 'invalid', match: { token: RULED }, action: { type: 'reject', reason: 'BadDeviceToken' } });
});

/** What every client must report, by device token: Apple's answers. */
const EXPECTED: Record<string, [number, string | null]> = {
  ...Object.fromEntries(GOOD.map((t) => [t, [200, null]])),
  [RULED]: [400, 'BadDeviceToken'],
  [SHORT]: [400, 'BadDeviceToken'],
  [BIG]: [413, 'PayloadTooLarge'],
};

async function expectRecords(): Promise<void> {
  const records = await sim.waitFor({ protocol: 'http2' }, { count: 10 });
  expect(records.filter((r) => r.outcome === 'accepted')).toHaveLength(7);
  expect(
    records
      .filter((r) => r.outcome === 'rejected')
      .map((r) => r.statusName)
      .sort(),
  ).toEqual(['BadDeviceToken', 'BadDeviceToken', 'PayloadTooLarge']);
  expect(records.filter((r) => r.outcome === 'discarded')).toEqual([]);
}

describe('@parse/node-apn 8.1.0', () => {
  for (const auth of ['token', 'certificate'] as const) {
    it(`a burst of ten with ${auth} authentication: every answer Apple's`, async () => {
      const credentials =
        auth === 'token'
          ? { token: { key: key.privateKey, keyId: key.keyId, teamId: key.teamId } }
          : { cert: sim.credentials.cert, key: sim.credentials.key };
      const provider = new apn.Provider({
        ...credentials,
        address: '127.0.0.1',
        port: sim.ports.http2!,
        ca: [sim.credentials.ca],
        production: false,
      });
      try {
        const note = (alert: string) => Object.assign(new apn.Notification(), { alert, topic: TOPIC, pushType: 'alert' });
        const [many, big] = await Promise.all([provider.send(note('burst'), [...GOOD, RULED, SHORT]), provider.send(note(BIG_ALERT), BIG)]);
        const answers: Record<string, [number, string | null]> = {};
        for (const result of [many, big]) {
          for (const s of result.sent) answers[s.device] = [200, null];
          for (const f of result.failed) answers[f.device] = [Number(f.status ?? 0), f.response?.reason ?? String(f.error?.message)];
        }
        expect(answers).toEqual(EXPECTED);
        await expectRecords();
      } finally {
        await new Promise<void>((resolve) => provider.shutdown(() => resolve()));
      }
    });
  }
});

describe('apns2 12.2.0', () => {
  it("a burst of ten with token authentication: every answer Apple's", async () => {
    const client = new ApnsClient({
      team: key.teamId,
      keyId: key.keyId,
      signingKey: key.privateKey,
      defaultTopic: TOPIC,
      host: '127.0.0.1',
    });
    // apns2 dials port 443 of its host through an undici Pool, with no port or CA option: a user
    // points it elsewhere by giving it a Pool of their own, with apns2's settings.
    await client.client.close();
    Object.assign(client, {
      client: new Pool(sim.http2Url!, {
        connections: 32,
        pipelining: 1,
        allowH2: true,
        maxConcurrentStreams: 100,
        connect: { ca: sim.credentials.ca },
      }),
    });
    try {
      const notes = [...GOOD, RULED, SHORT].map((t) => new Apns2Notification(t, { alert: 'burst' }));
      notes.push(new Apns2Notification(BIG, { alert: BIG_ALERT }));
      const results = await client.sendMany(notes);
      const answers = Object.fromEntries(
        results.map((r, i) => {
          const device = notes[i].deviceToken;
          if (!('error' in r)) return [device, [200, null]];
          const error = r.error as { statusCode?: number; reason?: string; message?: string };
          return [device, [Number(error.statusCode ?? 0), error.reason ?? String(error.message)]];
        }),
      );
      expect(answers).toEqual(EXPECTED);
      await expectRecords();
    } finally {
      await client.close();
    }
  });
});
