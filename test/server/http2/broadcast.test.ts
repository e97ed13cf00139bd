import type { ClientHttp2Session } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROADCAST_REASONS, http2StatusOf, type Http2Reason } from '../../../protocol/http2/index.js';
import { startSimulator, type Simulator, type SigningKey } from '../../../server/index.js';
import { bearer, open, send, type Reply, type Send } from './support.js';

// Broadcast push: channel management on /1/apps/<bundle>/channels and /all-channels, sending
// on /4/broadcasts/apps/<bundle>, each reason earned by a request.

const APP = 'com.example.app';
const CREATE = { 'message-storage-policy': 1, 'push-type': 'LiveActivity' };
const LIVE = { aps: { event: 'update', 'content-state': { score: 1 }, timestamp: 1 } };
let sim: Simulator;
let key: SigningKey;
let cert: ClientHttp2Session;
const produced = new Set<string>();
const sessions: ClientHttp2Session[] = [];

function expectReason(reply: Reply, reason: Http2Reason): void {
  expect({ status: reply.status, reason: reply.json?.reason }).toEqual({ status: http2StatusOf(reason), reason });
  expect(reply.headers['apns-id']).toBeDefined();
  produced.add(reason);
}

const manage = (request: Send, bundle = APP) => send(cert, { path: `/1/apps/${bundle}/channels`, ...request });
const broadcast = (channelId: string | undefined, request: Send = {}, bundle = APP) =>
  send(cert, {
    path: `/4/broadcasts/apps/${bundle}`,
    body: LIVE,
    ...request,
    headers: { 'apns-push-type': 'liveactivity', ...(channelId === undefined ? {} : { 'apns-channel-id': channelId }), ...request.headers },
  });

async function create(bundle = APP): Promise<string> {
  const reply = await manage({ method: 'POST', body: CREATE }, bundle);
  expect(reply.status).toBe(201);
  return String(reply.headers['apns-channel-id']);
}

beforeAll(async () => {
  sim = await startSimulator({ http2: { maxChannels: 10, broadcastBundles: [APP, 'com.example.token', 'com.example.full'] } });
  key = await sim.createSigningKey('TEAM000001', 'KEY0000001', undefined, ['com.example.token']);
  const credentials = await sim.createCredentials(APP, 'development', ['com.example.full', 'com.example.plain']);
  cert = await open(sim, { cert: credentials });
  sessions.push(cert);
});
afterAll(async () => {
  for (const s of sessions) s.destroy();
  await sim.close();
});

