import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `apns-mock <args>` from the built CLI and collects its output. */
export async function runCli(
  args: string[],
  options: { input?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: 'pipe',
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** serve's options for a free port on every listener (port 0), as tests start it. */
export const FREE_PORTS = ['--port', '0', '--feedback-port', '0', '--control-port', '0', '--http2-port', '0'];

export interface ServeFacts {
  gateway: number;
  feedback: number;
  control: number;
  http2: number;
  host: string;
  ca: string;
  state: string;
  cert: string;
  key: string;
  p12: string;
  passphrase: string;
  topic: string;
}

export interface RunningServe {
  child: ChildProcess;
  facts: ServeFacts;
  controlUrl: string;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; stderr: string }>;
}

/** Starts `apns-mock serve --json` on free ports and reads its first line. */
export async function startServe(stateDir: string, extra: string[] = []): Promise<RunningServe> {
  const child = spawn(process.execPath, [CLI, 'serve', ...FREE_PORTS, '--state', stateDir, '--json', ...extra], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const facts = await new Promise<ServeFacts>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const newline = out.indexOf('\n');
      if (newline >= 0) resolve(JSON.parse(out.slice(0, newline)) as ServeFacts);
    });
    child.once('close', (code) => reject(new Error(`serve exited with ${code} before printing its ports: ${stderr}`)));
  });
  return {
    child,
    facts,
    controlUrl: `http://127.0.0.1:${facts.control}`,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null) return { code: child.exitCode, stderr };
      const closed = once(child, 'close');
      child.kill(signal);
      const [code] = (await closed) as [number | null];
      return { code, stderr };
    },
  };
}
