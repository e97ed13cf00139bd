import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNotification } from '../../protocol/binary/index.js';
import { startSimulator, type Simulator } from '../../server/index.js';
import { lookUpRejection } from '../../cli/shared/explain-lookup.js';
import { binaryPortAdvice, probePort } from '../../client/shared/port-probe.js';
import { sendFrames } from '../support/provider-socket.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await sim?.close();
});

describe("binary send's explanation, looked up on the control API", () => {
  it("finds the simulator's reason for a rejected identifier and token; nothing for a gateway elsewhere", async () => {
    const token = 'cd'.repeat(32);
    sim.rules.add({ match: { token }, action: { type: 'reject', status: 8 } });
    await sendFrames(sim.ports.gateway, sim.credentials, encodeNotification({ token, payload: { aps: {} }, identifier: 42 }, 2), 500);
    const record = (await sim.waitFor({ identifier: 42, outcome: 'rejected' }))[0];
    const found = await lookUpRejection({ host: '127.0.0.1', controlPort: sim.ports.control! }, { identifier: 42, token });
    expect(found).toContain(record.reason!);
    expect(await lookUpRejection({ host: '127.0.0.1', controlPort: sim.ports.control! }, { identifier: 43, token })).toBeNull();
    expect(
      await lookUpRejection({ host: 'gateway.push.apple.com', controlPort: sim.ports.control! }, { identifier: 42, token }),
    ).toBeNull();
  });
});

describe('a port probed before blaming the notification', () => {
  it('the HTTP/2 port tells the binary sender where the binary gateway is', async () => {
    const probe = await probePort({ host: '127.0.0.1', port: sim.ports.http2!, ca: sim.credentials.ca });
    expect(probe.speaks).toBe('http2');
    expect(binaryPortAdvice(probe, sim.ports.http2!, true)).toBe(
      `${sim.ports.http2} speaks HTTP/2; the binary gateway is on 2195 (or send with --http2)`,
    );
  });

  it('the binary gateway without a client certificate: pass --cert/--key or --p12', async () => {
    const probe = await probePort({ host: '127.0.0.1', port: sim.ports.gateway, ca: sim.credentials.ca });
    expect(probe).toMatchObject({ speaks: 'tls', requiresCertificate: true });
    expect(binaryPortAdvice(probe, sim.ports.gateway, false)).toBe('the gateway requires a client certificate: pass --cert/--key or --p12');
    expect(binaryPortAdvice(probe, sim.ports.gateway, true)).toBeNull();
  });

  it('a port where nothing listens is unreachable', async () => {
    const { port } = sim.control!;
    await sim.control!.close();
    const probe = await probePort({ host: '127.0.0.1', port, timeoutMs: 2000 });
    expect(probe.speaks).toBe('unreachable');
  });
});
