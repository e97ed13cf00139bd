import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodedFrame, FrameDecoder } from '../../../protocol/binary/index.js';
import { bytes, frame } from '../../support/bytes.js';
import { byteByByte, decodeChunks, splitAt } from '../../support/events.js';
import { loadVectors } from '../../support/vectors.js';

const vectors = loadVectors();

describe('every vector, split', () => {
  describe.each(vectors.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    const options = vector.options?.limits ? { limits: vector.options.limits } : undefined;
    const whole = decodeChunks([vector.bytes], options);

    it('gives the same events cut in two at every offset', () => {
      for (let at = 0; at <= vector.bytes.length; at++) {
        expect(decodeChunks(splitAt(vector.bytes, [at]), options), `cut at ${at}`).toEqual(whole);
      }
    });

    it('gives the same events byte by byte', () => {
      expect(decodeChunks(byteByByte(vector.bytes), options)).toEqual(whole);
    });
  });
});

/** A 32-byte token that says which frame it belongs to. */
const tokenFor = (i: number) => bytes().u32(i).fill(0xab, 28).build();
const payloadFor = (i: number) => Buffer.from(`{"aps":{"alert":"n${i}"}}`);

function manyFrames(count: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    parts.push(
      frame([
        [1, tokenFor(i)],
        [2, payloadFor(i)],
        [3, bytes().u32(i).build()],
      ]),
    );
  }
  return Buffer.concat(parts);
}

describe('many frames', () => {
  it('decodes 10,000 frames from one chunk as views of that chunk, in order', () => {
    const chunk = manyFrames(10_000);
    const decoder = new FrameDecoder();
    let n = 0;
    let offset = 0;
    const wrong: string[] = [];
    decoder.push(chunk, (event) => {
      if (!(event instanceof DecodedFrame)) throw new Error(`frame ${n}: ${event.message}`);
      const ok =
        event.identifier === n &&
        event.streamOffset === offset &&
        event.token.equals(tokenFor(n)) &&
        event.payload.equals(payloadFor(n)) &&
        // Views, not copies: the frame's bytes live in the chunk's memory.
        event.bytes.buffer === chunk.buffer &&
        event.bytes.byteOffset === chunk.byteOffset + offset;
      if (!ok) wrong.push(`frame ${n} at ${offset}`);
      offset += event.bytes.length;
      n++;
    });
    expect(wrong).toEqual([]);
    expect(n).toBe(10_000);
    expect(decoder.end()).toBeNull();
    expect(decoder.streamOffset).toBe(chunk.length);
  });

  it('gives the same events for many frames of every kind under random chunking', () => {
    const mix = Buffer.concat(
      vectors
        // Left out: vectors whose declared lengths run past their bytes would swallow the next vector.
        .filter((v) => v.incomplete === undefined && !v.unparsedBytes && !v.options && !/huge|2105|spaces/.test(v.name))
        .map((v) => v.bytes),
    );
    const whole = decodeChunks([mix]);
    expect(whole.events.length).toBeGreaterThan(40);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: mix.length - 1 }), { maxLength: 200 }), (cuts) => {
        const chunks = splitAt(
          mix,
          [...cuts].sort((a, b) => a - b),
        );
        expect(decodeChunks(chunks)).toEqual(whole);
      }),
      { numRuns: 100 },
    );
  });

  it('frames many in a chunk and one straddling chunks alike, in 1,400-byte chunks', () => {
    const stream = manyFrames(2_000);
    const chunks: Buffer[] = [];
    for (let at = 0; at < stream.length; at += 1400) chunks.push(stream.subarray(at, at + 1400));
    const result = decodeChunks(chunks);
    expect(result.events.map((e) => (e.kind === 'frame' ? e.identifier : -1))).toEqual([...Array(2_000).keys()]);
    expect(result.incomplete).toBeNull();
  });

  it('reports a huge declared frame length at once and skips its bytes as they arrive', () => {
    const decoder = new FrameDecoder();
    const seen: string[] = [];
    decoder.push(bytes().u8(2).u32(0xfffffff0).build(), (e) => seen.push(e instanceof DecodedFrame ? 'frame' : e.code));
    expect(seen).toEqual(['ERR_APNS_FRAME_LENGTH']);
    expect(decoder.pendingBytes).toBe(0);
    decoder.push(Buffer.alloc(1 << 20), () => seen.push('more'));
    expect(seen).toEqual(['ERR_APNS_FRAME_LENGTH']);
    expect(decoder.pendingBytes).toBe(0);
  });
});
