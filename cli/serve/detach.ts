import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DETACHED_ENV, daemonFiles, forgetDaemon, readDaemon, type ServeFacts } from '../shared/daemon.js';
import { UsageError } from '../shared/usage.js';

/** How long the background simulator may take to make its certificates and bind every port. */
const READY_TIMEOUT_MS = 60_000;
const POLL_MS = 50;

/** The command line of the background `serve`: the same options, less --detach, and --json for the line this process waits for. */
export function detachedArguments(argv: readonly string[]): string[] {
  const dropped = /^--(no-)?(detach|json)(=.*)?$/;
  return [...argv.filter((arg) => !dropped.test(arg)), '--json'];
}

/** The first line of the log that is `serve --json`'s facts, if it is there yet. */
function factsLine(log: string): { line: string; facts: ServeFacts } | null {
  for (const line of log.split('\n')) {
    if (!line.startsWith('{') || !log.includes(`${line}\n`)) continue;
    try {
      const facts = JSON.parse(line) as ServeFacts;
      if (typeof facts.gateway === 'number') return { line, facts };
    } catch {
      // A line of the simulator's own output that happens to start with a brace.
    }
  }
  return null;
}

/**
 * `apns-mock serve --detach`: starts `serve` in the background with the same options (output
 * to <state>/serve.log, pid in <state>/serve.pid) and returns once every listener is ready,
 * printing the line `serve --json` prints. When it cannot start, its own error is printed and
 * the exit code is its.
 */
export async function serveDetached(state: string, argv: readonly string[]): Promise<void> {
  const files = daemonFiles(state);
  const existing = await readDaemon(state);
  if (existing?.running) {
    throw new UsageError(
      `a simulator already runs with --state ${state} (pid ${existing.pid}); stop it with 'apns-mock stop --state ${state}' or pick another --state`,
    );
  }
  if (existing) await forgetDaemon(state);
  await mkdir(resolve(state), { recursive: true, mode: 0o700 });
  const log = openSync(files.log, 'w', 0o600);
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...detachedArguments(argv)], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, [DETACHED_ENV]: '1' },
  });
  closeSync(log);
  let exitCode: number | undefined;
  child.on('exit', (code) => (exitCode = code ?? 1));
  child.on('error', () => (exitCode = 1));
  await writeFile(files.pid, `${child.pid}\n`, { mode: 0o600 });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const text = await readFile(files.log, 'utf8').catch(() => '');
    const ready = factsLine(text);
    if (ready) {
      await writeFile(files.facts, `${ready.line}\n`, { mode: 0o600 });
      child.unref();
      process.stdout.write(`${ready.line}\n`);
      return;
    }
    if (exitCode !== undefined) {
      await forgetDaemon(state);
      process.stderr.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
      if (text === '') process.stderr.write(`apns-mock: the background simulator exited with ${exitCode} before it was ready\n`);
      process.exitCode = exitCode === 0 ? 1 : exitCode;
      return;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await forgetDaemon(state);
      throw new UsageError(`the background simulator was not ready within ${READY_TIMEOUT_MS / 1000}s; its output is in ${files.log}`);
    }
    await sleep(POLL_MS);
  }
}
