import { HTTP2_DEFAULT_PRIORITY, HTTP2_PRIORITIES, Http2Header } from './constants.js';
import { http2Rejection, type Http2Rejection } from './reasons.js';
import { checkExpiration, headerValue, isHttp2Rejection, parseJsonBody, type HeaderValue } from './validate.js';

/*
 * Broadcast push (iOS 18, Live Activities). Channel management: POST, GET, DELETE
 * /1/apps/<bundle>/channels and GET /1/apps/<bundle>/all-channels; sending: POST
 * /4/broadcasts/apps/<bundle>. After routing and authentication, a request is judged:
 *   1. (server) the bundle: the credentials' and enabled for broadcast   TopicMismatch 403, FeatureNotEnabled
 *   2. create: the body is a JSON object            BadRequestPayload
 *              "push-type" present                  MissingPushType
 *              "push-type" LiveActivity, "message-storage-policy" 0 or 1
 *                                                   BadRequestParams
 *              (server) the app's channel limit     CannotCreateChannelConfig
 *   2. read, delete, send: apns-channel-id present  MissingChannelId
 *              base64 of 16 bytes                   BadChannelId
 *              (server) the channel exists          ChannelNotRegistered
 *   3. send: apns-push-type present and liveactivity  MissingPushType, InvalidPushType
 *            apns-priority, apns-expiration          BadPriority, BadExpirationDate
 *            the body: not empty, within the limit, a JSON object
 *                                                   PayloadEmpty, PayloadTooLarge, BadRequestPayload
 */

export const CHANNEL_PUSH_TYPE = 'LiveActivity';
export const MESSAGE_STORAGE_POLICIES: readonly number[] = [0, 1];
/** Channel ids are 16 random bytes, base64. */
export const CHANNEL_ID_BYTES = 16;

export interface ChannelConfig {
  'message-storage-policy': number;
  'push-type': typeof CHANNEL_PUSH_TYPE;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The body of a channel creation. */
export function checkChannelConfig(body: Uint8Array): ChannelConfig | Http2Rejection {
  const json = body.length === 0 ? undefined : parseJsonBody(body);
  if (!isObject(json))
    return http2Rejection(
      'BadRequestPayload',
      'the body must be a JSON object: {"message-storage-policy": 0 or 1, "push-type": "LiveActivity"}',
    );
  if (json['push-type'] === undefined) return http2Rejection('MissingPushType', 'the body has no "push-type" (it must be "LiveActivity")');
  // Apple writes LiveActivity; node-apn sends liveactivity, and Apple takes it.
  const pushType = json['push-type'];
  if (typeof pushType !== 'string' || pushType.toLowerCase() !== CHANNEL_PUSH_TYPE.toLowerCase()) {
    return http2Rejection('BadRequestParams', `"push-type" must be "${CHANNEL_PUSH_TYPE}"; got ${JSON.stringify(pushType)}`);
  }
  const policy = json['message-storage-policy'];
  if (typeof policy !== 'number' || !MESSAGE_STORAGE_POLICIES.includes(policy)) {
    return http2Rejection(
      'BadRequestParams',
      `"message-storage-policy" must be 0 (no storage) or 1 (most recent message); got ${JSON.stringify(policy)}`,
    );
  }
  return { 'message-storage-policy': policy, 'push-type': CHANNEL_PUSH_TYPE };
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** apns-channel-id: present and base64 of 16 bytes. */
export function checkChannelId(headers: Readonly<Record<string, HeaderValue>>): string | Http2Rejection {
  const id = headerValue(headers, Http2Header.ChannelId);
  if (id === undefined || id === '') return http2Rejection('MissingChannelId', 'apns-channel-id is required');
  if (id.length % 4 !== 0 || !BASE64.test(id) || Buffer.from(id, 'base64').length !== CHANNEL_ID_BYTES) {
    return http2Rejection(
      'BadChannelId',
      `apns-channel-id ${JSON.stringify(id)} is not a channel id (base64 of ${CHANNEL_ID_BYTES} bytes)`,
    );
  }
  return id;
}

export interface ValidBroadcast {
  channelId: string;
  priority: number;
  expiration: number | null;
  apnsId: string | null;
  payloadJson: unknown;
}

/** Step 3 for POST /4/broadcasts/apps/<bundle> (the channel id was read in step 2). */
export function checkBroadcastHeaders(
  headers: Readonly<Record<string, HeaderValue>>,
  payload: Uint8Array,
  payloadLength: number,
  limit: number,
): Omit<ValidBroadcast, 'channelId'> | Http2Rejection {
  const pushType = headerValue(headers, Http2Header.PushType);
  if (pushType === undefined) return http2Rejection('MissingPushType', 'a broadcast needs apns-push-type: liveactivity');
  if (pushType !== 'liveactivity')
    return http2Rejection('InvalidPushType', `a broadcast is a liveactivity push; got apns-push-type ${JSON.stringify(pushType)}`);
  const givenPriority = headerValue(headers, Http2Header.Priority);
  const priority = givenPriority === undefined ? HTTP2_DEFAULT_PRIORITY : /^\d+$/.test(givenPriority) ? Number(givenPriority) : NaN;
  if (!HTTP2_PRIORITIES.includes(priority))
    return http2Rejection('BadPriority', `apns-priority ${JSON.stringify(givenPriority)} is not 10, 5 or 1`);
  const expiration = checkExpiration(headers);
  if (isHttp2Rejection(expiration)) return expiration;
  if (payloadLength === 0) return http2Rejection('PayloadEmpty', 'the broadcast has no body');
  if (payloadLength > limit) return http2Rejection('PayloadTooLarge', `the payload is ${payloadLength} bytes; a broadcast allows ${limit}`);
  const json = parseJsonBody(payload);
  if (!isObject(json)) return http2Rejection('BadRequestPayload', 'a broadcast payload must be a JSON object');
  return { priority, expiration, apnsId: headerValue(headers, Http2Header.Id) ?? null, payloadJson: json };
}
