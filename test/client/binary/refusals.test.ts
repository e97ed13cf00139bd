import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApnsMockError } from '../../../common/errors.js';
import { BinaryClient, BinaryClientError, HandshakeClosedError, NotBinaryGatewayError, type SendOutcome } from '../../../client/index.js';
import { Http2StreamError } from '../../../client/http2/outcome.js';
import { startSimulator, type Simulator } from '../../../server/index.js';
import { TOKEN, payloadOf } from './support.js';

// Connections that cannot succeed fail at once, with what to do, instead of spending every reconnect.

let dir: string;
let sim: Simulator;
/** A simulator with a CA of its own: its provider certificate is one the first does not trust. */
let stranger: Simulator;
let client: BinaryClient | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'apns-refusals-'));
  sim = await startSimulator({ state: join(dir, 'sim'), controlPort: false });
  stranger = await startSimulator({ state: join(dir, 'stranger'), controlPort: false, http2Port: false });
});
afterAll(async () => {
  await Promise.all([sim.close(), stranger.close()]);
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await client?.close();
  client = undefined;
});

function failedError(outcome: SendOutcome): Error {
  expect(outcome.status).toBe('failed');
  return (outcome as { error: Error }).error;
}

describe('a connection that cannot succeed', () => {
  it('a certificate from another CA: the server closes right after the handshake; every notification fails at once, saying so', async () => {
    const { cert, key } = stranger.credentials;
    client = new BinaryClient({
      host: '127.0.0.1',
      port: sim.ports.gateway,
      cert,
      key,
      ca: sim.credentials.ca,
      reconnect: { retries: 5, initialDelayMs: 1000 },
    });
    const started = Date.now();
    const outcomes = await Promise.all([1, 2, 3].map((seq) => client!.send({ token: TOKEN, payload: payloadOf(seq) })));
    const error = failedError(outcomes[0]);
    expect(error).toBeInstanceOf(HandshakeClosedError);
    expect(error).toMatchObject({ code: 'ERR_APNS_CLIENT_HANDSHAKE_CLOSED' });
    expect(error.message).toMatch(
      /closed the connection during or right after the TLS handshake .*did not take the client certificate.*apns-mock certs/,
    );
    expect(outcomes.map((o) => o.status)).toEqual(['failed', 'failed', 'failed']);
    expect(Date.now() - started).toBeLessThan(900);
    expect(client.stats().connections).toBeLessThanOrEqual(2);
    expect(sim.records()).toEqual([]);
  });

  it('with the TLS alert the server sent as the cause (certificate alerts on: unknown CA)', async () => {
    const alerting = await startSimulator({ state: join(dir, 'sim'), controlPort: false, http2Port: false, certificateAlerts: true });
    try {
      const { cert, key } = stranger.credentials;
      client = new BinaryClient({
        host: '127.0.0.1',
        port: alerting.ports.gateway,
        cert,
        key,
        ca: alerting.credentials.ca,
        reconnect: { retries: 5, initialDelayMs: 1000 },
      });
      const error = failedError(await client.send({ token: TOKEN, payload: payloadOf(1) }));
      expect(error).toBeInstanceOf(HandshakeClosedError);
      expect((error.cause as NodeJS.ErrnoException).code).toMatch(/^ERR_SSL_.*ALERT_UNKNOWN_CA$/);
      expect(client.stats().connections).toBe(1);
    } finally {
      await client?.close();
      client = undefined;
      await alerting.close();
    }
  });

  it('the HTTP/2 port: bytes that are not an error response; fails at once, saying it is not the binary protocol', async () => {
    const { cert, key, ca } = sim.credentials;
    client = new BinaryClient({
      host: '127.0.0.1',
      port: sim.ports.http2!,
      cert,
      key,
      ca,
      reconnect: { retries: 5, initialDelayMs: 1000 },
    });
    const started = Date.now();
    const error = failedError(await client.send({ token: TOKEN, payload: payloadOf(1) }));
    expect(error).toBeInstanceOf(NotBinaryGatewayError);
    expect(error).toMatchObject({ code: 'ERR_APNS_CLIENT_NOT_BINARY' });
    expect(error.message).toMatch(/does not speak the binary protocol/);
    expect(Date.now() - started).toBeLessThan(900);
  });
});

describe('error classes', () => {
  it('the clients’ errors extend ApnsMockError with stable codes', () => {
    expect(new BinaryClientError('x')).toBeInstanceOf(ApnsMockError);
    expect(new BinaryClientError('x').code).toBe('ERR_APNS_CLIENT');
    const stream = new Http2StreamError('no answer');
    expect(stream).toBeInstanceOf(ApnsMockError);
    expect(stream).toMatchObject({ code: 'ERR_APNS_HTTP2_STREAM', name: 'Http2StreamError' });
  });
});
