// The Recorder keeps records as columns and slabs; these check that what goes in comes out,
// whatever the store does underneath (growing, wrapping, dropping, adopting chunks).
import { describe, expect, it } from 'vitest';
import { type DecodedFrame, FrameDecoder, encodeNotification, type DecodeEvent } from '../../../protocol/binary/index.js';
import { Recorder, type ConnectionInfo, type RecordInput } from '../../../server/index.js';
import { RecordStore } from '../../../server/recorder/store.js';

const connection: ConnectionInfo = { id: 7, protocol: 'binary', peer: '127.0.0.1:1', topic: 'com.example.app', environment: 'development' };
const token = (i: number) => Buffer.alloc(32, i & 0xff);
const frame = (i: number, payload = `{"aps":{"alert":"n${i}"}}`) =>
  encodeNotification({ token: token(i), payload, identifier: i, expiry: 1_900_000_000 + i, priority: 5 }, 2);

/** A binary frame as the gateway records it: token and payload are views into the frame's bytes. */
function input(i: number, extra: Partial<RecordInput> = {}): RecordInput {
  const bytes = frame(i);
  const { events } = FrameDecoder.decodeAll(bytes);
  const f = events[0] as DecodedFrame;
  return {
    connection,
    command: 2,
    identifier: i,
    expiry: f.expiry,
    priority: 5,
    bytes,
    token: f.token,
    payload: f.payload,
    outcome: 'accepted',
    ...extra,
  };
}

