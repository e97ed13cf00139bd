import {
  COLLAPSE_ID_MAX_BYTES,
  DEVICE_TOKEN_MAX_BYTES,
  DEVICE_TOKEN_MIN_BYTES,
  HTTP2_DEFAULT_PRIORITY,
  HTTP2_LIMITS,
  HTTP2_PRIORITIES,
  Http2Header,
  Http2Priority,
  PUSH_TYPES,
  SINGLE_HEADERS,
  TOKEN_ONLY_PUSH_TYPES,
  TOPIC_SUFFIX,
  bundleOfTopic,
  http2PayloadLimit,
  isPushType,
  pushTypeOfTopic,
  type Http2Limits,
  type PushType,
} from './constants.js';
import { http2Rejection, type Http2Rejection } from './reasons.js';

/*
 * The order in which a request to /3/device/<token> is judged (the first failure answers):
 *
 *   1. route           :path and :method            BadPath 404, MethodNotAllowed 405
 *   2. headers         a header given twice         DuplicateHeaders
 *   3. apns-id         canonical lower-case UUID    BadMessageId
 *   4. authentication  (server) certificate or provider token: 403s, TooManyProviderTokenUpdates 429
 *   5. apns-push-type  a known push type, and not location or liveactivity on a certificate connection
 *                                                   InvalidPushType
 *   6. apns-topic      present when needed, allowed, suffix fits the push type
 *                                                   MissingTopic, BadTopic, InvalidPushType, TopicDisallowed
 *   7. apns-priority   10, 5 or 1; 5 for background BadPriority
 *   8. apns-expiration UNIX seconds                 BadExpirationDate
 *   9. apns-collapse-id at most 64 bytes            BadCollapseId
 *  10. device token    present, hex, 32-100 bytes   MissingDeviceToken, BadDeviceToken
 *  11. payload         not empty, within the limit, fits the push type given; with no push type given,
 *                      not only content-available at priority 10
 *                                                   PayloadEmpty, PayloadTooLarge 413, InvalidPushType, BadPriority
 *  12. devices         (server) the registry        Unregistered / ExpiredToken 410,
 *                                                   BadDeviceToken, DeviceTokenNotForTopic
 *  13. rules           (server) injected faults     any reason, GOAWAY, RST_STREAM, delays
 *
 * Steps 1-3 and 5-11 are here; `validateDeviceRequest` runs 5-11 once authentication passed.
 */

export type HeaderValue = string | string[] | undefined;

/** What the validation reads of a request: node's header object and raw header list fit. */
export interface Http2RequestHead {
  method: string;
  path: string;
  headers: Readonly<Record<string, HeaderValue>>;
  /** Names and values in arrival order (node's `rawHeaders`), to find repeated headers. */
  rawHeaders?: readonly string[];
}

export type Http2Route =
  | { kind: 'device'; token: string }
  | { kind: 'channels'; bundle: string }
  | { kind: 'all-channels'; bundle: string }
  | { kind: 'broadcast'; bundle: string };

const ROUTES: { pattern: RegExp; methods: readonly string[]; route: (m: RegExpExecArray) => Http2Route }[] = [
  { pattern: /^\/3\/device(?:\/([^/]*))?$/, methods: ['POST'], route: (m) => ({ kind: 'device', token: m[1] ?? '' }) },
  { pattern: /^\/1\/apps\/([^/]+)\/channels$/, methods: ['POST', 'GET', 'DELETE'], route: (m) => ({ kind: 'channels', bundle: m[1] }) },
  { pattern: /^\/1\/apps\/([^/]+)\/all-channels$/, methods: ['GET'], route: (m) => ({ kind: 'all-channels', bundle: m[1] }) },
  { pattern: /^\/4\/broadcasts\/apps\/([^/]+)$/, methods: ['POST'], route: (m) => ({ kind: 'broadcast', bundle: m[1] }) },
];

