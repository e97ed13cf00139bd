import { Http2ErrorCode } from '../../../protocol/http2/index.js';
import { RuleError } from '../error.js';
import { PASS_OVER, defineAction } from './action.js';
import { defined, integerField, optionalDuration } from './fields.js';

/** HTTP/2 only: GOAWAY whose debug data is `{"reason": reason}` (default Shutdown); this request and later ones are not processed. */
export interface GoawayAction {
  type: 'goaway';
  reason?: string;
  errorCode?: number;
  delayMs?: number;
}

export const goaway = defineAction<GoawayAction>({
  type: 'goaway',
  parse(spec, where) {
    if (spec.reason !== undefined && (typeof spec.reason !== 'string' || spec.reason === ''))
      throw new RuleError(`${where}.reason must be a non-empty string`);
    return defined({
      type: 'goaway',
      reason: spec.reason,
      errorCode: spec.errorCode === undefined ? undefined : integerField(spec.errorCode, `${where}.errorCode`, 0, 0xffff_ffff),
      delayMs: optionalDuration(spec.delayMs, `${where}.delayMs`),
    });
  },
  on: {
    binary: PASS_OVER,
    http2(action, fired) {
      const reason = action.reason ?? 'Shutdown';
      return {
        kind: 'goaway',
        rule: fired.id,
        explanation: `GOAWAY {"reason":"${reason}"} by ${fired.because}`,
        reason,
        errorCode: action.errorCode ?? Http2ErrorCode.NoError,
        delayMs: action.delayMs ?? 0,
      };
    },
  },
});
