import { EventEmitter } from 'node:events';
import { normalizeToken } from '../recorder/index.js';
import { HTTP2_RULE_ACTIONS, parseRuleSpec, rejectStatus, type AnyRuleAction, type Http2RuleActionType, type Rule, type RuleSpec } from './rule.js';
import { seededRandom } from '../../common/random.js';

/** What the rules can see of one notification. */
export interface RuleSubject {
  tokenHex: string;
  identifier: number;
  topic: string | null;
  payload: Buffer;
  /** 1-based position of the notification on its connection. */
  nthOnConnection: number;
  /** Absent: binary. */
  protocol?: 'binary' | 'http2';
  /** HTTP/2: the request's apns-id. */
  apnsId?: string;
  /** HTTP/2: the push type. */
  pushType?: string;
}


function fieldAt(json: unknown, path: string): { found: boolean; value: unknown } {
  let value = json;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !(key in (value as object))) return { found: false, value: undefined };
    value = (value as Record<string, unknown>)[key];
  }
  return { found: true, value };
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

interface LiveRule extends Rule<AnyRuleAction> {
  random: () => number;
  addedAt: number;
  /** rateLimit: recent notification times per device token. */
  recent?: Map<string, number[]>;
}

const isHttp2Only = (action: AnyRuleAction) => (HTTP2_RULE_ACTIONS as readonly string[]).includes(action.type as Http2RuleActionType);

/** rateLimit: counts this notification; true when it is over the limit. */
function overRate(rule: LiveRule, token: string, now: number): boolean {
  if (rule.action.type !== 'rateLimit') return false;
  const { requests, perMs } = rule.action;
  rule.recent ??= new Map();
  const times = (rule.recent.get(token) ?? []).filter((t) => now - t < perMs);
  times.push(now);
  rule.recent.set(token, times);
  return times.length > requests;
}

function inOutage(rule: LiveRule, now: number): boolean {
  if (rule.action.type !== 'outage') return true;
  const start = rule.addedAt + (rule.action.afterMs ?? 0);
  return now >= start && (rule.action.forMs === undefined || now < start + rule.action.forMs);
}

/**
 * The fault-injection rules, in order: the first rule whose conditions all hold decides.
 * Counters for nth / everyNth count every notification that reaches the rules.
 */
export class RuleSet extends EventEmitter {
  private rules: LiveRule[] = [];
  private judged = 0;
  private nextId = 1;

  add(input: RuleSpec | unknown): Rule<AnyRuleAction> {
    const spec = parseRuleSpec(input);
    const id = spec.id ?? `rule-${this.nextId++}`;
    if (this.rules.some((r) => r.id === id)) this.remove(id);
    const seed = spec.seed ?? 1;
    const match = { ...(spec.match ?? {}) };
    if (match.token !== undefined) match.token = normalizeToken(match.token);
    if (match.tokenPrefix !== undefined) match.tokenPrefix = normalizeToken(match.tokenPrefix);
    const rule: LiveRule = {
      id,
      description: spec.description ?? null,
      match,
      action: (spec.action.type === 'reject' ? { ...spec.action, status: rejectStatus(spec.action) } : { ...spec.action }) as AnyRuleAction,
      times: spec.times ?? null,
      seed,
      fired: 0,
      random: seededRandom(seed),
      addedAt: Date.now(),
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

  list(): Rule<AnyRuleAction>[] {
    return this.rules.map((r) => this.view(r));
  }

  get size(): number {
    return this.rules.length;
  }

  /**
   * Counts the notification and returns the rule that fires for it, if any. Binary
   * notifications never get a rule whose action exists on HTTP/2 only.
   */
  evaluate(subject: RuleSubject & { protocol: 'http2' }): Rule<AnyRuleAction> | null;
  evaluate(subject: RuleSubject): Rule | null;
  evaluate(subject: RuleSubject): Rule<AnyRuleAction> | null {
    const nth = ++this.judged;
    if (this.rules.length === 0) return null;
    const protocol = subject.protocol ?? 'binary';
    const now = Date.now();
    let json: unknown;
    let parsed = false;
    for (const rule of this.rules) {
      if (rule.times !== null && rule.fired >= rule.times) continue;
      const m = rule.match;
      if (protocol === 'binary' && isHttp2Only(rule.action)) continue;
      if (m.protocol !== undefined && m.protocol !== protocol) continue;
      if (m.apnsId !== undefined && m.apnsId !== subject.apnsId) continue;
      if (m.pushType !== undefined && m.pushType !== subject.pushType) continue;
      if (m.token !== undefined && m.token !== subject.tokenHex) continue;
      if (m.tokenPrefix !== undefined && !subject.tokenHex.startsWith(m.tokenPrefix)) continue;
      if (m.identifier !== undefined && m.identifier !== subject.identifier) continue;
      if (m.topic !== undefined && m.topic !== subject.topic) continue;
      if (m.nth !== undefined && m.nth !== nth) continue;
      if (m.nthOnConnection !== undefined && m.nthOnConnection !== subject.nthOnConnection) continue;
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
      if (!inOutage(rule, now)) continue;
      if (rule.action.type === 'rateLimit' && !overRate(rule, subject.tokenHex, now)) continue;
      rule.fired++;
      return this.view(rule);
    }
    return null;
  }

  private view(rule: LiveRule): Rule<AnyRuleAction> {
    const { random: _random, addedAt: _addedAt, recent: _recent, ...rest } = rule;
    return { ...rest, match: { ...rest.match }, action: { ...rest.action } };
  }
}
