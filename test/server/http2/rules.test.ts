import { once } from 'node:events';
import type { ClientHttp2Session } from 'node:http2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Status, decodeErrorResponse, encodeNotification } from '../../../protocol/binary/index.js';
import { RuleError, startSimulator, type Simulator } from '../../../server/index.js';
import { sendFrames } from '../../support/provider-socket.js';
import { ALERT, OTHER_TOKEN, TOKEN, open, send } from './support.js';

// The rules apply to HTTP/2 as to the binary gateway, with the actions HTTP/2 adds.

let sim: Simulator;
const sessions: ClientHttp2Session[] = [];

async function session(): Promise<ClientHttp2Session> {
  const s = await open(sim, { cert: sim.credentials });
  sessions.push(s);
  return s;
}

const timed = async <T>(work: Promise<T>): Promise<[T, number]> => {
  const start = performance.now();
  const value = await work;
  return [value, performance.now() - start];
};

const binary = (identifier: number, token = TOKEN) => encodeNotification({ token, payload: ALERT, identifier }, 2);

beforeAll(async () => {
  sim = await startSimulator({ http2: { lingerMs: 300 } });
});
afterAll(async () => {
  for (const s of sessions) s.destroy();
  await sim.close();
});
beforeEach(() => {
  sim.rules.clear();
  sim.recorder.clear();
  sim.devices.clear();
});

describe('reject', () => {
  it('with a reason: that reason and its status, the rule in the record', async () => {
    sim.rules.add({ id: 'r', match: { token: OTHER_TOKEN }, action: { type: 'reject', reason: 'TooManyRequests' } });
    const s = await session();
    expect((await send(s, { body: ALERT })).status).toBe(200);
    const reply = await send(s, { path: `/3/device/${OTHER_TOKEN}`, body: ALERT });
    expect([reply.status, reply.json]).toEqual([429, { reason: 'TooManyRequests' }]);
    const [record] = await sim.waitFor({ outcome: 'rejected' });
    expect(record).toMatchObject({ rule: 'r', status: 429, statusName: 'TooManyRequests' });
    expect(record.reason).toContain('injected by rule r');
  });

  it('matching an apns-id in either case: the service makes upper-case ids, clients send lower-case ones', async () => {
    const id = '6f2c8e2a-4b1d-4c3e-9a7f-0123456789ab';
    sim.rules.add({ id: 'upper', match: { apnsId: id.toUpperCase() }, action: { type: 'reject', reason: 'BadDeviceToken' } });
    const s = await session();
    const reply = await send(s, { headers: { 'apns-id': id }, body: ALERT });
    expect([reply.status, reply.json?.reason]).toEqual([400, 'BadDeviceToken']);
    expect((await send(s, { body: ALERT })).status).toBe(200);
  });

  it('with a binary status only: the nearest reason (8 InvalidToken: BadDeviceToken)', async () => {
    sim.rules.add({ action: { type: 'reject', status: Status.InvalidToken } });
    const reply = await send(await session(), { body: ALERT });
    expect([reply.status, reply.json?.reason]).toEqual([400, 'BadDeviceToken']);
  });

  it('with a 410 reason: the body carries a timestamp', async () => {
    sim.rules.add({ action: { type: 'reject', reason: 'Unregistered' } });
    const before = Date.now();
    const reply = await send(await session(), { body: ALERT });
    expect(reply.json?.reason).toBe('Unregistered');
    expect(reply.json?.timestamp).toBeGreaterThanOrEqual(before);
    expect(reply.json?.timestamp).toBeLessThanOrEqual(Date.now());
  });

  it('with delayMs: the error response comes late', async () => {
    sim.rules.add({ action: { type: 'reject', reason: 'InternalServerError', delayMs: 300 } });
    const [reply, ms] = await timed(send(await session(), { body: ALERT }));
    expect(reply.status).toBe(500);
    expect(ms).toBeGreaterThanOrEqual(280);
  });

  it('a rule with only a reason acts on the binary gateway with the nearest status', async () => {
    sim.rules.add({ action: { type: 'reject', reason: 'BadDeviceToken' } });
    const result = await sendFrames(sim.ports.gateway, sim.credentials, binary(5), 1000);
    expect(decodeErrorResponse(result.received)).toMatchObject({ status: Status.InvalidToken, identifier: 5 });
  });

  it('an unknown reason is refused when the rule is added', () => {
    expect(() => sim.rules.add({ action: { type: 'reject', reason: 'Nope' } })).toThrow(RuleError);
    expect(() => sim.rules.add({ action: { type: 'reject' } })).toThrow(/status/);
  });
});

