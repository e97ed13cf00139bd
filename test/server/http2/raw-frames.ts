import { connect, type TLSSocket } from 'node:tls';

/**
 * A few HTTP/2 frames by hand (RFC 9113, section 4; HPACK literals without indexing, RFC 7541,
 * 6.2.2): for what node's client will not do, like opening a second stream after it read a
 * limit of one.
 */
export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export const FRAME = { DATA: 0x0, HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, GOAWAY: 0x7 } as const;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

function hpackInteger(value: number, prefixBits: number, first: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([first | value]);
  const bytes = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([hpackInteger(bytes.length, 7, 0), bytes]);
}

export function headerBlock(headers: [string, string][]): Buffer {
  return Buffer.concat(headers.flatMap(([name, value]) => [Buffer.from([0]), hpackString(name), hpackString(value)]));
}

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

export class RawHttp2 {
  readonly frames: Frame[] = [];
  private buffered = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: TLSSocket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 9 && this.buffered.length >= 9 + this.buffered.readUIntBE(0, 3)) {
        const length = this.buffered.readUIntBE(0, 3);
        this.frames.push({
          type: this.buffered[3],
          flags: this.buffered[4],
          streamId: this.buffered.readUInt32BE(5) & 0x7fffffff,
          payload: this.buffered.subarray(9, 9 + length),
        });
        this.buffered = this.buffered.subarray(9 + length);
      }
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number, ca: string): Promise<RawHttp2> {
    const socket = connect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['h2'], servername: 'localhost' });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
    return new RawHttp2(socket);
  }

  write(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  async waitFor(test: (f: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(test);
      if (found !== undefined) return found;
      if (Date.now() > deadline)
        throw new Error(
          `no such frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.map((f) => [f.type, f.flags, f.streamId]))}`,
        );
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** The stream limit in the server's first SETTINGS frame. */
  firstStreamLimit(): number | null {
    const settings = this.frames.find((f) => f.type === FRAME.SETTINGS && (f.flags & 1) === 0);
    if (settings === undefined) return null;
    for (let at = 0; at + 6 <= settings.payload.length; at += 6)
      if (settings.payload.readUInt16BE(at) === 3) return settings.payload.readUInt32BE(at + 2);
    return null;
  }

  close(): void {
    this.socket.destroy();
  }
}
