import { statusName } from '../../../protocol/binary/index.js';
import { binaryStatusForReason, reasonForBinaryStatus, type Http2Reason } from '../../../protocol/http2/index.js';
import { RuleError } from '../error.js';
import { defineAction, type ActionHandler } from './action.js';
import { defined, integerField, optionalDuration, reasonField } from './fields.js';

/**
 * Reject with a status: the 6-byte error response, then the close. On HTTP/2 the response
 * carries `reason` (given, or the one nearest the status); a rule given only a reason gets
 * the status nearest it for the binary gateway.
 */
export interface RejectAction {
  type: 'reject';
  status: number;
  reason?: Http2Reason;
  delayMs?: number;
}

const verdict =
  (binary: boolean): ActionHandler<RejectAction> =>
  (action, fired) => {
    const reason = action.reason ?? reasonForBinaryStatus(action.status);
    const name = binary ? statusName(action.status) : reason;
    const delayMs = action.delayMs ?? (binary ? null : 0);
    return {
      kind: 'reject',
      status: action.status,
      reason,
      explanation: `${name} injected by ${fired.because}`,
      rule: fired.id,
      timestamp: null,
      delayMs,
      effect: null,
    };
  };

export const reject = defineAction<RejectAction>({
  type: 'reject',
  parse(spec, where) {
    const reason = spec.reason === undefined ? undefined : reasonField(spec.reason, `${where}.reason`);
    let status: number;
    if (spec.status !== undefined || reason === undefined) {
      status = integerField(spec.status, `${where}.status`);
      if (status > 255) throw new RuleError(`${where}.status must fit in a byte (0..255); got ${status}`);
    } else {
      status = binaryStatusForReason(reason);
    }
    return defined({ type: 'reject', status, reason, delayMs: optionalDuration(spec.delayMs, `${where}.delayMs`) });
  },
  on: { binary: verdict(true), http2: verdict(false) },
});
