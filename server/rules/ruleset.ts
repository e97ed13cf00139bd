import { EventEmitter } from 'node:events';
import { seededRandom } from '../../common/random.js';
import type { NotificationContext } from '../policy/notification.js';
import { PASS_OVER, ruleActionDefinition, type ActionGate } from './actions/index.js';
import { parseRuleSpec, type Rule } from './rule.js';

/** What the rules can see of one notification. */
export type RuleSubject = NotificationContext;

function fieldAt(json: unknown, path: string): { found: boolean; value: unknown } {
  let value = json;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !(key in value)) return { found: false, value: undefined };
    value = (value as Record<string, unknown>)[key];
  }
  return { found: true, value };
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

interface LiveRule extends Rule {
  random: () => number;
  /** The action's own condition (an outage window, a rate count), checked last. */
  gate: ActionGate | null;
  /** Per protocol: false when the action does not exist there, so the rule is passed over. */
  appliesTo: { binary: boolean; http2: boolean };
}

/**
 * The fault-injection rules, in order: the first rule whose conditions all hold decides.
 * Counters for nth / everyNth count every notification that reaches the rules.
 */
export class RuleSet extends EventEmitter {
  private rules: LiveRule[] = [];
  private judged = 0;
  private nextId = 1;

  /** A rule as given (a RuleSpec, or JSON from a file or a request): checked before it is kept. */
  add(input: unknown): Rule {
    const spec = parseRuleSpec(input);
    const id = spec.id ?? `rule-${this.nextId++}`;
    if (this.rules.some((r) => r.id === id)) this.remove(id);
    const seed = spec.seed ?? 1;
    const definition = ruleActionDefinition(spec.action.type)!;
    const rule: LiveRule = {
      id,
      description: spec.description ?? null,
      match: spec.match,
      action: spec.action,
      times: spec.times ?? null,
      seed,
      fired: 0,
      random: seededRandom(seed),
      gate: definition.gate?.(spec.action, Date.now()) ?? null,
      appliesTo: { binary: definition.on.binary !== PASS_OVER, http2: definition.on.http2 !== PASS_OVER },
    };
    this.rules.push(rule);
    this.emit('change');
    return this.view(rule);
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    if (this.rules.length !== before) this.emit('change');
    return this.rules.length !== before;
  }

  clear(): void {
    this.rules = [];
    this.judged = 0;
    this.emit('change');
  }

  list(): Rule[] {
    return this.rules.map((r) => this.view(r));
  }

  get size(): number {
    return this.rules.length;
  }

  /**
   * Counts the notification and returns the rule that fires for it, if any. A rule whose
   * action does not exist on the notification's protocol is passed over.
   */
  evaluate(subject: RuleSubject, nthOnConnection: number): Rule | null {
    const nth = ++this.judged;
    if (this.rules.length === 0) return null;
    const protocol = subject.protocol;
    const now = Date.now();
    let json: unknown;
    let parsed = false;
    for (const rule of this.rules) {
      if (rule.times !== null && rule.fired >= rule.times) continue;
      if (!rule.appliesTo[protocol]) continue;
      const m = rule.match;
      if (m.protocol !== undefined && m.protocol !== protocol) continue;
      // apns-ids are UUIDs: a client's are lower case, the service's own upper case; either matches.
      if (m.apnsId !== undefined && m.apnsId.toLowerCase() !== subject.apnsId?.toLowerCase()) continue;
      if (m.pushType !== undefined && m.pushType !== subject.pushType) continue;
      if (m.token !== undefined && m.token !== subject.tokenHex) continue;
      if (m.tokenPrefix !== undefined && !subject.tokenHex.startsWith(m.tokenPrefix)) continue;
      if (m.identifier !== undefined && m.identifier !== subject.identifier) continue;
      if (m.topic !== undefined && m.topic !== subject.topic) continue;
      if (m.nth !== undefined && m.nth !== nth) continue;
      if (m.nthOnConnection !== undefined && m.nthOnConnection !== nthOnConnection) continue;
      if (m.everyNth !== undefined && nth % m.everyNth !== 0) continue;
      if (m.payloadField !== undefined) {
        if (!parsed) {
          parsed = true;
          try {
            json = JSON.parse(subject.payload.toString('utf8'));
          } catch {
            json = undefined;
          }
        }
        const field = fieldAt(json, m.payloadField.path);
        if (!field.found) continue;
        if ('equals' in m.payloadField && !sameValue(field.value, m.payloadField.equals)) continue;
      }
      if (m.probability !== undefined && !(rule.random() < m.probability)) continue;
      if (rule.gate !== null && !rule.gate(subject, now)) continue;
      rule.fired++;
      return this.view(rule);
    }
    return null;
  }

  private view(rule: LiveRule): Rule {
    const { random: _random, gate: _gate, appliesTo: _appliesTo, ...rest } = rule;
    return { ...rest, match: { ...rest.match }, action: { ...rest.action } };
  }
}
