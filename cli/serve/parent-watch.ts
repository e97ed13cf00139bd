import { readFileSync } from 'node:fs';
import { DETACHED_ENV, isRunning } from '../shared/daemon.js';

const CHECK_MS = 1000;

/** The parent of a process, from /proc (Linux); null where there is no /proc. */
function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/**
 * Calls `onGone` once when the process that started this one goes, or the one that started
 * it. npm runs a script as npm -> sh -c -> node: killing npm (`npm start &` then `kill $!`
 * in a dash script, or SIGKILL) leaves the shell waiting on the simulator, which would hold
 * its ports forever. A detached simulator has outlived its parent on purpose and is not watched.
 */
export function watchParent(onGone: () => void): void {
  if (process.env[DETACHED_ENV]) return;
  const parent = process.ppid;
  if (parent <= 1) return;
  const grandparent = parentOf(parent);
  const watchGrandparent = grandparent !== null && grandparent > 1;
  const timer = setInterval(() => {
    if (process.ppid === parent && isRunning(parent) && (!watchGrandparent || parentOf(parent) === grandparent)) return;
    clearInterval(timer);
    onGone();
  }, CHECK_MS);
  timer.unref();
}
