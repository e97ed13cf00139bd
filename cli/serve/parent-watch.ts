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

/** The command line of a process (Linux); null where there is no /proc. */
function commandOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return null;
  }
}

/**
 * Whether npm or npx started this process: they set npm_* in a script's environment, and
 * npm is the parent, or the grandparent above the `sh -c` it runs scripts with. Only then is
 * the parent a wrapper whose death should end the simulator: `nohup apns-mock serve &` in a
 * script that then exits keeps running, also when that script was itself run by npm (the
 * variables are inherited, npm is not its parent).
 */
export function startedByNpm(env: NodeJS.ProcessEnv = process.env, ppid = process.ppid): boolean {
  if (!(env.npm_command || env.npm_lifecycle_event || env.npm_execpath)) return false;
  const parent = commandOf(ppid);
  if (parent === null) return true;
  const grandparentPid = parentOf(ppid);
  const wrappers = [parent, grandparentPid === null ? '' : (commandOf(grandparentPid) ?? '')];
  return wrappers.some((command) => /\bnp[mx](-cli\.js|\.js)?\b/.test(command));
}

/**
 * Calls `onGone` once when the process that started this one goes, or the one that started
 * it. npm runs a script as npm -> sh -c -> node: killing npm (`npm start &` then `kill $!`
 * in a dash script, or SIGKILL) leaves the shell waiting on the simulator, which would hold
 * its ports forever. A detached simulator has outlived its parent on purpose and is not watched,
 * nor is one that npm or npx did not start.
 */
export function watchParent(onGone: () => void): void {
  if (process.env[DETACHED_ENV] || !startedByNpm()) return;
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
