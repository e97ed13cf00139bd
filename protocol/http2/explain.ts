import { bundleOfTopic, Http2Header, HTTP2_LIMITS, type Http2Limits } from './constants.js';
import { http2Rejection, http2StatusOf, isHttp2Reason, type Http2Rejection } from './reasons.js';
import { InputError } from '../../common/errors.js';
import {
  DEVICE_CHECKS,
  certificateTopics,
  checkApnsId,
  checkDuplicateHeaders,
  deviceCheckState,
  headerValue,
  isHttp2Rejection,
  routeRequest,
  type DeviceCheckState,
  type HeaderValue,
  type TopicAuthority,
} from './validate.js';

/**
 * An HTTP/2 request to explain: what a record's `http2` object holds (method, path, headers)
 * and the body. A whole record (`http2` and `payload`) is taken too, so a record can be pasted back.
 */
export interface Http2RequestInput {
  method: string;
  path: string;
  headers: Readonly<Record<string, HeaderValue>>;
  /** The request body: text, or a JSON value sent as its text; null or absent: no body. */
  body?: unknown;
  /** How the connection authenticated, when known (a record says): the topic checks depend on it. */
  auth?: 'certificate' | 'token' | null;
  /** The topic a record resolved (its certificate's when the request named none). */
  topic?: string | null;
  /** What the simulator answered, when the request is a record: a failure after the header checks is placed at its step. */
  answered?: { status: number | null; reason: string | null; words: string | null; rule: string | null };
}

/**
 * How far a check got: passed; failed (the first failure answers); not reached (after the
 * failure); or judged by the server, which this pure code cannot do (authentication, the
 * device registry, the rules): `server`.
 */
export type Http2CheckOutcome = 'passed' | 'failed' | 'not reached' | 'server';

export interface Http2ExplainedCheck {
  /** Apple's order (docs/protocol/http2.md): 1 route ... 13 rules. */
  step: number;
  name: string;
  /** What Apple wants there. */
  wants: string;
  outcome: Http2CheckOutcome;
  /** What the request carried there, or what the server does. */
  found: string;
  /** On the failed check: Apple's reason, its HTTP status and the simulator's words. */
  failure?: { reason: string; status: number; words: string };
}

export interface Http2Explanation {
  method: string;
  path: string;
  /** Bytes of the body. */
  bodyLength: number;
  checks: Http2ExplainedCheck[];
  /** accepted: every check this code can make passed (the server's may still refuse: see the `server` checks). */
  outcome: 'accepted' | 'rejected';
  /** The HTTP status Apple answers: 200, or the failed check's. */
  status: number;
  /** Apple's reason (`BadTopic`); null when accepted. */
  reason: string | null;
  /** The failed check's words, or what acceptance means here. */
  words: string;
  /** Assumptions this explanation made (the credentials were not known). */
  notes: string[];
  summary: string;
}

export interface Http2ExplainOptions {
  /** Who may push to which topics; unknown: assumed from the request (and said in `notes`). */
  authority?: TopicAuthority;
  limits?: Http2Limits;
}

/** Reasons the server gives at steps this code does not run, by step. */
const SERVER_STEPS: { step: number; name: string; wants: string; found: string; reasons: readonly string[] }[] = [
  {
    step: 4,
    name: 'authentication',
    wants: 'a client certificate for the topic, or a provider token (JWT) signed by a registered key',
    found: 'judged by the server from the connection',
    reasons: [
      'MissingProviderToken',
      'InvalidProviderToken',
      'ExpiredProviderToken',
      'TooManyProviderTokenUpdates',
      'BadCertificate',
      'BadCertificateEnvironment',
      'Forbidden',
      'UnrelatedKeyIdInToken',
      'BadEnvironmentKeyIdInToken',
      'BadEnvironmentKeyInToken',
    ],
  },
  {
    step: 12,
    name: 'devices',
    wants: 'a device token the registry knows for the topic (any, unless devices are registered)',
    found: "judged by the server's device registry",
    reasons: ['Unregistered', 'ExpiredToken', 'BadDeviceToken', 'DeviceTokenNotForTopic', 'TooManyRequests'],
  },
  {
    step: 13,
    name: 'rules',
    wants: 'no fault rule matching the notification',
    found: "judged by the server's rules",
    reasons: [],
  },
];