describe('channels', () => {
  it('create (201 with apns-channel-id and apns-request-id), read, list, delete', async () => {
    const created = await manage({ method: 'POST', body: CREATE });
    expect(created.status).toBe(201);
    const id = String(created.headers['apns-channel-id']);
    expect(Buffer.from(id, 'base64')).toHaveLength(16);
    expect(created.headers['apns-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const read = await manage({ method: 'GET', headers: { 'apns-channel-id': id } });
    expect([read.status, read.json]).toEqual([200, { 'message-storage-policy': 1, 'push-type': 'LiveActivity' }]);
    const all = await send(cert, { method: 'GET', path: `/1/apps/${APP}/all-channels` });
    expect(all.status).toBe(200);
    expect(all.json?.channels).toContain(id);
    const deleted = await manage({ method: 'DELETE', headers: { 'apns-channel-id': id } });
    expect(deleted.status).toBe(204);
    expectReason(await manage({ method: 'GET', headers: { 'apns-channel-id': id } }), 'ChannelNotRegistered');
    expect((await send(cert, { method: 'GET', path: `/1/apps/${APP}/all-channels` })).json?.channels).not.toContain(id);
  });

  it('echoes apns-request-id when given', async () => {
    const requestId = '11111111-2222-4333-8444-555555555555';
    const reply = await send(cert, { method: 'GET', path: `/1/apps/${APP}/all-channels`, headers: { 'apns-request-id': requestId } });
    expect(reply.headers['apns-request-id']).toBe(requestId);
  });

  it('BadRequestPayload, MissingPushType, BadRequestParams for a body that does not describe a channel', async () => {
    expectReason(await manage({ method: 'POST', body: 'not json' }), 'BadRequestPayload');
    expectReason(await manage({ method: 'POST' }), 'BadRequestPayload');
    expectReason(await manage({ method: 'POST', body: { 'message-storage-policy': 0 } }), 'MissingPushType');
    expectReason(await manage({ method: 'POST', body: { 'message-storage-policy': 0, 'push-type': 'Alert' } }), 'BadRequestParams');
    expectReason(await manage({ method: 'POST', body: { 'message-storage-policy': 2, 'push-type': 'LiveActivity' } }), 'BadRequestParams');
  });

  it('MissingChannelId and BadChannelId', async () => {
    expectReason(await manage({ method: 'GET' }), 'MissingChannelId');
    expectReason(await manage({ method: 'DELETE', headers: { 'apns-channel-id': 'not a channel id' } }), 'BadChannelId');
    expectReason(await manage({ method: 'GET', headers: { 'apns-channel-id': Buffer.alloc(8).toString('base64') } }), 'BadChannelId');
  });

  it("CannotCreateChannelConfig past the app's channel limit", async () => {
    const bundle = 'com.example.full';
    for (let i = 0; i < 10; i++) await create(bundle);
    expectReason(await manage({ method: 'POST', body: CREATE }, bundle), 'CannotCreateChannelConfig');
  });

  it('FeatureNotEnabled for an app without the broadcast capability', async () => {
    expectReason(await manage({ method: 'POST', body: CREATE }, 'com.example.plain'), 'FeatureNotEnabled');
  });

  it('TopicMismatch for an app the credentials are not for (certificate or key)', async () => {
    expectReason(await manage({ method: 'POST', body: CREATE }, 'com.other.app'), 'TopicMismatch');
    const token = await open(sim);
    sessions.push(token);
    const authorization = await bearer(key);
    const mine = await send(token, {
      method: 'POST',
      path: '/1/apps/com.example.token/channels',
      headers: { authorization },
      body: CREATE,
    });
    expect(mine.status).toBe(201);
    expectReason(
      await send(token, { method: 'POST', path: `/1/apps/${APP}/channels`, headers: { authorization }, body: CREATE }),
      'TopicMismatch',
    );
  });

  it('channels are per environment', async () => {
    const id = await create();
    const production = await sim.createCredentials(APP, 'production');
    const s = await open(sim, { cert: production, servername: 'api.push.apple.com' });
    sessions.push(s);
    const reply = await send(s, { method: 'GET', path: `/1/apps/${APP}/channels`, headers: { 'apns-channel-id': id } });
    expect(reply.json?.reason).toBe('ChannelNotRegistered');
  });

  it('MethodNotAllowed for PUT on channels and POST on all-channels', async () => {
    expect((await manage({ method: 'PUT', body: CREATE })).json?.reason).toBe('MethodNotAllowed');
    expect((await send(cert, { method: 'POST', path: `/1/apps/${APP}/all-channels`, body: CREATE })).json?.reason).toBe('MethodNotAllowed');
  });
});

describe('sending', () => {
  it('accepts a liveactivity broadcast to a channel and records it with the channel id', async () => {
    const id = await create();
    sim.recorder.clear();
    const reply = await broadcast(id);
    expect(reply.status).toBe(200);
    expect(reply.headers['apns-request-id']).toBeDefined();
    const [record] = await sim.waitFor({ protocol: 'http2', outcome: 'accepted' });
    expect(record).toMatchObject({ topic: APP, token: null, payloadJson: LIVE });
    expect(record.http2).toMatchObject({ channelId: id, path: `/4/broadcasts/apps/${APP}`, pushType: 'liveactivity', status: 200 });
  });

  it('MissingChannelId, BadChannelId, ChannelNotRegistered', async () => {
    expectReason(await broadcast(undefined), 'MissingChannelId');
    expectReason(await broadcast('%%%'), 'BadChannelId');
    expectReason(await broadcast(Buffer.alloc(16, 7).toString('base64')), 'ChannelNotRegistered');
  });

  it('MissingPushType and InvalidPushType', async () => {
    const id = await create();
    const reply = await send(cert, { path: `/4/broadcasts/apps/${APP}`, headers: { 'apns-channel-id': id }, body: LIVE });
    expectReason(reply, 'MissingPushType');
    expect((await broadcast(id, { headers: { 'apns-push-type': 'alert' } })).json?.reason).toBe('InvalidPushType');
  });

  it('BadRequestPayload for a body that is not a JSON object; PayloadEmpty and PayloadTooLarge', async () => {
    const id = await create();
    expectReason(await broadcast(id, { body: '[1, 2]' }), 'BadRequestPayload');
    expect((await broadcast(id, { body: '' })).json?.reason).toBe('PayloadEmpty');
    expect((await broadcast(id, { body: { aps: { event: 'x'.repeat(4096) } } })).json?.reason).toBe('PayloadTooLarge');
    const records = sim.records({ protocol: 'http2', outcome: 'rejected' }).filter((r) => r.http2?.channelId === id);
    expect(records.map((r) => r.statusName)).toEqual(['BadRequestPayload', 'PayloadEmpty', 'PayloadTooLarge']);
  });

  it('TopicMismatch for an app the certificate is not for', async () => {
    expectReason(await broadcast(Buffer.alloc(16).toString('base64'), {}, 'com.other.app'), 'TopicMismatch');
  });

  it('the rules apply to broadcasts too', async () => {
    const id = await create();
    sim.rules.add({ id: 'no-broadcasts', match: { pushType: 'liveactivity' }, action: { type: 'reject', reason: 'ServiceUnavailable' } });
    try {
      expect((await broadcast(id)).json?.reason).toBe('ServiceUnavailable');
    } finally {
      sim.rules.clear();
    }
  });
});

it('every broadcast reason was produced above', () => {
  expect([...produced].filter((r) => BROADCAST_REASONS.includes(r as Http2Reason)).sort()).toEqual([...BROADCAST_REASONS].sort());
});
