import type { DecodedFrame, PayloadWarning } from '../../protocol/binary/index.js';
import { compile } from './compile.js';
import type { TypedArrayConstructor } from './column-kinds.js';
import { RECORD_COLUMNS, RECORD_RARE, type ColumnSpec, type RareSpec } from './fields.js';
import type { ConnectionInfo, FrameRecordInput, RareValues, RecordInput, StoredRecordParts } from './record.js';

/**
 * What few records carry (a reason, a rule, payload warnings, their own topic, HTTP/2
 * details): kept in the record's pointer slot in place of its connection.
 */
export interface Extra extends RareValues {
  connection: ConnectionInfo;
  warnings: PayloadWarning[] | undefined;
  topic: string | null | undefined;
}

/** Bits of the `flags` column. */
export const HAS_EXTRA = 1;
/** Warnings were computed on the socket path and there were none (strict mode, a clean payload). */
export const NO_WARNINGS = 2;

/** Where a record's bytes lie in its slab; the token and payload are offsets from there, -1 when absent. */
const LAYOUT_COLUMNS = {
  flags: Uint8Array,
  /** The id of the slab holding the record's bytes (an index, not a reference: nothing per record for the GC to walk). */
  slab: Uint32Array,
  at: Uint32Array,
  length: Uint32Array,
  tokenAt: Int32Array,
  tokenLength: Uint32Array,
  payloadAt: Int32Array,
  payloadLength: Uint32Array,
} satisfies Record<string, TypedArrayConstructor>;

const columnSpecs = Object.entries(RECORD_COLUMNS) as [string, ColumnSpec][];
const rareSpecs = Object.entries(RECORD_RARE) as [string, RareSpec][];
const TAKEN = new Set([...Object.keys(LAYOUT_COLUMNS), 'seq', 'connection', 'ownTopic', 'warningsKnown', 'warnings', 'topic', 'data']);
for (const [name] of [...columnSpecs, ...rareSpecs]) {
  if (TAKEN.has(name) || !/^[a-zA-Z]\w*$/.test(name))
    throw new Error(`record field ${name}: a name the store uses itself, or not a plain name`);
}
const CONSTANTS = Object.fromEntries(columnSpecs.map(([name, spec]) => [name, spec.kind.constants]));

/**
 * The store's records as rows of one buffer, a row per slot: the typed arrays are views of the
 * same memory, so recording writes one or two cache lines, not a line per field. Each field
 * has a place in the row, in units of its own size; `row8`, `row4` and `row1` are a slot's
 * first unit in each.
 */
export interface Rows {
  f64: Float64Array;
  u32: Uint32Array;
  i32: Int32Array;
  u8: Uint8Array;
}

type View = keyof Rows;
const VIEW_OF = new Map<TypedArrayConstructor, { view: View; size: number }>([
  [Float64Array, { view: 'f64', size: 8 }],
  [Uint32Array, { view: 'u32', size: 4 }],
  [Int32Array, { view: 'i32', size: 4 }],
  [Uint8Array, { view: 'u8', size: 1 }],
]);
const fields: [string, TypedArrayConstructor][] = [
  ...Object.entries(LAYOUT_COLUMNS),
  ...columnSpecs.map(([name, spec]): [string, TypedArrayConstructor] => [name, spec.kind.array]),
];
/** Each field's place: the view it is read through and its unit within the row; wider fields first, so each is aligned. */
const PLACES = new Map<string, { view: View; unit: number }>();
let rowBytes = 0;
for (const size of [8, 4, 1]) {
  for (const [name, array] of fields) {
    const { view, size: own } = VIEW_OF.get(array)!;
    if (own !== size) continue;
    PLACES.set(name, { view, unit: rowBytes / size });
    rowBytes += size;
  }
}
/** Bytes a row takes: a multiple of 8, so every row's 8-byte fields are aligned. */
export const ROW_BYTES = Math.ceil(rowBytes / 8) * 8;

/** Source giving where a field of the slot whose row starts at `row8`/`row4`/`row1` is. */
function at(name: string): string {
  const { view, unit } = PLACES.get(name)!;
  const base = view === 'f64' ? 'row8' : view === 'u8' ? 'row1' : 'row4';
  return `rows.${view}[${base} + ${unit}]`;
}
const ROW_STARTS = [`const row8 = slot * ${ROW_BYTES / 8};`, `const row4 = slot * ${ROW_BYTES / 4};`, `const row1 = slot * ${ROW_BYTES};`];

/** Rows for `capacity` slots holding `count` records from `head` on in `rows` (of `old` slots), from slot 0 on. */
export function resizeRows(rows: Rows | null, capacity: number, head: number, old: number, count: number): Rows {
  const bytes = new Uint8Array(capacity * ROW_BYTES);
  if (rows !== null && count > 0) {
    const first = Math.min(count, old - head);
    bytes.set(rows.u8.subarray(head * ROW_BYTES, (head + first) * ROW_BYTES), 0);
    if (count > first) bytes.set(rows.u8.subarray(0, (count - first) * ROW_BYTES), first * ROW_BYTES);
  }
  const buffer = bytes.buffer;
  return { f64: new Float64Array(buffer), u32: new Uint32Array(buffer), i32: new Int32Array(buffer), u8: bytes };
}

