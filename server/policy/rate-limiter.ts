/** Apple's 429 TooManyRequests: more than `requests` notifications to one device token within `perMs`. */
export class TokenRateLimiter {
  private readonly recent = new Map<string, number[]>();
  private sweepAt = 0;

  constructor(
    readonly requests: number,
    readonly perMs: number,
  ) {}

  /** Counts a notification to `token`; true when it is over the limit. */
  hit(token: string, now = Date.now()): boolean {
    if (now >= this.sweepAt) this.sweep(now);
    const times = (this.recent.get(token) ?? []).filter((t) => now - t < this.perMs);
    times.push(now);
    this.recent.set(token, times);
    return times.length > this.requests;
  }

  /** Forgets tokens quiet for a whole window, so the map holds only the busy ones. */
  private sweep(now: number): void {
    for (const [token, times] of this.recent) if (now - times[times.length - 1] >= this.perMs) this.recent.delete(token);
    this.sweepAt = now + this.perMs;
  }
}
