import { defineAction, type ActionHandler } from './action.js';

/** Close the connection without a word; this notification and all after it are discarded. */
export interface CloseAction {
  type: 'close';
}

const closeVerdict: ActionHandler<CloseAction> = (_action, fired) => ({
  kind: 'close',
  rule: fired.id,
  explanation: `connection closed without a reply by ${fired.because}`,
  failure: `closed by ${fired.because}`,
});

export const close = defineAction<CloseAction>({
  type: 'close',
  parse: () => ({ type: 'close' }),
  on: { binary: closeVerdict, http2: closeVerdict },
});
