import { once } from 'node:events';
import { createServer, type Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Http2Client, type Http2SendOutcome } from '../../../client/index.js';
import { startSimulator, type Simulator, type SigningKey } from '../../../server/index.js';
import { TOKEN, TOPIC } from './support.js';

// A connection that cannot succeed fails at once, within the client's timeouts, with words that
// say what to do (issue 14, item 8): the binary port by mistake, a server that requires a client
// certificate the client lacks.

let sim: Simulator;
let key: SigningKey;
let certRequired: Server;

const note = { token: TOKEN, topic: TOPIC, payload: { aps: { alert: 'hi' } } };

async function failure(client: Http2Client): Promise<{ outcome: Http2SendOutcome; ms: number }> {
  const started = Date.now();
  try {
    const outcome = await client.send(note);
    return { outcome, ms: Date.now() - started };
  } finally {
    client.destroy();
  }
}

beforeAll(async () => {
  sim = await startSimulator();
  key = await sim.createSigningKey('TEAM000001', 'KEY0000001');
  const { cert, key: serverKey, ca } = sim.credentials;
  certRequired = createServer({ key: serverKey, cert, ca, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] }, (s) =>
    s.resume(),
  );
  certRequired.on('tlsClientError', () => undefined);
  certRequired.listen(0, '127.0.0.1');
  await once(certRequired, 'listening');
});
afterAll(async () => {
  certRequired.close();
  await sim.close();
});

describe('Http2Client against a server that cannot serve it', () => {
  for (const auth of ['certificate', 'token'] as const) {
    it(`the binary gateway's port (${auth}): fails at once, naming the binary protocol and the HTTP/2 port`, async () => {
      const common = { host: '127.0.0.1', port: sim.ports.gateway, ca: sim.credentials.ca, connectTimeoutMs: 3000 };
      const client =
        auth === 'token'
          ? new Http2Client({ ...common, token: { teamId: key.teamId, keyId: key.keyId, key: key.privateKey } })
          : new Http2Client({ ...common, cert: sim.credentials.cert, key: sim.credentials.key });
      const { outcome, ms } = await failure(client);
      expect(outcome.status).toBe('failed');
      const error = (outcome as { error: Error & { cause?: { code?: string } } }).error;
      expect(error.message).toMatch(
        /speaks the binary protocol, not HTTP\/2 \(ALPN none: it is the simulator's binary gateway.*HTTP\/2 is on port 2197/,
      );
      expect(error.cause?.code).toBe('ERR_APNS_NOT_HTTP2');
      expect(ms).toBeLessThan(2000);
    });
  }

  it('a server that requires a client certificate, and a token client: fails at once, saying what is missing', async () => {
    const client = new Http2Client({
      host: '127.0.0.1',
      port: (certRequired.address() as AddressInfo).port,
      // The provider certificate stands in for the server's: its purpose is client authentication.
      rejectUnauthorized: false,
      token: { teamId: key.teamId, keyId: key.keyId, key: key.privateKey },
      connectTimeoutMs: 3000,
      requestTimeoutMs: 4000,
    });
    const { outcome, ms } = await failure(client);
    expect(outcome.status).toBe('failed');
    const error = (outcome as { error: Error & { cause?: { code?: string } } }).error;
    expect(error.message).toMatch(/requires a client certificate and this client gave none: give cert and key \(or pfx\)/);
    expect(error.cause?.code).toBe('ERR_APNS_CERTIFICATE_REQUIRED');
    expect(ms).toBeLessThan(2000);
  });
});
