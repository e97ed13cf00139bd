// Sending with the package's BinaryClient and checking what arrived, as a user would.
// In your project the imports read 'apns-mock-gateway' and 'apns-mock-gateway/vitest'.
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { BinaryClient, startSimulator, type Simulator } from '../../index.js';
import '../../harness/vitest.js';

const ALICE = 'a1'.repeat(32);
const BOB = 'b0'.repeat(32);
const GONE = '00'.repeat(31) + '01';

let sim: Simulator;
let client: BinaryClient;

beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.recorder.clear();
  sim.rules.clear();
  const { cert, key, ca } = sim.credentials;
  client = new BinaryClient({ host: '127.0.0.1', port: sim.ports.gateway, cert, key, ca });
});
afterEach(() => client.close());

it('sends a notification and learns it was accepted', async () => {
  const outcome = await client.send({ token: ALICE, payload: { aps: { alert: 'Hi Alice' } } });

  expect(outcome).toMatchObject({ status: 'accepted', attempts: 1 });
  expect(sim).toHaveReceived({ token: ALICE, alert: 'Hi Alice', identifier: outcome.identifier! });
});

it('learns which notification the gateway refused, and the others still arrive once each', async () => {
  sim.rules.add({ match: { token: GONE }, action: { type: 'reject', status: 8 } });

  const outcomes = await Promise.all(
    [ALICE, GONE, BOB].map((token) => client.send({ token, payload: { aps: { alert: 'Sale starts now' } } })),
  );

  expect(outcomes.map((o) => o.status)).toEqual(['accepted', 'rejected', 'accepted']);
  expect(outcomes[1]).toMatchObject({ code: 8, name: 'InvalidToken' });
  expect(sim).toHaveRejected({ token: GONE, status: 8 });
  expect(sim).toHaveReceived({ token: ALICE, count: 1 });
  expect(sim).toHaveReceived({ token: BOB, count: 1 });
});

it('rides out a gateway shutdown: what was discarded is sent again and arrives once', async () => {
  sim.rules.add({ match: { nth: 3 }, action: { type: 'shutdown' } });

  const outcomes = await Promise.all(
    Array.from({ length: 6 }, (_, i) => client.send({ token: BOB, payload: { aps: { alert: `news ${i}` } } })),
  );

  expect(outcomes.every((o) => o.status === 'accepted')).toBe(true);
  expect(sim).toHaveDiscarded({ token: BOB });
  for (let i = 0; i < 6; i++) expect(sim).toHaveReceived({ token: BOB, alert: `news ${i}`, count: 1 });
});
