import { binaryStatusForReason, type Http2Reason } from '../../../protocol/http2/index.js';
import { PASS_OVER, defineAction } from './action.js';
import { defined, optionalDuration, reasonField } from './fields.js';

/** HTTP/2 only: from `afterMs` after the rule was added, for `forMs` (default: while it stays): 503 ServiceUnavailable (or `reason`). */
export interface OutageAction {
  type: 'outage';
  afterMs?: number;
  forMs?: number;
  reason?: Http2Reason;
}

export const outage = defineAction<OutageAction>({
  type: 'outage',
  parse: (spec, where) =>
    defined({
      type: 'outage',
      afterMs: optionalDuration(spec.afterMs, `${where}.afterMs`),
      forMs: optionalDuration(spec.forMs, `${where}.forMs`, 1),
      reason: spec.reason === undefined ? undefined : reasonField(spec.reason, `${where}.reason`),
    }),
  gate(action, addedAt) {
    const start = addedAt + (action.afterMs ?? 0);
    const end = action.forMs === undefined ? Infinity : start + action.forMs;
    return (_n, now) => now >= start && now < end;
  },
  on: {
    binary: PASS_OVER,
    http2(action, fired) {
      const reason = action.reason ?? 'ServiceUnavailable';
      return {
        kind: 'reject',
        status: binaryStatusForReason(reason),
        reason,
        explanation: `outage by ${fired.because}`,
        rule: fired.id,
        timestamp: null,
        delayMs: 0,
        effect: null,
      };
    },
  },
});