const serverCheck = (spec: (typeof SERVER_STEPS)[number]): Http2ExplainedCheck => ({
  step: spec.step,
  name: spec.name,
  wants: spec.wants,
  outcome: 'server',
  found: spec.found,
});

function bodyBytes(body: unknown): Buffer {
  if (body === null || body === undefined) return Buffer.alloc(0);
  return Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
}

/** The credentials assumed when none were given: the record's auth, an authorization header, else a certificate allowing the topic. */
function assumedAuthority(input: Http2RequestInput, notes: string[]): TopicAuthority {
  const bearer = headerValue(input.headers, 'authorization') !== undefined;
  if (input.auth === 'token' || (input.auth !== 'certificate' && bearer)) {
    notes.push('token authentication: whether the key serves the topic is not known here (the server checks it)');
    return { kind: 'token', bundles: null };
  }
  const topic = headerValue(input.headers, Http2Header.Topic) ?? input.topic ?? null;
  notes.push(
    topic === null
      ? 'certificate authentication assumed, for a certificate whose topic is not known here'
      : `certificate authentication assumed, for a certificate that allows ${bundleOfTopic(topic)} (the server checks the real one)`,
  );
  // A placeholder bundle id when the certificate's own topic is not known: the topic checks then pass.
  const uid = topic === null ? 'the.certificate.topic' : bundleOfTopic(topic);
  return { kind: 'certificate', uid, topics: certificateTopics(uid, topic === null ? [] : [topic]), several: false };
}

/** What each check found, in words, from what the checks learned. */
function foundBy(name: string, s: DeviceCheckState, headers: Http2RequestInput['headers']): string {
  const header = (h: string) => {
    const value = headerValue(headers, h);
    return value === undefined ? 'absent' : JSON.stringify(value);
  };
  switch (name) {
    case 'apns-push-type':
      return s.pushTypeGiven ? s.pushType : `absent: ${s.pushType}`;
    case 'push type and credentials':
      return `${s.pushType} on ${s.authority.kind} authentication`;
    case 'apns-topic':
      return s.givenTopic === undefined ? `absent: ${s.topic || 'none'}` : s.givenTopic;
    case 'apns-priority':
      return headerValue(headers, Http2Header.Priority) === undefined ? `absent: ${s.priority}` : header(Http2Header.Priority);
    case 'apns-expiration':
      return header(Http2Header.Expiration);
    case 'apns-collapse-id':
      return header(Http2Header.CollapseId);
    case 'device token':
      return s.token === '' ? JSON.stringify(s.request.token) : `${s.token.length / 2} bytes`;
    case 'payload':
      return `${s.request.payloadLength} bytes${s.json === undefined ? ', not JSON (recorded with a warning)' : ' of JSON'}`;
    default:
      return s.json !== null && typeof s.json === 'object' ? `priority ${s.priority}` : 'not a JSON object';
  }
}

function failed(check: Omit<Http2ExplainedCheck, 'outcome' | 'failure'>, rejection: Http2Rejection): Http2ExplainedCheck {
  return { ...check, outcome: 'failed', failure: { reason: rejection.reason, status: rejection.status, words: rejection.message } };
}

/**
 * Every check Apple makes on a request, in Apple's order, with the one that failed and why:
 * the same check functions the HTTP/2 server runs (protocol/http2/validate.ts), so the
 * explanation and the server's answer cannot drift. Steps only the server can judge
 * (authentication, the device registry, the rules) are listed as `server`; when the input is a
 * record whose answer came from one of them, that step is marked failed with the record's words.
 */
