#!/usr/bin/env node
// npm run build: the wasm crate → wasm-bindgen (pinned CLI) → wasm-opt -Oz → dist/,
// plus the ES module entry and the classic loader, minified with esbuild.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import binaryen from 'binaryen';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const work = join(root, 'target', 'wasm-bindgen');
const run = (cmd, args, env = process.env) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env });
// Only the features rustc's wasm32 output uses: --all-features would let wasm-opt emit
// encodings (compact imports) that current browsers reject.
const WASM_FEATURES = [
  '--enable-bulk-memory', '--enable-reference-types', '--enable-multivalue', '--enable-sign-ext',
  '--enable-nontrapping-float-to-int', '--enable-mutable-globals',
];

// without std: the browser build is no_std (see Cargo.toml, [features]).
// core and alloc are rebuilt for it (rust-src, from scripts/setup.sh) with the panic strategy
// "immediate-abort": a panic is a bare wasm trap, with no message formatting and no source
// locations compiled in (2.3 KB brotli smaller, measured; ARCHITECTURE.md, "Size"). These are
// unstable options: RUSTC_BOOTSTRAP=1 lets the stable toolchain take them, for this one build
// only. GOALPOST_STABLE_BUILD=1 builds without them (the size check then fails).
const stable = process.env.GOALPOST_STABLE_BUILD === '1';
const targetDir = join(root, 'target', stable ? 'browser-stable' : 'browser');
const cargoArgs = ['build', '--profile', 'wasm', '--locked', '--target', 'wasm32-unknown-unknown', '-p', 'goalpost',
  '--no-default-features', '--target-dir', targetDir];
const sizeEnv = {
  RUSTC_BOOTSTRAP: '1',
  RUSTFLAGS: '-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none',
};
// wasm-opt from the binaryen npm package (a current binaryen; Debian's is old).
// GOALPOST_NAMES=1 keeps the function names, for profiling (DevTools, traces, twiggy); the code is
// the same, the file larger.
const keepNames = process.env.GOALPOST_NAMES === '1';
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
// Two builds of the crate (ARCHITECTURE, "Builds"): the tracker every page loads, whose config
// errors are JSON paths only, and the companion that says what is wrong in words (loaded by a
// page only when its config has a problem; `goalpost check` runs it). Each gives a .wasm in
// dist/ and its wasm-bindgen glue in target/wasm-bindgen/, bundled below.
wasmBuild('goalpost_wasm', 'tracker');
wasmBuild('goalpost_explain', 'explain');

