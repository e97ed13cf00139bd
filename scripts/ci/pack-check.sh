#!/bin/sh
# Packs the package as npm would publish it, installs the tarball in an empty folder as a user
# would, type-checks a consumer under moduleResolution node16 and bundler with skipLibCheck
# false, and runs a TypeScript vitest test there that starts the simulator and uses the
# matchers. Installs come from the local npm cache where it has them (--prefer-offline).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/apns-pack-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
say() { printf 'pack-check: %s\n' "$*"; }
fail() { printf 'pack-check: FAILED: %s\n' "$*" >&2; exit 1; }

cd "$root"
version_of() { node -p "require('./node_modules/$1/package.json').version"; }
ts_version=$(version_of typescript)
vitest_version=$(version_of vitest)
types_node_version=$(version_of @types/node)

# npm pack runs `prepare`, which builds dist/ from the sources.
npm pack --pack-destination "$work" > "$work/pack.log" 2>&1 || { cat "$work/pack.log" >&2; fail 'npm pack'; }
tarball=$(node -p "const p = require('./package.json'); p.name + '-' + p.version + '.tgz'")
say "packed $tarball"
tar -tzf "$work/$tarball" > "$work/contents.txt"
grep -q '^package/LICENSE$' "$work/contents.txt" || fail 'no LICENSE in the tarball'
grep -q '^package/dist/cli/main.js$' "$work/contents.txt" || fail 'no CLI in the tarball'
grep -q '^package/dist/inspector/inspector.js$' "$work/contents.txt" || fail 'no inspector page in the tarball'
if grep -E '\.map$' "$work/contents.txt"; then fail 'source maps in the tarball: their .ts sources are not shipped'; fi
if grep -E '^package/dist/scripts/' "$work/contents.txt"; then fail 'bench, fuzz or soak runners in the tarball'; fi
say "$(wc -l < "$work/contents.txt") files; no maps, no runners"

consumer="$work/consumer"
mkdir -p "$consumer"
cd "$consumer"
# Kept here rather than as .ts files in the repository, which its own tsc and eslint would take as theirs.
cat > consumer.ts <<'TS'
// Type-checked as a user's code against the packed package, with skipLibCheck false.
import { BinaryClient, startSimulator, type NotificationRecord, type Simulator, type SimulatorOptions } from 'apns-mock-gateway';
import { apnsMatchers, type ApnsMatchers } from 'apns-mock-gateway/vitest';

const options: SimulatorOptions = { controlPort: false };
export async function firstRecord(): Promise<NotificationRecord | undefined> {
  const sim: Simulator = await startSimulator(options);
  const { cert, key, ca } = sim.credentials;
  const client = new BinaryClient({ host: '127.0.0.1', port: sim.ports.gateway, cert, key, ca });
  client.close();
  await sim.close();
  return sim.records()[0];
}
export const matchers: Record<keyof ApnsMatchers, unknown> = apnsMatchers;
TS
cat > simulator.test.ts <<'TS'
// A user's test, run by vitest inside a folder where the packed package is installed.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BinaryClient, startSimulator, type Simulator } from 'apns-mock-gateway';
import 'apns-mock-gateway/vitest';

const TOKEN = 'a1'.repeat(32);
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.close());

it('receives a notification the package client sends, and the matchers see it', async () => {
  const { cert, key, ca } = sim.credentials;
  const client = new BinaryClient({ host: '127.0.0.1', port: sim.ports.gateway, cert, key, ca });
  const outcome = await client.send({ token: TOKEN, payload: { aps: { alert: 'From the tarball' } } });
  client.close();
  expect(outcome.status).toBe('accepted');
  expect(sim).toHaveReceived({ token: TOKEN, alert: 'From the tarball' });
  await expect(sim).toEventuallyReceive({ token: TOKEN });
});
TS
cat > package.json <<JSON
{ "name": "apns-mock-consumer", "private": true, "type": "module" }
JSON
npm install --prefer-offline --no-audit --no-fund --loglevel=error \
  "$work/$tarball" "typescript@$ts_version" "vitest@$vitest_version" "@types/node@$types_node_version" > "$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; fail 'npm install of the tarball'; }
say "installed with typescript $ts_version, vitest $vitest_version"

for resolution in node16 bundler; do
  module=$([ "$resolution" = bundler ] && echo ESNext || echo Node16)
  cat > "tsconfig.$resolution.json" <<JSON
{
  "compilerOptions": {
    "target": "ES2022", "module": "$module", "moduleResolution": "$resolution", "types": ["node"],
    "strict": true, "skipLibCheck": false, "noEmit": true
  },
  "files": ["consumer.ts", "simulator.test.ts"]
}
JSON
  npx --no-install tsc -p "tsconfig.$resolution.json" || fail "the public types do not type-check under moduleResolution $resolution with skipLibCheck false"
  say "types check under moduleResolution $resolution, skipLibCheck false"
done

npx --no-install vitest run --reporter=dot simulator.test.ts || fail 'the consumer test'
say 'the consumer test passed'

[ "$(npx --no-install apns-mock --version)" = "$(node -p "require('$root/package.json').version")" ] || fail 'apns-mock --version'
# ESM only: require() of it works where Node loads ES modules from require (engines), import everywhere.
node --input-type=commonjs -e "const m = require('apns-mock-gateway'); if (typeof m.startSimulator !== 'function') process.exit(1)" \
  || fail "require('apns-mock-gateway') on Node $(node --version)"
node -e "
const range = JSON.parse(require('fs').readFileSync('node_modules/apns-mock-gateway/package.json', 'utf8')).engines.node;
const yargs = require('$root/node_modules/yargs/package.json').engines.node;
if (range !== yargs) { console.error('engines ' + range + ' is not the range yargs (the strictest dependency) asks for: ' + yargs); process.exit(1); }
" 2>&1 || fail 'engines'
say "apns-mock --version, require() on Node $(node --version), engines: ok"
