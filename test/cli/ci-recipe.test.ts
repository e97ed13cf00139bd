import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, runCli } from '../support/cli-process.js';

/** The shell lines of a README YAML block: GitHub's `run:` steps and GitLab's script items, in order; installs left out. */
export function shellLines(yaml: string): string[] {
  const lines: string[] = [];
  for (const line of yaml.split('\n')) {
    const run = /^\s*- run: (.+)$/.exec(line) ?? /^\s{4}- ((?:npx|curl) .+)$/.exec(line);
    if (run && run[1] !== 'npm ci') lines.push(run[1]);
  }
  return lines;
}

/** The YAML blocks of the README's "In CI" section. */
async function recipes(): Promise<string[]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const section = /\n## In CI\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
  return [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** Whether the default ports the recipes use are free: another simulator holding them would answer instead. */
async function free(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const hasCurl = spawnSync('curl', ['--version']).status === 0;
let project: string;
let defaultPortsFree = true;

beforeAll(async () => {
  for (const port of [2195, 2196, 2197, 2198]) defaultPortsFree &&= await free(port);
  // A project that depends on this package: `npx apns-mock` finds its bin in node_modules/.bin, as after `npm ci`.
  project = await mkdtemp(join(tmpdir(), 'apns-ci-recipe-'));
  await mkdir(join(project, 'node_modules', '.bin'), { recursive: true });
  await symlink(ROOT, join(project, 'node_modules', 'apns-mock-gateway'), 'dir');
  // npm makes the bin executable when it links it; the build leaves dist/cli/main.js as tsc wrote it.
  await writeFile(join(project, 'node_modules', '.bin', 'apns-mock'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`, {
    mode: 0o755,
  });
});

afterAll(async () => {
  await runCli(['stop', '--state', join(project, '.apns-mock')]);
  await rm(project, { recursive: true, force: true });
});

describe("the README's CI recipes", () => {
  it('shows a GitHub Actions and a GitLab CI recipe with the same shell lines', async () => {
    const blocks = await recipes();
    expect(blocks).toHaveLength(2);
    expect(blocks[0]).toContain('runs-on:');
    expect(blocks[1]).toContain('reports:\n      junit: apns-junit.xml');
    const [github, gitlab] = blocks.map(shellLines);
    expect(github).toEqual(gitlab);
    expect(github.map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual([
      'npx apns-mock serve',
      'curl --silent --http2',
      'npx apns-mock expect',
      'npx apns-mock report',
      'npx apns-mock stop',
    ]);
  });

  it.runIf(hasCurl)(
    'runs: detach, send with curl, expect, report, stop; each line exits 0 and the artifacts hold the notification',
    async (context) => {
      if (!defaultPortsFree) context.skip('ports 2195-2198 are taken on this machine; the recipes use the defaults');
      const [github] = (await recipes()).map(shellLines);
      for (const line of github) {
        const result = spawnSync('sh', ['-c', line], {
          cwd: project,
          encoding: 'utf8',
          timeout: 60_000,
          env: { ...process.env, npm_config_offline: 'true' },
        });
        expect(result.status, `${line}\n${result.stdout}\n${result.stderr}`).toBe(0);
        if (line.includes('apns-mock stop'))
          expect(result.stdout).toMatch(/1 record\(s\): 1 accepted, 0 rejected, 0 discarded, 0 incomplete/);
      }
      expect(await readFile(join(project, 'apns-junit.xml'), 'utf8')).toContain(
        '<testsuites name="apns-mock notifications" tests="1" failures="0"',
      );
      expect(await readFile(join(project, 'apns-report.html'), 'utf8')).toContain('1 accepted');
      expect((await readFile(join(project, 'apns-records.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(1);
      expect((await runCli(['status', '--state', join(project, '.apns-mock')])).code).toBe(1);
    },
    120_000,
  );
});
