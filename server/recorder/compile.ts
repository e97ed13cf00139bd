/**
 * A function made from source built out of the table of record fields, once, at start-up: it
 * runs as code written by hand for each field would, with no loop, lookup or call per field.
 * `constants` is what the source refers to by that name.
 */
export function compile<T>(parameters: string[], body: string[], constants: unknown): T {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the source is made from the field table, never from input
  return new Function('constants', `'use strict';\nreturn function (${parameters.join(', ')}) {\n  ${body.join('\n  ')}\n};`)(
    constants,
  ) as T;
}