/** Builds the crate with `features` into dist/NAME_bg.wasm, its glue into target/wasm-bindgen/NAME.js. */
function wasmBuild(name, features) {
  const args = [...cargoArgs, '--features', features];
  try {
    if (stable) run('cargo', args);
    else run('cargo', [...args, '-Zbuild-std=core,alloc', '-Zbuild-std-features=optimize_for_size'], { ...process.env, ...sizeEnv });
  } catch (e) {
    if (!stable) {
      console.error('build: the size build (rebuilt core and alloc) failed. It needs the rust-src component '
        + '(scripts/setup.sh adds it) and a toolchain that takes -Cpanic=immediate-abort (1.95 does). '
        + 'GOALPOST_STABLE_BUILD=1 builds without it.');
    }
    process.exit(1);
  }
  run('wasm-bindgen', [
    '--target', 'web', '--out-dir', work, '--out-name', name, '--no-typescript',
    join(targetDir, 'wasm32-unknown-unknown', 'wasm', 'goalpost.wasm'),
  ]);
  const bindgenWasm = join(work, name + '_bg.wasm');
  const glue = join(work, name + '.js');
  if (process.env.GOALPOST_KEEP_SHIMS !== '1') dropUnusedClosureShims(bindgenWasm);
  mergeDuplicateImports(bindgenWasm, glue, `./${name}_bg.js`);
  run(join(root, 'node_modules', '.bin', 'wasm-opt'), [
    // (the target_features section only tells tools which features the code uses: 0.1 KB)
    '-Oz', ...WASM_FEATURES, ...(keepNames ? ['-g'] : ['--strip-debug']), '--strip-producers', '--strip-target-features',
    // binaryen inlines any function that has one caller, whatever its size: goalpost_start had
    // grown to one 26 KB function. Inlining only tiny ones measured 2.0 KB brotli smaller (the
    // raw file is 3 KB larger; 10, 20, 30, 50, 100 and 500 bytes tried, 20 the smallest).
    '--one-caller-inline-max-function-size=20',
    // and functions of up to 5 bytes inlined wherever they are called (binaryen's default is 2):
    // 72 B brotli smaller, and 31 fewer functions compiled lazily at start-up (3, 4, 6, 7, 8, 10,
    // 20 and 40 tried; 5 the smallest)
    '--always-inline-max-function-size=5',
    // GOALPOST_WASM_OPT='--flag …' adds wasm-opt flags, for size experiments
    ...(process.env.GOALPOST_WASM_OPT ? process.env.GOALPOST_WASM_OPT.split(' ') : []),
    bindgenWasm, '-o', join(dist, name + '_bg.wasm'),
  ]);
  minifyNames(join(dist, name + '_bg.wasm'), glue, `./${name}_bg.js`);
}
copyFileSync(join(root, 'js', 'entry.mjs'), join(work, 'entry.mjs'));
// V8's explicit compile hint (Chrome 136+), on the first line of both files: compile every
// function when the script is compiled (off the main thread for the streamed module) instead
// of on its first call, on the main thread. Nearly all of both run at start-up. Measured on the
// bench page (40 paired loads, trace measure): start-up script time −1.5 ms. Other engines
// read a comment.
const COMPILE_HINT = { js: '//# allFunctionsCalledOnLoad' };
await esbuild.build({
  entryPoints: [join(work, 'entry.mjs')],
  bundle: true, format: 'esm', minify: true, target: 'es2020', legalComments: 'none', banner: COMPILE_HINT,
  outfile: join(dist, 'goalpost.mjs'), logLevel: 'warning',
});
// The panel and the companion are imported by URL: bundlers that follow
// `new URL(…, import.meta.url)` (Vite, webpack) copy them as assets, and the magic comments
// (which the minifier drops) tell them to leave the import itself to the browser, so neither
// joins a site's bundle.
{
  const file = join(dist, 'goalpost.mjs');
  let code = readFileSync(file, 'utf8');
  for (const module of ['preview.mjs', 'goalpost-explain.mjs']) {
    const plain = `import(new URL("${module}",import.meta.url).href)`;
    if (code.split(plain).length !== 2) throw new Error(`build: the ${module} import is not where it was expected in goalpost.mjs`);
    code = code.replace(plain, `import(/*webpackIgnore:true*//*@vite-ignore*/new URL("${module}",import.meta.url).href)`);
  }
  writeFileSync(file, code);
}
copyFileSync(join(root, 'js', 'explain.mjs'), join(work, 'explain.mjs'));
// Not minified: bundlers inline an asset under 4 KB as a `data:` URL (Vite's default
// assetsInlineLimit), which a CSP without `data:` in script-src refuses; the readable module
// is ~10 KB and stays a file (it is fetched only for a config with a problem).
await esbuild.build({
  entryPoints: [join(work, 'explain.mjs')],
  bundle: true, format: 'esm', minify: false, target: 'es2020', legalComments: 'none',
  outfile: join(dist, 'goalpost-explain.mjs'), logLevel: 'warning',
});
await esbuild.build({
  entryPoints: [join(root, 'js', 'preview.mjs')],
  bundle: true, format: 'esm', minify: true, target: 'es2020', legalComments: 'none',
  outfile: join(dist, 'preview.mjs'), logLevel: 'warning',
});
await esbuild.build({
  entryPoints: [join(root, 'js', 'loader.js')],
  minify: true, target: 'es2017', legalComments: 'none', banner: COMPILE_HINT,
  outfile: join(dist, 'goalpost.js'), logLevel: 'warning',
});
// `goalpost check` (the package's bin): the same glue and wasm on Node, with the HTML parser and
// the pattern check bundled in, so that installing the package installs no dependency.
copyFileSync(join(root, 'js', 'cli.mjs'), join(work, 'cli.mjs'));
copyFileSync(join(root, 'js', 'selectors.mjs'), join(work, 'selectors.mjs'));
writeFileSync(join(work, 'pseudo.json'), JSON.stringify(pseudoSupport()));
await esbuild.build({
  entryPoints: [join(work, 'cli.mjs')],
  bundle: true, format: 'esm', platform: 'node', target: 'node20', legalComments: 'none', minify: true,
  // ES modules first (jsonc-parser's CommonJS build loads its parts at run time)
  mainFields: ['module', 'main'],
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __gpRequire } from 'node:module'; const require = __gpRequire(import.meta.url);" },
  // linkedom's optional canvas support
  external: ['canvas'],
  outfile: join(dist, 'cli.mjs'), logLevel: 'warning',
});
chmodSync(join(dist, 'cli.mjs'), 0o755);
copyFileSync(join(root, 'js', 'goalpost.d.ts'), join(dist, 'goalpost.d.ts'));
/**
 * Import, export and module names shortened in the wasm (binaryen's
 * --minify-imports-and-exports-and-modules) and the same renaming applied to the
 * wasm-bindgen glue: `__wbg_getAttribute_c7b80d4010284561` becomes `A` on both sides. The
 * names cost ~1.6 KB brotli in the wasm and as much again in the glue. Checked: every import
 * of the final module is a key of the glue's import object, and no old export name is left.
 */
