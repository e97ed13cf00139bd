import { binaryStatusForReason } from '../../../protocol/http2/index.js';
import { TokenRateLimiter } from '../../policy/rate-limiter.js';
import { PASS_OVER, defineAction } from './action.js';
import { durationField, integerField } from './fields.js';

/** HTTP/2 only: more than `requests` notifications to one device token within `perMs`: 429 TooManyRequests. */
export interface RateLimitAction {
  type: 'rateLimit';
  requests: number;
  perMs: number;
}

export const rateLimit = defineAction<RateLimitAction>({
  type: 'rateLimit',
  parse: (spec, where) => ({
    type: 'rateLimit',
    requests: integerField(spec.requests, `${where}.requests`),
    perMs: durationField(spec.perMs, `${where}.perMs`, 1),
  }),
  // Counts only the notifications that reach this rule: it fires when the count is over.
  gate(action) {
    const limiter = new TokenRateLimiter(action.requests, action.perMs);
    return (n, now) => limiter.hit(n.tokenHex, now);
  },
  on: {
    binary: PASS_OVER,
    http2: (action, fired) => ({
      kind: 'reject',
      status: binaryStatusForReason('TooManyRequests'),
      reason: 'TooManyRequests',
      explanation: `more than ${action.requests} notification(s) to this token within ${action.perMs} ms (${fired.because})`,
      rule: fired.id,
      timestamp: null,
      delayMs: 0,
      effect: null,
    }),
  },
});