describe('conditions', () => {
  it('protocol: a binary-only rule leaves HTTP/2 alone, and the other way round', async () => {
    sim.rules.add({ id: 'bin', match: { protocol: 'binary' }, action: { type: 'reject', status: 8 } });
    expect((await send(await session(), { body: ALERT })).status).toBe(200);
    sim.rules.clear();
    sim.rules.add({ id: 'h2', match: { protocol: 'http2' }, action: { type: 'reject', reason: 'BadDeviceToken' } });
    const result = await sendFrames(sim.ports.gateway, sim.credentials, binary(1), 300);
    expect(result.received).toHaveLength(0);
    expect((await send(await session(), { body: ALERT })).status).toBe(400);
  });

  it('apnsId and pushType', async () => {
    const id = '00000000-0000-4000-8000-000000000001';
    sim.rules.add({ match: { apnsId: id }, action: { type: 'reject', reason: 'InternalServerError' } });
    sim.rules.add({ match: { pushType: 'voip' }, action: { type: 'reject', reason: 'ServiceUnavailable' } });
    const s = await session();
    expect((await send(s, { body: ALERT })).status).toBe(200);
    expect((await send(s, { headers: { 'apns-id': id }, body: ALERT })).status).toBe(500);
    expect((await send(s, { headers: { 'apns-topic': 'com.example.app.voip' }, body: ALERT })).status).toBe(503);
  });

  it('nth counts HTTP/2 and binary notifications together', async () => {
    sim.rules.add({ id: 'third', match: { nth: 3 }, action: { type: 'reject', reason: 'InternalServerError' } });
    const s = await session();
    expect((await send(s, { body: ALERT })).status).toBe(200);
    await sendFrames(sim.ports.gateway, sim.credentials, binary(1), 300);
    expect((await send(s, { body: ALERT })).status).toBe(500);
  });
});

describe('HTTP/2 actions', () => {
  it('reset: RST_STREAM with the error code; the request is recorded discarded', async () => {
    sim.rules.add({ id: 'rst', action: { type: 'reset', errorCode: 11 } });
    const s = await session();
    await expect(send(s, { body: ALERT })).rejects.toThrow(/ENHANCE_YOUR_CALM/);
    const [record] = await sim.waitFor({ outcome: 'discarded' });
    expect(record).toMatchObject({ rule: 'rst', status: null });
    // The connection stays usable.
    sim.rules.clear();
    expect((await send(s, { body: ALERT })).status).toBe(200);
  });

  it('rateLimit rule: 429 TooManyRequests above the rate per token, then fine after the window', async () => {
    sim.rules.add({ action: { type: 'rateLimit', requests: 1, perMs: 300 } });
    const s = await session();
    expect((await send(s, { body: ALERT })).status).toBe(200);
    expect((await send(s, { body: ALERT })).json?.reason).toBe('TooManyRequests');
    expect((await send(s, { path: `/3/device/${OTHER_TOKEN}`, body: ALERT })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 320));
    expect((await send(s, { body: ALERT })).status).toBe(200);
  });

  it('outage: 503 ServiceUnavailable inside the window only', async () => {
    sim.rules.add({ action: { type: 'outage', afterMs: 200, forMs: 300 } });
    const s = await session();
    expect((await send(s, { body: ALERT })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 220));
    expect((await send(s, { body: ALERT })).json?.reason).toBe('ServiceUnavailable');
    await new Promise((resolve) => setTimeout(resolve, 320));
    expect((await send(s, { body: ALERT })).status).toBe(200);
  });

  it('binary notifications pass over rules whose action exists on HTTP/2 only', async () => {
    sim.rules.add({ action: { type: 'goaway' } });
    sim.rules.add({ action: { type: 'outage' } });
    const result = await sendFrames(sim.ports.gateway, sim.credentials, binary(1), 300);
    expect(result.closed).toBe(false);
    const [record] = await sim.waitFor({ protocol: 'binary' });
    expect(record).toMatchObject({ outcome: 'accepted', rule: null });
  });
});