export function explainHttp2Request(input: Http2RequestInput, options: Http2ExplainOptions = {}): Http2Explanation {
  const notes: string[] = [];
  const body = bodyBytes(input.body);
  const headers = input.headers;
  const checks: Http2ExplainedCheck[] = [];
  let failure: Http2Rejection | null = null;
  const run = (step: number, name: string, wants: string, found: string, result: Http2Rejection | null) => {
    if (failure !== null) checks.push({ step, name, wants, outcome: 'not reached', found });
    else if (result !== null) {
      failure = result;
      checks.push(failed({ step, name, wants, found }, result));
    } else checks.push({ step, name, wants, outcome: 'passed', found });
  };

  const route = routeRequest(input.method, input.path);
  run(1, 'route', 'POST /3/device/<device token>', `${input.method} ${input.path}`, isHttp2Rejection(route) ? route : null);
  run(
    2,
    'headers',
    "each of Apple's headers at most once",
    'as given',
    checkDuplicateHeaders({ method: input.method, path: input.path, headers }),
  );
  run(3, 'apns-id', 'a canonical lower-case UUID, when given', headerValue(headers, Http2Header.Id) ?? 'absent', checkApnsId(headers));
  const [auth, devices, rules] = SERVER_STEPS;
  checks.push(serverCheck(auth));

  const deviceRoute = !isHttp2Rejection(route) && route.kind === 'device';
  if (!isHttp2Rejection(route) && !deviceRoute) notes.push(`a ${route.kind} request: only the steps every request shares are explained`);
  if (deviceRoute && failure === null) {
    const authority = options.authority ?? assumedAuthority(input, notes);
    const state = deviceCheckState(
      { headers, token: route.token, payload: body, payloadLength: body.length },
      authority,
      options.limits ?? HTTP2_LIMITS,
    );
    for (const check of DEVICE_CHECKS) {
      const result = failure === null ? check.run(state) : null;
      run(check.step, check.name, check.wants, failure === null ? foundBy(check.name, state, headers) : '', result);
    }
  } else if (deviceRoute) {
    for (const check of DEVICE_CHECKS)
      checks.push({ step: check.step, name: check.name, wants: check.wants, outcome: 'not reached', found: '' });
  }
  if (deviceRoute) checks.push(serverCheck(devices), serverCheck(rules));
  placeServerAnswer(input, checks, failure === null);

  const first = checks.find((c) => c.outcome === 'failed');
  const outcome = first === undefined ? 'accepted' : 'rejected';
  const status = first?.failure?.status ?? 200;
  const reason = first?.failure?.reason ?? null;
  const words =
    first?.failure?.words ??
    'every check made here passed: Apple answers 200 unless the credentials, the device registry or a rule refuse it';
  const summary =
    first === undefined
      ? `${input.method} ${input.path}: accepted by the header and payload checks (200)`
      : `${input.method} ${input.path}: step ${first.step} (${first.name}) fails: ${status} ${reason}: ${words}`;
  return { method: input.method, path: input.path, bodyLength: body.length, checks, outcome, status, reason, words, notes, summary };
}

/** Reasons of checks that depend on the credentials, which this code assumes: a record's answer names the real failure. */
const CREDENTIAL_CHECKS: Record<string, string> = {
  BadTopic: 'apns-topic',
  TopicDisallowed: 'apns-topic',
  MissingTopic: 'apns-topic',
  InvalidPushType: 'push type and credentials',
};

/**
 * A record refused where this code could not see it (the server's steps, or a topic check made
 * with assumed credentials): that check is marked failed with the record's words, those after it not reached.
 */
function placeServerAnswer(input: Http2RequestInput, checks: Http2ExplainedCheck[], allPassed: boolean): void {
  const answered = input.answered;
  const reason = answered?.reason ?? null;
  if (!allPassed || answered === undefined || reason === null || !isHttp2Reason(reason)) return;
  const rejection = http2Rejection(reason, answered.words ?? undefined);
  const server = answered.rule !== null ? SERVER_STEPS[2] : SERVER_STEPS.find((s) => s.reasons.includes(reason));
  const name = server?.name ?? CREDENTIAL_CHECKS[reason] ?? SERVER_STEPS[2].name;
  const index = checks.findIndex((c) => c.name === name);
  if (index < 0) return;
  const status = answered.status ?? http2StatusOf(reason);
  checks[index] = { ...checks[index], outcome: 'failed', failure: { reason: rejection.reason, status, words: rejection.message } };
  if (answered.rule !== null) checks[index].found = `rule ${answered.rule}`;
  for (let i = index + 1; i < checks.length; i++) if (checks[i].outcome !== 'server') checks[i] = { ...checks[i], outcome: 'not reached' };
}

