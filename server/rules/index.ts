export { RuleSet, type RuleSubject } from './ruleset.js';
export { parseRuleSpec, type ParsedRuleSpec, type Rule, type RuleActionSpec, type RuleMatch, type RuleSpec } from './rule.js';
export { RuleError } from './error.js';
export {
  PASS_OVER,
  RULE_ACTIONS,
  RULE_ACTION_DEFINITIONS,
  defineAction,
  firedRule,
  ruleActionDefinition,
  ruleActionOn,
  ruleActionsOn,
  type ActionGate,
  type ActionHandler,
  type ActionTools,
  type FiredRule,
  type RuleAction,
  type RuleActionDefinition,
  type RuleActionType,
} from './actions/index.js';
export { loadScenario, parseScenario, type Scenario, type ScenarioDevice } from './scenario.js';
export { seededRandom } from '../../common/random.js';
