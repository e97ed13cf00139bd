import type { Protocol } from '../../policy/verdict.js';
import { PASS_OVER, type ActionHandler, type RuleActionDefinition } from './action.js';
import { close } from './close.js';
import { delay } from './delay.js';
import { drop } from './drop.js';
import { goaway } from './goaway.js';
import { outage } from './outage.js';
import { rateLimit } from './rate-limit.js';
import { reject } from './reject.js';
import { reset } from './reset.js';
import { shutdown } from './shutdown.js';
import { stall } from './stall.js';
import { uninstall } from './uninstall.js';

export {
  PASS_OVER,
  defineAction,
  firedRule,
  type ActionGate,
  type ActionHandler,
  type ActionTools,
  type FiredRule,
  type RuleActionDefinition,
} from './action.js';

/** Every rule action, one file each; error messages list them in this order. */
export const RULE_ACTION_DEFINITIONS = [reject, shutdown, close, delay, stall, drop, uninstall, goaway, reset, rateLimit, outage] as const;

type ActionOf<D> = D extends RuleActionDefinition<infer A> ? A : never;
/** Every action a rule may have, as the rule set keeps it. */
export type RuleAction = ActionOf<(typeof RULE_ACTION_DEFINITIONS)[number]>;
export type RuleActionType = RuleAction['type'];

export const RULE_ACTIONS: readonly RuleActionType[] = RULE_ACTION_DEFINITIONS.map((d) => d.type);

const byType = new Map<string, RuleActionDefinition<RuleAction>>(
  RULE_ACTION_DEFINITIONS.map((d) => [d.type, d as unknown as RuleActionDefinition<RuleAction>]),
);

export function ruleActionDefinition(type: string): RuleActionDefinition<RuleAction> | undefined {
  return byType.get(type);
}

/** The action's handler on a protocol; PASS_OVER where it does not exist, so its rules never fire there. */
export function ruleActionOn(type: RuleActionType, protocol: Protocol): ActionHandler<RuleAction> | typeof PASS_OVER {
  return byType.get(type)!.on[protocol];
}

/** The actions that exist on a protocol. */
export function ruleActionsOn(protocol: Protocol): RuleActionType[] {
  return RULE_ACTION_DEFINITIONS.filter((d) => d.on[protocol] !== PASS_OVER).map((d) => d.type);
}