/** Step 1: which endpoint a request is for, or BadPath / MethodNotAllowed. */
export function routeRequest(method: string, path: string): Http2Route | Http2Rejection {
  for (const { pattern, methods, route } of ROUTES) {
    const match = pattern.exec(path);
    if (match === null) continue;
    if (!methods.includes(method))
      return http2Rejection('MethodNotAllowed', `${method} is not allowed on ${path}; use ${methods.join(' or ')}`);
    return route(match);
  }
  return http2Rejection('BadPath', `no endpoint ${JSON.stringify(path)}; notifications go to POST /3/device/<hex device token>`);
}

export function isHttp2Rejection(value: unknown): value is Http2Rejection {
  return typeof value === 'object' && value !== null && 'reason' in value && 'status' in value && 'message' in value;
}

/** One header's value: undefined when absent; repeated headers are caught by step 2. */
export function headerValue(headers: Readonly<Record<string, HeaderValue>>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A bit for each of SINGLE_HEADERS (fewer than 32). */
const SINGLE_HEADER_BITS = new Map(SINGLE_HEADERS.map((name, i) => [name, 1 << i]));

/** True when one of Apple's single headers is in the raw list twice: one pass, nothing allocated. */
function repeatsSingleHeader(rawHeaders: readonly string[]): boolean {
  let seen = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const bit = SINGLE_HEADER_BITS.get(rawHeaders[i].toLowerCase());
    if (bit === undefined) continue;
    if ((seen & bit) !== 0) return true;
    seen |= bit;
  }
  return false;
}

