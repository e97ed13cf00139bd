import { defineAction, type ActionHandler } from './action.js';
import { durationField } from './fields.js';

/** Stop reading the connection (binary) or answering on it (HTTP/2) for `ms`; the notification itself is accepted. */
export interface StallAction {
  type: 'stall';
  ms: number;
}

const stallEffect: ActionHandler<StallAction> = (action) => ({ kind: 'stall', ms: action.ms });

export const stall = defineAction<StallAction>({
  type: 'stall',
  parse: (spec, where) => ({ type: 'stall', ms: durationField(spec.ms, `${where}.ms`) }),
  on: { binary: stallEffect, http2: stallEffect },
});