function minifyNames(wasmPath, gluePath, oldModule) {
  const map = execFileSync(join(root, 'node_modules', '.bin', 'wasm-opt'), [
    wasmPath, ...WASM_FEATURES, ...(keepNames ? ['-g'] : []), '--minify-imports-and-exports-and-modules',
    '-o', wasmPath,
  ], { cwd: root, encoding: 'utf8' });
  let glue = readFileSync(gluePath, 'utf8');
  const module = new WebAssembly.Module(readFileSync(wasmPath));
  const imports = WebAssembly.Module.imports(module);
  const newModule = imports[0].module;
  const section = (name) => map.slice(map.indexOf('"' + name + '"'));
  // imports: ["module", "old", "new"]; exports: ["old", "new"]
  const renamedImports = [...section('imports').split('"exports"')[0].matchAll(/\["([^"]*)", "([^"]*)", "([^"]*)"\]/g)];
  const renamedExports = [...section('exports').matchAll(/\["([^"]*)", "([^"]*)"\]/g)];
  // where the glue calls an export: `wasm.NAME` (names are identifiers: no escaping needed)
  const exportUse = (name) => new RegExp('\\bwasm\\.' + name + '\\b', 'g');
  for (const [, mod, from, to] of renamedImports) {
    if (mod !== oldModule) throw new Error('unexpected import module ' + mod);
    glue = glue.replace(new RegExp('\\b' + from + '(?=: function)', 'g'), JSON.stringify(to));
  }
  for (const [, from, to] of renamedExports) {
    glue = glue.replace(exportUse(from), 'wasm[' + JSON.stringify(to) + ']');
  }
  glue = glue.split(JSON.stringify(oldModule)).join(JSON.stringify(newModule));
  for (const { name } of imports) {
    if (!glue.includes(JSON.stringify(name) + ': function')) throw new Error('glue lacks import ' + name);
  }
  for (const [, from] of renamedExports) {
    if (exportUse(from).test(glue)) throw new Error('glue still uses export ' + from);
  }
  writeFileSync(gluePath, glue);
}

// The .wasm is found next to the module by default; record the crate version for support.
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
writeFileSync(join(dist, 'VERSION'), version + '\n');
console.log('built dist/ (goalpost ' + version + ')');

/**
 * Imports whose glue functions are the same code, merged into one: web-sys and js-sys bind
 * `length` on arrays, strings and node lists, `disconnect` on two observer types,
 * `querySelectorAll` on documents and elements, each as its own import with its own copy of the
 * same JS. Each duplicate becomes an import of the first one's name (same signature, same JS
 * text, so the same behaviour), wasm-opt's duplicate-import-elimination folds them, and the
 * copies leave the glue. minifyNames checks afterwards that every import has its function.
 */
/**
 * Reads the wasm at `path` into binaryen, lets `edit` change the module, checks it, and writes
 * it back with its names (for wasm-opt's -g builds, and minifyNames' map).
 */
function rewriteModule(path, what, edit) {
  const m = binaryen.readBinary(readFileSync(path));
  m.setFeatures(m.getFeatures());
  const result = edit(m);
  if (!m.validate()) throw new Error(`build: the module is invalid after ${what}`);
  binaryen.setDebugInfo(true);
  writeFileSync(path, m.emitBinary());
  m.dispose();
  return result;
}

function mergeDuplicateImports(wasmPath, gluePath, glueModule) {
  let glue = readFileSync(gluePath, 'utf8');
  // the import object's entries: `NAME: function(…) {` … `},` (or `}, arguments); },`), 8 spaces in
  const entry = /^ {8}([\w$]+): (function\([^\n]*\n[\s\S]*?\n {8}\}(?:, arguments\); \})?),$/gm;
  const code = new Map();
  for (const [, name, fn] of glue.matchAll(entry)) {
    if (/\n {8}[\w$]+: function/.test(fn)) throw new Error('build: cannot read the glue\'s import ' + name);
    code.set(name, fn);
  }
  const merged = rewriteModule(wasmPath, 'merging imports', (m) => {
    // every import of the glue's own module must have been read above: a wasm-bindgen whose
    // glue is laid out otherwise stops the build here, rather than being rewritten wrongly
    for (let i = 0; i < m.getNumFunctions(); i++) {
      const f = binaryen.getFunctionInfo(m.getFunctionByIndex(i));
      if (f.module === glueModule && !code.has(f.base)) {
        throw new Error('build: the wasm-bindgen glue is not laid out as expected: no function read for import ' + f.base);
      }
    }
    const first = new Map();
    const found = [];
    for (let i = 0; i < m.getNumFunctions(); i++) {
      const f = binaryen.getFunctionInfo(m.getFunctionByIndex(i));
      if (!f.module || !code.has(f.base)) continue;
      const key = `${f.module} ${f.params} ${f.results} ${code.get(f.base)}`;
      if (first.has(key)) found.push([f, first.get(key)]);
      else first.set(key, f.base);
    }
    for (const [f, base] of found) {
      m.removeFunction(f.name);
      m.addFunctionImport(f.name, f.module, base, f.params, f.results);
    }
    return found;
  });
  for (const [f] of merged) glue = glue.replace(`\n        ${f.base}: ${code.get(f.base)},`, '');
  writeFileSync(gluePath, glue);
  console.log(`build: ${merged.length} duplicate imports merged (${merged.map(([f, base]) => `${f.base} → ${base}`).join(', ')})`);
}

