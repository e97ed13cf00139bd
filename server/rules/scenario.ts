import { readFile } from 'node:fs/promises';
import { parseDeviceToken } from '../../common/token.js';
import { parseFeedbackTimestamp } from '../registry/index.js';
import { RuleError, asRuleError } from './error.js';
import { parseRuleSpec, type RuleSpec } from './rule.js';

/** The device part of a scenario file. */
export interface ScenarioDevice {
  token: string;
  topic?: string;
  environment?: 'development' | 'production';
}

/** A JSON scenario file: `{ "rules": [...], "devices": [...], "uninstalled": [...] }`. */
export interface Scenario {
  rules: RuleSpec[];
  devices: ScenarioDevice[];
  uninstalled: (ScenarioDevice & { timestamp?: number })[];
}

export function parseScenario(value: unknown, source = 'scenario'): Scenario {
  const input = Array.isArray(value) ? { rules: value } : value;
  if (typeof input !== 'object' || input === null)
    throw new RuleError(`${source}: must be a JSON object with "rules" (or an array of rules)`);
  const { rules = [], devices = [], uninstalled = [], ...rest } = input as Record<string, unknown>;
  const unknownKeys = Object.keys(rest);
  if (unknownKeys.length > 0)
    throw new RuleError(`${source}: unknown key(s) ${unknownKeys.join(', ')}; expected rules, devices, uninstalled`);
  if (!Array.isArray(rules)) throw new RuleError(`${source}: "rules" must be an array`);
  const checkDevices = (list: unknown, key: string) => {
    if (!Array.isArray(list)) throw new RuleError(`${source}: "${key}" must be an array`);
    return list.map((d: unknown, i) => {
      const where = `${source}: ${key}[${i}]`;
      if (typeof d !== 'object' || d === null || typeof (d as ScenarioDevice).token !== 'string') {
        throw new RuleError(`${where} must be an object with a "token" string`);
      }
      const device = d as ScenarioDevice & { timestamp?: unknown };
      const env = device.environment;
      if (env !== undefined && env !== 'development' && env !== 'production') {
        throw new RuleError(`${where}.environment must be "development" or "production"`);
      }
      if (device.topic !== undefined && typeof device.topic !== 'string') throw new RuleError(`${where}.topic must be a string`);
      const timestamp =
        device.timestamp === undefined ? undefined : asRuleError(() => parseFeedbackTimestamp(device.timestamp, `${where}.timestamp`));
      const token = asRuleError(() => parseDeviceToken(device.token, `${where}.token`));
      return { ...device, token, ...(timestamp === undefined ? {} : { timestamp }) } as ScenarioDevice & { timestamp?: number };
    });
  };
  return {
    rules: rules.map((r, i) => parseRuleSpec(r, `${source}: rules[${i}]`)),
    devices: checkDevices(devices, 'devices'),
    uninstalled: checkDevices(uninstalled, 'uninstalled'),
  };
}

export async function loadScenario(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new RuleError(`cannot read scenario file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RuleError(`scenario file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseScenario(json, path);
}
