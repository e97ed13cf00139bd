import apn from '@parse/node-apn';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SigningKey } from '../../server/index.js';

// @parse/node-apn 8 (the maintained node-apn) sends through the simulator's HTTP/2 API as it
// would to Apple: `address` and `port` point it at the simulator (an address other than
// Apple's production host selects the sandbox, as node-apn decides), `ca` makes it trust the
// simulator's CA; certificate checks stay on (rejectUnauthorized true).
//
// With token authentication Apple allows one stream until a token was accepted, and so does
// the simulator. node-apn opens its first requests before the server's SETTINGS arrive: the
// simulator holds those beyond the first and answers them once the token is accepted (see
// bursts.test.ts; Apple's documented limit, with a warning on their records). The tests below
// also warm a token connection with one notification, as careful senders do.

const TOKEN = 'aa'.repeat(32);
const UNINSTALLED = 'bb'.repeat(32);
const SHORT = 'cc'.repeat(16);
const TOPIC = 'com.example.app';

let sim: Simulator;
let key: SigningKey;
let provider: apn.Provider | null = null;

function tokenProvider(): apn.Provider {
  return new apn.Provider({
    token: { key: key.privateKey, keyId: key.keyId, teamId: key.teamId },
    address: '127.0.0.1',
    port: sim.ports.http2!,
    ca: [sim.credentials.ca],
    production: false,
  });
}

function certificateProvider(): apn.Provider {
  return new apn.Provider({
    cert: sim.credentials.cert,
    key: sim.credentials.key,
    address: '127.0.0.1',
    port: sim.ports.http2!,
    ca: [sim.credentials.ca],
    production: false,
  });
}

/** One notification alone, so the token connection is authenticated before a burst. */
async function warm(p: apn.Provider): Promise<void> {
  const result = await p.send(notification('warm-up'), TOKEN);
  expect(result.failed).toEqual([]);
  sim.recorder.clear();
}

function notification(alert: string): apn.Notification {
  const note = new apn.Notification();
  note.alert = alert;
  note.topic = TOPIC;
  note.pushType = 'alert';
  return note;
}

beforeAll(async () => {
  sim = await startSimulator();
  key = await sim.createSigningKey('TEAM000001', 'KEY0000001');
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.recorder.clear();
  sim.devices.clear();
  sim.devices.uninstall(UNINSTALLED, { topic: TOPIC, timestamp: 1_700_000_000 });
});
afterEach(async () => {
  await new Promise<void>((resolve) => (provider === null ? resolve() : provider.shutdown(() => resolve())));
  provider = null;
});

for (const [auth, make] of [
  ['token', tokenProvider],
  ['certificate', certificateProvider],
] as const) {
  describe(`with ${auth} authentication`, () => {
    it('sends notifications the simulator accepts and records', async () => {
      provider = make();
      if (auth === 'token') await warm(provider);
      const result = await provider.send(notification('hello from node-apn'), [TOKEN, TOKEN]);
      expect(result.failed).toEqual([]);
      expect(result.sent.map((s) => s.device)).toEqual([TOKEN, TOKEN]);
      const records = await sim.waitFor({ protocol: 'http2', outcome: 'accepted' }, { count: 2 });
      for (const record of records) {
        expect(record).toMatchObject({
          token: TOKEN,
          topic: TOPIC,
          environment: 'development',
          payloadJson: { aps: { alert: 'hello from node-apn' } },
        });
        expect(record.http2).toMatchObject({ auth, pushType: 'alert', status: 200, keyId: auth === 'token' ? 'KEY0000001' : null });
      }
      // node-apn hands back the apns-unique-id of the development environment.
      expect(result.sent.map((s) => (s as unknown as Record<string, unknown>)['apns-unique-id'])).toEqual(
        records.map((r) => r.http2!.apnsUniqueId),
      );
    });

    it('reports BadDeviceToken and Unregistered (with its timestamp) as Apple would make it', async () => {
      provider = make();
      if (auth === 'token') await warm(provider);
      const result = await provider.send(notification('to three devices'), [TOKEN, SHORT, UNINSTALLED]);
      expect(result.sent.map((s) => s.device)).toEqual([TOKEN]);
      const failed = Object.fromEntries(result.failed.map((f) => [f.device, { status: Number(f.status), response: f.response }]));
      expect(failed).toEqual({
        [SHORT]: { status: 400, response: { reason: 'BadDeviceToken' } },
        [UNINSTALLED]: { status: 410, response: { reason: 'Unregistered', timestamp: 1_700_000_000_000 } },
      });
      const rejected = await sim.waitFor({ protocol: 'http2', outcome: 'rejected' }, { count: 2 });
      expect(rejected.map((r) => r.statusName).sort()).toEqual(['BadDeviceToken', 'Unregistered']);
    });
  });
}

