// The HTTP/2 explanation runs the checks the server runs: for any request, its first failure is
// validateDeviceRequest's, and every check is listed in Apple's order.
import { describe, expect, it } from 'vitest';
import { explainHttp2Request, formatHttp2Explanation, http2RequestFromJson } from '../../../protocol/http2/explain.js';
import { DEVICE_CHECKS, isHttp2Rejection, validateDeviceRequest, type TopicAuthority } from '../../../protocol/http2/validate.js';

const TOKEN = 'ab'.repeat(32);
const certificate: TopicAuthority = {
  kind: 'certificate',
  uid: 'com.example.app',
  topics: ['com.example.app', 'com.example.app.voip'],
  several: false,
};
const token: TopicAuthority = { kind: 'token', bundles: ['com.example.app'] };
const ALERT = '{"aps":{"alert":"hi"}}';

const cases: [string, Record<string, string>, string, string][] = [
  ['accepted', { 'apns-topic': 'com.example.app' }, TOKEN, ALERT],
  ['unknown push type', { 'apns-push-type': 'loud' }, TOKEN, ALERT],
  [
    'liveactivity on a certificate',
    { 'apns-push-type': 'liveactivity', 'apns-topic': 'com.example.app.push-type.liveactivity' },
    TOKEN,
    ALERT,
  ],
  ['topic not allowed', { 'apns-topic': 'com.other.app' }, TOKEN, ALERT],
  ['voip to the bare topic', { 'apns-push-type': 'voip', 'apns-topic': 'com.example.app' }, TOKEN, ALERT],
  ['priority 7', { 'apns-priority': '7' }, TOKEN, ALERT],
  ['expiration tomorrow', { 'apns-expiration': 'tomorrow' }, TOKEN, ALERT],
  ['collapse id too long', { 'apns-collapse-id': 'c'.repeat(65) }, TOKEN, ALERT],
  ['short token', {}, 'abcd', ALERT],
  ['no token', {}, '', ALERT],
  ['empty payload', {}, TOKEN, ''],
  ['payload too large', {}, TOKEN, `{"aps":{"alert":"${'x'.repeat(5000)}"}}`],
  ['background without content-available', { 'apns-push-type': 'background', 'apns-priority': '5' }, TOKEN, ALERT],
  ['silent at 10', {}, TOKEN, '{"aps":{"content-available":1}}'],
  ['not JSON', {}, TOKEN, 'hello'],
];

describe('explainHttp2Request agrees with validateDeviceRequest', () => {
  for (const authority of [certificate, token]) {
    for (const [name, headers, path, body] of cases) {
      it(`${name} (${authority.kind})`, () => {
        const payload = Buffer.from(body);
        const valid = validateDeviceRequest({ headers, token: path, payload, payloadLength: payload.length }, authority);
        const e = explainHttp2Request({ method: 'POST', path: `/3/device/${path}`, headers, body }, { authority });
        expect(e.reason).toBe(isHttp2Rejection(valid) ? valid.reason : null);
        expect(e.status).toBe(isHttp2Rejection(valid) ? valid.status : 200);
        if (isHttp2Rejection(valid)) expect(e.checks.find((c) => c.outcome === 'failed')?.failure?.words).toBe(valid.message);
        expect(e.checks.map((c) => c.step)).toEqual([1, 2, 3, 4, ...DEVICE_CHECKS.map((c) => c.step), 12, 13]);
        expect(e.checks.filter((c) => c.outcome === 'failed').length).toBe(isHttp2Rejection(valid) ? 1 : 0);
      });
    }
  }

  it('a route that does not exist fails at step 1, and nothing after it is judged', () => {
    const e = explainHttp2Request({ method: 'GET', path: `/3/device/${TOKEN}`, headers: {}, body: ALERT });
    expect(e).toMatchObject({ outcome: 'rejected', status: 405, reason: 'MethodNotAllowed' });
    expect(e.checks.slice(1, 3).map((c) => c.outcome)).toEqual(['not reached', 'not reached']);
    expect(formatHttp2Explanation(e)).toContain('✗  1  route');
  });

  it('reads a record: its http2 object, payload and answer; header names are made lower case', () => {
    const request = http2RequestFromJson({
      http2: {
        method: 'POST',
        path: `/3/device/${TOKEN}`,
        headers: { 'APNS-Topic': 'com.example.app' },
        status: 410,
        reason: 'Unregistered',
        auth: 'certificate',
      },
      payload: ALERT,
      reason: 'Unregistered: the app was uninstalled',
      rule: null,
      topic: 'com.example.app',
    });
    expect(request.headers).toEqual({ 'apns-topic': 'com.example.app' });
    const e = explainHttp2Request(request);
    expect(e.checks.find((c) => c.outcome === 'failed')).toMatchObject({
      step: 12,
      failure: { status: 410, words: 'the app was uninstalled' },
    });
  });
});