/** Thrown for input that is not a request (or a record) as JSON. */
export class Http2RequestInputError extends InputError {
  constructor(message: string) {
    super(message, 'ERR_APNS_HTTP2_REQUEST_INPUT');
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A request from JSON: `{ method, path, headers, body }` (a record's `http2` object with the
 * body beside it), or a whole record (`http2`, `payload`, `topic`, the answer). Throws
 * Http2RequestInputError saying what is missing.
 */
export function http2RequestFromJson(value: unknown): Http2RequestInput {
  if (!isObject(value))
    throw new Http2RequestInputError('the request must be a JSON object: { "method", "path", "headers", "body" }, or a record');
  if (isObject(value.http2)) {
    const http2 = value.http2;
    const record = value as { payload?: unknown; topic?: unknown; reason?: unknown; rule?: unknown };
    const reason = typeof http2.reason === 'string' ? http2.reason : null;
    const words = typeof record.reason === 'string' && reason !== null ? record.reason.replace(`${reason}: `, '') : null;
    return {
      ...requestFields(http2),
      body: value.body ?? record.payload ?? null,
      auth: http2.auth === 'token' || http2.auth === 'certificate' ? http2.auth : null,
      topic: typeof record.topic === 'string' ? record.topic : null,
      answered: {
        status: typeof http2.status === 'number' ? http2.status : null,
        reason,
        words,
        rule: typeof record.rule === 'string' ? record.rule : null,
      },
    };
  }
  return {
    ...requestFields(value),
    body: value.body ?? null,
    auth: value.auth === 'token' || value.auth === 'certificate' ? value.auth : null,
  };
}

function requestFields(value: Record<string, unknown>): Pick<Http2RequestInput, 'method' | 'path' | 'headers'> {
  const headers = value.headers ?? {};
  if (typeof value.path !== 'string') throw new Http2RequestInputError('the request has no "path" (such as "/3/device/<token>")');
  if (value.method !== undefined && typeof value.method !== 'string')
    throw new Http2RequestInputError('"method" must be text, such as "POST"');
  if (
    !isObject(headers) ||
    !Object.values(headers).every((v) => typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string')))
  )
    throw new Http2RequestInputError('"headers" must be an object of header names and text values');
  // Header names arrive lower case on the wire.
  const lower = Object.fromEntries(Object.entries(headers).map(([name, v]) => [name.toLowerCase(), v as string | string[]]));
  return { method: value.method ?? 'POST', path: value.path, headers: lower };
}

const MARK: Record<Http2CheckOutcome, string> = { passed: '✓', failed: '✗', 'not reached': '·', server: '?' };

/** The explanation as aligned text for a person: one line per check, the failed one marked ✗ with its reason. */
export function formatHttp2Explanation(e: Http2Explanation, options: { color?: boolean } = {}): string {
  const paint = (code: number) => (text: string) => (options.color ? `\u001b[${code}m${text}\u001b[39m` : text);
  const red = paint(31);
  const green = paint(32);
  const dim = (text: string) => (options.color ? `\u001b[2m${text}\u001b[22m` : text);
  const nameWidth = Math.max(...e.checks.map((c) => c.name.length));
  const lines = [`${e.method} ${e.path}, ${e.bodyLength} body byte(s)`];
  for (const check of e.checks) {
    const mark = check.outcome === 'failed' ? red(MARK.failed) : check.outcome === 'passed' ? green(MARK.passed) : dim(MARK[check.outcome]);
    const found = check.outcome === 'not reached' ? dim('not reached') : check.outcome === 'server' ? dim(check.found) : check.found;
    lines.push(`  ${mark} ${String(check.step).padStart(2)}  ${check.name.padEnd(nameWidth)}  ${found}`);
    if (check.failure !== undefined) {
      lines.push(`  ${' '.repeat(6)}${red(`^ ${check.failure.status} ${check.failure.reason}: ${check.failure.words}`)}`);
      lines.push(`  ${' '.repeat(6)}${dim(`wanted: ${check.wants}`)}`);
    }
  }
  for (const note of e.notes) lines.push(`  note: ${note}`);
  const verdict = e.outcome === 'accepted' ? green('ACCEPTED') : red('REJECTED');
  lines.push('', `${verdict} ${e.status}${e.reason === null ? '' : ` ${e.reason}`}: ${e.words}`);
  return `${lines.join('\n')}\n`;
}
