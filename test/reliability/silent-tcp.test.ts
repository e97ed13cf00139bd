import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type Simulator } from '../../server/index.js';
import { useSimulator } from '../support/simulator.js';

// A TCP client that never starts TLS must not hold a socket forever on any listener: node
// reports the handshake timeout and leaves the socket open unless the server closes it.
let sim: Simulator;
useSimulator({ controlPort: false, handshakeTimeoutMs: 300 }, (started) => (sim = started));

describe('a TCP connection that never speaks TLS', () => {
  for (const service of ['gateway', 'feedback', 'http2'] as const) {
    it(`is closed by the ${service} listener after the handshake timeout`, async () => {
      const socket = connect({ host: '127.0.0.1', port: sim.ports[service]! });
      await once(socket, 'connect');
      socket.on('error', () => {});
      const closed = once(socket, 'close').then(() => true);
      const gaveUp = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000).unref());
      const result = await Promise.race([closed, gaveUp]);
      socket.destroy();
      expect(result).toBe(true);
    });
  }
});
