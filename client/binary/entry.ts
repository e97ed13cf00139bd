import type { NotificationCommand } from '../../protocol/binary/index.js';
import type { ClientNotification, Enqueued } from './options.js';
import type { SendOutcome } from './outcome.js';

/** Outcomes of one sendMany() call, in the order of its notifications. */
export class Batch {
  /** Null when the caller takes outcomes through `onOutcome` (nothing is kept). */
  readonly outcomes: SendOutcome[] | null;
  private left = 0;
  private sealed = false;
  private resolveDone: (() => void) | null = null;

  constructor(private readonly onOutcome: ((outcome: SendOutcome, index: number) => void) | undefined) {
    this.outcomes = onOutcome === undefined ? [] : null;
  }

  added(): void {
    this.left++;
  }

  settle(index: number, outcome: SendOutcome): void {
    if (this.outcomes !== null) this.outcomes[index] = outcome;
    else this.onOutcome!(outcome, index);
    if (--this.left === 0 && this.sealed) this.resolveDone?.();
  }

  /** Resolves once the source has ended and every notification read from it has its outcome. */
  done(): Promise<void> {
    this.sealed = true;
    if (this.left === 0) return Promise.resolve();
    return new Promise((resolve) => (this.resolveDone = resolve));
  }
}

let captured: ((outcome: SendOutcome) => void) | null = null;
/** One executor for every outcome promise: no closure per notification. */
const capture = (resolve: (outcome: SendOutcome) => void) => void (captured = resolve);

/** A notification the client holds, from send() to its outcome. */
export class Entry {
  /** On the wire; 0 for command 0, and until the entry is admitted. */
  identifier = 0;
  /** Where its frame lies: written again, unchanged, on a resend. */
  block: Buffer | null = null;
  start = 0;
  length = 0;
  attempts = 0;
  /** Silent closes met while sent on its own. */
  aloneSilentCloses = 0;
  possibleDuplicate = false;
  settled = false;
  /** In the buffer (counted by `held`), not waiting for room. */
  admitted = false;
  result: SendOutcome | null = null;
  resolve: ((outcome: SendOutcome) => void) | null = null;
  /** enqueue() waiting for room: called when the entry is admitted (or failed). */
  taken: ((identifier: number | null) => void) | null = null;
  batch: Batch | null = null;
  index = 0;

  constructor(
    /** Order of submission, for flush(). */
    readonly seq: number,
    /** Dropped once encoded unless an 'outcome' listener wants it: a sender's objects need not outlive their frames. */
    public notification: ClientNotification | null,
    readonly command: NotificationCommand,
  ) {}

  private promise: Promise<SendOutcome> | null = null;

  /** The outcome as a promise, made when first asked for. */
  outcome(): Promise<SendOutcome> {
    if (this.promise !== null) return this.promise;
    if (this.result !== null) return (this.promise = Promise.resolve(this.result));
    this.promise = new Promise<SendOutcome>(capture);
    this.resolve = captured;
    captured = null;
    return this.promise;
  }
}

/** What enqueue() resolves with: the outcome promise is made only if it is read. */
export class EnqueuedNotification implements Enqueued {
  constructor(
    readonly identifier: number | null,
    private readonly entry: Entry,
  ) {}

  get outcome(): Promise<SendOutcome> {
    return this.entry.outcome();
  }
}