describe('Recorder storage', () => {
  it('gives back every field it was given, across growth of its columns', () => {
    const recorder = new Recorder({ maxRecords: 5000 });
    for (let i = 1; i <= 3000; i++)
      recorder.push(input(i, i % 3 === 0 ? { outcome: 'rejected', status: 8, reason: `bad ${i}`, rule: 'r1' } : {}));
    expect(recorder.size).toBe(3000);
    const records = recorder.find();
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
    for (const i of [1, 3, 1024, 1025, 2999, 3000]) {
      const r = records[i - 1];
      expect(r.toJSON()).toMatchObject({
        seq: i,
        connectionId: 7,
        topic: 'com.example.app',
        command: 2,
        identifier: i,
        expiry: 1_900_000_000 + i,
        priority: 5,
        token: token(i).toString('hex'),
        payload: `{"aps":{"alert":"n${i}"}}`,
        payloadJson: { aps: { alert: `n${i}` } },
        warnings: [],
        outcome: i % 3 === 0 ? 'rejected' : 'accepted',
        status: i % 3 === 0 ? 8 : null,
        statusName: i % 3 === 0 ? 'InvalidToken' : null,
        reason: i % 3 === 0 ? `bad ${i}` : null,
        rule: i % 3 === 0 ? 'r1' : null,
        bytes: frame(i).toString('hex'),
        http2: null,
      });
      expect(r.connection).toBe(connection);
    }
  });

  it('drops the oldest past maxRecords, sequence numbers go on, and records read before stay whole', () => {
    const recorder = new Recorder({ maxRecords: 1500 });
    for (let i = 1; i <= 1000; i++) recorder.push(input(i));
    const early = recorder.find({ identifier: 10 })[0];
    for (let i = 1001; i <= 4000; i++) recorder.push(input(i));
    expect(recorder.size).toBe(1500);
    expect(recorder.stats()).toMatchObject({ total: 4000, kept: 1500, dropped: 2500, accepted: 4000 });
    expect(recorder.find().map((r) => r.identifier)).toEqual(Array.from({ length: 1500 }, (_, i) => 2501 + i));
    expect(recorder.find({ since: 3990 }).map((r) => r.seq)).toEqual([3991, 3992, 3993, 3994, 3995, 3996, 3997, 3998, 3999, 4000]);
    expect(recorder.find({ since: 10 }, 2).map((r) => r.seq)).toEqual([2501, 2502]);
    expect(early.bytes.equals(frame(10))).toBe(true);
    expect(early.token!.equals(token(10))).toBe(true);
  });

  it('keeps none with maxRecords 0, yet add() still returns the record', () => {
    const recorder = new Recorder({ maxRecords: 0 });
    const record = recorder.add(input(1));
    recorder.push(input(2));
    expect(record.toJSON()).toMatchObject({ seq: 1, identifier: 1, token: token(1).toString('hex') });
    expect(recorder.size).toBe(0);
    expect(recorder.stats()).toMatchObject({ total: 2, kept: 0, dropped: 2 });
  });

  it('clear() forgets the records; sequence numbers go on', () => {
    const recorder = new Recorder();
    for (let i = 1; i <= 5; i++) recorder.push(input(i));
    recorder.clear();
    expect(recorder.size).toBe(0);
    expect(recorder.find()).toEqual([]);
    expect(recorder.add(input(6)).seq).toBe(6);
    expect(recorder.find().map((r) => r.identifier)).toEqual([6]);
  });

  it('copies a token and a payload that are not within the bytes, and a body larger than a slab', () => {
    const recorder = new Recorder();
    const body = Buffer.from(JSON.stringify({ aps: { alert: 'x'.repeat(40_000) } }));
    const http2 = {
      method: 'POST',
      path: '/3/device/aa',
      authority: null,
      headers: {},
      streamId: 1,
      apnsId: 'id',
      apnsUniqueId: null,
      pushType: 'alert',
      collapseId: null,
      channelId: null,
      status: 200,
      reason: null,
      timestamp: null,
      auth: null,
      teamId: null,
      keyId: null,
    } as const;
    const tokenBytes = Buffer.from('ab'.repeat(32), 'hex');
    recorder.push({
      connection: { ...connection, protocol: 'http2' },
      command: null,
      bytes: body,
      token: tokenBytes,
      payload: body,
      outcome: 'accepted',
      status: 200,
      topic: 'com.other.app',
      http2,
    });
    recorder.push({
      connection,
      command: 0,
      bytes: Buffer.from('0001', 'hex'),
      token: Buffer.from('cd', 'hex'),
      payload: Buffer.from('{}'),
      outcome: 'incomplete',
      reason: 'cut',
    });
    body.fill(0);
    tokenBytes.fill(0);
    const [big, small] = recorder.find();
    expect(big.token!.toString('hex')).toBe('ab'.repeat(32));
    expect(JSON.parse(big.payload!.toString())).toEqual({ aps: { alert: 'x'.repeat(40_000) } });
    expect(big.topic).toBe('com.other.app');
    expect(big.http2).toEqual(http2);
    expect(big.toJSON()).toMatchObject({ protocol: 'http2', command: null, identifier: null, expiry: null, priority: null, status: 200 });
    expect(small.toJSON()).toMatchObject({
      bytes: '0001',
      token: 'cd',
      payload: '{}',
      reason: 'cut',
      topic: 'com.example.app',
      outcome: 'incomplete',
    });
  });

  it('keeps warnings worked out on the socket path, and works them out when read otherwise', () => {
    const recorder = new Recorder();
    recorder.push(input(1, { payload: Buffer.from('not json'), bytes: Buffer.from('not json'), token: null }));
    recorder.push(input(2, { warnings: [] }));
    const [lenient, strict] = recorder.list();
    expect(lenient.warnings.map((w) => w.code)).not.toEqual([]);
    expect(strict.warnings).toEqual([]);
  });

  it('records frames decoded from an adopted chunk, and a frame cut across chunks, as copies', () => {
    const recorder = new Recorder();
    const stream = Buffer.concat(Array.from({ length: 40 }, (_, i) => frame(i + 1)));
    const decoder = new FrameDecoder();
    const sink = (event: DecodeEvent) => {
      const f = event as DecodedFrame;
      recorder.pushFrame({ connection, frame: f, identifier: f.identifier, expiry: f.expiry, outcome: 'accepted' });
    };
    const chunks: Buffer[] = [];
    for (let at = 0; at < stream.length; at += 1000) chunks.push(Buffer.from(stream.subarray(at, at + 1000)));
    for (const chunk of chunks) decoder.push(recorder.adopt(chunk), sink);
    for (const chunk of chunks) chunk.fill(0);
    const records = recorder.find();
    expect(records).toHaveLength(40);
    records.forEach((r, i) => {
      expect(r.bytes.equals(frame(i + 1))).toBe(true);
      expect(r.token!.equals(token(i + 1))).toBe(true);
      expect(r.toJSON()).toMatchObject({
        identifier: i + 1,
        expiry: 1_900_000_001 + i,
        priority: 5,
        command: 2,
        payloadJson: { aps: { alert: `n${i + 1}` } },
      });
    });
  });

  it('writes its slabs again once their records are dropped, and what was read before stays as it was', () => {
    const recorder = new Recorder({ maxRecords: 1000 });
    const decoder = new FrameDecoder();
    const sink = (event: DecodeEvent) => {
      const f = event as DecodedFrame;
      recorder.pushFrame({ connection, frame: f, identifier: f.identifier, expiry: f.expiry, outcome: 'accepted' });
    };
    const early: ReturnType<Recorder['find']> = [];
    for (let round = 0; round < 50; round++) {
      const stream = Buffer.concat(Array.from({ length: 400 }, (_, i) => frame(round * 400 + i + 1)));
      for (let at = 0; at < stream.length; at += 16_384) decoder.push(recorder.adopt(stream.subarray(at, at + 16_384)), sink);
      if (round === 1) early.push(...recorder.find({ since: recorder.lastSeq - 3 }));
    }
    expect(recorder.stats()).toMatchObject({ total: 20_000, kept: 1000, dropped: 19_000 });
    const kept = recorder.find();
    kept.forEach((r, i) => expect(r.bytes.equals(frame(19_001 + i))).toBe(true));
    expect(early.map((r) => r.bytes.equals(frame(r.identifier!)) && r.token!.equals(token(r.identifier!)))).toEqual([true, true, true]);
  });
});

