export { RuleSet, type RuleSubject } from './ruleset.js';
export {
  parseRuleSpec,
  rejectStatus,
  RuleError,
  RULE_ACTIONS,
  HTTP2_RULE_ACTIONS,
  type AnyRuleAction,
  type Http2RuleAction,
  type Http2RuleActionType,
  type Rule,
  type RuleAction,
  type RuleActionSpec,
  type RuleActionType,
  type RuleMatch,
  type RuleSpec,
} from './rule.js';
export { loadScenario, parseScenario, type Scenario, type ScenarioDevice } from './scenario.js';
export { seededRandom } from '../../common/random.js';
