import { defineAction } from './action.js';
import { defined, optionalDuration } from './fields.js';

/**
 * Binary: status 10 with the last accepted identifier; this notification and all after it are
 * discarded. HTTP/2: 503 Shutdown, then GOAWAY {"reason":"Shutdown"}.
 */
export interface ShutdownAction {
  type: 'shutdown';
  delayMs?: number;
}

export const shutdown = defineAction<ShutdownAction>({
  type: 'shutdown',
  parse: (spec, where) => defined({ type: 'shutdown', delayMs: optionalDuration(spec.delayMs, `${where}.delayMs`) }),
  on: {
    binary: (action, fired) => ({
      kind: 'shutdown',
      rule: fired.id,
      explanation: `shutdown by ${fired.because}`,
      delayMs: action.delayMs ?? null,
    }),
    http2: (action, fired) => ({
      kind: 'shutdown',
      rule: fired.id,
      explanation: `shutdown by ${fired.because}`,
      delayMs: action.delayMs ?? 0,
    }),
  },
});
