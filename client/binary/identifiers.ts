const MAX_IDENTIFIER = 0xffff_ffff;

/**
 * Notification identifiers: 1, 2, ... 2^32 - 1, then 1 again. Never 0: Apple answered with
 * identifier 0 "when it does not know which notification failed" (Pushy started at 1 for that).
 */
export class IdentifierSequence {
  private last: number;

  constructor(first = 1) {
    if (!Number.isInteger(first) || first < 1 || first > MAX_IDENTIFIER)
      throw new RangeError(`the first identifier must be 1..${MAX_IDENTIFIER}`);
    this.last = first - 1;
  }

  next(): number {
    this.last = this.last >= MAX_IDENTIFIER ? 1 : this.last + 1;
    return this.last;
  }
}
