import { FrameDecoder, type DecodedFrame } from '../../protocol/binary/decoder.js';
import { encodeFrame, frameItemsOf } from '../../protocol/binary/encoder.js';
import { FRAME_HEADER, ITEM_HEADER, ItemId } from '../../protocol/binary/constants.js';
import { race, row, type Bench } from './types.js';

const FRAME_SIZE = 160;
const FRAMES = 20_000;
/** A typical TLS record's worth of plaintext on a busy connection. */
const CHUNK = 1400;
/** The chunked decoder must keep at least this share of the bare loop's speed. */
const CHUNKED_TARGET = 0.7;

/** 20,000 command-2 frames of exactly 160 bytes: every item once, a 99-byte payload. */
function stream(): Buffer {
  const frames: Buffer[] = [];
  for (let i = 0; i < FRAMES; i++) {
    const token = Buffer.alloc(32, i & 0xff);
    const payload = Buffer.from(
      `{"aps":{"alert":"Benchmark notification ${String(i).padStart(6, '0')}","badge":1},"n":"${'x'.repeat(33)}"}`,
    );
    const frame = encodeFrame(
      frameItemsOf({ token, payload, identifier: i, expiry: 1767225600, priority: 10 }, { alwaysExpiry: true, alwaysPriority: true }),
    );
    if (frame.length !== FRAME_SIZE) throw new Error(`bench frame is ${frame.length} bytes, not ${FRAME_SIZE}`);
    frames.push(frame);
  }
  return Buffer.concat(frames);
}

let sink = 0;

/** The floor any decoder pays: walk each frame's items, make the token and payload views. */
function bareLoop(buf: Buffer): number {
  let frames = 0;
  let p = 0;
  while (p < buf.length) {
    const end = p + FRAME_HEADER + buf.readUInt32BE(p + 1);
    let token: Buffer | undefined;
    let payload: Buffer | undefined;
    for (let q = p + FRAME_HEADER; q < end;) {
      const id = buf[q];
      const length = buf.readUInt16BE(q + 1);
      const data = q + ITEM_HEADER;
      if (id === ItemId.DeviceToken) token = buf.subarray(data, data + length);
      else if (id === ItemId.Payload) payload = buf.subarray(data, data + length);
      q = data + length;
    }
    sink += (token as Buffer)[0] + (payload as Buffer).length;
    frames++;
    p = end;
  }
  return frames;
}

function decodeWith(chunks: readonly Buffer[]): number {
  const decoder = new FrameDecoder();
  let frames = 0;
  const onEvent = (event: DecodedFrame | Error) => {
    const frame = event as DecodedFrame;
    sink += frame.token[0] + frame.payload.length;
    frames++;
  };
  for (const chunk of chunks) decoder.push(chunk, onEvent);
  return frames;
}

export const decoderBench: Bench = {
  name: 'decoder',
  describe: `FrameDecoder on ${FRAMES.toLocaleString('en-US')} command-2 frames of ${FRAME_SIZE} bytes, against a bare loop over the same bytes`,
  run() {
    const buf = stream();
    const chunks: Buffer[] = [];
    for (let at = 0; at < buf.length; at += CHUNK) chunks.push(buf.subarray(at, at + CHUNK));
    if (decodeWith([buf]) !== FRAMES || decodeWith(chunks) !== FRAMES || bareLoop(buf) !== FRAMES)
      throw new Error('bench input does not decode to every frame');
    const [bare, whole, chunked] = race([() => bareLoop(buf), () => decodeWith([buf]), () => decodeWith(chunks)], 9_000);
    if (sink === -1) console.log(sink);
    return [
      row('bare loop (views only), one buffer', bare, 'frames/s', null),
      row('FrameDecoder, one buffer', whole, 'frames/s', bare),
      row(`FrameDecoder, ${CHUNK}-byte chunks`, chunked, 'frames/s', bare, CHUNKED_TARGET),
    ];
  },
};
