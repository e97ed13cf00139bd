import { describe, expect, it } from 'vitest';
import { SignJWT, importPKCS8 } from 'jose';
import {
  BROADCAST_REASONS,
  DEVICE_REASONS,
  UNDOCUMENTED_REASONS,
  HTTP2_REASONS,
  PUSH_TYPES,
  TOPIC_SUFFIX,
  binaryStatusForReason,
  bundleOfTopic,
  certificateTopics,
  checkChannelConfig,
  checkChannelId,
  checkContentAvailablePriority,
  checkPushTypeAuthority,
  checkProviderTokenAge,
  checkRequestHeaders,
  http2StatusOf,
  pushTypeOfTopic,
  readProviderToken,
  reasonForBinaryStatus,
  routeRequest,
  signProviderToken,
  validateDeviceRequest,
  verifyProviderTokenSignature,
  type Http2Rejection,
  type TopicAuthority,
} from '../../../protocol/http2/index.js';
import { Status } from '../../../protocol/binary/index.js';
import { generateSigningKeyPair } from '../../../server/keys/index.js';
import { createPublicKey } from 'node:crypto';

// The pure part: the table, topics, the order of the checks, provider tokens.

/** docs/protocol/http2.md, Response: the table as the spec writes it. */
const SPEC_TABLE: Record<number, string[]> = {
  400: [
    'BadCollapseId',
    'BadDeviceToken',
    'BadExpirationDate',
    'BadMessageId',
    'BadPriority',
    'BadTopic',
    'DeviceTokenNotForTopic',
    'DuplicateHeaders',
    'IdleTimeout',
    'InvalidPushType',
    'MissingDeviceToken',
    'MissingTopic',
    'PayloadEmpty',
    'TopicDisallowed',
  ],
  403: [
    'BadCertificate',
    'BadCertificateEnvironment',
    'ExpiredProviderToken',
    'Forbidden',
    'InvalidProviderToken',
    'MissingProviderToken',
    'UnrelatedKeyIdInToken',
    'BadEnvironmentKeyIdInToken',
  ],
  404: ['BadPath'],
  405: ['MethodNotAllowed'],
  410: ['ExpiredToken', 'Unregistered'],
  413: ['PayloadTooLarge'],
  429: ['TooManyProviderTokenUpdates', 'TooManyRequests'],
  500: ['InternalServerError'],
  503: ['ServiceUnavailable', 'Shutdown'],
};

describe('the reasons table', () => {
  it("holds the spec's device reasons with their statuses, and the broadcast reasons after them", () => {
    const fromSpec = Object.entries(SPEC_TABLE).flatMap(([status, reasons]) => reasons.map((r) => [r, Number(status)]));
    expect(DEVICE_REASONS.map((r) => [r, http2StatusOf(r)]).sort()).toEqual(fromSpec.sort());
    expect([...BROADCAST_REASONS].sort()).toEqual([
      'BadChannelId',
      'BadRequestParams',
      'BadRequestPayload',
      'CannotCreateChannelConfig',
      'ChannelNotRegistered',
      'FeatureNotEnabled',
      'MissingChannelId',
      'MissingPushType',
      'TopicMismatch',
    ]);
    expect(http2StatusOf('TopicMismatch')).toBe(403);
    // Seen from the service, not in Apple's table (kylebrowning/APNSwift#229): last, apart from both lists.
    expect([UNDOCUMENTED_REASONS, http2StatusOf('BadEnvironmentKeyInToken')]).toEqual([['BadEnvironmentKeyInToken'], 403]);
    expect(HTTP2_REASONS).toEqual([...DEVICE_REASONS, ...BROADCAST_REASONS, ...UNDOCUMENTED_REASONS]);
    expect(new Set(HTTP2_REASONS).size).toBe(HTTP2_REASONS.length);
  });

  it('maps binary statuses and reasons both ways where they mean the same', () => {
    expect(reasonForBinaryStatus(Status.InvalidToken)).toBe('BadDeviceToken');
    expect(reasonForBinaryStatus(Status.Shutdown)).toBe('Shutdown');
    expect(reasonForBinaryStatus(Status.ProtocolError)).toBe('InternalServerError');
    expect(binaryStatusForReason('PayloadTooLarge')).toBe(Status.InvalidPayloadSize);
    expect(binaryStatusForReason('Unregistered')).toBe(Status.InvalidToken);
    expect(binaryStatusForReason('TooManyRequests')).toBe(Status.ProcessingError);
  });
});

describe('topics', () => {
  it('reads the push type and bundle of every suffix, longest first', () => {
    for (const type of PUSH_TYPES) {
      const suffix = TOPIC_SUFFIX[type];
      if (suffix === '') continue;
      expect([pushTypeOfTopic(`com.x${suffix}`), bundleOfTopic(`com.x${suffix}`)]).toEqual([type, 'com.x']);
    }
    expect(pushTypeOfTopic('com.x.voip-ptt')).toBe('pushtotalk');
    expect([pushTypeOfTopic('com.x'), bundleOfTopic('com.x')]).toEqual([null, 'com.x']);
    expect(pushTypeOfTopic('.voip')).toBeNull();
  });

  it('a certificate allows its UID with .voip and .complication, and its listed topics', () => {
    expect(certificateTopics('com.x', ['com.x', 'com.x.widget'])).toEqual(['com.x', 'com.x.voip', 'com.x.complication', 'com.x.widget']);
    expect(certificateTopics(null, [])).toEqual([]);
  });
});

