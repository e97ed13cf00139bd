import { defineAction } from './action.js';
import { defined, integerField } from './fields.js';

/**
 * Binary: reset the connection after N more bytes arrive (0: at once, discarding this
 * notification). HTTP/2: the connection is cut at once, without GOAWAY or TLS close
 * (afterBytes is not counted).
 */
export interface DropAction {
  type: 'drop';
  afterBytes?: number;
}

export const drop = defineAction<DropAction>({
  type: 'drop',
  parse: (spec, where) =>
    defined({ type: 'drop', afterBytes: spec.afterBytes === undefined ? undefined : integerField(spec.afterBytes, `${where}.afterBytes`) }),
  on: {
    binary(action, fired) {
      const after = action.afterBytes ?? 0;
      if (after > 0) return { kind: 'dropAfter', bytes: after, explanation: `reset by ${fired.because} after ${after} more byte(s)` };
      return { kind: 'drop', rule: fired.id, explanation: `connection reset by ${fired.because}`, failure: `dropped by ${fired.because}` };
    },
    http2: (_action, fired) => ({
      kind: 'drop',
      rule: fired.id,
      explanation: `connection cut (no GOAWAY, no TLS close) by ${fired.because}`,
      failure: `cut by ${fired.because}`,
    }),
  },
});
