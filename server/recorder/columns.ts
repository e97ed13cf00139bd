import type { DecodedFrame, PayloadWarning } from '../../protocol/binary/index.js';
import { compile } from './compile.js';
import type { TypedArray, TypedArrayConstructor } from './column-kinds.js';
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
  at: Uint32Array,
  length: Uint32Array,
  tokenAt: Int32Array,
  tokenLength: Uint32Array,
  payloadAt: Int32Array,
  payloadLength: Uint32Array,
} satisfies Record<string, TypedArrayConstructor>;

type Layout = { -readonly [K in keyof typeof LAYOUT_COLUMNS]: InstanceType<(typeof LAYOUT_COLUMNS)[K]> };
/** Every column of the store, record fields and layout, by name. */
export type Columns = Layout & { [K in keyof typeof RECORD_COLUMNS]: TypedArray };

const columnSpecs = Object.entries(RECORD_COLUMNS) as [string, ColumnSpec][];
const rareSpecs = Object.entries(RECORD_RARE) as [string, RareSpec][];
const ARRAYS: [string, TypedArrayConstructor][] = [
  ...Object.entries(LAYOUT_COLUMNS),
  ...columnSpecs.map(([name, spec]): [string, TypedArrayConstructor] => [name, spec.kind.array]),
];
const TAKEN = new Set([...Object.keys(LAYOUT_COLUMNS), 'seq', 'connection', 'ownTopic', 'warningsKnown', 'warnings', 'topic', 'data']);
for (const [name] of [...columnSpecs, ...rareSpecs]) {
  if (TAKEN.has(name) || !/^[a-zA-Z]\w*$/.test(name))
    throw new Error(`record field ${name}: a name the store uses itself, or not a plain name`);
}
const CONSTANTS = Object.fromEntries(columnSpecs.map(([name, spec]) => [name, spec.kind.constants]));

/** Columns of `capacity` slots holding `count` records from `head` on in `columns` (of `old` slots), from slot 0 on. */
export function resizeColumns(columns: Columns | null, capacity: number, head: number, old: number, count: number): Columns {
  const next: Record<string, TypedArray> = {};
  for (const [name, Array] of ARRAYS) {
    const column = new Array(capacity);
    const from = columns?.[name as keyof Columns];
    if (from) for (let i = 0; i < count; i++) column[i] = from[(head + i) % old];
    next[name] = column;
  }
  return next as Columns;
}

/** Writes a record's column values into its slot and returns its extras, or null when it has none. */
export type InputWriter = (columns: Columns, slot: number, input: RecordInput, timeMs: number) => Extra | null;
export type FrameWriter = (columns: Columns, slot: number, input: FrameRecordInput, frame: DecodedFrame, timeMs: number) => Extra | null;
/** A record's parts, from its slot and the bytes the store copied for it. */
export type PartsReader = (columns: Columns, slot: number, seq: number, data: Buffer, meta: ConnectionInfo | Extra) => StoredRecordParts;

function writer(source: 'input' | 'frame'): string[] {
  const lines = ['let value;'];
  for (const [name, { kind, fromStore, fromFrame }] of columnSpecs) {
    const from = fromStore ? 'timeMs' : source === 'frame' && fromFrame ? `frame.${name}` : `input.${name}`;
    lines.push(`value = ${from};`, `columns.${name}[slot] = ${kind.encode('value', `constants.${name}`)};`);
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

export const writeInput = compile<InputWriter>(['columns', 'slot', 'input', 'timeMs'], writer('input'), CONSTANTS);
export const writeFrame = compile<FrameWriter>(['columns', 'slot', 'input', 'frame', 'timeMs'], writer('frame'), CONSTANTS);

export const readParts = compile<PartsReader>(
  ['columns', 'slot', 'seq', 'data', 'meta'],
  [
    `const flags = columns.flags[slot];`,
    `const extra = (flags & ${HAS_EXTRA}) !== 0 ? meta : null;`,
    ...columnSpecs.map(([name]) => `const column_${name} = columns.${name}[slot];`),
    'return {',
    '  seq,',
    '  connection: extra === null ? meta : extra.connection,',
    '  ownTopic: extra === null ? undefined : extra.topic,',
    `  warningsKnown: extra !== null ? extra.warnings : (flags & ${NO_WARNINGS}) !== 0 ? [] : undefined,`,
    '  data,',
    ...(['length', 'tokenAt', 'tokenLength', 'payloadAt', 'payloadLength'] as const).map((name) => `  ${name}: columns.${name}[slot],`),
    ...columnSpecs.map(([name, { kind }]) => `  ${name}: ${kind.decode(`column_${name}`, `constants.${name}`)},`),
    ...rareSpecs.map(([name]) => `  ${name}: extra === null ? null : extra.${name},`),
    '};',
  ],
  CONSTANTS,
);