describe('actions shared with the binary gateway', () => {
  it('delay: the response waits; the notification is accepted', async () => {
    sim.rules.add({ id: 'slow', action: { type: 'delay', ms: 300 } });
    const [reply, ms] = await timed(send(await session(), { body: ALERT }));
    expect(reply.status).toBe(200);
    expect(ms).toBeGreaterThanOrEqual(280);
    const [record] = await sim.waitFor({ outcome: 'accepted' });
    expect(record.rule).toBe('slow');
  });

  it('stall: this and the following responses of the connection wait', async () => {
    sim.rules.add({ action: { type: 'stall', ms: 300 }, times: 1 });
    const s = await session();
    const [[first, second], ms] = await timed(Promise.all([send(s, { body: ALERT }), send(s, { body: ALERT })]));
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(ms).toBeGreaterThanOrEqual(280);
  });

  it('shutdown: 503 Shutdown, then GOAWAY {"reason":"Shutdown"} and the close', async () => {
    sim.rules.add({ action: { type: 'shutdown' } });
    const s = await session();
    const goaway = once(s, 'goaway');
    expect((await send(s, { body: ALERT })).json?.reason).toBe('Shutdown');
    const [, , data] = (await goaway) as [number, number, Buffer];
    expect(JSON.parse(data.toString())).toEqual({ reason: 'Shutdown' });
    await once(s, 'close');
  });

  it('close: the connection closes without a response; discarded', async () => {
    sim.rules.add({ id: 'gone', action: { type: 'close' } });
    const s = await session();
    await expect(send(s, { body: ALERT })).rejects.toThrow();
    const [record] = await sim.waitFor({ outcome: 'discarded' });
    expect(record.rule).toBe('gone');
    if (!s.closed) await once(s, 'close');
  });

  it('drop: the connection is cut, without GOAWAY', async () => {
    sim.rules.add({ id: 'cut', action: { type: 'drop' } });
    const s = await session();
    let goaway = false;
    s.on('goaway', () => (goaway = true));
    await expect(send(s, { body: ALERT })).rejects.toThrow();
    if (!s.closed) await once(s, 'close');
    expect(goaway).toBe(false);
    const [record] = await sim.waitFor({ outcome: 'discarded' });
    expect(record.rule).toBe('cut');
  });

  it('uninstall: accepted, then the token is Unregistered for that app', async () => {
    sim.rules.add({ action: { type: 'uninstall' }, times: 1 });
    const s = await session();
    expect((await send(s, { body: ALERT })).status).toBe(200);
    const reply = await send(s, { body: ALERT });
    expect(reply.json?.reason).toBe('Unregistered');
    expect(sim.devices.pendingFeedback('com.example.app', 'development').map((e) => e.token)).toEqual([TOKEN]);
  });
});

describe('the rate limit option', () => {
  it('answers 429 TooManyRequests above the rate per token', async () => {
    const limited = await startSimulator({ http2: { rateLimit: { requests: 2, perMs: 60_000 } } });
    try {
      const s = await open(limited, { cert: limited.credentials });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await send(s, { body: ALERT })).status);
      statuses.push((await send(s, { path: `/3/device/${OTHER_TOKEN}`, body: ALERT })).status);
      expect(statuses).toEqual([200, 200, 429, 200]);
      s.destroy();
    } finally {
      await limited.close();
    }
  });
});
