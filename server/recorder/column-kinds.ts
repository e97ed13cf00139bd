/** The typed arrays the store keeps columns in. */
export type TypedArray = Float64Array | Uint8Array | Uint32Array | Int32Array;
export type TypedArrayConstructor = new (length: number) => TypedArray;

/**
 * How a column keeps a record's value: typed arrays hold no null and no text, so each kind
 * says what stands for them. `encode` and `decode` return JavaScript source: the store
 * compiles them into straight-line code, so recording costs no call or lookup per field.
 */
export interface ColumnKind<T> {
  readonly array: TypedArrayConstructor;
  /** Source storing the value held in the variable `value` (null or undefined where T allows null). */
  encode(value: string, constants: string): string;
  /** Source giving the value back from the variable `stored`. */
  decode(stored: string, constants: string): string;
  /** What the source refers to as `constants`. */
  readonly constants?: unknown;
  /** Only carries T for the types derived from the table. */
  readonly type?: T;
}

/** A number that is always there. */
export const NUMBER: ColumnKind<number> = {
  array: Float64Array,
  encode: (value) => value,
  decode: (stored) => stored,
};

/** A number or null: NaN stands for null (no field takes NaN). */
export const NUMBER_OR_NULL: ColumnKind<number | null> = {
  array: Float64Array,
  encode: (value) => `(${value} == null ? NaN : ${value})`,
  decode: (stored) => `(${stored} !== ${stored} ? null : ${stored})`,
};

/** One of a few words, kept as its index. */
export function choiceColumn<T extends string>(choices: readonly T[]): ColumnKind<T> {
  const codes = Object.fromEntries(choices.map((choice, index) => [choice, index]));
  return {
    array: Uint8Array,
    encode: (value, constants) => `${constants}.codes[${value}]`,
    decode: (stored, constants) => `${constants}.choices[${stored}]`,
    constants: { codes, choices },
  };
}
