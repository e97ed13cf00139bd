import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BinaryProtocolError,
  DecodedFrame,
  FrameDecoder,
  STATUS_CODES,
  encodeNotification,
  explain,
  type NotificationCommand,
} from '../../../protocol/binary/index.js';
import { bytes } from '../../support/bytes.js';
import { decodeChunks, splitAt } from '../../support/events.js';
import { loadVectors } from '../../support/vectors.js';

const notification = fc.record({
  command: fc.constantFrom<NotificationCommand>(0, 1, 2),
  token: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  payload: fc.uint8Array({ minLength: 1, maxLength: 256 }),
  identifier: fc.nat({ max: 0xffffffff }),
  expiry: fc.nat({ max: 0xffffffff }),
  priority: fc.constantFrom(5, 10),
});

describe('property: notifications round-trip', () => {
  it('through encode and decode for all three commands, bytes as the test builder writes them', () => {
    fc.assert(
      fc.property(notification, (n) => {
        const encoded = encodeNotification(
          {
            token: Buffer.from(n.token),
            payload: Buffer.from(n.payload),
            identifier: n.identifier,
            expiry: n.expiry,
            priority: n.priority,
          },
          n.command,
        );
        let expected: Buffer;
        if (n.command === 0) expected = bytes().u8(0).u16(32).raw(n.token).u16(n.payload.length).raw(n.payload).build();
        else if (n.command === 1)
          expected = bytes().u8(1).u32(n.identifier).u32(n.expiry).u16(32).raw(n.token).u16(n.payload.length).raw(n.payload).build();
        else {
          const body = bytes().item(1, n.token).item(2, n.payload).item(3, bytes().u32(n.identifier).build());
          if (n.expiry > 0) body.item(4, bytes().u32(n.expiry).build());
          if (n.priority !== 10) body.item(5, Buffer.of(n.priority));
          const built = body.build();
          expected = bytes().u8(2).u32(built.length).raw(built).build();
        }
        expect(encoded.toString('hex')).toBe(expected.toString('hex'));
        const events: unknown[] = [];
        new FrameDecoder().push(encoded, (e) => {
          if (!(e instanceof DecodedFrame)) throw e;
          events.push({
            command: e.command,
            identifier: e.identifier,
            expiry: e.expiry,
            priority: e.priority,
            token: Buffer.from(e.token),
            payload: Buffer.from(e.payload),
            length: e.bytes.length,
          });
        });
        expect(events).toEqual([
          {
            command: n.command,
            identifier: n.command === 0 ? 0 : n.identifier,
            expiry: n.command === 0 ? 0 : n.expiry,
            priority: n.command === 2 ? n.priority : 10,
            token: Buffer.from(n.token),
            payload: Buffer.from(n.payload),
            length: encoded.length,
          },
        ]);
      }),
      { numRuns: 500 },
    );
  });
});

/** Decodes and checks what any input must give: frames or typed errors, in stream order, nothing thrown. */
function checkAnyInput(input: Buffer): void {
  const decoder = new FrameDecoder();
  let last = -1;
  decoder.push(input, (event) => {
    expect(event instanceof DecodedFrame || event instanceof BinaryProtocolError).toBe(true);
    expect(event.streamOffset).toBeGreaterThan(last);
    last = event.streamOffset;
    if (event instanceof BinaryProtocolError) {
      expect(event.code).toMatch(/^ERR_APNS_/);
      if (event.status !== null) expect(STATUS_CODES).toContain(event.status);
    } else {
      expect(event.token.length).toBe(32);
      expect(event.bytes.length).toBeGreaterThan(0);
    }
  });
  const incomplete = decoder.end();
  if (incomplete) expect(incomplete.streamOffset).toBeGreaterThan(last);
  const e = explain(input);
  let at = 0;
  for (const f of e.frames) {
    expect(f.offset).toBe(at);
    at += f.length;
  }
  expect(at).toBe(input.length);
}

const splits = (input: Buffer) => fc.uniqueArray(fc.integer({ min: 0, max: input.length }), { maxLength: 12 });

/** Golden frames, mutated: bits flipped, cut, extended, or a 16/32-bit length overwritten. */
const goldens = loadVectors().map((v) => v.bytes);
const mutated = fc
  .tuple(
    fc.constantFrom(...goldens),
    fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
        fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
        fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ maxLength: 64 }) }),
        fc.record({ kind: fc.constant('length16' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 0xffff }) }),
        fc.record({ kind: fc.constant('length32' as const), at: fc.nat(), value: fc.nat({ max: 0xffffffff }) }),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([golden, mutations]) => {
    let b = Buffer.from(golden);
    for (const m of mutations) {
      if (m.kind === 'extend') b = Buffer.concat([b, m.extra]);
      else if (b.length === 0) continue;
      else if (m.kind === 'flip') b[m.at % b.length] ^= 1 << m.bit;
      else if (m.kind === 'cut') b = b.subarray(0, m.at % b.length);
      else if (m.kind === 'length16' && b.length >= 2) b.writeUInt16BE(m.value, m.at % (b.length - 1));
      else if (m.kind === 'length32' && b.length >= 4) b.writeUInt32BE(m.value, m.at % (b.length - 3));
    }
    return b;
  });

/** Random frames of plausible shape: the decoder gets past the first byte far more often than with pure noise. */
const framish = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.tuple(fc.constantFrom(0, 1, 2), fc.uint8Array({ maxLength: 80 })).map(([c, rest]) => Uint8Array.of(c, ...rest)),
      fc
        .tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 40 }), fc.uint8Array({ maxLength: 40 }))
        .map(([id, len, data]) => Uint8Array.of(id, len >> 8, len & 255, ...data)),
    ),
    { maxLength: 8 },
  )
  .map((parts) => Buffer.concat(parts.map((p) => Buffer.from(p))));

describe('property: any input gives frames or typed errors, never an exception', () => {
  for (const [name, input] of [
    ['random bytes', fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.from(u))],
    ['frame-shaped random bytes', framish],
    ['mutated golden frames', mutated],
  ] as const) {
    it(`${name}: decoded whole`, () => {
      fc.assert(fc.property(input, checkAnyInput), { numRuns: 400 });
    });

    it(`${name}: split arbitrarily, the same events as whole`, () => {
      fc.assert(
        fc.property(
          input.chain((b) => fc.tuple(fc.constant(b), splits(b))),
          ([b, cuts]) => {
            expect(
              decodeChunks(
                splitAt(
                  b,
                  [...cuts].sort((x, y) => x - y),
                ),
              ),
            ).toEqual(decodeChunks([b]));
          },
        ),
        { numRuns: 400 },
      );
    });
  }
});
