import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { commentedHex } from './bytes.js';

// Loader for the golden vectors in fixtures/binary/: one JSON file per vector.

export interface ExpectedFrame {
  kind: 'frame';
  command: 0 | 1 | 2;
  identifier: number;
  expiry: number;
  priority: number;
  /** Hex. */
  token: string;
  /** UTF-8 text; left out for long payloads, whose length is still given. */
  payload?: string;
  payloadLength: number;
  /** Command 2: the item ids present, ascending. */
  items?: number[];
  streamOffset: number;
  /** The frame's size in bytes. */
  length: number;
}

export interface ExpectedError {
  kind: 'error';
  code: string;
  command: number;
  status: number | null;
  identifier: number;
  field: string;
  streamOffset: number;
}

export interface ExpectedVerdict {
  outcome: 'accepted' | 'rejected' | 'incomplete' | 'unparsable';
  status: number | null;
  identifier: number | null;
  errorResponse: string | null;
  /** The field `explain` marks, or null when the failing part is absent (a missing item). */
  problem: { name: string; offset: number } | null;
  /** Payload warning codes. */
  warnings: string[];
  /** Words the verdict's reason must contain. */
  reason?: string;
}

export interface LegacyEncoding {
  command: 0 | 1;
  identifier?: number;
  expiry?: number;
  token: string;
  tokenLength?: number;
  payload: string;
  payloadLength?: number;
  cut?: number;
}

export interface FrameEncoding {
  command: 2;
  items: { id: number; data: string; length?: number }[];
  frameLength?: number;
  cut?: number;
}

export type Encoding = LegacyEncoding | FrameEncoding;

export interface Vector {
  name: string;
  description: string;
  options?: { strict?: boolean; limits?: { legacyPayload?: number; framePayload?: number } };
  /** One field per line, each with a `//` comment. */
  hex: string[];
  /** How the production encoder builds these bytes; absent when it cannot (an unknown command). */
  encode?: Encoding | Encoding[];
  decode: (ExpectedFrame | ExpectedError)[];
  incomplete?: { command: number; streamOffset: number; length: number; neededBytes: number };
  unparsedBytes?: number;
  /** One per frame `explain` reports, incomplete and unparsable ones included. */
  verdicts: ExpectedVerdict[];
  /** The vector's bytes, read from `hex` by the test-only parser. */
  bytes: Buffer;
  file: string;
}

const dir = fileURLToPath(new URL('../../fixtures/binary/', import.meta.url));

export function loadVectors(): Vector[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const raw = JSON.parse(readFileSync(dir + file, 'utf8')) as Omit<Vector, 'bytes' | 'file'>;
      return { ...raw, bytes: commentedHex(raw.hex), file };
    });
}

export function vectorNamed(name: string): Vector {
  const found = loadVectors().find((v) => v.name === name);
  if (!found) throw new Error(`no vector named ${name}`);
  return found;
}
