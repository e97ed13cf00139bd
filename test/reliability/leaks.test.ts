import { once } from 'node:events';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, createSecureContext } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeNotification } from '../../protocol/binary/index.js';
import { type Simulator } from '../../server/index.js';
import { collectGarbage, heapMb } from '../../scripts/reliability/fuzz-run.js';
import { activeHandles, eventually, handleCount, seeded, watchInternalErrors } from './support.js';
import { useSimulator } from '../support/simulator.js';

const TOKEN = 'aa'.repeat(32);
const frame = (identifier: number) => encodeNotification({ token: TOKEN, payload: { aps: { alert: `n${identifier}` } }, identifier }, 2);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let sim: Simulator;
let internal: unknown[];
useSimulator({ controlPort: false, http2Port: false, handshakeTimeoutMs: 500, maxRecords: 2000 }, (started) => (sim = started));
beforeAll(() => {
  internal = watchInternalErrors(sim.gateway);
});

/** The gateway holds nothing: no session, no socket (handshakes included). */
const drained = () => eventually(() => sim.gateway.connections().length === 0 && sim.gateway.socketCount === 0, 10_000);

describe('no sockets, timers or memory left behind', () => {
  it('10,000 connections opened and closed quickly (TCP resets, closes, garbage, TLS clients that vanish mid-frame), then half-open ones: back to the baseline', async () => {
    await sleep(50);
    collectGarbage();
    const baselineHandles = handleCount();
    const baselineKinds = activeHandles();
    const heapBefore = await heapMb();
    const context = createSecureContext({ cert: sim.credentials.cert, key: sim.credentials.key, ca: sim.credentials.ca });
    const random = seeded(10_000);
    const half = frame(1).subarray(0, 20);
    let tlsVanished = 0;

    /** One short-lived connection of a kind chosen by the seed; resolves when our side is gone. */
    const shortLived = async (i: number): Promise<void> => {
      if (i % 40 === 0) {
        // TLS, half a frame, then gone without a close_notify: the gateway records the frame as incomplete.
        tlsVanished++;
        const socket = connectTls({ host: '127.0.0.1', port: sim.ports.gateway, servername: 'localhost', secureContext: context });
        socket.on('error', () => undefined);
        await once(socket, 'secureConnect');
        socket.write(half);
        await sleep(5);
        socket.destroy();
        return;
      }
      const tcp: Socket = connectTcp({ host: '127.0.0.1', port: sim.ports.gateway });
      tcp.on('error', () => undefined);
      await once(tcp, 'connect');
      const kind = Math.floor(random() * 3);
      if (kind === 0) tcp.resetAndDestroy();
      else if (kind === 1) tcp.destroy();
      else {
        tcp.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01]));
        tcp.destroy();
      }
    };
    // 10,000 in waves of 50 at once.
    for (let i = 0; i < 10_000; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => shortLived(i + k)));

    // Half-open: TLS clients that send half a frame and half-close (FIN, still reading), and never close themselves.
    const halfOpen = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const tcp = connectTcp({ host: '127.0.0.1', port: sim.ports.gateway, allowHalfOpen: true });
        const socket = connectTls({ socket: tcp, servername: 'localhost', secureContext: context });
        socket.on('error', () => undefined);
        await once(socket, 'secureConnect');
        socket.end(half);
        return socket;
      }),
    );
    // And clients that are answered with an error response but never read it nor close: the gateway lingers, then destroys.
    const deaf = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const socket = connectTls({ host: '127.0.0.1', port: sim.ports.gateway, servername: 'localhost', secureContext: context });
        socket.on('error', () => undefined);
        await once(socket, 'secureConnect');
        socket.pause();
        socket.write(encodeNotification({ token: TOKEN.slice(2), payload: { aps: {} }, identifier: 900 + i }, 1));
        return socket;
      }),
    );
    // And TCP connections that never start the handshake: closed at the handshake timeout.
    const silent = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const tcp = connectTcp({ host: '127.0.0.1', port: sim.ports.gateway });
        tcp.on('error', () => undefined);
        await once(tcp, 'connect');
        return tcp;
      }),
    );
    const silentClosed = Promise.all(silent.map((s) => (s.destroyed ? Promise.resolve(null) : once(s, 'close'))));

    expect(await drained()).toBe(true);
    await silentClosed;
    for (const s of [...halfOpen, ...deaf]) s.destroy();
    await sleep(100);

    expect(sim.gateway.connections()).toEqual([]);
    expect(internal).toEqual([]);
    expect(sim.records({ outcome: 'incomplete' }).length).toBe(tlsVanished + halfOpen.length);
    expect(sim.records({ outcome: 'rejected', status: 5 }).length).toBe(deaf.length);
    expect(sim.gateway.stats.handshakeFailures).toBeGreaterThanOrEqual(10_000 - tlsVanished);

    // Every handle the run opened (sockets, timers) is gone again.
    expect(await eventually(() => handleCount() <= baselineHandles, 5000)).toBe(true);
    expect(activeHandles()).toEqual(baselineKinds);
    const heapAfter = await heapMb();
    process.stdout.write(
      `leaks: heap ${heapBefore.toFixed(1)} MB before, ${heapAfter.toFixed(1)} MB after 10,060 connections; handles ${baselineHandles} -> ${handleCount()}\n`,
    );
    expect(heapAfter - heapBefore).toBeLessThan(16);
  }, 120_000);
});
