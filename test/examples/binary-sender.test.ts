// Testing "my sender" against the simulator, as a user of apns-mock-gateway would.
// In your project the imports read 'apns-mock-gateway' and 'apns-mock-gateway/vitest'.
import { once } from 'node:events';
import { connect } from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../index.js';
import '../../harness/vitest.js';

// ---------------------------------------------------------------------------------------------
// The code under test: a small sender such as an app might have. It writes one command-2 frame
// and waits a moment for Apple's error response (Apple sends nothing on success).
// ---------------------------------------------------------------------------------------------
interface PushTarget {
  host: string;
  port: number;
  cert: string;
  key: string;
  ca: string;
}

interface PushResult {
  ok: boolean;
  /** Apple's status byte when it refused (8: invalid token). */
  status?: number;
}

function frameFor(deviceToken: string, payload: object, identifier: number): Buffer {
  const token = Buffer.from(deviceToken, 'hex');
  const body = Buffer.from(JSON.stringify(payload));
  const item = (id: number, data: Buffer) => Buffer.concat([Buffer.from([id, data.length >> 8, data.length & 0xff]), data]);
  const id = Buffer.alloc(4);
  id.writeUInt32BE(identifier);
  const items = Buffer.concat([item(1, token), item(2, body), item(3, id)]);
  const header = Buffer.alloc(5);
  header[0] = 2;
  header.writeUInt32BE(items.length, 1);
  return Buffer.concat([header, items]);
}

async function pushNotification(target: PushTarget, deviceToken: string, payload: object, identifier = 1): Promise<PushResult> {
  const socket = connect({ host: target.host, port: target.port, cert: target.cert, key: target.key, ca: target.ca });
  await once(socket, 'secureConnect');
  socket.write(frameFor(deviceToken, payload, identifier));
  const reply = await Promise.race([
    once(socket, 'data').then(([data]) => data as Buffer),
    new Promise<null>((resolve) => setTimeout(() => resolve(null), 300)),
  ]);
  socket.destroy();
  if (reply === null || reply[0] !== 8) return { ok: true };
  return { ok: false, status: reply[1] };
}

// ---------------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------------
const DEVICE = 'c0ffee00'.repeat(8);
const UNKNOWN_DEVICE = 'deadbeef'.repeat(8);

let sim: Simulator;
let target: PushTarget;

beforeAll(async () => {
  // Free ports and fresh certificates; sim.credentials is a provider certificate for com.example.app.
  sim = await startSimulator();
  target = { host: '127.0.0.1', port: sim.ports.gateway, ...sim.credentials };
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.recorder.clear();
  sim.rules.clear();
  sim.devices.clear();
  sim.devices.strict = false;
});

describe('my sender', () => {
  it('delivers the alert to the device', async () => {
    const result = await pushNotification(target, DEVICE, { aps: { alert: 'Your order has shipped' } });

    expect(result).toEqual({ ok: true });
    expect(sim).toHaveReceived({ token: DEVICE, alert: 'Your order has shipped' });
  });

  it('sends the badge and our own data', async () => {
    await pushNotification(target, DEVICE, { aps: { alert: { title: 'Order 42', body: 'Shipped' }, badge: 1 }, order: { id: 42 } });

    expect(sim).toHaveReceived({ token: DEVICE, alert: 'Shipped', payload: { aps: { badge: 1 }, order: { id: 42 } } });
  });

  it('sends each notification once', async () => {
    for (let i = 1; i <= 3; i++) await pushNotification(target, DEVICE, { aps: { alert: `update ${i}` } }, i);

    expect(sim).toHaveReceived({ token: DEVICE, count: 3 });
    expect(sim).toHaveReceived({ alert: 'update 2', identifier: 2, count: 1 });
  });

  it("reports Apple's refusal of a token it does not know", async () => {
    // Only registered tokens are valid; any other gets status 8, as Apple answered.
    sim.devices.register(DEVICE);
    sim.devices.strict = true;

    const result = await pushNotification(target, UNKNOWN_DEVICE, { aps: { alert: 'hello?' } });

    expect(result).toEqual({ ok: false, status: 8 });
    expect(sim).toHaveRejected({ token: UNKNOWN_DEVICE, status: 8 });
    expect(sim).not.toHaveReceived({ token: UNKNOWN_DEVICE });
  });

  it('reports a failure injected by a rule', async () => {
    sim.rules.add({ match: { payloadField: { path: 'aps.alert', equals: 'too big' } }, action: { type: 'reject', status: 7 } });

    expect(await pushNotification(target, DEVICE, { aps: { alert: 'too big' } })).toEqual({ ok: false, status: 7 });
    expect(sim).toHaveRejected({ token: DEVICE, status: 7 });
  });

  it('can be checked record by record with sim.waitFor', async () => {
    // Fire and forget, as a background job would.
    void pushNotification(target, DEVICE, { aps: { alert: 'later', sound: 'chime.aiff' } });

    const [record] = await sim.waitFor({ token: DEVICE, outcome: 'accepted' }, { timeoutMs: 3000 });
    expect(record.topic).toBe('com.example.app');
    expect(record.payloadJson).toEqual({ aps: { alert: 'later', sound: 'chime.aiff' } });
    expect(record.command).toBe(2);
  });

  it('can be awaited with toEventuallyReceive', async () => {
    void pushNotification(target, DEVICE, { aps: { alert: 'eventually' } });

    await expect(sim).toEventuallyReceive({ token: DEVICE, alert: 'eventually' });
  });
});