describe('the order of the checks', () => {
  const certificate: TopicAuthority = { kind: 'certificate', uid: 'com.x', topics: certificateTopics('com.x', ['com.x']), several: false };
  const token = 'ab'.repeat(32);
  const judge = (headers: Record<string, string>, body = '{"aps":{"alert":"x"}}', path = token) => {
    const result = validateDeviceRequest(
      { headers, token: path, payload: Buffer.from(body), payloadLength: Buffer.byteLength(body) },
      certificate,
    );
    return 'reason' in result ? result.reason : 'valid';
  };

  it('routes first: BadPath and MethodNotAllowed before any header', () => {
    expect(routeRequest('POST', '/3/device/ab')).toEqual({ kind: 'device', token: 'ab' });
    expect(routeRequest('POST', '/3/device')).toEqual({ kind: 'device', token: '' });
    expect((routeRequest('GET', '/3/device/ab') as Http2Rejection).reason).toBe('MethodNotAllowed');
    expect((routeRequest('POST', '/2/device/ab') as Http2Rejection).reason).toBe('BadPath');
    expect(routeRequest('GET', '/1/apps/com.x/all-channels')).toEqual({ kind: 'all-channels', bundle: 'com.x' });
    expect(routeRequest('POST', '/4/broadcasts/apps/com.x')).toEqual({ kind: 'broadcast', bundle: 'com.x' });
  });

  it('then DuplicateHeaders, then BadMessageId', () => {
    const head = {
      method: 'POST',
      path: '/3/device/ab',
      headers: { 'apns-id': 'bad' },
      rawHeaders: ['apns-topic', 'a', 'APNS-TOPIC', 'b', 'apns-id', 'bad'],
    };
    expect(checkRequestHeaders(head)?.reason).toBe('DuplicateHeaders');
    expect(checkRequestHeaders({ ...head, rawHeaders: undefined })?.reason).toBe('BadMessageId');
    expect(checkRequestHeaders({ ...head, headers: { 'apns-topic': ['a', 'b'] }, rawHeaders: undefined })?.reason).toBe('DuplicateHeaders');
  });

  it('then push type, topic, priority, expiration, collapse id, token, payload: the first failure answers', () => {
    const all = {
      'apns-push-type': 'nope',
      'apns-topic': 'com.other',
      'apns-priority': '3',
      'apns-expiration': 'x',
      'apns-collapse-id': 'c'.repeat(65),
    };
    const expected = ['InvalidPushType', 'BadTopic', 'BadPriority', 'BadExpirationDate', 'BadCollapseId', 'BadDeviceToken', 'PayloadEmpty'];
    const headers: Record<string, string> = { ...all };
    const seen: string[] = [];
    for (const name of ['apns-push-type', 'apns-topic', 'apns-priority', 'apns-expiration', 'apns-collapse-id']) {
      seen.push(judge(headers, '', 'zz'));
      delete headers[name];
    }
    seen.push(judge(headers, '', 'zz'));
    seen.push(judge(headers, ''));
    expect(seen).toEqual(expected);
    expect(judge(headers)).toBe('valid');
  });

  it('a push type that does not fit the topic is InvalidPushType, after the certificate allowed the topic (apnotic#87, PyAPNs2#87)', () => {
    expect(judge({ 'apns-topic': 'com.x.voip', 'apns-push-type': 'alert' })).toBe('InvalidPushType');
    expect(judge({ 'apns-topic': 'com.x', 'apns-push-type': 'voip' })).toBe('InvalidPushType');
    expect(judge({ 'apns-topic': 'com.y.voip', 'apns-push-type': 'alert' })).toBe('BadTopic');
    expect(judge({ 'apns-topic': 'com.x.voip', 'apns-push-type': 'voip' })).toBe('valid');
  });

  it('location and liveactivity: InvalidPushType on a certificate whatever it lists, valid with a token', () => {
    const topics = certificateTopics('com.x', ['com.x', 'com.x.location-query']);
    const listed: TopicAuthority = { kind: 'certificate', uid: 'com.x', topics, several: true };
    const bearer: TopicAuthority = { kind: 'token', bundles: null };
    const headers = { 'apns-topic': 'com.x.location-query', 'apns-push-type': 'location' };
    const location = { headers, token, payload: Buffer.from('{}'), payloadLength: 2 };
    const reasonOf = (result: unknown) => (result as Http2Rejection).reason;
    expect(reasonOf(validateDeviceRequest(location, listed))).toBe('InvalidPushType');
    const byTopic = { ...location, headers: { 'apns-topic': 'com.x.location-query' } };
    expect(reasonOf(validateDeviceRequest(byTopic, listed))).toBe('InvalidPushType');
    expect(validateDeviceRequest(location, bearer)).toMatchObject({ pushType: 'location', topic: 'com.x.location-query' });
    expect(checkPushTypeAuthority('liveactivity', certificate)?.reason).toBe('InvalidPushType');
    expect(checkPushTypeAuthority('liveactivity', bearer)).toBeNull();
    expect(checkPushTypeAuthority('alert', certificate)).toBeNull();
  });

  it('only content-available in aps at priority 10 and no push type: BadPriority, judged after the payload', () => {
    const silent = '{"aps":{"content-available":1},"custom":1}';
    expect(judge({}, silent)).toBe('BadPriority');
    expect(judge({ 'apns-priority': '10' }, silent)).toBe('BadPriority');
    expect(judge({ 'apns-priority': '5' }, silent)).toBe('valid');
    expect(judge({}, '{"aps":{"content-available":1,"badge":1}}')).toBe('valid');
    expect(judge({ 'apns-push-type': 'background', 'apns-priority': '5' }, silent)).toBe('valid');
    expect(judge({}, silent, 'zz')).toBe('BadDeviceToken');
    expect(checkContentAvailablePriority({ aps: { 'content-available': 1 } }, 10, true)).toBeNull();
  });

  it('a valid request reads as the notification, with the type the topic implies', () => {
    const result = validateDeviceRequest(
      { headers: { 'apns-topic': 'com.x.voip' }, token: token.toUpperCase(), payload: Buffer.from('{}'), payloadLength: 2 },
      certificate,
    );
    expect(result).toMatchObject({
      token,
      topic: 'com.x.voip',
      bundle: 'com.x',
      pushType: 'voip',
      pushTypeGiven: false,
      priority: 10,
      expiration: null,
    });
  });
});

