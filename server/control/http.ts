import { parseDuration } from '../../common/duration.js';
import { ApnsMockError, InputError } from '../../common/errors.js';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The stable code of each status the control API answers with, when the error names none of its own. */
const CODE_OF_STATUS: Record<number, string> = {
  400: 'ERR_APNS_CONTROL_BAD_REQUEST',
  401: 'ERR_APNS_CONTROL_UNAUTHORIZED',
  403: 'ERR_APNS_CONTROL_FORBIDDEN',
  404: 'ERR_APNS_CONTROL_NOT_FOUND',
  405: 'ERR_APNS_CONTROL_METHOD_NOT_ALLOWED',
  413: 'ERR_APNS_CONTROL_BODY_TOO_LARGE',
  415: 'ERR_APNS_CONTROL_CONTENT_TYPE',
  500: 'ERR_APNS_CONTROL_INTERNAL',
  503: 'ERR_APNS_CONTROL_BUSY',
};

/** A request the control API refuses, with the HTTP status and words for the caller. */
export class HttpError extends ApnsMockError {
  constructor(
    readonly status: number,
    message: string,
    code = CODE_OF_STATUS[status] ?? `ERR_APNS_CONTROL_HTTP_${status}`,
  ) {
    super(code, message);
  }
}

/** Any error made into the status and JSON body the control API answers: `{ error, code }`. */
export function errorReply(error: unknown): { status: number; body: { error: string; code: string } } {
  if (error instanceof HttpError) return { status: error.status, body: { error: error.message, code: error.code } };
  // Input the caller can correct: a bad token, duration, rule or key id, wherever it was checked.
  if (error instanceof InputError || isCorrectableInput(error)) {
    return { status: 400, body: { error: error.message, code: error.code } };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { status: 500, body: { error: message, code: CODE_OF_STATUS[500] } };
}

/** Errors of the rule parser and the key store: not InputError subclasses (yet), but input all the same. */
const CORRECTABLE_CODES = new Set(['ERR_APNS_RULE', 'ERR_APNS_KEY_STORE', 'ERR_APNS_INPUT']);
const isCorrectableInput = (error: unknown): error is Error & { code: string } =>
  error instanceof Error && CORRECTABLE_CODES.has((error as { code?: unknown }).code as string);

const MAX_BODY = 1 << 20;

/**
 * The request's body as JSON. Past MAX_BODY the rest is read and thrown away rather than the
 * socket destroyed mid-request, so the 413 reaches the client (who then sees the connection close).
 */
export function readJson(request: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) {
        chunks.push(chunk);
        return;
      }
      request.off('data', onData).off('end', onEnd).off('error', onError);
      request.resume();
      reject(new HttpError(413, `request body over ${MAX_BODY} bytes`));
    };
    const onEnd = () => {
      request.off('error', onError);
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') return reject(new HttpError(400, 'a JSON body is required'));
      try {
        resolve(JSON.parse(text));
      } catch (error) {
        reject(new HttpError(400, `the body is not valid JSON: ${(error as Error).message}`));
      }
    };
    const onError = (error: Error) => reject(error);
    request.on('data', onData).once('end', onEnd).once('error', onError);
  });
}

export function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value, null, 2) + '\n';
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  response.end(body);
}

export function sendError(response: ServerResponse, error: unknown): void {
  const { status, body } = errorReply(error);
  // A body left unread (refused before it was read, or too large) is not waited for: the connection ends with the answer.
  if (!response.req.complete) response.setHeader('connection', 'close');
  sendJson(response, status, body);
}

export function intParam(params: URLSearchParams, name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min)
    throw new HttpError(400, `query parameter ${name} must be an integer >= ${min}; got "${raw}"`);
  if (value > max) throw new HttpError(400, `query parameter ${name} must be at most ${max}; got ${raw}`);
  return value;
}

/** "5000", "5000ms", "5s", "1m", "1h"; above `max` a 400. */
export function durationParam(params: URLSearchParams, name: string, max?: number): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  try {
    return parseDuration(raw, `query parameter ${name}`, max);
  } catch (error) {
    if (error instanceof InputError) throw new HttpError(400, error.message, error.code);
    throw error;
  }
}

/** A %-escaped path segment as text; a malformed escape is the caller's mistake (400), not the server's. */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `the path segment "${segment}" has a malformed %-escape`);
  }
}
