#!/usr/bin/env node
// npm run size:breakdown: where the wasm's code bytes are, by crate and module. Builds the wasm
// with its function names kept (GOALPOST_NAMES=1: the same code, a name section added), reads
// each function's body size with wasm-objdump (Debian's `wabt` package), groups them by
// `crate::module`, writes bench/size-breakdown.md, and rebuilds dist/ as shipped. Raw bytes of
// code (before compression): for deciding what to slice, not a budget.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
try {
  execFileSync('wasm-objdump', ['--version'], { stdio: 'ignore' });
} catch (_) {
  console.error('size:breakdown needs wasm-objdump: apt-get install wabt');
  process.exit(1);
}
const build = (env) => execFileSync('node', [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });
const named = join(mkdtempSync(join(tmpdir(), 'goalpost-names-')), 'named.wasm');
build({ GOALPOST_NAMES: '1' });
copyFileSync(join(root, 'dist', 'goalpost_wasm_bg.wasm'), named);
build({});

const dump = execFileSync('wasm-objdump', ['-d', named], { encoding: 'utf8', maxBuffer: 1 << 28 });
const headers = execFileSync('wasm-objdump', ['-h', named], { encoding: 'utf8' });
const codeEnd = parseInt(/Code start=0x[0-9a-f]+ end=0x([0-9a-f]+)/.exec(headers)[1], 16);
const dataSize = parseInt((/Data start=0x[0-9a-f]+ end=0x[0-9a-f]+ \(size=0x([0-9a-f]+)\)/.exec(headers) || [0, '0'])[1], 16);
const starts = [...dump.matchAll(/^([0-9a-f]+) func\[\d+\] <(.*)>:$/gm)].map((m) => [parseInt(m[1], 16), m[2]]);

/** `crate::module` of a function's (demangled) name. */
function group(name) {
  const m = /(goalpost_core|goalpost_protocol|goalpost)\[[0-9a-f]+\]::([a-z_]+)/.exec(name);
  if (m) return m[1] + '::' + m[2];
  for (const k of ['talc', 'alloc', 'core', 'js_sys', 'web_sys', 'wasm_bindgen', 'hashbrown']) if (name.includes(k)) return k;
  return 'other (glue shims, std)';
}
const sizes = new Map();
let total = 0;
starts.forEach(([at, name], i) => {
  const size = (i + 1 < starts.length ? starts[i + 1][0] : codeEnd) - at;
  total += size;
  sizes.set(group(name), (sizes.get(group(name)) || 0) + size);
});
const rows = [...sizes].sort((a, b) => b[1] - a[1]);
const pct = (n) => (100 * n / total).toFixed(1) + ' %';
const config = rows.filter(([k]) => /goalpost_core::(config|compile_goals|condition|error)$/.test(k)).reduce((n, [, v]) => n + v, 0);
const md = `# Where the wasm's bytes are

\`npm run size:breakdown\` (scripts/size-breakdown.mjs): the tracker's wasm (the one every page loads), its code function by
function (names from a build that keeps them; the code is the same), grouped by crate and
module. Raw bytes of code before compression; ${starts.length} functions, ${total.toLocaleString('en')} bytes
of code, ${dataSize.toLocaleString('en')} bytes of data (strings, tables).

The goal language's compiler (\`config\`, \`compile_goals\`, \`condition\`, \`error\`; \`condition\`
also holds the matching) is ${config.toLocaleString('en')} bytes, ${pct(config)} of the code.

| crate::module | bytes | share |
|---|---:|---:|
${rows.map(([k, v]) => `| ${k} | ${v.toLocaleString('en')} | ${pct(v)} |`).join('\n')}
`;
writeFileSync(join(root, 'bench', 'size-breakdown.md'), md);
console.log(md);
