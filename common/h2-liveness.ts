/** What the watch needs of an HTTP/2 session: node's ServerHttp2Session and ClientHttp2Session both fit. */
export interface WatchedSession {
  readonly closed: boolean;
  readonly destroyed: boolean;
  readonly socket: { readonly bytesRead: number; readonly bytesWritten: number };
  readonly state: { outboundQueueSize?: number };
  ping(callback: (error: Error | null) => void): boolean;
}

interface Probe {
  acked: boolean;
  /** Looks since the PING was asked for without a byte read. */
  looks: number;
}

interface Entry {
  session: WatchedSession;
  read: number;
  written: number;
  /** Bytes moved since the session was last found quiet. */
  active: boolean;
  probe: Probe | null;
}

/** How often sessions are looked at. */
export const STUCK_SESSION_INTERVAL_MS = 500;

/**
 * Looks a PING may go unacknowledged, with nothing read, before the session counts as stuck. In
 * looks, not milliseconds: after the event loop was blocked, the acknowledgement waiting in the
 * socket is read between two looks, never judged missing by the first.
 */
const ACK_LOOKS = 3;

/** A PING frame, and its acknowledgement: 9 bytes of header, 8 of payload. */
const PING_FRAME_BYTES = 17;

/**
 * Finds HTTP/2 sessions that node has silently given up. After node sends GOAWAY (for a
 * connection error, a frame it cannot parse, an HPACK error, a flood of resets) it may stop
 * reading the socket and emit nothing: the peer's close is never read and the socket stays in
 * CLOSE-WAIT for good (node 20 and 22; a bare node:http2 server does the same).
 *
 * Such a session reads no byte again. So a session that moved bytes and then went quiet for a
 * look is asked for a PING (a peer must acknowledge it, RFC 9113, section 6.7); if after
 * ACK_LOOKS looks the acknowledgement has not come and nothing at all was read, the session
 * is handed to `onStuck`, to be destroyed. Sessions idle since their last PING are left alone.
 */
export class StuckSessionWatch<Key> {
  private readonly entries = new Map<Key, Entry>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly onStuck: (key: Key) => void,
    private readonly intervalMs = STUCK_SESSION_INTERVAL_MS,
  ) {}

  add(key: Key, session: WatchedSession): void {
    this.entries.set(key, { session, read: 0, written: 0, active: true, probe: null });
    if (this.timer === null) {
      this.timer = setInterval(() => this.look(), this.intervalMs);
      this.timer.unref();
    }
  }

  delete(key: Key): void {
    this.entries.delete(key);
    if (this.entries.size === 0) this.stop();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One look at every session; public for tests. */
  look(): void {
    for (const [key, entry] of this.entries) {
      const { session } = entry;
      // A closing session has its own deadline (the linger time, or its streams ending).
      if (session.destroyed || session.closed) continue;
      const read = session.socket.bytesRead;
      const written = session.socket.bytesWritten;
      const movedIn = read - entry.read;
      const movedOut = written - entry.written;
      entry.read = read;
      entry.written = written;
      const { probe } = entry;
      if (probe !== null) {
        if (probe.acked || movedIn > 0) {
          entry.probe = null;
          // The PING and its acknowledgement are one frame each way; more is the peer's own doing.
          entry.active = movedIn > PING_FRAME_BYTES || movedOut > PING_FRAME_BYTES;
        } else if (++probe.looks >= ACK_LOOKS) {
          this.delete(key);
          this.onStuck(key);
        }
        continue;
      }
      if (movedIn > 0 || movedOut > 0) {
        entry.active = true;
        continue;
      }
      if (!entry.active) continue;
      entry.active = false;
      const asked: Probe = { acked: false, looks: 0 };
      try {
        if (session.ping((error) => (asked.acked = error === null))) entry.probe = asked;
      } catch {
        // Too many PINGs unacknowledged, or the session just went: nothing to judge.
      }
    }
  }
}