describe('RecordStore slabs', () => {
  it('stops allocating once full: slabs whose records were all dropped are written again', () => {
    const store = new RecordStore(1000);
    const decoder = new FrameDecoder({ reuseFrame: true });
    const sink = (event: DecodeEvent) => {
      const f = event as DecodedFrame;
      store.pushFrame({ connection, frame: f, identifier: f.identifier, expiry: f.expiry, outcome: 'accepted' });
    };
    const round = (n: number) => {
      const stream = Buffer.concat(Array.from({ length: 400 }, (_, i) => frame(n * 400 + i + 1)));
      // Chunks that cut frames, as a socket's do: some frames are copied on their own.
      for (let at = 0; at < stream.length; at += 5000) decoder.push(store.adopt(stream.subarray(at, at + 5000)), sink);
    };
    for (let n = 0; n < 20; n++) round(n);
    const allocated = store.slabsAllocated;
    for (let n = 20; n < 200; n++) round(n);
    expect(store.slabsAllocated).toBe(allocated);
    expect(store.get(store.nextSeq - 1)!.bytes.equals(frame(80_000))).toBe(true);
    expect(store.get(store.firstSeq)!.bytes.equals(frame(79_001))).toBe(true);
  });
});

describe('RecordStore, records of no bytes', () => {
  it('keeps a record of no bytes first thing, and again after clear()', () => {
    const store = new RecordStore(10);
    const empty = { connection, bytes: Buffer.alloc(0), outcome: 'rejected' as const, status: 400 };
    const first = store.push(empty, Date.now());
    expect(store.get(first)!.bytes.length).toBe(0);
    store.clear();
    const again = store.push(empty, Date.now());
    expect(store.get(again)).toMatchObject({ outcome: 'rejected', status: 400 });
  });
});

describe('Recorder time', () => {
  it('never gives a record an earlier time than the one before it, though frames take their chunk arrival time', async () => {
    const recorder = new Recorder();
    const decoder = new FrameDecoder();
    const frames: DecodedFrame[] = [];
    // Decoded now, recorded after a record made later by the clock: as a rejection mid-chunk is.
    decoder.push(recorder.adopt(Buffer.concat([frame(1), frame(2)])), (e: DecodeEvent) => {
      if (e.kind === 'frame') frames.push(e);
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    recorder.push(input(3, { outcome: 'rejected', status: 8 }));
    for (const f of frames) recorder.pushFrame({ connection, frame: f, identifier: f.identifier, expiry: f.expiry, outcome: 'discarded' });
    const times = recorder.list().map((r) => Date.parse(r.time));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });
});