/**
 * Closure invoke shims that nothing can call, taken out of the function table so that wasm-opt
 * drops them. js-sys declares a describe function for every binding; those of bindings taking
 * a Rust closure (`Array::for_each`, `Set::for_each`, …) put an invoke shim into the function
 * table, and wasm-bindgen removes the describes but leaves the table entries, so the shims (and
 * what they call) stay in the file although goalpost never calls those bindings (wasm-bindgen
 * issue #2535 is the same effect). Closures that goalpost does create are entered through
 * exported wrappers, never through the table. Each entry is replaced, at the same index, by a
 * function that traps: table indices stay valid, and a call that could still reach one (none
 * can) would trap, which the JS guard catches. GOALPOST_KEEP_SHIMS=1 skips this step.
 */
function dropUnusedClosureShims(path) {
  // (v0 symbol names, `wasm_bindgen[hash]::…::invoke::<…>`, or legacy ones, `…::invoke::hHASH`)
  const shim = /^wasm_bindgen(\[[0-9a-f]+\])?::convert::closures::_::invoke::/;
  const trap = 'goalpost_unreachable_shim';
  const replaced = rewriteModule(path, 'replacing closure shims', (m) => {
    m.addFunction(trap, binaryen.none, binaryen.none, [], m.unreachable());
    // (read every segment first: removing and adding one reorders them)
    const segments = [];
    for (let i = 0; i < m.getNumElementSegments(); i++) segments.push(binaryen.getElementSegmentInfo(m.getElementSegmentByIndex(i)));
    let count = 0;
    for (const info of segments) {
      const shims = info.data.filter((f) => shim.test(f)).length;
      if (!shims) continue;
      const offset = binaryen.getExpressionInfo(info.offset);
      if (offset.id !== binaryen.ConstId) throw new Error('build: an element segment with a non-constant offset');
      m.removeElementSegment(info.name);
      m.addActiveElementSegment(info.table, info.name, info.data.map((f) => (shim.test(f) ? trap : f)), m.i32.const(offset.value));
      count += shims;
    }
    return count;
  });
  console.log(`build: ${replaced} unused closure invoke shims taken out of the function table`);
}

/**
 * For goalpost check: every pseudo-class and pseudo-element in @mdn/browser-compat-data, as
 * `":name"` or `":name()"` → [Chrome, Firefox, Safari] versions (see `support`).
 * Page-only pseudo-classes (`:first`, `:left`, `:right`) are left out: no element matches them.
 */
function pseudoSupport() {
  const bcd = JSON.parse(readFileSync(join(root, 'node_modules', '@mdn', 'browser-compat-data', 'data.json'), 'utf8'));
  const out = {};
  for (const [key, feature] of Object.entries(bcd.css.selectors)) {
    const c = feature.__compat;
    if (!c || /page pseudo-class/i.test(c.description || '')) continue;
    const code = /<code>(::?[\w-]+(?:\(\))?)<\/code>$/.exec(c.description || '');
    const fromUrl = /\/(::?[\w-]+)$/.exec(c.mdn_url || '');
    const name = code ? code[1] : fromUrl ? fromUrl[1] : null;
    if (!name) continue;
    out[name] = support(c);
  }
  // the attribute selector's `s` flag (case-sensitive), which browsers differ on
  out['[s]'] = support(bcd.css.selectors.attribute.case_sensitive_modifier.__compat);
  // known to Chrome and Safari (WebVTT cues), absent from browser-compat-data 8.1.9
  out[':current'] = out[':current()'] = out[':past'];
  return out;
}

/** [Chrome, Firefox, Safari]: the version that supports it without a flag or prefix, or 0. */
function support(c) {
  return ['chrome', 'firefox', 'safari'].map((b) => {
    const s = [].concat(c.support[b] || []).find((s) => s.version_added && !/preview/.test(s.version_added) && !s.version_removed
      && !s.flags && !s.prefix && !s.alternative_name && !s.partial_implementation);
    return s ? Number.parseFloat(String(s.version_added).replace(/^≤/, '')) || 1 : 0;
  });
}
