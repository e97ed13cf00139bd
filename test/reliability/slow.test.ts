import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeNotification } from '../../protocol/binary/index.js';
import { DEFAULT_FRAME_TIMEOUT_MS, startSimulator, type Simulator } from '../../server/index.js';
import { connectProvider } from '../support/provider-connection.js';
import { eventually, watchInternalErrors } from './support.js';
import { useSimulator } from '../support/simulator.js';

const TOKEN = 'aa'.repeat(32);
const frame = (identifier: number) => encodeNotification({ token: TOKEN, payload: { aps: { alert: `n${identifier}` } }, identifier }, 2);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FRAME_TIMEOUT = 300;

let sim: Simulator;
let internal: unknown[];
useSimulator({ controlPort: false, http2Port: false, frameTimeoutMs: FRAME_TIMEOUT }, (started) => (sim = started));
beforeAll(() => {
  internal = watchInternalErrors(sim.gateway);
});
beforeEach(() => sim.recorder.clear());

describe('slow senders', () => {
  it('the frame timeout is on by default: 30 s', () => {
    expect(DEFAULT_FRAME_TIMEOUT_MS).toBe(30_000);
  });

  it('a frame started and never finished: the connection is closed without a reply and the record says the sender was slow', async () => {
    const c = await connectProvider(sim.ports.gateway, sim.credentials);
    const bytes = frame(1);
    c.write(bytes.subarray(0, 10));
    expect(await c.closedWithin(5000)).toBe(true);
    expect(c.received().length).toBe(0);
    const [record] = await sim.waitFor({ outcome: 'incomplete' });
    expect(record.bytes).toBe(bytes.subarray(0, 10).toString('hex'));
    expect(record.reason).toMatch(/^slow sender: the frame was still incomplete \d+ ms after its first bytes \(frame timeout 300 ms\)/);
    expect(await eventually(() => sim.gateway.connections().length === 0)).toBe(true);
  });

  it('a frame trickled a byte at a time, each byte sooner than the timeout, is closed all the same, and what came after is not read', async () => {
    const c = await connectProvider(sim.ports.gateway, sim.credentials);
    const bytes = frame(2);
    let written = 0;
    for (; written < bytes.length && !c.socket.destroyed; written++) {
      c.write(bytes.subarray(written, written + 1));
      await sleep(40);
    }
    expect(await c.closedWithin(5000)).toBe(true);
    const records = sim.records();
    expect(records.map((r) => r.outcome)).toEqual(['incomplete']);
    // The timeout counts from the frame's first byte: it closed long before the whole frame (about 35 bytes at 40 ms) could arrive.
    expect(written).toBeLessThan(bytes.length);
    expect(records[0].bytes.length / 2).toBeLessThan(bytes.length);
  });

  it('whole frames with long pauses between them are fine: only a frame in progress is timed', async () => {
    const c = await connectProvider(sim.ports.gateway, sim.credentials);
    for (let id = 11; id <= 13; id++) {
      c.write(frame(id));
      await sleep(FRAME_TIMEOUT * 2);
    }
    expect(await c.closedWithin(100)).toBe(false);
    c.socket.end();
    expect((await sim.waitFor({ outcome: 'accepted' }, { count: 3 })).map((r) => r.identifier)).toEqual([11, 12, 13]);
    expect(sim.records({ outcome: 'incomplete' })).toEqual([]);
  });

  it("a stall rule pauses the reading: the time it holds the frame is not the sender's", async () => {
    sim.rules.add({ id: 'stall', match: { identifier: 21 }, action: { type: 'stall', ms: FRAME_TIMEOUT * 3 } });
    try {
      const c = await connectProvider(sim.ports.gateway, sim.credentials);
      // The next frame starts in the same write; its rest comes soon after, but is read only when the stall ends.
      const next = frame(22);
      c.write(Buffer.concat([frame(21), next.subarray(0, 10)]));
      await sleep(50);
      c.write(next.subarray(10));
      expect((await sim.waitFor({ outcome: 'accepted' }, { count: 2, timeoutMs: 5000 })).map((r) => r.identifier)).toEqual([21, 22]);
      c.socket.end();
      expect(sim.records({ outcome: 'incomplete' })).toEqual([]);
    } finally {
      sim.rules.clear();
    }
  });

  it('a connection idle longer than the idle timeout is closed (off by default), and lingers no longer than the linger time', async () => {
    const idle = await startSimulator({ controlPort: false, http2Port: false, idleTimeoutMs: 300 });
    try {
      const c = await connectProvider(idle.ports.gateway, idle.credentials);
      c.write(frame(31));
      await idle.waitFor({ identifier: 31, outcome: 'accepted' });
      expect(await c.closedWithin(5000)).toBe(true);
      expect(c.received().length).toBe(0);
      expect(await eventually(() => idle.gateway.connections().length === 0 && idle.gateway.socketCount === 0)).toBe(true);
    } finally {
      await idle.close();
    }
    // Without the option the same wait leaves the connection open.
    const c = await connectProvider(sim.ports.gateway, sim.credentials);
    c.write(frame(32));
    expect(await c.closedWithin(600)).toBe(false);
    c.socket.destroy();
  });
});

describe('length prefixes of 4 GB', () => {
  it('command 2 with frame length 0xffffffff: status 7 as soon as the header arrives; the body that follows is skipped, never buffered', async () => {
    const c = await connectProvider(sim.ports.gateway, sim.credentials);
    const closed = new Promise<{ bytesReceived: number }>((resolve) => sim.gateway.once('disconnect', resolve));
    // Sampled on every turn of the event loop while the bytes arrive: what the gateway holds of the frame.
    let sampling = true;
    let maxBuffered = 0;
    let samples = 0;
    const sample = () => {
      for (const s of sim.gateway.connections()) maxBuffered = Math.max(maxBuffered, s.bufferedBytes);
      samples++;
      if (sampling) setImmediate(sample);
    };
    sample();
    // The header and 8 MB of its "frame" in one burst: the gateway answers after the header and skips the rest as it reads it.
    c.write(Buffer.concat([Buffer.from([0x02, 0xff, 0xff, 0xff, 0xff]), Buffer.alloc(8 << 20, 0x41)]));
    const summary = await closed;
    sampling = false;
    expect(c.received().toString('hex')).toBe('080700000000');
    expect(samples).toBeGreaterThan(1);
    expect(maxBuffered).toBe(0);
    // More than one TLS record (16 KB) of the body arrived and was skipped.
    expect(summary.bytesReceived).toBeGreaterThan(16 * 1024);
    const records = sim.records();
    expect(records).toHaveLength(1);
    const { bytes, ...rest } = records[0];
    expect(rest).toMatchObject({ outcome: 'rejected', status: 7, identifier: 0 });
    // The record keeps the header and what came with it in the same read, a view copied once: not the 8 MB.
    expect(bytes.startsWith('02ffffffff')).toBe(true);
    expect(bytes.length / 2).toBeLessThanOrEqual(64 * 1024);
  });

  it('command 1 with payload length 0xffff: status 7 at the header too, before the payload', async () => {
    const header = Buffer.concat([
      Buffer.from([0x01, 0, 0, 0, 5, 0, 0, 0, 0, 0x00, 0x20]),
      Buffer.from(TOKEN, 'hex'),
      Buffer.from([0xff, 0xff]),
    ]);
    const c = await connectProvider(sim.ports.gateway, sim.credentials);
    c.write(header);
    expect(await eventually(() => c.received().length >= 6)).toBe(true);
    expect(c.received().toString('hex')).toBe('080700000005');
    c.socket.destroy();
    expect(internal).toEqual([]);
  });
});
