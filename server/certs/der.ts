/**
 * Just enough DER for Apple's private extensions: their values are tiny hand-made
 * structures (a NULL, a sequence of strings), so they are written and read here rather
 * than through a schema library.
 */

export const TAG_NULL = 0x05;
export const TAG_OCTET_STRING = 0x04;
export const TAG_UTF8_STRING = 0x0c;
export const TAG_PRINTABLE_STRING = 0x13;
export const TAG_IA5_STRING = 0x16;
export const TAG_SEQUENCE = 0x30;

/** One tag-length-value; `contents` is a view into the input. */
export interface Tlv {
  tag: number;
  contents: Uint8Array;
  /** Offset just past this element in the input. */
  end: number;
}

export function encodeTlv(tag: number, contents: Uint8Array): Uint8Array<ArrayBuffer> {
  const length = contents.length;
  let header: number[];
  if (length < 0x80) {
    header = [tag, length];
  } else {
    const lengthBytes: number[] = [];
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) lengthBytes.unshift(rest & 0xff);
    header = [tag, 0x80 | lengthBytes.length, ...lengthBytes];
  }
  const out = new Uint8Array(header.length + length);
  out.set(header, 0);
  out.set(contents, header.length);
  return out;
}

export function encodeSequence(items: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const total = items.reduce((sum, item) => sum + item.length, 0);
  const contents = new Uint8Array(total);
  let offset = 0;
  for (const item of items) {
    contents.set(item, offset);
    offset += item.length;
  }
  return encodeTlv(TAG_SEQUENCE, contents);
}

export function encodeUtf8String(text: string): Uint8Array<ArrayBuffer> {
  return encodeTlv(TAG_UTF8_STRING, new TextEncoder().encode(text));
}

export const DER_NULL = Uint8Array.of(TAG_NULL, 0x00);

/** Reads one element at `offset`; null when the bytes are not a complete definite-length element. */
export function readTlv(input: Uint8Array, offset = 0): Tlv | null {
  if (offset + 2 > input.length) return null;
  const tag = input[offset];
  // Multi-byte tags do not occur in the structures read here.
  if ((tag & 0x1f) === 0x1f) return null;
  let length = input[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    // 0x80 is BER's indefinite length, which DER forbids; more than 4 bytes cannot fit here.
    if (count === 0 || count > 4 || start + count > input.length) return null;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + input[start + i];
    start += count;
  }
  const end = start + length;
  if (end > input.length) return null;
  return { tag, contents: input.subarray(start, end), end };
}

/** The elements inside a constructed value's contents; null if any of them is malformed. */
export function readChildren(contents: Uint8Array): Tlv[] | null {
  const children: Tlv[] = [];
  let offset = 0;
  while (offset < contents.length) {
    const child = readTlv(contents, offset);
    if (!child) return null;
    children.push(child);
    offset = child.end;
  }
  return children;
}
