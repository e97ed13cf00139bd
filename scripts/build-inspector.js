// Builds the inspector page (web/inspector) into dist/inspector: one ES module bundling the
// page with protocol/binary, whose `explain` runs in the browser as it does in the CLI.
// protocol/binary uses Node's Buffer; the `buffer` package stands in for it there.
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = `${root}web/inspector/`;
const out = `${root}dist/inspector/`;

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });

const warnings = [];
const bundle = await rolldown({
  input: `${source}main.ts`,
  cwd: root,
  platform: 'browser',
  tsconfig: `${source}tsconfig.json`,
  transform: { inject: { Buffer: ['buffer', 'Buffer'] } },
  // The CLI module that reads pasted hex also reads files, behind a dynamic import of
  // node:fs that the page never reaches; the check below proves none is left in the bundle.
  external: [/^node:/],
  onLog(level, log) {
    if (log.code === 'INEFFECTIVE_DYNAMIC_IMPORT') return;
    if (level === 'warn' && log.code === 'UNRESOLVED_IMPORT' && /'node:/.test(log.message)) return;
    warnings.push(`${level}: ${log.message}`);
  },
});
await bundle.write({ file: `${out}inspector.js`, format: 'esm', sourcemap: false, minify: true });
await bundle.close();

const code = await readFile(`${out}inspector.js`, 'utf8');
if (/\bfrom\s*["']node:|import\(\s*["']node:/.test(code)) {
  throw new Error('the inspector bundle imports a Node built-in: something the page uses reaches Node-only code');
}
await copyFile(`${source}index.html`, `${out}index.html`);
await copyFile(`${source}style.css`, `${out}inspector.css`);
for (const warning of warnings) console.warn(`build-inspector: ${warning}`);
console.log(`build-inspector: dist/inspector/inspector.js ${(code.length / 1024).toFixed(0)} KiB`);
