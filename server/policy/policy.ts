import { parsePayload, strictFailure } from '../../protocol/binary/index.js';
import { binaryStatusForReason, reasonForBinaryStatus } from '../../protocol/http2/index.js';
import type { DeviceRegistry } from '../registry/index.js';
import { PASS_OVER, firedRule, ruleActionOn, type ActionTools, type RuleSet } from '../rules/index.js';
import { deviceRefusal } from './devices.js';
import type { ConnectionTally, NotificationContext } from './notification.js';
import type { TokenRateLimiter } from './rate-limiter.js';
import { ACCEPTED, isEffect, type Effect, type Verdict } from './verdict.js';

export interface PolicyOptions {
  registry: DeviceRegistry;
  rules: RuleSet;
  /** Payload warnings reject with status 7 (the binary gateway's strict mode). */
  strictPayloads?: boolean;
  /** 429 TooManyRequests above this rate per device token (the HTTP/2 API's option). */
  rateLimiter?: TokenRateLimiter | null;
}

/**
 * Decides a notification's fate for either protocol, in this order: the device registry, the
 * rate limit, the rules (the first that fires; one that does not decide leaves an effect), the
 * strict payload checks. The protocols only map the verdict to their wire effect.
 */
export class Policy {
  readonly registry: DeviceRegistry;
  readonly rules: RuleSet;
  readonly strictPayloads: boolean;
  readonly rateLimiter: TokenRateLimiter | null;
  private readonly tools: ActionTools;

  constructor(options: PolicyOptions) {
    this.registry = options.registry;
    this.rules = options.rules;
    this.strictPayloads = options.strictPayloads ?? false;
    this.rateLimiter = options.rateLimiter ?? null;
    this.tools = { registry: options.registry };
  }

  /** The verdict on one notification; `tally` is its connection's, counted when it reaches the rules. */
  decide(n: NotificationContext, tally: ConnectionTally): Verdict {
    const { registry, rules } = this;
    if (!n.broadcast) {
      const refusal = deviceRefusal(registry, n);
      if (refusal !== null) return refusal;
    }
    const limiter = this.rateLimiter;
    if (limiter !== null && limiter.hit(n.tokenHex)) {
      const explanation = `more than ${limiter.requests} notification(s) to this token within ${limiter.perMs} ms`;
      const status = binaryStatusForReason('TooManyRequests');
      return { kind: 'reject', status, reason: 'TooManyRequests', explanation, rule: null, timestamp: null, delayMs: 0, effect: null };
    }
    const nthOnConnection = ++tally.judged;
    let rule: string | null = null;
    let effect: Effect | null = null;
    if (rules.size > 0) {
      const fired = rules.evaluate(n, nthOnConnection);
      if (fired !== null) {
        const handler = ruleActionOn(fired.action.type, n.protocol);
        // The rule set passes such rules over; reaching one here is a simulator bug, not an accept.
        if (handler === PASS_OVER) throw new Error(`rule ${fired.id}: action ${fired.action.type} does not exist on ${n.protocol}`);
        const outcome = handler(fired.action, firedRule(fired), n, this.tools);
        if (!isEffect(outcome)) return outcome;
        rule = fired.id;
        effect = outcome;
      }
    }
    if (this.strictPayloads) {
      const warnings = parsePayload(n.payload, n.priority).warnings;
      const failure = strictFailure(warnings);
      if (failure !== null) {
        const reason = reasonForBinaryStatus(failure.status);
        return {
          kind: 'reject',
          status: failure.status,
          reason,
          explanation: failure.reason,
          rule: null,
          timestamp: null,
          delayMs: null,
          effect,
          warnings,
        };
      }
      return { kind: 'accept', rule, effect, warnings };
    }
    return rule === null ? ACCEPTED : { kind: 'accept', rule, effect };
  }
}
