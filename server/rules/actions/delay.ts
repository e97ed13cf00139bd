import { defineAction, type ActionHandler } from './action.js';
import { durationField } from './fields.js';

/** Binary: this connection's next error response waits `ms`. HTTP/2: this response waits `ms`. The notification is judged as usual. */
export interface DelayAction {
  type: 'delay';
  ms: number;
}

const delayEffect: ActionHandler<DelayAction> = (action) => ({ kind: 'delay', ms: action.ms });

export const delay = defineAction<DelayAction>({
  type: 'delay',
  parse: (spec, where) => ({ type: 'delay', ms: durationField(spec.ms, `${where}.ms`) }),
  on: { binary: delayEffect, http2: delayEffect },
});
