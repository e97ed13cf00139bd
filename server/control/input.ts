import { parseDeviceToken } from '../../common/token.js';
import type { ApnsEnvironment } from '../certs/index.js';
import { parseFeedbackTimestamp } from '../registry/index.js';
import { HttpError } from './http.js';

const ENVIRONMENTS = new Set(['development', 'production']);

export interface DeviceScope {
  token: string;
  topic: string | null;
  environment: ApnsEnvironment | null;
  timestamp: number | undefined;
}

export const asObject = (value: unknown, where: string): Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new HttpError(400, `${where}: the body must be a JSON object`);
  return value as Record<string, unknown>;
};

/**
 * `{token, topic?, environment?, timestamp?}` of POST /devices and POST /uninstall, checked by the
 * same functions as every other entry point; their InputError is answered 400 with its code.
 */
export function parseDeviceScope(body: Record<string, unknown>, where: string): DeviceScope {
  const token = parseDeviceToken(body.token, `${where}: "token"`);
  const topic = body.topic ?? null;
  if (topic !== null && typeof topic !== 'string') throw new HttpError(400, `${where}: "topic" must be a string`);
  if (body.environment !== undefined && body.environment !== null && !ENVIRONMENTS.has(body.environment as string)) {
    throw new HttpError(400, `${where}: "environment" must be "development" or "production"`);
  }
  return {
    token,
    topic,
    environment: (body.environment as ApnsEnvironment | null | undefined) ?? null,
    timestamp: body.timestamp === undefined ? undefined : parseFeedbackTimestamp(body.timestamp, `${where}: "timestamp"`),
  };
}
