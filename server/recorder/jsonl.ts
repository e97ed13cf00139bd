import { closeSync, openSync, writeSync } from 'node:fs';

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
