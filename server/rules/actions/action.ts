import type { DeviceRegistry } from '../../registry/index.js';
import type { NotificationContext } from '../../policy/notification.js';
import type { Effect, Protocol, Verdict } from '../../policy/verdict.js';

/** The rule that fired, as an action sees it. */
export interface FiredRule {
  id: string;
  /** "rule r1 (flaky device)": how explanations name it. */
  because: string;
}

/** What an action may touch besides the notification. */
export interface ActionTools {
  registry: DeviceRegistry;
}

/** Decides the notification (a verdict), or leaves an effect and lets it be judged on. */
export type ActionHandler<A> = (action: A, fired: FiredRule, n: NotificationContext, tools: ActionTools) => Verdict | Effect;

/** Marks a protocol the action does not exist on: rules with it never fire there. */
export const PASS_OVER = 'passOver' as const;

/** A gate made once per rule: the rule fires only while it holds (an outage window, a rate count). */
export type ActionGate = (n: NotificationContext, now: number) => boolean;

/**
 * One rule action: its spec's checks, and what it does on each protocol. Adding an action is a
 * file that exports one of these, listed in `./index.ts`.
 */
export interface RuleActionDefinition<A extends { type: string } = { type: string }> {
  readonly type: A['type'];
  /** Checks the action's fields (the type is already known) and returns the action as rules keep it. */
  parse(spec: Record<string, unknown>, where: string): A;
  /** When given, the rule fires only while the gate holds; `addedAt` is when the rule was added. */
  gate?(action: A, addedAt: number): ActionGate;
  readonly on: { readonly [P in Protocol]: ActionHandler<A> | typeof PASS_OVER };
}

/** Keeps `A` tied to its handlers when a definition is written. */
export function defineAction<A extends { type: string }>(definition: RuleActionDefinition<A>): RuleActionDefinition<A> {
  return definition;
}

/** The rule's words for explanations: `rule r1`, or `rule r1 (its description)`. */
export function firedRule(rule: { id: string; description: string | null }): FiredRule {
  return { id: rule.id, because: `rule ${rule.id}${rule.description ? ` (${rule.description})` : ''}` };
}
