import { once } from 'node:events';
import { connect, type TLSSocket } from 'node:tls';

// HTTP/2 frames written by hand (RFC 9113), for what node's client refuses to send.

export const FrameType = { DATA: 0x0, HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, PING: 0x6, GOAWAY: 0x7, CONTINUATION: 0x9 } as const;
export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** A frame: u24 length, u8 type, u8 flags, u32 stream id (high bit reserved), payload. */
export function h2frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

/** An HPACK integer with an N-bit prefix (RFC 7541, section 5.1); `high` holds the bits above the prefix. */
function hpackInt(value: number, prefixBits: number, high: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.of(high | value);
  const out = [high | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** Header fields as HPACK literals without indexing, new names, no Huffman coding: any bytes, unchecked. */
export function hpack(fields: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    parts.push(Buffer.of(0x00), hpackInt(n.length, 7, 0), n, hpackInt(v.length, 7, 0), v);
  }
  return Buffer.concat(parts);
}

export function rstStream(streamId: number, code = 0x8 /* CANCEL */): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return h2frame(FrameType.RST_STREAM, 0, streamId, payload);
}

export interface ReadFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** A TLS connection with ALPN h2, the preface and an empty SETTINGS sent; frames read as they come. */
export interface RawH2 {
  socket: TLSSocket;
  /** "127.0.0.1:port" of this end, as the server's records and connection list name it. */
  peer: string;
  frames: ReadFrame[];
  closed: Promise<void>;
  write(bytes: Buffer): void;
  /** The GOAWAY's error code, when one came. */
  goawayCode(): number | null;
}

export async function openRawH2(port: number, tls: { ca: string; cert?: string; key?: string }): Promise<RawH2> {
  const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ALPNProtocols: ['h2'], ...tls });
  socket.on('error', () => undefined);
  await once(socket, 'secureConnect');
  if (socket.alpnProtocol !== 'h2') throw new Error(`ALPN chose ${String(socket.alpnProtocol)}`);
  const frames: ReadFrame[] = [];
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 9) {
      const length = buffered.readUIntBE(0, 3);
      if (buffered.length < 9 + length) break;
      const frame = {
        type: buffered[3],
        flags: buffered[4],
        streamId: buffered.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(buffered.subarray(9, 9 + length)),
      };
      frames.push(frame);
      // A peer must acknowledge a PING (RFC 9113, section 6.7): the server pings quiet connections to find dead ones.
      if (frame.type === FrameType.PING && (frame.flags & Flag.ACK) === 0 && !socket.destroyed)
        socket.write(h2frame(FrameType.PING, Flag.ACK, 0, frame.payload));
      buffered = buffered.subarray(9 + length);
    }
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(Buffer.concat([PREFACE, h2frame(FrameType.SETTINGS, 0, 0)]));
  return {
    socket,
    peer: `127.0.0.1:${socket.localPort}`,
    frames,
    closed,
    write: (bytes) => {
      if (!socket.destroyed) socket.write(bytes);
    },
    goawayCode: () => {
      const goaway = frames.find((f) => f.type === FrameType.GOAWAY);
      return goaway === undefined ? null : goaway.payload.readUInt32BE(4);
    },
  };
}
