import { describe, expect, it } from 'vitest';
import { StuckSessionWatch, type WatchedSession } from '../../common/h2-liveness.js';

/** A session whose byte counts the test moves by hand; its PINGs are acknowledged only when told. */
class FakeSession implements WatchedSession {
  closed = false;
  destroyed = false;
  socket = { bytesRead: 0, bytesWritten: 0 };
  state = { outboundQueueSize: 0 };
  pings: ((error: Error | null) => void)[] = [];
  ping(callback: (error: Error | null) => void): boolean {
    this.pings.push(callback);
    return true;
  }
  /** What a live peer does: the PING goes out, its acknowledgement comes back. */
  answer(): void {
    this.socket.bytesWritten += 17;
    this.socket.bytesRead += 17;
    this.pings.shift()?.(null);
  }
}

function watchOf(session: FakeSession) {
  const stuck: string[] = [];
  const watch = new StuckSessionWatch<string>((key) => stuck.push(key), 60_000);
  watch.add('s', session);
  return { watch, stuck };
}

describe('StuckSessionWatch', () => {
  it('a live session is asked one PING when it goes quiet, and none while it stays idle', () => {
    const session = new FakeSession();
    const { watch, stuck } = watchOf(session);
    session.socket.bytesRead += 500;
    watch.look();
    watch.look();
    expect(session.pings).toHaveLength(1);
    session.answer();
    for (let i = 0; i < 10; i++) watch.look();
    expect(session.pings).toHaveLength(0);
    expect(stuck).toEqual([]);
    watch.stop();
  });

  it('a session that reads nothing and leaves its PING unacknowledged for three looks is stuck', () => {
    const session = new FakeSession();
    const { watch, stuck } = watchOf(session);
    session.socket.bytesRead += 500;
    watch.look();
    watch.look();
    watch.look();
    watch.look();
    expect(stuck).toEqual([]);
    watch.look();
    expect(stuck).toEqual(['s']);
    watch.look();
    expect(stuck).toEqual(['s']);
  });

  it('bytes read while a PING waits prove the session reads: not stuck, and busy sessions are not pinged', () => {
    const session = new FakeSession();
    const { watch, stuck } = watchOf(session);
    session.socket.bytesRead += 500;
    watch.look();
    watch.look();
    for (let i = 0; i < 10; i++) {
      session.socket.bytesRead += 100;
      session.socket.bytesWritten += 100;
      watch.look();
    }
    expect(stuck).toEqual([]);
    expect(session.pings).toHaveLength(1);
    watch.stop();
  });

  it('a closing session is left to its own deadline', () => {
    const session = new FakeSession();
    const { watch, stuck } = watchOf(session);
    session.socket.bytesRead += 500;
    session.closed = true;
    for (let i = 0; i < 10; i++) watch.look();
    expect(session.pings).toHaveLength(0);
    expect(stuck).toEqual([]);
    watch.stop();
  });
});
