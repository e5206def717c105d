#!/usr/bin/env node
// npm run build: the wasm crate → wasm-bindgen (pinned CLI) → wasm-opt -Oz → dist/,
// plus the ES module entry and the classic loader, minified with esbuild.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const work = join(root, 'target', 'wasm-bindgen');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

run('cargo', ['build', '--release', '--locked', '--target', 'wasm32-unknown-unknown', '-p', 'goalpost']);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
run('wasm-bindgen', [
  '--target', 'web', '--out-dir', work, '--out-name', 'goalpost_wasm', '--no-typescript',
  join(root, 'target', 'wasm32-unknown-unknown', 'release', 'goalpost.wasm'),
]);
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
// wasm-opt from the binaryen npm package (a current binaryen; Debian's is old).
run(join(root, 'node_modules', '.bin', 'wasm-opt'), [
  // Only the features rustc's wasm32 output uses: --all-features would let wasm-opt emit
  // encodings (compact imports) that current browsers reject.
  '-Oz', '--enable-bulk-memory', '--enable-reference-types', '--enable-multivalue', '--enable-sign-ext',
  '--enable-nontrapping-float-to-int', '--enable-mutable-globals', '--strip-debug', '--strip-producers',
  join(work, 'goalpost_wasm_bg.wasm'), '-o', join(dist, 'goalpost_wasm_bg.wasm'),
]);
copyFileSync(join(root, 'js', 'entry.mjs'), join(work, 'entry.mjs'));
await esbuild.build({
  entryPoints: [join(work, 'entry.mjs')],
  bundle: true, format: 'esm', minify: true, target: 'es2020', legalComments: 'none',
  outfile: join(dist, 'goalpost.mjs'), logLevel: 'warning',
});
await esbuild.build({
  entryPoints: [join(root, 'js', 'loader.js')],
  minify: true, target: 'es2017', legalComments: 'none',
  outfile: join(dist, 'goalpost.js'), logLevel: 'warning',
});
copyFileSync(join(root, 'js', 'goalpost.d.ts'), join(dist, 'goalpost.d.ts'));
// The .wasm is found next to the module by default; record the crate version for support.
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
writeFileSync(join(dist, 'VERSION'), version + '\n');
console.log('built dist/ (goalpost ' + version + ')');
