import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { prefersHtml } from './negotiate.js';

/** The files scripts/build-inspector.js writes, and their types; nothing else is served. */
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'inspector.js': 'text/javascript; charset=utf-8',
  'inspector.css': 'text/css; charset=utf-8',
};

/** Path prefix of the page's script and style sheet. */
export const ASSET_PREFIX = '/inspector/';

// The page loads nothing from elsewhere and runs no inline script: a payload that slipped
// into the markup still could not run.
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/**
 * Where the built page is: beside the compiled server (dist/server/inspector ->
 * dist/inspector), or, when the sources run directly (tests), in dist/ at the package root.
 */
function locateBuild(): string | null {
  for (const relative of ['../../inspector/', '../../dist/inspector/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(`${dir}inspector.js`) && existsSync(`${dir}index.html`)) return dir;
  }
  return null;
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>apns-mock inspector</title>
<p>The inspector page is not built. Run <code>npm run build</code> (or <code>npm install</code>) and reload.</p>
<p>Clients that ask for JSON (curl, fetch) get the control API's index at this address.</p>\n`;

let buildDir: string | null | undefined;

/**
 * Serves the inspector page for `GET /` when the client asks for HTML, and its assets under
 * /inspector/. Returns false when the request is not for the page, so the JSON API answers it.
 */
export async function serveInspector(request: IncomingMessage, response: ServerResponse, path: string): Promise<boolean> {
  let name: string;
  if (path === '/' && prefersHtml(request.headers.accept)) name = 'index.html';
  else if (path.startsWith(ASSET_PREFIX) && Object.hasOwn(FILES, path.slice(ASSET_PREFIX.length))) name = path.slice(ASSET_PREFIX.length);
  else return false;
  buildDir ??= locateBuild();
  if (buildDir === null) {
    // Looked for again next time: a build may land while the simulator runs.
    buildDir = undefined;
    const status = name === 'index.html' ? 200 : 404;
    response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...PAGE_HEADERS });
    response.end(NOT_BUILT);
    return true;
  }
  const body = await readFile(`${buildDir}${name}`);
  response.writeHead(200, { 'content-type': FILES[name], 'content-length': body.length, ...PAGE_HEADERS, vary: 'accept' });
  response.end(body);
  return true;
}
