import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/**
 * The files `serve --detach` keeps in the state directory: the background simulator's pid,
 * the JSON line it printed when ready (ports, paths) and its output.
 */
export interface DaemonFiles {
  pid: string;
  facts: string;
  log: string;
}

export function daemonFiles(state: string): DaemonFiles {
  const dir = resolve(state);
  return { pid: join(dir, 'serve.pid'), facts: join(dir, 'serve.json'), log: join(dir, 'serve.log') };
}

/** What `serve --json` prints first: the ports (null when off) and paths. */
export interface ServeFacts {
  gateway: number;
  feedback: number;
  control: number | null;
  http2: number | null;
  host: string;
  state: string;
  [fact: string]: unknown;
}

/** Set in the background simulator's environment: it has no parent to outlive. */
export const DETACHED_ENV = 'APNS_MOCK_DETACHED';

/**
 * Whether the process runs: signal 0 reaches it and it is not a zombie (a child whose parent
 * has gone waits to be reaped by init, which in some containers never comes).
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

export interface DaemonState {
  pid: number;
  running: boolean;
  /** Null when the simulator did not get as far as writing them. */
  facts: ServeFacts | null;
}

/** The background simulator of a state directory, or null when none was started there. */
export async function readDaemon(state: string): Promise<DaemonState | null> {
  const files = daemonFiles(state);
  const text = await readFile(files.pid, 'utf8').catch(() => null);
  if (text === null) return null;
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return { pid: 0, running: false, facts: null };
  const factsText = await readFile(files.facts, 'utf8').catch(() => null);
  let facts: ServeFacts | null;
  try {
    facts = factsText === null ? null : (JSON.parse(factsText) as ServeFacts);
  } catch {
    facts = null;
  }
  return { pid, running: isRunning(pid), facts };
}

/** Forgets a background simulator: its pid and facts go, its log stays for whoever reads it. */
export async function forgetDaemon(state: string): Promise<void> {
  const files = daemonFiles(state);
  await rm(files.pid, { force: true });
  await rm(files.facts, { force: true });
}

/** The listeners in words: "binary 127.0.0.1:2195, feedback ..., control http://...". */
export function describeListeners(facts: ServeFacts): string {
  const h = facts.host.includes(':') ? `[${facts.host}]` : facts.host;
  const parts = [`binary ${h}:${facts.gateway}`, `feedback ${h}:${facts.feedback}`];
  if (facts.http2 !== null) parts.push(`HTTP/2 ${h}:${facts.http2}`);
  if (facts.control !== null) parts.push(`control http://${h}:${facts.control}`);
  return parts.join(', ');
}

/** The control API's URL, from the host the simulator listens on; a wildcard host is reached on loopback. */
export function controlUrlOf(facts: ServeFacts): string | null {
  if (facts.control === null) return null;
  const host =
    facts.host === '0.0.0.0' ? '127.0.0.1' : facts.host === '::' ? '[::1]' : facts.host.includes(':') ? `[${facts.host}]` : facts.host;
  return `http://${host}:${facts.control}`;
}
