import { describe, expect, it } from 'vitest';
import {
  Status,
  decodeErrorResponse,
  encodeEnhanced,
  encodeErrorResponse,
  encodeFrame,
  encodeNotification,
  encodeSimple,
  frameItemsOf,
} from '../../../protocol/binary/index.js';
import { startSimulator, type Simulator } from '../../../server/index.js';
import { exchange, handshakeError, openProvider, sendFrames } from '../../support/provider-socket.js';
import { useSimulator } from '../../support/simulator.js';

const TOKEN = 'aa'.repeat(32);
const OTHER = 'bb'.repeat(32);
const PAYLOAD = { aps: { alert: 'hello' } };

let sim: Simulator;
const send = (writes: Buffer | Buffer[], waitMs?: number) => sendFrames(sim.ports.gateway, sim.credentials, writes, waitMs);
const frame = (identifier: number, extra: Partial<Parameters<typeof encodeNotification>[0]> = {}) =>
  encodeNotification({ token: TOKEN, payload: PAYLOAD, identifier, ...extra }, 2);

useSimulator({ resetEach: true }, (started) => (sim = started));

describe('accepting', () => {
  it('records commands 0, 1 and 2 with the identity from the certificate, and answers nothing', async () => {
    const result = await send(
      [
        encodeNotification({ token: TOKEN, payload: PAYLOAD }, 0),
        encodeNotification({ token: TOKEN, payload: PAYLOAD, identifier: 11, expiry: 1_700_000_000 }, 1),
        encodeNotification({ token: TOKEN, payload: PAYLOAD, identifier: 12, priority: 5 }, 2),
      ],
      400,
    );
    expect(result.closed).toBe(false);
    expect(result.received.length).toBe(0);
    const records = await sim.waitFor({ outcome: 'accepted' }, { count: 3 });
    expect(records.map((r) => [r.command, r.identifier, r.priority, r.expiry])).toEqual([
      [0, null, 10, null],
      [1, 11, 10, 1_700_000_000],
      [2, 12, 5, null],
    ]);
    for (const r of records) {
      expect(r).toMatchObject({
        token: TOKEN,
        topic: 'com.example.app',
        environment: 'development',
        payloadJson: PAYLOAD,
        status: null,
        protocol: 'binary',
      });
      expect(r.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    }
    expect(records[2].bytes).toBe(frame(12, { priority: 5 }).toString('hex'));
  });

  it('accepts frames split across many TLS writes and many frames in one write', async () => {
    const frames = Array.from({ length: 50 }, (_, i) => frame(i + 1));
    const all = Buffer.concat(frames);
    const pieces = [all.subarray(0, 7), all.subarray(7, 500), all.subarray(500, 501), all.subarray(501)];
    await send(pieces, 300);
    const records = await sim.waitFor({ outcome: 'accepted' }, { count: 50 });
    expect(records.map((r) => r.identifier)).toEqual(frames.map((_, i) => i + 1));
  });

  it('records payload warnings without rejecting in lenient mode', async () => {
    await send(encodeNotification({ token: TOKEN, payload: 'not json', identifier: 1 }, 2), 300);
    const [record] = await sim.waitFor({ outcome: 'accepted' });
    expect(record.warnings.map((w) => w.code)).toEqual(['payload-not-json']);
  });
});

describe('rejecting, as Apple did', () => {
  const cases: [string, Buffer, number, number][] = [
    [
      'token length 0: status 2 with identifier 0',
      encodeEnhanced({ token: Buffer.alloc(0), payload: PAYLOAD, identifier: 9 }),
      Status.MissingDeviceToken,
      0,
    ],
    ['empty payload: status 4', encodeEnhanced({ token: TOKEN, payload: '', identifier: 9 }), Status.MissingPayload, 9],
    ['31-byte token: status 5', encodeEnhanced({ token: 'aa'.repeat(31), payload: PAYLOAD, identifier: 9 }), Status.InvalidTokenSize, 9],
    [
      '257-byte payload on command 1: status 7',
      encodeEnhanced({ token: TOKEN, payload: 'x'.repeat(257), identifier: 9 }),
      Status.InvalidPayloadSize,
      9,
    ],
    ['2049-byte payload on command 2: status 7', frame(9, { payload: 'x'.repeat(2049) }), Status.InvalidPayloadSize, 9],
    ['priority 7: status 128', frame(9, { priority: 7 }), Status.ProtocolError, 9],
    [
      'unknown item: status 128',
      encodeFrame([...frameItemsOf({ token: TOKEN, payload: PAYLOAD, identifier: 9 }), { id: 6, data: Buffer.of(1) }]),
      Status.ProtocolError,
      9,
    ],
    ['frame length 0: status 128', encodeFrame([], 0), Status.ProtocolError, 0],
    ['frame length 0xFFFFFFF0: status 7 at the header', encodeFrame([], 0xfffffff0), Status.InvalidPayloadSize, 0],
    [
      "Pushy's flush (command 1, no token, no payload): status 2, identifier 0",
      encodeEnhanced({ token: Buffer.alloc(0), payload: '', identifier: 77 }),
      Status.MissingDeviceToken,
      0,
    ],
  ];
  for (const [name, bytes, status, identifier] of cases) {
    it(name, async () => {
      const result = await send(bytes);
      expect(result.closed).toBe(true);
      expect(result.received).toEqual(encodeErrorResponse(status, identifier));
      const [record] = await sim.waitFor({ outcome: 'rejected' });
      expect(record.status).toBe(status);
      expect(record.reason).toBeTruthy();
    });
  }

  it("says in the record that Pushy's flush marker is one, so a person reading the records is not alarmed", async () => {
    await send(encodeEnhanced({ token: Buffer.alloc(0), payload: '', identifier: 0 }));
    const [record] = await sim.waitFor({ outcome: 'rejected' });
    expect(record.reason).toMatch(/flush marker/);
    await send(encodeEnhanced({ token: Buffer.alloc(0), payload: PAYLOAD, identifier: 3 }));
    const [other] = await sim.waitFor({ outcome: 'rejected', since: record.seq });
    expect(other.reason).not.toMatch(/flush marker/);
  });

  it('status 8 for a token registered to another environment, and in strict-devices mode for an unknown one', async () => {
    sim.devices.register(OTHER, { environment: 'production' });
    let result = await send(frame(3, { token: OTHER }));
    expect(decodeErrorResponse(result.received)).toEqual({ status: Status.InvalidToken, identifier: 3 });
    sim.devices.strict = true;
    sim.devices.register(TOKEN, { topic: 'com.example.app' });
    result = await send([frame(4), frame(5, { token: 'cc'.repeat(32) })]);
    expect(decodeErrorResponse(result.received)).toEqual({ status: Status.InvalidToken, identifier: 5 });
    expect(sim.records().map((r) => [r.identifier, r.outcome])).toEqual([
      [3, 'rejected'],
      [4, 'accepted'],
      [5, 'rejected'],
    ]);
  });

  it('command 0 errors close without an error response, but are recorded with their status', async () => {
    const result = await send(encodeSimple({ token: 'aa'.repeat(31), payload: PAYLOAD }));
    expect(result.closed).toBe(true);
    expect(result.received.length).toBe(0);
    const [record] = await sim.waitFor({ outcome: 'rejected' });
    expect(record).toMatchObject({ command: 0, status: Status.InvalidTokenSize, identifier: null });
  });

  it('an unknown command byte closes without a reply', async () => {
    const result = await send(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    expect(result.closed).toBe(true);
    expect(result.received.length).toBe(0);
    const [record] = await sim.waitFor({ outcome: 'rejected' });
    expect(record).toMatchObject({ command: 0x47, status: null });
  });

  it('discards every frame after the rejected one, in the same write and after it', async () => {
    const socket = await openProvider(sim.ports.gateway, sim.credentials);
    const result = await exchange(socket, [Buffer.concat([frame(1), frame(2, { priority: 3 }), frame(3)]), frame(4)]);
    socket.destroy();
    expect(decodeErrorResponse(result.received)).toEqual({ status: Status.ProtocolError, identifier: 2 });
    const records = sim.records();
    expect(records.slice(0, 3).map((r) => [r.identifier, r.outcome])).toEqual([
      [1, 'accepted'],
      [2, 'rejected'],
      [3, 'discarded'],
    ]);
    // Frame 4 was written before the error arrived; it is either discarded or never read.
    expect(records.slice(3).every((r) => r.outcome === 'discarded')).toBe(true);
  });

  it('with an error delay, frames received during the delay are discarded', async () => {
    const delayed = await startSimulator({ errorDelayMs: 300, controlPort: false });
    try {
      const socket = await openProvider(delayed.ports.gateway, delayed.credentials);
      const bad = encodeEnhanced({ token: TOKEN, payload: '', identifier: 2 });
      socket.write(Buffer.concat([frame(1), bad]));
      await new Promise((r) => setTimeout(r, 100));
      const result = await exchange(socket, [frame(3), frame(4)]);
      socket.destroy();
      expect(decodeErrorResponse(result.received)).toEqual({ status: Status.MissingPayload, identifier: 2 });
      expect(delayed.records().map((r) => [r.identifier, r.outcome])).toEqual([
        [1, 'accepted'],
        [2, 'rejected'],
        [3, 'discarded'],
        [4, 'discarded'],
      ]);
    } finally {
      await delayed.close();
    }
  });

  it('a connection closed in the middle of a frame leaves an incomplete record with its bytes', async () => {
    const bytes = frame(1).subarray(0, 40);
    const socket = await openProvider(sim.ports.gateway, sim.credentials);
    socket.end(bytes);
    const [record] = await sim.waitFor({ outcome: 'incomplete' });
    expect(record.bytes).toBe(bytes.toString('hex'));
    expect(record.command).toBe(2);
    expect(record.reason).toMatch(/\d+ byte/);
  });

  it('shutdown from the control side: status 10 with the last accepted identifier', async () => {
    const socket = await openProvider(sim.ports.gateway, sim.credentials);
    socket.write(Buffer.concat([frame(41), frame(42)]));
    await sim.waitFor({ outcome: 'accepted' }, { count: 2 });
    const pending = exchange(socket, []);
    expect(sim.gateway.shutdown()).toBe(1);
    const result = await pending;
    socket.destroy();
    expect(decodeErrorResponse(result.received)).toEqual({ status: Status.Shutdown, identifier: 42 });
  });
});

describe('client certificates', () => {
  it('refuses a client without a certificate', async () => {
    const error = await handshakeError(sim.ports.gateway, { ca: sim.credentials.ca });
    expect(error.message).toMatch(/certificate|closed|socket/i);
    expect(sim.records()).toEqual([]);
  });

  it('refuses a certificate from another CA', async () => {
    const stranger = await startSimulator({ controlPort: false });
    try {
      const error = await handshakeError(sim.ports.gateway, {
        cert: stranger.credentials.cert,
        key: stranger.credentials.key,
        ca: sim.credentials.ca,
      });
      expect(error.message).toMatch(/certificate|closed|unknown ca|alert/i);
    } finally {
      await stranger.close();
    }
  });

  it('takes topic and environment from a production certificate', async () => {
    const prod = await sim.createCredentials('com.example.prod', 'production');
    await sendFrames(sim.ports.gateway, prod, frame(1), 300);
    const [record] = await sim.waitFor({ topic: 'com.example.prod' });
    expect(record.environment).toBe('production');
  });
});

describe('feedback service', () => {
  it('writes the tuples of uninstalled tokens for the provider, then closes; a list read is cleared', async () => {
    sim.devices.uninstall(TOKEN, { topic: 'com.example.app', environment: 'development', timestamp: 1_700_000_123 });
    sim.devices.uninstall(OTHER, { topic: 'com.other.app', timestamp: 1_700_000_456 });
    const first = await sendFrames(sim.ports.feedback, sim.credentials, []);
    expect(first.closed).toBe(true);
    expect(first.received.toString('hex')).toBe('6553f17b0020' + TOKEN);
    const second = await sendFrames(sim.ports.feedback, sim.credentials, []);
    expect(second.received.length).toBe(0);
    expect(sim.devices.pendingFeedback().map((t) => t.token)).toEqual([OTHER]);
  });
});

describe('a fault inside the simulator', () => {
  it('answers status 1 on that connection, reports the fault, and keeps serving others', async () => {
    const faults: unknown[] = [];
    sim.gateway.on('internalError', (error) => faults.push(error));
    // eslint-disable-next-line @typescript-eslint/unbound-method -- put back on the same object below
    const original = sim.devices.isValid;
    sim.devices.isValid = () => {
      throw new Error('registry exploded');
    };
    try {
      const result = await send(frame(5));
      expect(decodeErrorResponse(result.received)).toEqual({ status: Status.ProcessingError, identifier: 0 });
      expect(result.closed).toBe(true);
      expect(faults).toHaveLength(1);
    } finally {
      sim.devices.isValid = original;
      sim.gateway.removeAllListeners('internalError');
    }
    await send(frame(6), 300);
    await sim.waitFor({ identifier: 6, outcome: 'accepted' });
  });
});
