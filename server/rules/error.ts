import { ApnsMockError, InputError } from '../../common/errors.js';

/** A rule or scenario that cannot be used; the message names the place (`rules[1].action.ms`). */
export class RuleError extends ApnsMockError {
  declare readonly code: 'ERR_APNS_RULE';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_APNS_RULE', message, options);
  }
}

/** Runs a shared check (a token, a duration) and reports its InputError as a RuleError. */
export function asRuleError<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof InputError) throw new RuleError(error.message, { cause: error });
    throw error;
  }
}