/** Where a record's bytes lie, for the store: written once per record, read back when it is. */
export interface Layout {
  slab: number;
  at: number;
  length: number;
  tokenAt: number;
  tokenLength: number;
  payloadAt: number;
  payloadLength: number;
}
export type LayoutWriter = (
  rows: Rows,
  slot: number,
  flags: number,
  slab: number,
  at: number,
  length: number,
  tokenAt: number,
  tokenLength: number,
  payloadAt: number,
  payloadLength: number,
) => void;
const LAYOUT_NAMES = ['flags', 'slab', 'at', 'length', 'tokenAt', 'tokenLength', 'payloadAt', 'payloadLength'] as const;
export const writeLayout = compile<LayoutWriter>(
  ['rows', 'slot', ...LAYOUT_NAMES],
  [...ROW_STARTS, ...LAYOUT_NAMES.map((name) => `${at(name)} = ${name};`)],
  CONSTANTS,
);
export const readLayout = compile<(rows: Rows, slot: number) => Layout>(
  ['rows', 'slot'],
  [
    ...ROW_STARTS,
    `return { ${LAYOUT_NAMES.filter((name) => name !== 'flags')
      .map((name) => `${name}: ${at(name)}`)
      .join(', ')} };`,
  ],
  CONSTANTS,
);

/** Writes a record's column values into its slot and returns its extras, or null when it has none. */
export type InputWriter = (rows: Rows, slot: number, input: RecordInput, timeMs: number) => Extra | null;
export type FrameWriter = (rows: Rows, slot: number, input: FrameRecordInput, frame: DecodedFrame, timeMs: number) => Extra | null;
/** A record's parts, from its slot and the bytes the store copied for it. */
export type PartsReader = (rows: Rows, slot: number, seq: number, data: Buffer, meta: ConnectionInfo | Extra) => StoredRecordParts;

function writer(source: 'input' | 'frame'): string[] {
  const lines = [...ROW_STARTS, 'let value;'];
  for (const [name, { kind, fromStore, fromFrame }] of columnSpecs) {
    const from = fromStore ? 'timeMs' : source === 'frame' && fromFrame ? `frame.${name}` : `input.${name}`;
    lines.push(`value = ${from};`, `${at(name)} = ${kind.encode('value', `constants.${name}`)};`);
  }
  const rares = rareSpecs.map(([name, spec]) => [name, source === 'frame' && spec.notOnFrames ? 'null' : `input.${name} ?? null`]);
  for (const [name, value] of rares) lines.push(`const rare_${name} = ${value};`);
  const none = rares.map(([name]) => `rare_${name} === null`).join(' && ');
  const topic = source === 'frame' ? 'undefined' : 'input.topic';
  lines.push(
    `const topic = ${topic};`,
    'const warnings = input.warnings;',
    `if (${none} && topic === undefined && (warnings === undefined || warnings.length === 0)) return null;`,
    `return { connection: input.connection, warnings, topic, ${rares.map(([name]) => `${name}: rare_${name}`).join(', ')} };`,
  );
  return lines;
}

export const writeInput = compile<InputWriter>(['rows', 'slot', 'input', 'timeMs'], writer('input'), CONSTANTS);
export const writeFrame = compile<FrameWriter>(['rows', 'slot', 'input', 'frame', 'timeMs'], writer('frame'), CONSTANTS);

export const readParts = compile<PartsReader>(
  ['rows', 'slot', 'seq', 'data', 'meta'],
  [
    ...ROW_STARTS,
    `const flags = ${at('flags')};`,
    `const extra = (flags & ${HAS_EXTRA}) !== 0 ? meta : null;`,
    ...columnSpecs.map(([name]) => `const column_${name} = ${at(name)};`),
    'return {',
    '  seq,',
    '  connection: extra === null ? meta : extra.connection,',
    '  ownTopic: extra === null ? undefined : extra.topic,',
    `  warningsKnown: extra !== null ? extra.warnings : (flags & ${NO_WARNINGS}) !== 0 ? [] : undefined,`,
    '  data,',
    ...(['length', 'tokenAt', 'tokenLength', 'payloadAt', 'payloadLength'] as const).map((name) => `  ${name}: ${at(name)},`),
    ...columnSpecs.map(([name, { kind }]) => `  ${name}: ${kind.decode(`column_${name}`, `constants.${name}`)},`),
    ...rareSpecs.map(([name]) => `  ${name}: extra === null ? null : extra.${name},`),
    '};',
  ],
  CONSTANTS,
);
