import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Command,
  FrameDecoder,
  encodeNotification,
  writeNotification,
  type FrameSink,
  type Notification,
} from '../../../protocol/binary/index.js';
import { byteByByte, decodeChunks, splitAt } from '../../support/events.js';
import { loadVectors } from '../../support/vectors.js';

/** A sink like the client's: 256-byte blocks, so frames also start new blocks. */
class Blocks implements FrameSink {
  buffer = Buffer.alloc(0);
  used = 0;
  readonly frames: Buffer[] = [];
  room(size: number): void {
    if (this.buffer.length - this.used < size) {
      this.buffer = Buffer.alloc(Math.max(256, size));
      this.used = 0;
    }
  }
  write(n: Omit<Notification, 'identifier'>, identifier: number, command: 0 | 1 | 2): Buffer {
    const start = writeNotification(n, identifier, command, this);
    return Buffer.from(this.buffer.subarray(start, this.used));
  }
}

describe('writeNotification: the same bytes as encodeNotification, written in place', () => {
  it('hex and byte tokens, string, object and byte payloads, expiry, priority, every command', () => {
    const blocks = new Blocks();
    const cases: Omit<Notification, 'identifier'>[] = [
      { token: 'ab'.repeat(32), payload: { aps: { alert: 'Hello' } } },
      { token: 'AB'.repeat(32), payload: '{"aps":{"alert":"é ✓ 😀"}}', expiry: 1_700_000_000, priority: 5 },
      { token: Buffer.alloc(32, 7), payload: Buffer.from('{"aps":{}}'), expiry: 0, priority: 10 },
      { token: new Uint8Array(32).fill(9), payload: new Uint8Array(Buffer.from('{}')) },
      // Separators and odd lengths take the general path, which reads them as Buffer.from does.
      { token: '<' + 'ab '.repeat(32).trim() + '>', payload: {} },
      { token: 'abc', payload: {} },
      { token: 'ab'.repeat(100), payload: 'x'.repeat(300) },
    ];
    for (const command of [Command.Simple, Command.Enhanced, Command.Frame] as const) {
      for (const [i, n] of cases.entries()) {
        expect(blocks.write(n, i + 1, command).toString('hex')).toBe(
          encodeNotification({ ...n, identifier: i + 1 }, command).toString('hex'),
        );
      }
    }
  });

  it('any payload text and identifier (property)', () => {
    const blocks = new Blocks();
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: 0, max: 255 }),
        (text, id, priority) => {
          const n = { token: 'cd'.repeat(32), payload: { text }, expiry: id, priority };
          expect(blocks.write(n, id, Command.Frame).equals(encodeNotification({ ...n, identifier: id }, Command.Frame))).toBe(true);
        },
      ),
    );
  });

  it('frames follow each other in a block, and a full block gives way to a new one', () => {
    const blocks = new Blocks();
    const first = writeNotification({ token: 'ab'.repeat(32), payload: '{}' }, 1, Command.Frame, blocks);
    const firstBlock = blocks.buffer;
    const second = writeNotification({ token: 'ab'.repeat(32), payload: '{}' }, 2, Command.Frame, blocks);
    expect(second).toBe(first + 52);
    expect(blocks.buffer).toBe(firstBlock);
    writeNotification({ token: 'ab'.repeat(32), payload: 'x'.repeat(400) }, 3, Command.Frame, blocks);
    expect(blocks.buffer).not.toBe(firstBlock);
  });

  it('a payload over 65535 bytes throws and leaves the block as it was', () => {
    const blocks = new Blocks();
    writeNotification({ token: 'ab'.repeat(32), payload: '{}' }, 1, Command.Frame, blocks);
    const used = blocks.used;
    expect(() => writeNotification({ token: 'ab'.repeat(32), payload: 'x'.repeat(70_000) }, 2, Command.Frame, blocks)).toThrow(RangeError);
    expect(blocks.used === used || blocks.used === 0).toBe(true);
  });
});

describe('FrameDecoder with reuseFrame: the same events as one frame object each', () => {
  it('every golden vector, whole, cut in two anywhere and byte by byte', () => {
    for (const v of loadVectors()) {
      const cuts = [
        [v.bytes],
        byteByByte(v.bytes),
        ...Array.from({ length: Math.min(v.bytes.length, 40) }, (_, i) => splitAt(v.bytes, [i])),
      ];
      for (const chunks of cuts) {
        expect(decodeChunks(chunks, { reuseFrame: true }), v.file).toEqual(decodeChunks(chunks));
      }
    }
  });

  it('hands the sink one object, refilled: views made for one frame are not those of the next', () => {
    const bytes = Buffer.concat(
      [1, 2].map((id) => encodeNotification({ token: Buffer.alloc(32, id), payload: `{"n":${id}}`, identifier: id })),
    );
    const seen: { frame: object; token: string; payload: string }[] = [];
    new FrameDecoder({ reuseFrame: true }).push(bytes, (e) => {
      if (e.kind === 'frame') seen.push({ frame: e, token: e.token.toString('hex'), payload: e.payload.toString() });
    });
    expect(seen[0].frame).toBe(seen[1].frame);
    expect(seen.map((s) => [s.token.slice(0, 2), s.payload])).toEqual([
      ['01', '{"n":1}'],
      ['02', '{"n":2}'],
    ]);
  });
});
