import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../../server/index.js';
import { ALERT, OTHER_TOKEN, TOKEN, open, send } from './support.js';

let sim: Simulator;
let s: ClientHttp2Session;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'apns-mock-records-'));
  sim = await startSimulator({ record: join(dir, 'records.jsonl') });
  s = await open(sim, { cert: sim.credentials });
});
afterAll(async () => {
  s.destroy();
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  sim.recorder.clear();
  sim.devices.clear();
});

describe('an HTTP/2 record', () => {
  it('has the shape of every record, with the request and response in `http2`', async () => {
    const id = '8f3a2b1c-0d4e-4f50-9a6b-7c8d9e0f1a2b';
    const reply = await send(s, {
      headers: {
        'apns-id': id,
        'apns-topic': 'com.example.app',
        'apns-priority': '5',
        'apns-expiration': '1700000000',
        'apns-collapse-id': 'score',
        'apns-push-type': 'alert',
      },
      body: ALERT,
    });
    expect(reply.status).toBe(200);
    const [record] = sim.records();
    const body = Buffer.from(JSON.stringify(ALERT));
    expect(record).toMatchObject({
      protocol: 'http2',
      command: null,
      identifier: null,
      expiry: 1_700_000_000,
      priority: 5,
      token: TOKEN,
      topic: 'com.example.app',
      environment: 'development',
      payload: body.toString(),
      payloadJson: ALERT,
      warnings: [],
      outcome: 'accepted',
      status: 200,
      statusName: null,
      reason: null,
      rule: null,
      bytes: body.toString('hex'),
    });
    expect(record.http2).toEqual({
      method: 'POST',
      path: `/3/device/${TOKEN}`,
      authority: `127.0.0.1:${sim.ports.http2}`,
      headers: expect.objectContaining({ ':method': 'POST', 'apns-id': id, 'apns-topic': 'com.example.app', 'apns-collapse-id': 'score' }),
      streamId: expect.any(Number),
      apnsId: id,
      apnsUniqueId: reply.headers['apns-unique-id'],
      pushType: 'alert',
      collapseId: 'score',
      channelId: null,
      status: 200,
      reason: null,
      timestamp: null,
      auth: 'certificate',
      teamId: null,
      keyId: null,
    });
  });

  it("of a rejection: HTTP status, Apple's reason as statusName, the words in reason", async () => {
    await send(s, { headers: { 'apns-priority': '2' }, body: ALERT });
    const [record] = sim.records();
    expect(record).toMatchObject({ outcome: 'rejected', status: 400, statusName: 'BadPriority' });
    expect(record.reason).toMatch(/^BadPriority: apns-priority "2" is not 10, 5 or 1/);
    expect(record.http2).toMatchObject({ status: 400, reason: 'BadPriority' });
  });

  it('of a 410 keeps the timestamp sent', async () => {
    sim.devices.uninstall(OTHER_TOKEN, { timestamp: 1_650_000_000 });
    await send(s, { path: `/3/device/${OTHER_TOKEN}`, body: ALERT });
    expect(sim.records()[0].http2).toMatchObject({ status: 410, reason: 'Unregistered', timestamp: 1_650_000_000_000 });
  });

  it('of a request cut off by the client is incomplete', async () => {
    const cut = await open(sim, { cert: sim.credentials });
    const stream = cut.request({ ':method': 'POST', ':path': `/3/device/${TOKEN}` });
    stream.on('error', () => undefined);
    stream.write('{"aps":');
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The connection goes before the request's END_STREAM does.
    cut.destroy();
    const [record] = await sim.waitFor({ outcome: 'incomplete' });
    expect(record.reason).toMatch(/closed before the request ended \(7 body byte/);
    expect(record).toMatchObject({ status: null, payload: '{"aps":' });
  });

  it('is not made for channel management, which is not a notification', async () => {
    const created = await send(s, {
      path: '/1/apps/com.example.app/channels',
      body: { 'message-storage-policy': 0, 'push-type': 'LiveActivity' },
    });
    expect(created.status).toBe(201);
    expect((await send(s, { path: '/1/apps/com.example.app/channels', body: 'x' })).status).toBe(400);
    expect(sim.records()).toEqual([]);
  });
});

describe('finding HTTP/2 records', () => {
  it("by protocol, apns-id and the notification's own topic, in the library and the control API", async () => {
    const id = '00000000-0000-4000-8000-0000000000aa';
    await send(s, { headers: { 'apns-id': id }, body: ALERT });
    await send(s, { headers: { 'apns-topic': 'com.example.app.voip', 'apns-push-type': 'voip' }, body: ALERT });
    expect(sim.records({ protocol: 'http2' })).toHaveLength(2);
    expect(sim.records({ protocol: 'binary' })).toHaveLength(0);
    expect(sim.records({ apnsId: id }).map((r) => r.http2!.apnsId)).toEqual([id]);
    expect(sim.records({ topic: 'com.example.app.voip' }).map((r) => r.http2!.pushType)).toEqual(['voip']);
    const viaControl = (await (await fetch(`${sim.controlUrl}/records?protocol=http2&apnsId=${id}`)).json()) as {
      http2: { apnsId: string };
    }[];
    expect(viaControl.map((r) => r.http2.apnsId)).toEqual([id]);
    const refused = await fetch(`${sim.controlUrl}/records?protocol=spdy`);
    expect(refused.status).toBe(400);
  });

  it('in the JSON Lines file, as the library shows them', async () => {
    await send(s, { body: ALERT });
    const [record] = await sim.waitFor({ protocol: 'http2' });
    await new Promise((resolve) => setImmediate(resolve));
    sim.recorder.flush();
    const lines = readFileSync(join(dir, 'records.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.find((l) => l.seq === record.seq)).toEqual(record);
  });
});

describe('connections', () => {
  it('the summary counts what the connection did', async () => {
    const fresh = await open(sim, { cert: sim.credentials });
    await send(fresh, { body: ALERT });
    await send(fresh, { headers: { 'apns-priority': '4' }, body: ALERT });
    const [record] = sim.records();
    const summary = sim.http2!.connections().find((c) => c.id === record.connectionId)!;
    expect(summary).toMatchObject({
      protocol: 'http2',
      auth: 'certificate',
      topic: 'com.example.app',
      requests: 2,
      notifications: 1,
      accepted: 1,
      rejected: 1,
      discarded: 0,
      state: 'open',
    });
    const closed = once(sim.http2!, 'disconnect');
    fresh.close();
    const [gone] = (await closed) as [{ id: number; state: string }];
    expect(gone).toMatchObject({ id: record.connectionId, state: 'closed' });
  });
});
