import { DeviceRegistry } from '../../../server/registry/index.js';
import { RuleSet, type RuleSpec } from '../../../server/rules/index.js';
import {
  Policy,
  type ConnectionTally,
  type NotificationContext,
  type PolicyOptions,
  type Protocol,
  type Verdict,
} from '../../../server/policy/index.js';

export const TOKEN = 'aa'.repeat(32);
export const TOPIC = 'com.example.app';
export const PAYLOAD = Buffer.from(JSON.stringify({ aps: { alert: 'hello' } }));

/** A notification as either protocol would hand it to the policy. */
export function notification(protocol: Protocol, over: Partial<NotificationContext> = {}): NotificationContext {
  return {
    protocol,
    environment: 'development',
    topic: TOPIC,
    bundle: TOPIC,
    tokenHex: TOKEN,
    identifier: protocol === 'binary' ? 7 : -1,
    payload: PAYLOAD,
    priority: 10,
    ...(protocol === 'http2' ? { apnsId: '00000000-0000-0000-0000-000000000001', pushType: 'alert' } : {}),
    ...over,
  };
}

/** A policy over a fresh registry and rule set, and a connection tally. */
export function policyWith(rules: RuleSpec[] = [], options: Partial<PolicyOptions> = {}) {
  const registry = new DeviceRegistry();
  const ruleSet = new RuleSet();
  for (const rule of rules) ruleSet.add(rule);
  const policy = new Policy({ registry, rules: ruleSet, ...options });
  const tally: ConnectionTally = { judged: 0 };
  const decide = (protocol: Protocol, over?: Partial<NotificationContext>): Verdict => policy.decide(notification(protocol, over), tally);
  return { registry, rules: ruleSet, policy, tally, decide };
}
