import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';

/**
 * Appends one JSON line per record. Records are gathered (and serialized off the socket path) during a turn of the event loop and
 * written in one call at its end, so a crash tears at most the last line; `close()` writes
 * what is left synchronously (used from SIGINT/SIGTERM handlers).
 */
export class JsonlSink {
  private fd: number | null;
  private pending: unknown[] = [];
  private scheduled = false;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a');
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
      if (last[0] !== 0x0a) writeSync(this.fd, '\n');
    }
  }

  append(value: unknown): void {
    if (this.fd === null) return;
    this.pending.push(value);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.fd === null || this.pending.length === 0) return;
    const text = this.pending.map((value) => JSON.stringify(value)).join('\n') + '\n';
    this.pending = [];
    writeSync(this.fd, text);
  }

  close(): void {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
