import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { seededRandom as seeded } from '../../common/random.js';

export { seeded };

/** The bytes of a golden vector's `hex` lines: `//` comments dropped, `XX*N` is XX written N times. */
export function vectorBytes(lines: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const line of lines) {
    const cut = line.indexOf('//');
    for (const token of (cut < 0 ? line : line.slice(0, cut)).trim().split(/\s+/).filter(Boolean)) {
      const repeat = /^([0-9a-fA-F]{2})\*(\d+)$/.exec(token);
      parts.push(repeat ? Buffer.alloc(Number(repeat[2]), parseInt(repeat[1], 16)) : Buffer.from(token, 'hex'));
    }
  }
  return Buffer.concat(parts);
}

/** fixtures/binary, from the sources (tests) or from dist/ (the built scripts). */
function fixturesDir(): string {
  for (const up of ['../../fixtures/binary/', '../../../fixtures/binary/']) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  throw new Error('fixtures/binary not found next to the sources or dist/');
}

export interface Golden {
  name: string;
  bytes: Buffer;
  /** Every frame in it is accepted by a gateway with the default options. */
  accepted: boolean;
}

/** Every golden vector in fixtures/binary. */
export function goldenFrames(): Golden[] {
  const dir = fixturesDir();
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const json = JSON.parse(readFileSync(dir + f, 'utf8')) as {
        name: string;
        hex: string[];
        options?: object;
        verdicts: { outcome: string }[];
      };
      const accepted = json.options === undefined && json.verdicts.length > 0 && json.verdicts.every((v) => v.outcome === 'accepted');
      return { name: json.name, bytes: vectorBytes(json.hex), accepted };
    });
}

/** Lengths that sit on the edges of the protocol's limits. */
const EDGE_LENGTHS = [0, 1, 2, 3, 4, 31, 32, 33, 255, 256, 257, 2047, 2048, 2049, 0x7fff, 0xffff];
const EDGE_U32 = [0, 1, 0x50, 0x851, 0x852, 0x10000, 0x7fffffff, 0xfffffff0, 0xffffffff];

export type MutationKind = 'golden' | 'flip' | 'cut' | 'extend' | 'length' | 'splice' | 'random';
export const MUTATION_KINDS: readonly MutationKind[] = ['golden', 'flip', 'cut', 'extend', 'length', 'splice', 'random'];

export interface Mutant {
  kind: MutationKind;
  bytes: Buffer;
}

/**
 * Makes inputs for the gateway from the golden vectors: unchanged, bits flipped, cut short,
 * extended with random bytes, a length field (u16 or the command-2 u32) set to an edge
 * value, two vectors spliced, or random bytes with a plausible command byte.
 */
export class Mutator {
  private readonly random: () => number;

  constructor(
    seed: number,
    private readonly golden: readonly Golden[] = goldenFrames(),
  ) {
    this.random = seeded(seed);
  }

  private int(n: number): number {
    return Math.floor(this.random() * n);
  }

  private pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }

  private randomBytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }

  /** A golden vector the gateway accepts whole. */
  accepted(): Buffer {
    return this.pick(this.golden.filter((g) => g.accepted)).bytes;
  }

  next(): Mutant {
    const kind = this.pick(MUTATION_KINDS);
    const source = this.pick(this.golden).bytes;
    const bytes = Buffer.from(source);
    switch (kind) {
      case 'golden':
        return { kind, bytes };
      case 'flip': {
        const flips = 1 + this.int(4);
        for (let i = 0; i < flips && bytes.length > 0; i++) bytes[this.int(bytes.length)] ^= 1 << this.int(8);
        return { kind, bytes };
      }
      case 'cut':
        return { kind, bytes: bytes.subarray(0, this.int(Math.max(1, bytes.length))) };
      case 'extend':
        return { kind, bytes: Buffer.concat([bytes, this.randomBytes(1 + this.int(64))]) };
      case 'length': {
        if (bytes.length < 3) return { kind, bytes };
        // The command-2 frame length, or any two bytes read as a u16 length.
        if (bytes[0] === 2 && bytes.length >= 5 && this.random() < 0.5) bytes.writeUInt32BE(this.pick(EDGE_U32), 1);
        else bytes.writeUInt16BE(this.pick(EDGE_LENGTHS), 1 + this.int(bytes.length - 2));
        return { kind, bytes };
      }
      case 'splice': {
        const other = this.pick(this.golden).bytes;
        return { kind, bytes: Buffer.concat([bytes.subarray(0, this.int(bytes.length + 1)), other.subarray(this.int(other.length + 1))]) };
      }
      case 'random': {
        const out = this.randomBytes(1 + this.int(300));
        // Mostly a known command byte, so the decoder gets past the first byte.
        if (this.random() < 0.8) out[0] = this.int(3);
        return { kind, bytes: out };
      }
    }
  }
}