describe("node-apn and the server's limits", () => {
  it('a burst on a fresh token connection: the streams beyond the first are held, then answered, with a warning on their records', async () => {
    provider = tokenProvider();
    const result = await provider.send(notification('burst'), [TOKEN, TOKEN, TOKEN, TOKEN, TOKEN]);
    expect(result.failed).toEqual([]);
    expect(result.sent).toHaveLength(5);
    const records = await sim.waitFor({ protocol: 'http2', outcome: 'accepted' }, { count: 5 });
    expect(records.filter((r) => r.warnings.some((w) => w.code === 'stream-held-until-token'))).toHaveLength(4);
  });

  it('after one accepted notification, sends many at once', async () => {
    provider = tokenProvider();
    await warm(provider);
    const devices = Array.from({ length: 40 }, (_, i) => i.toString(16).padStart(2, '0').repeat(32));
    const result = await provider.send(notification('many'), devices);
    expect(result.failed).toEqual([]);
    expect(result.sent).toHaveLength(40);
    expect(sim.records({ protocol: 'http2', outcome: 'accepted' })).toHaveLength(40);
  });

  it('a key the simulator does not know: InvalidProviderToken, reported as a 403', async () => {
    const { generateSigningKeyPair } = await import('../../server/index.js');
    provider = new apn.Provider({
      token: { key: generateSigningKeyPair().privateKey, keyId: 'KEYUNKNOWN', teamId: 'TEAM000001' },
      address: '127.0.0.1',
      port: sim.ports.http2!,
      ca: [sim.credentials.ca],
    });
    const result = await provider.send(notification('nobody knows me'), TOKEN);
    expect(result.sent).toEqual([]);
    expect(result.failed.map((f) => [Number(f.status), f.response?.reason])).toEqual([[403, 'InvalidProviderToken']]);
  });
});

describe('broadcast channels through node-apn', () => {
  it('creates a channel, broadcasts to it, and deletes it', async () => {
    provider = new apn.Provider({
      token: { key: key.privateKey, keyId: key.keyId, teamId: key.teamId },
      address: '127.0.0.1',
      port: sim.ports.http2!,
      manageChannelsAddress: '127.0.0.1',
      manageChannelsPort: sim.ports.http2!,
      ca: [sim.credentials.ca],
    });
    const create = new apn.Notification();
    create.payload = { 'message-storage-policy': 1 };
    const created = await provider.manageChannels(create, TOPIC, 'create');
    expect(created.failed).toEqual([]);
    const channelId = String((created.sent[0] as unknown as Record<string, unknown>)['apns-channel-id']);
    expect(Buffer.from(channelId, 'base64')).toHaveLength(16);

    const live = new apn.Notification();
    live.channelId = channelId;
    live.pushType = 'liveactivity';
    live.aps = { event: 'update', 'content-state': { score: 2 }, timestamp: 1 };
    const sent = await provider.broadcast(live, TOPIC);
    expect(sent.failed).toEqual([]);
    const [record] = await sim.waitFor({ protocol: 'http2', outcome: 'accepted' });
    expect(record.http2).toMatchObject({ channelId, pushType: 'liveactivity' });

    const remove = new apn.Notification();
    remove.channelId = channelId;
    expect((await provider.manageChannels(remove, TOPIC, 'delete')).failed).toEqual([]);
    const gone = await provider.manageChannels(remove, TOPIC, 'read');
    expect(gone.failed.map((f) => f.response?.reason)).toEqual(['ChannelNotRegistered']);
  });
});
