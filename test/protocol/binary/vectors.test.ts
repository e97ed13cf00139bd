import { describe, expect, it } from 'vitest';
import {
  Command,
  DecodedFrame,
  FrameDecoder,
  encodeEnhanced,
  encodeFrame,
  encodeSimple,
  type FrameItem,
} from '../../../protocol/binary/index.js';
import { decodeChunks, plain, type PlainEvent } from '../../support/events.js';
import { loadVectors, type Encoding, type Vector } from '../../support/vectors.js';

const vectors = loadVectors();

/** The expected event in the shape `plain` gives, payload compared as text where the vector has it. */
function expectEvents(actual: PlainEvent[], expected: Vector['decode']): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((event, i) => {
    const want = expected[i];
    if (want.kind === 'frame') {
      const { payload, ...rest } = want;
      expect(event.kind).toBe('frame');
      if (event.kind !== 'frame') return;
      const { payloadHex, ...got } = event;
      expect(got).toEqual(rest);
      if (payload !== undefined) expect(Buffer.from(payloadHex, 'hex').toString('utf8')).toBe(payload);
    } else {
      const e = want;
      expect(event).toMatchObject({
        kind: 'error',
        code: e.code,
        command: e.command,
        status: e.status,
        identifier: e.identifier,
        field: e.field,
        streamOffset: e.streamOffset,
      });
    }
  });
}

function encodeWithProductionEncoder(spec: Encoding): Buffer {
  let out: Buffer;
  if (spec.command === Command.Frame) {
    const items: FrameItem[] = spec.items.map((i) => ({
      id: i.id,
      data: Buffer.from(i.data, 'hex'),
      ...(i.length !== undefined ? { length: i.length } : {}),
    }));
    out = encodeFrame(items, spec.frameLength);
  } else {
    const fields = {
      token: Buffer.from(spec.token, 'hex'),
      payload: spec.payload,
      tokenLength: spec.tokenLength,
      payloadLength: spec.payloadLength,
    };
    out =
      spec.command === Command.Simple
        ? encodeSimple(fields)
        : encodeEnhanced({ ...fields, identifier: spec.identifier, expiry: spec.expiry });
  }
  return spec.cut === undefined ? out : out.subarray(0, spec.cut);
}

/** Encodes a decoded frame again with the production encoder, items in ascending id order. */
function reencode(frame: DecodedFrame): Buffer {
  if (frame.command === Command.Simple) return encodeSimple({ token: frame.token, payload: frame.payload });
  if (frame.command === Command.Enhanced) {
    return encodeEnhanced({ token: frame.token, payload: frame.payload, identifier: frame.identifier, expiry: frame.expiry });
  }
  const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  const data: Record<number, Buffer> = {
    1: frame.token,
    2: frame.payload,
    3: u32(frame.identifier),
    4: u32(frame.expiry),
    5: Buffer.of(frame.priority),
  };
  return encodeFrame([1, 2, 3, 4, 5].filter((id) => frame.hasItem(id)).map((id) => ({ id, data: data[id] })));
}

describe('golden vectors', () => {
  it('are many, with unique names matching their files, and every hex line commented', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(50);
    expect(new Set(vectors.map((v) => v.name)).size).toBe(vectors.length);
    for (const v of vectors) {
      expect(v.file).toBe(`${v.name}.json`);
      for (const line of v.hex) expect(line).toMatch(/^[0-9a-f *]+\/\/ \S/);
    }
  });

  it('cover every command, item, status and outcome the codec produces', () => {
    const decoded = vectors.flatMap((v) => v.decode);
    const verdicts = vectors.flatMap((v) => v.verdicts);
    const commands = new Set(decoded.map((d) => d.command));
    for (const c of [0, 1, 2, 3, 8, 255]) expect(commands).toContain(c);
    const items = new Set(decoded.flatMap((d) => (d.kind === 'frame' ? (d.items ?? []) : [])));
    for (const id of [1, 2, 3, 4, 5]) expect(items).toContain(id);
    const statuses = new Set(verdicts.map((v) => v.status));
    for (const s of [2, 4, 5, 7, 128, null]) expect(statuses).toContain(s);
    const outcomes = new Set(verdicts.map((v) => v.outcome));
    for (const o of ['accepted', 'rejected', 'incomplete', 'unparsable']) expect(outcomes).toContain(o);
    const codes = new Set(decoded.map((d) => (d.kind === 'error' ? d.code : 'frame')));
    for (const c of [
      'ERR_APNS_UNKNOWN_COMMAND',
      'ERR_APNS_FRAME_LENGTH',
      'ERR_APNS_ITEM_STRUCTURE',
      'ERR_APNS_TOKEN_LENGTH',
      'ERR_APNS_PAYLOAD_LENGTH',
      'ERR_APNS_PRIORITY',
    ]) {
      expect(codes).toContain(c);
    }
    const warnings = new Set(verdicts.flatMap((v) => v.warnings));
    for (const w of ['payload-not-json', 'payload-not-object', 'no-aps', 'content-available-at-priority-10']) expect(warnings).toContain(w);
  });

  describe.each(vectors.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    const options = vector.options?.limits ? { limits: vector.options.limits } : undefined;

    it('decodes to the expected frames and errors', () => {
      const result = decodeChunks([vector.bytes], options);
      expectEvents(result.events, vector.decode);
      if (vector.incomplete) {
        expect(result.incomplete).toMatchObject({
          command: vector.incomplete.command,
          streamOffset: vector.incomplete.streamOffset,
          neededBytes: vector.incomplete.neededBytes,
        });
        expect(result.incomplete?.bytes.length).toBe(vector.incomplete.length * 2);
        expect(result.incomplete?.bytes).toBe(vector.bytes.subarray(vector.incomplete.streamOffset).toString('hex'));
      } else {
        expect(result.incomplete).toBeNull();
      }
      expect(result.unparsedBytes).toBe(vector.unparsedBytes ?? 0);
    });

    if (vector.encode !== undefined)
      it('encodes hex-equal to the vector', () => {
        const specs = Array.isArray(vector.encode) ? vector.encode : [vector.encode as Encoding];
        const encoded = Buffer.concat(specs.map(encodeWithProductionEncoder));
        expect(encoded.toString('hex')).toBe(vector.bytes.toString('hex'));
      });

    if (vector.decode.some((d) => d.kind === 'frame'))
      it('round-trips each decoded frame through the encoder', () => {
        const frames: { frame: PlainEvent; again: Buffer; original: Buffer }[] = [];
        new FrameDecoder(options).push(vector.bytes, (event) => {
          if (event instanceof DecodedFrame)
            frames.push({ frame: plain(event), again: reencode(event), original: Buffer.from(event.bytes) });
        });
        expect(frames.length).toBe(vector.decode.filter((d) => d.kind === 'frame').length);
        for (const { frame, again, original } of frames) {
          const back = decodeChunks([again], options);
          expect(back.events).toEqual([{ ...frame, streamOffset: 0 }]);
          const ids = frame.kind === 'frame' && frame.command === 2 ? idsInOrder(original) : [];
          const ascending = ids.every((id, i) => i === 0 || ids[i - 1] < id);
          if (ascending) expect(again.toString('hex')).toBe(original.toString('hex'));
        }
      });
  });
});

/** The item ids of a command-2 frame in the order they are written. */
function idsInOrder(frame: Buffer): number[] {
  const ids: number[] = [];
  for (let p = 5; p + 3 <= frame.length; p += 3 + frame.readUInt16BE(p + 1)) ids.push(frame[p]);
  return ids;
}