describe('broadcast checks', () => {
  it('channel configs and ids', () => {
    expect(checkChannelConfig(Buffer.from('{"message-storage-policy":0,"push-type":"LiveActivity"}'))).toEqual({
      'message-storage-policy': 0,
      'push-type': 'LiveActivity',
    });
    expect((checkChannelConfig(Buffer.from('{"message-storage-policy":0}')) as Http2Rejection).reason).toBe('MissingPushType');
    expect((checkChannelConfig(Buffer.alloc(0)) as Http2Rejection).reason).toBe('BadRequestPayload');
    const id = Buffer.alloc(16, 1).toString('base64');
    expect(checkChannelId({ 'apns-channel-id': id })).toBe(id);
    expect((checkChannelId({}) as Http2Rejection).reason).toBe('MissingChannelId');
    expect((checkChannelId({ 'apns-channel-id': 'abc' }) as Http2Rejection).reason).toBe('BadChannelId');
  });
});

describe('provider tokens', () => {
  it('a token made by signProviderToken reads back and verifies with the public key only', async () => {
    const pair = generateSigningKeyPair();
    const jwt = await signProviderToken({
      teamId: 'TEAM000001',
      keyId: 'KEY0000001',
      privateKey: pair.privateKey,
      issuedAt: 1_700_000_000,
    });
    expect(readProviderToken(`bearer ${jwt}`)).toEqual({ jwt, keyId: 'KEY0000001', teamId: 'TEAM000001', issuedAt: 1_700_000_000 });
    expect(await verifyProviderTokenSignature(jwt, createPublicKey(pair.publicKey))).toBe(true);
    expect(await verifyProviderTokenSignature(jwt, createPublicKey(generateSigningKeyPair().publicKey))).toBe(false);
  });

  it('ES256 only: an ES384 or HS256 token is refused before any key is looked up', async () => {
    const hs = await new SignJWT({ iss: 'TEAM000001', iat: 1 })
      .setProtectedHeader({ alg: 'HS256', kid: 'KEY0000001' })
      .sign(new Uint8Array(32));
    expect((readProviderToken(`bearer ${hs}`) as Http2Rejection).reason).toBe('InvalidProviderToken');
    const pair = generateSigningKeyPair();
    const es256 = await importPKCS8(pair.privateKey, 'ES256');
    const noKid = await new SignJWT({ iss: 'TEAM000001', iat: 1 }).setProtectedHeader({ alg: 'ES256' }).sign(es256);
    expect((readProviderToken(`bearer ${noKid}`) as Http2Rejection).message).toMatch(/kid/);
  });

  it('ages out after an hour; a token from the future is invalid', () => {
    const now = 1_700_000_000_000;
    expect(checkProviderTokenAge(1_700_000_000 - 3600, now)).toBeNull();
    expect(checkProviderTokenAge(1_700_000_000 - 3601, now)?.reason).toBe('ExpiredProviderToken');
    expect(checkProviderTokenAge(1_700_000_000 + 60, now)).toBeNull();
    expect(checkProviderTokenAge(1_700_000_000 + 3600, now)?.reason).toBe('InvalidProviderToken');
    expect(checkProviderTokenAge(1_700_000_000 - 11, now, 10_000)?.reason).toBe('ExpiredProviderToken');
  });
});
