/** What the deadlines keep of a request waiting for its response. */
export interface Waiting {
  /** When it is given up (ms, Date.now()); set by `add`. */
  deadline: number;
  /** Answered, closed or given up: no longer waited for. */
  waited: boolean;
}

/**
 * Requests waiting for their responses, in the order they were written. With one timeout for
 * all of them their deadlines come in that order too, so one timer, set for the first deadline,
 * serves every request: node's timer per stream (made, then moved at every read and write of
 * the stream, then cleared) cost more than the rest of a request's bookkeeping.
 */
export class Deadlines<T extends Waiting> {
  private items: (T | undefined)[] = [];
  private head = 0;
  /** Items still waited for. */
  private live = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Giving up what is due: the timer is set for the next deadline afterwards. */
  private firing = false;

  constructor(
    readonly timeoutMs: number,
    /** Called once per request whose deadline passed while it was still waited for. */
    private readonly expire: (item: T) => void,
  ) {}

  /** Starts the wait of a request written now. */
  add(item: T, now = Date.now()): void {
    item.deadline = now + this.timeoutMs;
    item.waited = false;
    this.items.push(item);
    this.live++;
    if (this.timer === null && !this.firing) this.arm(item.deadline, now);
  }

  /** The request no longer waits (its response came, or its stream closed). */
  done(item: T): void {
    if (item.waited) return;
    item.waited = true;
    this.live--;
    // Answers come in about the order of the requests: the front is let go as it is done.
    while (this.head < this.items.length && this.items[this.head]!.waited) this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    } else if (this.items.length - this.head > 2 * this.live + 1024) {
      // One request left unanswered at the front would keep every later one: keep only those waited for.
      this.items = this.items.slice(this.head).filter((waiting) => !waiting!.waited);
      this.head = 0;
    }
  }

  /** Stops the timer; what waits is no longer given up. */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(deadline: number, now: number): void {
    this.timer = setTimeout(() => this.fire(), Math.max(1, deadline - now));
    // As node's stream timeouts: a waiting request does not keep the process alive by itself.
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    this.firing = true;
    try {
      const now = Date.now();
      while (this.head < this.items.length) {
        const item = this.items[this.head]!;
        if (!item.waited && item.deadline > now) break;
        this.items[this.head++] = undefined;
        if (!item.waited) {
          item.waited = true;
          this.live--;
          this.expire(item);
        }
      }
    } finally {
      this.firing = false;
    }
    if (this.head < this.items.length) this.arm(this.items[this.head]!.deadline, Date.now());
    else {
      this.items.length = 0;
      this.head = 0;
    }
  }
}
