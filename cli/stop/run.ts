import { setTimeout as sleep } from 'node:timers/promises';
import { OUTCOMES } from '../../server/recorder/fields.js';
import { controlUrlOf, forgetDaemon, isRunning, readDaemon, type ServeFacts } from '../shared/daemon.js';

export interface StopOptions {
  state: string;
  controlToken?: string;
  timeoutMs: number;
}

/** "12 record(s): 10 accepted, 1 rejected, 1 discarded, 0 incomplete, 1 flush marker(s)", from the control API's /stats. */
async function recordCounts(facts: ServeFacts | null, token: string | undefined): Promise<string> {
  const url = facts === null ? null : controlUrlOf(facts);
  if (url === null) return 'record counts unknown (no control API)';
  try {
    const response = await fetch(`${url}/stats`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(3000),
    });
    if (!response.ok)
      return `record counts unknown (control API answered ${response.status}${response.status === 401 ? '; give --control-token' : ''})`;
    const stats = (await response.json()) as { records: Record<string, number> };
    const counts = OUTCOMES.map((o) => `${stats.records[o] ?? 0} ${o}`).join(', ');
    const markers = stats.records.markers ?? 0;
    return `${stats.records.total ?? 0} record(s): ${counts}${markers > 0 ? `, ${markers} flush marker(s)` : ''}`;
  } catch (error) {
    return `record counts unknown (${(error as Error).message})`;
  }
}

/** Waits for the process to end; false when it still runs after `timeoutMs`. */
async function ended(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** `apns-mock stop`: SIGTERM (serve flushes its records file and closes), then the summary. Returns the exit code. */
export async function stopDetached(options: StopOptions): Promise<number> {
  const daemon = await readDaemon(options.state);
  if (daemon === null) {
    process.stderr.write(`apns-mock: no simulator started with 'serve --detach --state ${options.state}' runs (no pid file there)\n`);
    return 1;
  }
  if (!daemon.running) {
    await forgetDaemon(options.state);
    process.stderr.write(
      `apns-mock: no simulator runs with --state ${options.state}: pid ${daemon.pid} has ended; removed its stale pid file\n`,
    );
    return 1;
  }
  const counts = await recordCounts(daemon.facts, options.controlToken);
  try {
    process.kill(daemon.pid, 'SIGTERM');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
  if (!(await ended(daemon.pid, options.timeoutMs))) {
    process.kill(daemon.pid, 'SIGKILL');
    await ended(daemon.pid, 2000);
    await forgetDaemon(options.state);
    process.stderr.write(
      `apns-mock: the simulator (pid ${daemon.pid}) did not stop within ${options.timeoutMs}ms and was killed; ${counts}\n`,
    );
    return 1;
  }
  await forgetDaemon(options.state);
  process.stdout.write(`apns-mock: stopped the simulator (pid ${daemon.pid}); ${counts}\n`);
  return 0;
}
