import { InputError } from '../../common/errors.js';
import { parseDeviceToken } from '../../common/token.js';
import type { ApnsEnvironment } from '../certs/index.js';
import { HttpError } from './http.js';

const ENVIRONMENTS = new Set(['development', 'production']);

/** The feedback tuple carries the time as an unsigned 32-bit count of seconds: the widest a timestamp can be. */
export const MAX_TIMESTAMP_SECONDS = 0xffff_ffff;

export interface DeviceScope {
  token: string;
  topic: string | null;
  environment: ApnsEnvironment | null;
  timestamp: number | undefined;
}

export const asObject = (value: unknown, where: string): Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, `${where}: the body must be a JSON object`);
  return value as Record<string, unknown>;
};

/** `{token, topic?, environment?, timestamp?}` of POST /devices and POST /uninstall, checked as every entry point checks them. */
export function parseDeviceScope(body: Record<string, unknown>, where: string): DeviceScope {
  let token: string;
  try {
    token = parseDeviceToken(body.token, `${where}: "token"`);
  } catch (error) {
    if (error instanceof InputError) throw new HttpError(400, error.message, error.code);
    throw error;
  }
  if (body.topic !== undefined && body.topic !== null && typeof body.topic !== 'string') throw new HttpError(400, `${where}: "topic" must be a string`);
  if (body.environment !== undefined && body.environment !== null && !ENVIRONMENTS.has(body.environment as string)) {
    throw new HttpError(400, `${where}: "environment" must be "development" or "production"`);
  }
  const timestamp = body.timestamp;
  if (timestamp !== undefined && !(Number.isInteger(timestamp) && (timestamp as number) >= 0 && (timestamp as number) <= MAX_TIMESTAMP_SECONDS)) {
    throw new HttpError(400, `${where}: "timestamp" must be UNIX seconds, a whole number from 0 to ${MAX_TIMESTAMP_SECONDS}; got ${JSON.stringify(timestamp)}`);
  }
  return {
    token,
    topic: (body.topic as string | null | undefined) ?? null,
    environment: (body.environment as ApnsEnvironment | null | undefined) ?? null,
    timestamp: timestamp as number | undefined,
  };
}
