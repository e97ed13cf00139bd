/**
 * Streams of a token connection before its first valid provider token. Apple: "APNs allows only
 * one stream until you post a request with a valid authentication token" (Establishing a
 * token-based connection to APNs). The first stream (the candidate) goes on; a stream that
 * arrives while it is judged, before the client acknowledged the server's SETTINGS (so before
 * it could know the limit: RFC 9113, 6.5.3), is held and answered once the candidate's token
 * was judged; after the acknowledgement such a stream is refused (REFUSED_STREAM, RFC 9113,
 * 5.1.2), as the protocol says.
 */
export class EarlyStreams<T> {
  private candidate: T | null = null;
  private readonly held: T[] = [];
  /** The client acknowledged the SETTINGS that announced one stream. */
  acknowledged = false;
  /** A valid token was seen: the limit is the full one, nothing is held any more. */
  private open = false;

  arrive(item: T): 'proceed' | 'hold' | 'refuse' {
    if (this.open) return 'proceed';
    if (this.candidate === null) {
      this.candidate = item;
      return 'proceed';
    }
    if (this.acknowledged) return 'refuse';
    this.held.push(item);
    return 'hold';
  }

  isCandidate(item: T): boolean {
    return this.candidate === item;
  }

  /** The candidate's token was valid: everything held goes on, in order. */
  bound(): T[] {
    this.open = true;
    this.candidate = null;
    return this.held.splice(0);
  }

  /** The candidate's token was refused: everything held gets the same answer. */
  refused(): T[] {
    this.candidate = null;
    return this.held.splice(0);
  }

  /** An item is done; when it was the candidate and its token was never judged, the next held one takes its place. */
  finished(item: T): T | null {
    if (this.open || this.candidate !== item) return null;
    this.candidate = this.held.shift() ?? null;
    return this.candidate;
  }
}
