import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enhancedFrame } from '../support/bytes.js';
import { CLI, ROOT, runCli } from '../support/cli-process.js';
import { sendFrames } from '../support/provider-socket.js';

const FREE_PORTS = ['--port', '0', '--feedback-port', '0', '--http2-port', '0', '--control-port', '0'];
const TOKEN = 'ab'.repeat(32);

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'apns-daemon-'));
});

afterAll(async () => {
  // A failed test may have left its background simulator running.
  for (const state of ['one', 'twice']) await runCli(['stop', '--state', join(dir, state)]);
  await rm(dir, { recursive: true, force: true });
});

/** Whether something accepts TCP connections on the port. */
async function listening(port: number): Promise<boolean> {
  const socket = connect({ host: '127.0.0.1', port });
  try {
    await once(socket, 'connect');
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

async function released(port: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await listening(port))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('serve --detach, status, stop', () => {
  it('starts in the background once every listener is ready, reports it, and stops it with a summary and the records flushed', async () => {
    const state = join(dir, 'one');
    const records = join(dir, 'one.jsonl');
    const started = await runCli(['serve', '--detach', ...FREE_PORTS, '--state', state, '--record', records]);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const facts = JSON.parse(started.stdout) as { gateway: number; feedback: number; http2: number; control: number; state: string };
    expect(started.stdout.trim().split('\n')).toHaveLength(1);
    for (const port of [facts.gateway, facts.feedback, facts.http2, facts.control]) expect(await listening(port)).toBe(true);
    const pid = Number(await readFile(join(state, 'serve.pid'), 'utf8'));
    expect(alive(pid)).toBe(true);

    const status = await runCli(['status', '--state', state]);
    expect(status.code).toBe(0);
    expect(status.stdout).toBe(
      `apns-mock: running (pid ${pid}): binary 127.0.0.1:${facts.gateway}, feedback 127.0.0.1:${facts.feedback}, HTTP/2 127.0.0.1:${facts.http2}, control http://127.0.0.1:${facts.control}\n`,
    );
    const statusJson = JSON.parse((await runCli(['status', '--state', state, '--json'])).stdout) as {
      running: boolean;
      pid: number;
      gateway: number;
    };
    expect(statusJson).toMatchObject({ running: true, pid, gateway: facts.gateway });

    const client = join(state, 'client');
    const tls = {
      cert: await readFile(join(client, 'com.example.app-cert.pem'), 'utf8'),
      key: await readFile(join(client, 'com.example.app-key.pem'), 'utf8'),
      ca: await readFile(join(state, 'ca.pem'), 'utf8'),
    };
    const frames = [1, 2].map((identifier) =>
      enhancedFrame(identifier, 0, Buffer.from(TOKEN, 'hex'), Buffer.from('{"aps":{"alert":"one"}}')),
    );
    await sendFrames(facts.gateway, tls, [...frames, enhancedFrame(3, 0, Buffer.alloc(0), Buffer.alloc(0))], 1000);

    const stopped = await runCli(['stop', '--state', state]);
    expect(stopped.stderr).toBe('');
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toMatch(
      new RegExp(
        `^apns-mock: stopped the simulator \\(pid ${pid}\\); 3 record\\(s\\): 2 accepted, 0 rejected, 0 discarded, 0 incomplete, 1 flush marker\\(s\\)\\n$`,
      ),
    );
    for (const port of [facts.gateway, facts.feedback, facts.http2, facts.control]) expect(await released(port)).toBe(true);
    // Two notifications and a flush marker (a frame without a token), every line whole.
    const lines = (await readFile(records, 'utf8')).split('\n').filter(Boolean);
    expect(lines.map((l) => (JSON.parse(l) as { outcome: string }).outcome)).toEqual(['accepted', 'accepted', 'rejected']);
    expect(existsSync(join(state, 'serve.pid'))).toBe(false);

    const again = await runCli(['stop', '--state', state]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no simulator');
    const none = await runCli(['status', '--state', state]);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain('not running');
  }, 60_000);

  it("exits non-zero with the background simulator's own reason when a port is taken, leaving no pid file", async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const taken = (blocker.address() as { port: number }).port;
    try {
      const state = join(dir, 'taken');
      const result = await runCli(['serve', '--detach', ...FREE_PORTS.slice(2), '--port', String(taken), '--state', state]);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(`cannot listen on 127.0.0.1:${taken} (EADDRINUSE)`);
      expect(existsSync(join(state, 'serve.pid'))).toBe(false);
      expect((await runCli(['status', '--state', state])).code).toBe(1);
    } finally {
      blocker.close();
    }
  }, 30_000);

  it('refuses a second one on the same state directory, and treats a pid file of an ended process as stale', async () => {
    const state = join(dir, 'twice');
    const first = await runCli(['serve', '--detach', ...FREE_PORTS, '--state', state]);
    expect(first.code).toBe(0);
    const second = await runCli(['serve', '--detach', ...FREE_PORTS, '--state', state]);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('a simulator already runs with --state');
    expect((await runCli(['stop', '--state', state])).code).toBe(0);

    // A pid that no longer runs: a short-lived child's, reaped.
    const gone = spawn(process.execPath, ['-e', '']);
    await once(gone, 'exit');
    await writeFile(join(state, 'serve.pid'), `${gone.pid}\n`);
    const stale = await runCli(['stop', '--state', state]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('removed its stale pid file');
    expect(existsSync(join(state, 'serve.pid'))).toBe(false);
  }, 60_000);
});

/** Starts `serve --json` under a wrapper process (as npm or npx run it) and returns the wrapper and the simulator's ports. */
async function serveUnder(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ wrapper: ReturnType<typeof spawn>; facts: { gateway: number; control: number; http2: number } }> {
  const wrapper = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  wrapper.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const facts = await new Promise<{ gateway: number; control: number; http2: number }>((resolve, reject) => {
    wrapper.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{') && out.includes(`${l}\n`));
      if (line) resolve(JSON.parse(line) as { gateway: number; control: number; http2: number });
    });
    wrapper.once('exit', (code) => reject(new Error(`the wrapper exited with ${code}: ${err}`)));
  });
  return { wrapper, facts };
}

describe('a foreground serve whose wrapper is killed', () => {
  it('stops and frees its ports when npx above it is killed (SIGKILL: no signal forwarded)', async () => {
    const state = join(dir, 'wrapped');
    // A wrapper like npx: a program of that name, with npm's variables, runs the CLI as its child and is then killed outright.
    const npx = join(dir, 'npx');
    await writeFile(
      npx,
      `const { spawn } = require('node:child_process');
spawn(process.execPath, ${JSON.stringify([CLI, 'serve', '--json', ...FREE_PORTS, '--state', state])}, { stdio: 'inherit' });`,
    );
    const { wrapper, facts } = await serveUnder(process.execPath, [npx], { npm_command: 'exec' });
    expect(await listening(facts.gateway)).toBe(true);
    wrapper.kill('SIGKILL');
    for (const port of [facts.gateway, facts.control, facts.http2]) expect(await released(port)).toBe(true);
  }, 30_000);

  it('keeps running under nohup after the script that started it exits, even when npm ran that script', async () => {
    const state = join(dir, 'nohup');
    const out = join(dir, 'nohup.out');
    const pidFile = join(dir, 'nohup.pid');
    const command = [process.execPath, CLI, 'serve', '--json', ...FREE_PORTS, '--state', state].map((a) => `'${a}'`).join(' ');
    // npm's variables are inherited from `npm run` above the script; npm itself is not the parent.
    const script = spawn('sh', ['-c', `nohup ${command} > '${out}' 2>&1 & echo $! > '${pidFile}'`], {
      env: { ...process.env, npm_lifecycle_event: 'ci', npm_command: 'run-script' },
      stdio: 'ignore',
    });
    await once(script, 'exit');
    let facts: { gateway: number; control: number } | null = null;
    for (let i = 0; i < 200 && facts === null; i++) {
      const line = (await readFile(out, 'utf8').catch(() => '')).split('\n').find((l) => l.startsWith('{'));
      if (line) facts = JSON.parse(line) as { gateway: number; control: number };
      else await new Promise((r) => setTimeout(r, 100));
    }
    const pid = Number(await readFile(pidFile, 'utf8'));
    try {
      expect(facts).not.toBeNull();
      // The parent watch looks every second: three looks later it still runs.
      await new Promise((r) => setTimeout(r, 3500));
      expect(alive(pid)).toBe(true);
      expect(await listening(facts!.gateway)).toBe(true);
    } finally {
      process.kill(pid, 'SIGTERM');
    }
    expect(await released(facts!.gateway)).toBe(true);
  }, 30_000);

  it('stops when `npm start` run by sh is killed, as `npm start &` then `kill $!` does', async () => {
    const state = join(dir, 'npm');
    const { wrapper, facts } = await serveUnder('sh', [
      '-c',
      `exec npm start --silent -- --json ${FREE_PORTS.join(' ')} --state '${state}'`,
    ]);
    expect(await listening(facts.control)).toBe(true);
    wrapper.kill('SIGTERM');
    for (const port of [facts.gateway, facts.control, facts.http2]) expect(await released(port)).toBe(true);
  }, 60_000);

  it('stops when npm is killed outright and the shell npm ran it with stays', async () => {
    const state = join(dir, 'npm-kill');
    const { wrapper, facts } = await serveUnder('sh', [
      '-c',
      `exec npm start --silent -- --json ${FREE_PORTS.join(' ')} --state '${state}'`,
    ]);
    wrapper.kill('SIGKILL');
    for (const port of [facts.gateway, facts.control, facts.http2]) expect(await released(port)).toBe(true);
  }, 60_000);
});