/** Step 2: Apple's headers given more than once. */
export function checkDuplicateHeaders(head: Http2RequestHead): Http2Rejection | null {
  // Every request is checked and almost none repeats a header: the names are listed only for one that does.
  if (head.rawHeaders !== undefined && !repeatsSingleHeader(head.rawHeaders)) return null;
  const counts = new Map<string, number>();
  if (head.rawHeaders !== undefined) {
    for (let i = 0; i < head.rawHeaders.length; i += 2) {
      const name = head.rawHeaders[i].toLowerCase();
      if (SINGLE_HEADERS.includes(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
    }
  } else {
    for (const name of SINGLE_HEADERS) {
      const value = head.headers[name];
      if (value !== undefined) counts.set(name, Array.isArray(value) ? value.length : 1);
    }
  }
  const repeated = [...counts].filter(([, n]) => n > 1).map(([name]) => name);
  return repeated.length === 0 ? null : http2Rejection('DuplicateHeaders', `header(s) given more than once: ${repeated.join(', ')}`);
}

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isCanonicalUuid(value: string): boolean {
  return CANONICAL_UUID.test(value);
}

/** Step 3: apns-id, when given, is a canonical lower-case UUID. */
export function checkApnsId(headers: Readonly<Record<string, HeaderValue>>): Http2Rejection | null {
  const id = headerValue(headers, Http2Header.Id);
  if (id === undefined || isCanonicalUuid(id)) return null;
  return http2Rejection('BadMessageId', `apns-id ${JSON.stringify(id)} is not a canonical lower-case UUID (8-4-4-4-12 hex digits)`);
}

/** Steps 2 and 3, which come before authentication. */
export function checkRequestHeaders(head: Http2RequestHead): Http2Rejection | null {
  return checkDuplicateHeaders(head) ?? checkApnsId(head.headers);
}

/** Who may push to which topics: from the certificate, or (token authentication) from the key. */
export type TopicAuthority =
  /** `topics`: every topic the certificate allows (see `certificateTopics`); `uid` the subject's. */
  | { kind: 'certificate'; uid: string | null; topics: readonly string[]; several: boolean }
  /** `bundles`: the key's apps when the key store knows them; null: any. */
  | { kind: 'token'; bundles: readonly string[] | null };

/**
 * The topics a provider certificate allows: its UID with the `.voip` and `.complication`
 * forms, and the topics of extension 1.2.840.113635.100.6.3.6 (`listed` starts with the UID).
 */
export function certificateTopics(uid: string | null, listed: readonly string[]): string[] {
  const derived = uid === null ? [] : [uid, `${uid}${TOPIC_SUFFIX.voip}`, `${uid}${TOPIC_SUFFIX.complication}`];
  return [...new Set([...derived, ...listed])];
}

const BAD_TOPIC_CHARACTERS = /[\s\u0000-\u001f\u007f]/;

export interface ValidNotification {
  /** Lower-case hex. */
  token: string;
  topic: string;
  /** The topic without its push-type suffix. */
  bundle: string;
  pushType: PushType;
  /** False when apns-push-type was absent and the type was read from the topic (alert otherwise). */
  pushTypeGiven: boolean;
  priority: number;
  /** apns-expiration, UNIX seconds; null when absent. */
  expiration: number | null;
  collapseId: string | null;
  /** apns-id as given; null when the server is to make one. */
  apnsId: string | null;
  payloadJson: unknown;
}

export interface DeviceRequest {
  headers: Readonly<Record<string, HeaderValue>>;
  /** The token part of the :path. */
  token: string;
  /** The body as far as it was kept; `payloadLength` counts every byte received. */
  payload: Uint8Array;
  payloadLength: number;
}

/** Step 5: apns-push-type, or the type the topic's suffix names, or alert. */
export function checkPushType(
  headers: Readonly<Record<string, HeaderValue>>,
  topic: string | undefined,
): { pushType: PushType; given: boolean } | Http2Rejection {
  const given = headerValue(headers, Http2Header.PushType);
  if (given === undefined) return { pushType: (topic === undefined ? null : pushTypeOfTopic(topic)) ?? 'alert', given: false };
  if (!isPushType(given))
    return http2Rejection('InvalidPushType', `apns-push-type ${JSON.stringify(given)} is not one of ${PUSH_TYPES.join(', ')}`);
  return { pushType: given, given: true };
}

/**
 * Step 5, second half: location and liveactivity pushes over a certificate connection. Apple's table
 * has no reason for this; InvalidPushType is the closest (the push type is what the connection cannot
 * take, and it is the reason the service gives for a push type its credentials or topic do not fit).
 */
export function checkPushTypeAuthority(pushType: PushType, authority: TopicAuthority): Http2Rejection | null {
  if (authority.kind !== 'certificate' || !TOKEN_ONLY_PUSH_TYPES.includes(pushType)) return null;
  return http2Rejection('InvalidPushType', `${pushType} pushes take token-based authentication only; this connection uses a certificate`);
}

/** Step 6: the topic, as given or as the certificate implies. */
export function checkTopic(given: string | undefined, pushType: PushType, authority: TopicAuthority): string | Http2Rejection {
  let topic = given;
  if (topic === undefined) {
    if (authority.kind === 'token') return http2Rejection('MissingTopic', 'apns-topic is required with token authentication');
    if (authority.several || authority.uid === null) {
      return http2Rejection(
        'MissingTopic',
        `the certificate allows several topics (${authority.topics.join(', ')}): name one in apns-topic`,
      );
    }
    topic = authority.uid;
  }
  if (topic === '' || BAD_TOPIC_CHARACTERS.test(topic))
    return http2Rejection('BadTopic', `apns-topic ${JSON.stringify(topic)} is not a bundle id`);
  if (authority.kind === 'certificate' && !authority.topics.includes(topic)) {
    return http2Rejection('BadTopic', `the certificate does not allow topic ${topic}; it allows ${authority.topics.join(', ') || 'none'}`);
  }
  // A push type that does not fit the topic's suffix: the service answers InvalidPushType, not BadTopic,
  // as client projects logged it (ostinelli/apnotic#87, Pr0Ger/PyAPNs2#87, AndrewBarba/apns2#23).
  const suffix = TOPIC_SUFFIX[pushType];
  const named = pushTypeOfTopic(topic);
  if (suffix !== '' && !topic.endsWith(suffix)) {
    return http2Rejection('InvalidPushType', `a ${pushType} push goes to the topic <bundle id>${suffix}; got ${topic}`);
  }
  if (suffix === '' && named !== null) {
    return http2Rejection('InvalidPushType', `topic ${topic} is for ${named} pushes, not ${pushType}`);
  }
  if (authority.kind === 'token' && authority.bundles !== null && !authority.bundles.includes(bundleOfTopic(topic))) {
    return http2Rejection(
      'TopicDisallowed',
      `the provider key is not for ${bundleOfTopic(topic)}; it serves ${authority.bundles.join(', ')}`,
    );
  }
  return topic;
}

const DIGITS = /^\d+$/;

/** Step 7. */
export function checkApnsPriority(headers: Readonly<Record<string, HeaderValue>>, pushType: PushType): number | Http2Rejection {
  const given = headerValue(headers, Http2Header.Priority);
  if (given === undefined) {
    return pushType === 'background'
      ? http2Rejection('BadPriority', 'a background push needs apns-priority 5 (the default is 10)')
      : HTTP2_DEFAULT_PRIORITY;
  }
  const priority = DIGITS.test(given) ? Number(given) : NaN;
  if (!HTTP2_PRIORITIES.includes(priority))
    return http2Rejection('BadPriority', `apns-priority ${JSON.stringify(given)} is not 10, 5 or 1`);
  if (pushType === 'background' && priority !== 5)
    return http2Rejection('BadPriority', `a background push needs apns-priority 5; got ${priority}`);
  return priority;
}

/** Step 8. */
export function checkExpiration(headers: Readonly<Record<string, HeaderValue>>): number | null | Http2Rejection {
  const given = headerValue(headers, Http2Header.Expiration);
  if (given === undefined) return null;
  if (!DIGITS.test(given) || given.length > 10 || Number(given) > 0xffffffff) {
    return http2Rejection('BadExpirationDate', `apns-expiration ${JSON.stringify(given)} is not UNIX seconds`);
  }
  return Number(given);
}

/** Step 9. */
export function checkCollapseId(headers: Readonly<Record<string, HeaderValue>>): string | null | Http2Rejection {
  const given = headerValue(headers, Http2Header.CollapseId);
  if (given === undefined) return null;
  const bytes = Buffer.byteLength(given, 'utf8');
  return bytes > COLLAPSE_ID_MAX_BYTES
    ? http2Rejection('BadCollapseId', `apns-collapse-id is ${bytes} bytes; at most ${COLLAPSE_ID_MAX_BYTES}`)
    : given;
}

const HEX = /^[0-9a-fA-F]+$/;

/** Step 10: the token of the :path, as lower-case hex. */
export function checkDeviceToken(token: string): string | Http2Rejection {
  if (token === '') return http2Rejection('MissingDeviceToken', 'the :path has no device token: POST /3/device/<hex device token>');
  if (!HEX.test(token) || token.length % 2 !== 0)
    return http2Rejection('BadDeviceToken', `device token ${JSON.stringify(token)} is not hex`);
  const bytes = token.length / 2;
  if (bytes < DEVICE_TOKEN_MIN_BYTES || bytes > DEVICE_TOKEN_MAX_BYTES) {
    return http2Rejection(
      'BadDeviceToken',
      `device token is ${bytes} bytes; tokens are ${DEVICE_TOKEN_MIN_BYTES} to ${DEVICE_TOKEN_MAX_BYTES}`,
    );
  }
  return token.toLowerCase();
}

/** The body parsed as JSON, or undefined. */
export function parseJsonBody(payload: Uint8Array): unknown {
  try {
    const text = Buffer.isBuffer(payload)
      ? payload.toString()
      : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString();
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The keys of `aps` that show something. */
const VISIBLE_KEYS = ['alert', 'badge', 'sound'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * What an explicitly given push type asks of the payload's `aps` (null: nothing more). Only
 * JSON objects are judged; other payloads are recorded with warnings, as on the binary side.
 */
export function payloadMismatch(pushType: PushType, json: unknown): string | null {
  if (!isObject(json)) return null;
  const aps = isObject(json.aps) ? json.aps : {};
  const visible = 'alert' in aps || 'badge' in aps || 'sound' in aps;
  switch (pushType) {
    case 'background':
      if (aps['content-available'] !== 1) return 'a background push needs "aps": {"content-available": 1}';
      if (visible) return `a background push carries no ${VISIBLE_KEYS.filter((key) => key in aps).join(', ')}`;
      return null;
    case 'alert':
      return visible ? null : 'an alert push needs aps.alert, aps.badge or aps.sound';
    case 'liveactivity':
      return typeof aps.event === 'string' ? null : 'a liveactivity push needs aps.event (start, update or end)';
    default:
      return null;
  }
}

/**
 * Step 11, last: priority 10 (given or by default) on a payload whose aps holds only content-available,
 * when no push type says what it is. Apple's header table (up to 2021): "It's an error to specify this
 * priority for a notification whose payload contains the content-available key"; apns_erl_sim answers
 * BadPriority to the same request. With apns-push-type background the priority is judged at step 7.
 */
export function checkContentAvailablePriority(json: unknown, priority: number, pushTypeGiven: boolean): Http2Rejection | null {
  if (pushTypeGiven || priority !== Http2Priority.Immediate || !isObject(json) || !isObject(json.aps)) return null;
  const keys = Object.keys(json.aps);
  if (keys.length !== 1 || keys[0] !== 'content-available') return null;
  const words = 'apns-priority 10 (the default too) on a payload whose aps holds only content-available; send it at 5';
  return http2Rejection('BadPriority', words);
}

/** Step 11. */
export function checkPayload(
  payload: Uint8Array,
  payloadLength: number,
  pushType: PushType,
  pushTypeGiven: boolean,
  limits: Http2Limits = HTTP2_LIMITS,
): { json: unknown } | Http2Rejection {
  if (payloadLength === 0) return http2Rejection('PayloadEmpty', 'the request has no body');
  const limit = http2PayloadLimit(pushType, limits);
  if (payloadLength > limit)
    return http2Rejection('PayloadTooLarge', `the payload is ${payloadLength} bytes; a ${pushType} push allows ${limit}`);
  const json = parseJsonBody(payload);
  if (pushTypeGiven) {
    const mismatch = payloadMismatch(pushType, json);
    if (mismatch !== null) return http2Rejection('InvalidPushType', `apns-push-type ${pushType} does not match the payload: ${mismatch}`);
  }
  return { json };
}

/** What the checks of steps 5 to 11 learn from a request, one after the other. */
export interface DeviceCheckState {
  readonly request: DeviceRequest;
  readonly authority: TopicAuthority;
  readonly limits: Http2Limits;
  readonly givenTopic: string | undefined;
  pushType: PushType;
  pushTypeGiven: boolean;
  topic: string;
  priority: number;
  expiration: number | null;
  collapseId: string | null;
  token: string;
  json: unknown;
}

/** One of Apple's checks after authentication, in the order of the table above. */
export interface DeviceCheck {
  /** The step of the table above. */
  step: number;
  /** What it looks at: a header, the device token, the payload. */
  name: string;
  /** What Apple wants there, in words. */
  wants: string;
  /** Runs the check, noting what it learned in the state; the rejection when it fails. */
  run(state: DeviceCheckState): Http2Rejection | null;
}

/** Steps 5 to 11 in Apple's order: `validateDeviceRequest` runs them, `explainHttp2Request` lists them. */
export const DEVICE_CHECKS: readonly DeviceCheck[] = [
  {
    step: 5,
    name: 'apns-push-type',
    wants: 'a known push type; absent: the type the topic names, else alert',
    run(s) {
      const type = checkPushType(s.request.headers, s.givenTopic);
      if (isHttp2Rejection(type)) return type;
      s.pushType = type.pushType;
      s.pushTypeGiven = type.given;
      return null;
    },
  },
  {
    step: 5,
    name: 'push type and credentials',
    wants: 'location and liveactivity pushes on token authentication only',
    run: (s) => checkPushTypeAuthority(s.pushType, s.authority),
  },
  {
    step: 6,
    name: 'apns-topic',
    wants: 'present when needed, allowed by the certificate or key, its suffix fitting the push type',
    run(s) {
      const topic = checkTopic(s.givenTopic, s.pushType, s.authority);
      if (typeof topic !== 'string') return topic;
      s.topic = topic;
      return null;
    },
  },
  {
    step: 7,
    name: 'apns-priority',
    wants: '10, 5 or 1; 5 for a background push',
    run(s) {
      const priority = checkApnsPriority(s.request.headers, s.pushType);
      if (typeof priority !== 'number') return priority;
      s.priority = priority;
      return null;
    },
  },
  {
    step: 8,
    name: 'apns-expiration',
    wants: 'UNIX seconds, when given',
    run(s) {
      const expiration = checkExpiration(s.request.headers);
      if (isHttp2Rejection(expiration)) return expiration;
      s.expiration = expiration;
      return null;
    },
  },
  {
    step: 9,
    name: 'apns-collapse-id',
    wants: `at most ${COLLAPSE_ID_MAX_BYTES} bytes, when given`,
    run(s) {
      const collapseId = checkCollapseId(s.request.headers);
      if (isHttp2Rejection(collapseId)) return collapseId;
      s.collapseId = collapseId;
      return null;
    },
  },
  {
    step: 10,
    name: 'device token',
    wants: `in the :path, hex, ${DEVICE_TOKEN_MIN_BYTES} to ${DEVICE_TOKEN_MAX_BYTES} bytes`,
    run(s) {
      const token = checkDeviceToken(s.request.token);
      if (typeof token !== 'string') return token;
      s.token = token;
      return null;
    },
  },
  {
    step: 11,
    name: 'payload',
    wants: "not empty, within the push type's limit, fitting the push type when one is given",
    run(s) {
      const payload = checkPayload(s.request.payload, s.request.payloadLength, s.pushType, s.pushTypeGiven, s.limits);
      if (isHttp2Rejection(payload)) return payload;
      s.json = payload.json;
      return null;
    },
  },
  {
    step: 11,
    name: 'priority of a silent payload',
    wants: 'not priority 10 on a payload whose aps holds only content-available, when no push type is given',
    run: (s) => checkContentAvailablePriority(s.json, s.priority, s.pushTypeGiven),
  },
];

/** The state the device checks start from. */
export function deviceCheckState(request: DeviceRequest, authority: TopicAuthority, limits: Http2Limits = HTTP2_LIMITS): DeviceCheckState {
  return {
    request,
    authority,
    limits,
    givenTopic: headerValue(request.headers, Http2Header.Topic),
    pushType: 'alert',
    pushTypeGiven: false,
    topic: '',
    priority: HTTP2_DEFAULT_PRIORITY,
    expiration: null,
    collapseId: null,
    token: '',
    json: undefined,
  };
}

/** Steps 5 to 11, after authentication: the notification, or the first failure. */
export function validateDeviceRequest(
  request: DeviceRequest,
  authority: TopicAuthority,
  limits: Http2Limits = HTTP2_LIMITS,
): ValidNotification | Http2Rejection {
  const s = deviceCheckState(request, authority, limits);
  for (const check of DEVICE_CHECKS) {
    const failure = check.run(s);
    if (failure !== null) return failure;
  }
  return {
    token: s.token,
    topic: s.topic,
    bundle: bundleOfTopic(s.topic),
    pushType: s.pushType,
    pushTypeGiven: s.pushTypeGiven,
    priority: s.priority,
    expiration: s.expiration,
    collapseId: s.collapseId,
    apnsId: headerValue(request.headers, Http2Header.Id) ?? null,
    payloadJson: s.json,
  };
}
