export { RuleSet, type RuleSubject } from './ruleset.js';
export { parseRuleSpec, RuleError, RULE_ACTIONS, type Rule, type RuleAction, type RuleActionType, type RuleMatch, type RuleSpec } from './rule.js';
export { loadScenario, parseScenario, type Scenario, type ScenarioDevice } from './scenario.js';
