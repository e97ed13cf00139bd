import { EventEmitter } from 'node:events';
import { closeSync, fchmodSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { InputError } from '../../common/errors.js';

/** What the sink hands over: a record with its sequence number, written as its JSON. */
export interface SinkRecord {
  readonly seq: number;
}

/** For `/stats` and the inspector: where records go, and whether they still do. */
export interface SinkState {
  path: string;
  /** The sink stopped writing for good; the records go on in memory. */
  failed: boolean;
  /** Why it stopped: "ENOSPC: no space left on device, write". */
  error: string | null;
  /** Records handed to the OS. */
  written: number;
  /** Sequence number of the newest record handed to the OS (0 when none). */
  flushedSeq: number;
}

/** The record file cannot be opened: a path a person can correct. */
export class RecordFileError extends InputError {
  constructor(message: string) {
    super(message, 'ERR_APNS_RECORD_FILE');
  }
}

/** How often a flush checks that the file still has a name: a removed file would swallow every record. */
const REMOVED_CHECK_MS = 1000;

function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'its directory does not exist';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'ENOTDIR') return 'a part of the path is not a directory';
  return error instanceof Error ? error.message : String(error);
}

/** Device tokens are in it: owner only, whatever the umask. An existing file keeps the mode its owner gave it. */
function openForAppend(path: string): number {
  try {
    const fd = openSync(path, 'ax', 0o600);
    fchmodSync(fd, 0o600);
    return fd;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return openSync(path, 'a');
}

/**
 * Appends one JSON line per record. Records are gathered during a turn of the event loop and
 * written in one call at its end, so a crash tears at most the last line; `close()` writes
 * what is left synchronously (used from SIGINT/SIGTERM handlers).
 *
 * A write that fails (disk full, file removed, I/O error) stops the sink for good and emits
 * 'failed' once with its state: the simulator goes on, its records stay in memory.
 * `settled(seq)` tells when a record is in the kernel's hands, so an answer that counts it
 * survives a SIGKILL.
 */
export class JsonlSink extends EventEmitter<{ failed: [SinkState] }> {
  private fd: number | null;
  private pending: SinkRecord[] = [];
  private scheduled = false;
  private appendedSeq = 0;
  private writtenSeq = 0;
  private writtenCount = 0;
  private failure: string | null = null;
  private checkedAt = Date.now();
  /** Resolved by the next flush (or failure, or close): every record appended by then is settled. */
  private nextFlush: { promise: Promise<void>; resolve: () => void } | null = null;

  constructor(readonly path: string) {
    super();
    try {
      this.fd = openForAppend(path);
    } catch (error) {
      throw new RecordFileError(`cannot open the record file ${path}: ${reasonOf(error)}`);
    }
    // A run killed mid-write leaves a torn last line: the first record of this run starts on a
    // line of its own, so the torn one stays a single bad line and this run's lines stay whole.
    const { size } = fstatSync(this.fd);
    if (size > 0) {
      const last = Buffer.alloc(1);
      const reader = openSync(path, 'r');
      try {
        readSync(reader, last, 0, 1, size - 1);
      } finally {
        closeSync(reader);
      }
      if (last[0] !== 0x0a) {
        try {
          this.writeAll(Buffer.from('\n'));
        } catch (error) {
          // Told once whoever listens is listening: the simulator starts all the same.
          process.nextTick(() => this.fail(error));
        }
      }
    }
  }

  get state(): SinkState {
    return { path: this.path, failed: this.failure !== null, error: this.failure, written: this.writtenCount, flushedSeq: this.writtenSeq };
  }

  get failed(): boolean {
    return this.failure !== null;
  }

  /** Sequence number of the newest record handed to the OS. */
  get flushedSeq(): number {
    return this.writtenSeq;
  }

  append(record: SinkRecord): void {
    if (this.fd === null) return;
    this.pending.push(record);
    this.appendedSeq = record.seq;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Resolves once the record numbered `seq` (and every one before it) was handed to the OS, or
   * at once when it never will be: the sink failed or closed, or the record never came here.
   */
  settled(seq: number): Promise<void> {
    if (this.fd === null || seq <= this.writtenSeq || seq > this.appendedSeq) return Promise.resolve();
    if (this.nextFlush === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.nextFlush = { promise, resolve };
    }
    return this.nextFlush.promise;
  }

  flush(): void {
    this.scheduled = false;
    if (this.fd === null || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    let text = '';
    for (const record of batch) text += `${JSON.stringify(record)}\n`;
    try {
      this.writeAll(Buffer.from(text, 'utf8'));
      this.checkNotRemoved();
    } catch (error) {
      this.fail(error);
      return;
    }
    this.writtenCount += batch.length;
    this.writtenSeq = batch[batch.length - 1].seq;
    this.wake();
  }

  close(): void {
    this.flush();
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // What could be written was; a close error changes nothing for the records in memory.
      }
    }
    this.fd = null;
    this.wake();
  }

  private writeAll(bytes: Buffer): void {
    for (let at = 0; at < bytes.length;) {
      const wrote = writeSync(this.fd!, bytes, at, bytes.length - at);
      if (wrote <= 0) throw Object.assign(new Error('ENOSPC: the record file took no more bytes, write'), { code: 'ENOSPC' });
      at += wrote;
    }
  }

  private checkNotRemoved(): void {
    const now = Date.now();
    if (now - this.checkedAt < REMOVED_CHECK_MS) return;
    this.checkedAt = now;
    if (fstatSync(this.fd!).nlink === 0) throw Object.assign(new Error(`ENOENT: the record file was removed, write`), { code: 'ENOENT' });
  }

  private fail(error: unknown): void {
    if (this.fd === null) return;
    this.failure = error instanceof Error ? error.message : String(error);
    this.pending = [];
    try {
      closeSync(this.fd);
    } catch {
      // The file is given up either way.
    }
    this.fd = null;
    this.wake();
    this.emit('failed', this.state);
  }

  private wake(): void {
    const waiting = this.nextFlush;
    this.nextFlush = null;
    waiting?.resolve();
  }
}
