import { Http2ErrorCode } from '../../../protocol/http2/index.js';
import { PASS_OVER, defineAction } from './action.js';
import { defined, integerField, optionalDuration } from './fields.js';

/** HTTP/2 only: RST_STREAM on this request's stream (default error code 2, INTERNAL_ERROR). */
export interface ResetAction {
  type: 'reset';
  errorCode?: number;
  delayMs?: number;
}

export const reset = defineAction<ResetAction>({
  type: 'reset',
  parse: (spec, where) =>
    defined({
      type: 'reset',
      errorCode: spec.errorCode === undefined ? undefined : integerField(spec.errorCode, `${where}.errorCode`, 0, 0xffff_ffff),
      delayMs: optionalDuration(spec.delayMs, `${where}.delayMs`),
    }),
  on: {
    binary: PASS_OVER,
    http2(action, fired) {
      const errorCode = action.errorCode ?? Http2ErrorCode.InternalError;
      return {
        kind: 'reset',
        rule: fired.id,
        explanation: `RST_STREAM (error ${errorCode}) by ${fired.because}`,
        errorCode,
        delayMs: action.delayMs ?? 0,
      };
    },
  },
});
