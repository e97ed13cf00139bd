// Test-only byte building: expected bytes come from here or from the fixtures, never from the
// production encoder, so an encoder bug cannot hide behind its own output.

export class Bytes {
  private readonly parts: Buffer[] = [];

  u8(value: number): this {
    this.parts.push(Buffer.of(value & 0xff));
    return this;
  }

  u16(value: number): this {
    this.parts.push(Buffer.of((value >>> 8) & 0xff, value & 0xff));
    return this;
  }

  u32(value: number): this {
    this.parts.push(Buffer.of((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff));
    return this;
  }

  hex(text: string): this {
    const clean = text.replace(/\s+/g, '');
    if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`not whole bytes of hex: ${text}`);
    this.parts.push(Buffer.from(clean, 'hex'));
    return this;
  }

  utf8(text: string): this {
    this.parts.push(Buffer.from(text, 'utf8'));
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }

  fill(byte: number, count: number): this {
    this.parts.push(Buffer.alloc(count, byte));
    return this;
  }

  /** A command-2 item: `u8 id` `u16 length` `data`; `length` overrides the declared length. */
  item(id: number, data: Uint8Array, length = data.length): this {
    return this.u8(id).u16(length).raw(data);
  }

  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export const bytes = (): Bytes => new Bytes();

/** A command-0 frame with the lengths the bytes really have. */
export function simpleFrame(token: Uint8Array, payload: Uint8Array): Buffer {
  return bytes().u8(0).u16(token.length).raw(token).u16(payload.length).raw(payload).build();
}

/** A command-1 frame with the lengths the bytes really have. */
export function enhancedFrame(identifier: number, expiry: number, token: Uint8Array, payload: Uint8Array): Buffer {
  return bytes().u8(1).u32(identifier).u32(expiry).u16(token.length).raw(token).u16(payload.length).raw(payload).build();
}

/** A command-2 frame from items given as [id, data]; the frame length is the items' size. */
export function frame(items: readonly (readonly [number, Uint8Array])[]): Buffer {
  const body = bytes();
  for (const [id, data] of items) body.item(id, data);
  const built = body.build();
  return bytes().u8(2).u32(built.length).raw(built).build();
}

/**
 * The bytes of hex written one field per line with a comment: `00 20  // token length 32`.
 * `XX*N` stands for the byte XX written N times. Every line must carry a `//` comment.
 */
export function commentedHex(lines: readonly string[]): Buffer {
  const out = bytes();
  lines.forEach((line, index) => {
    const cut = line.indexOf('//');
    if (cut < 0) throw new Error(`hex line ${index + 1} has no // comment: ${line}`);
    for (const token of line.slice(0, cut).trim().split(/\s+/).filter(Boolean)) {
      const repeat = /^([0-9a-fA-F]{2})\*(\d+)$/.exec(token);
      if (repeat) out.fill(parseInt(repeat[1], 16), Number(repeat[2]));
      else if (/^([0-9a-fA-F]{2})+$/.test(token)) out.hex(token);
      else throw new Error(`hex line ${index + 1}: '${token}' is not hex`);
    }
  });
  return out.build();
}

/**
 * PHP's `pack('H*', $s)`, as ext/standard/pack.c writes it: two characters per byte, high
 * nibble first; a character that is not a hex digit (a space) warns "illegal hex digit" and
 * counts as nibble 0; an odd count leaves the last low nibble 0.
 */
export function phpPackHStar(text: string): Buffer {
  const out = Buffer.alloc(Math.ceil(text.length / 2));
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const nibble = /[0-9a-fA-F]/.test(c) ? parseInt(c, 16) : 0;
    out[i >> 1] |= i % 2 === 0 ? nibble << 4 : nibble;
  }
  return out;
}
