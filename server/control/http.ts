import { parseDuration } from '../../common/duration.js';
import { InputError } from '../../common/errors.js';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A request the control API refuses, with the HTTP status and words for the caller. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_BODY = 1 << 20;

export async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') throw new HttpError(400, 'a JSON body is required');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `the body is not valid JSON: ${(error as Error).message}`);
  }
}

export function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value, null, 2) + '\n';
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  response.end(body);
}

export function intParam(params: URLSearchParams, name: string, min = 0): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new HttpError(400, `query parameter ${name} must be an integer >= ${min}; got "${raw}"`);
  return value;
}

/** "5000", "5000ms", "5s", "1m", "1h"; above `max` a 400. */
export function durationParam(params: URLSearchParams, name: string, max?: number): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  try {
    return parseDuration(raw, `query parameter ${name}`, max);
  } catch (error) {
    if (error instanceof InputError) throw new HttpError(400, error.message);
    throw error;
  }
}
