import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

type Reply<T> = { ok: true; result: T } | { ok: false; error: string };

/**
 * A bench helper script (compiled next to this file) in its own node process, driven
 * over the IPC channel: each `ask` sends one message and resolves with the one reply.
 */
export class Helper {
  private readonly child: ChildProcess;
  private exited: Promise<unknown>;

  constructor(script: string, execArgv: string[] = []) {
    this.child = fork(fileURLToPath(new URL(script, import.meta.url)), [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.exited = once(this.child, 'exit');
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  ask<T>(message: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`bench helper exited with ${code} before it replied`));
      this.child.once('exit', onExit);
      this.child.once('message', (reply: Reply<T>) => {
        this.child.off('exit', onExit);
        if (reply.ok) resolve(reply.result);
        else reject(new Error(reply.error));
      });
      this.child.send(message as object);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}

/** Answers each IPC message with `handle`'s result; the other end is a `Helper`. */
export function serveHelper<M>(handle: (message: M) => Promise<unknown>): void {
  process.on('message', (message) => {
    handle(message as M).then(
      (result) => process.send!({ ok: true, result }),
      (error: unknown) => process.send!({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
}
