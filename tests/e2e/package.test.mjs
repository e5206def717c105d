// The package as users get it: `npm pack` makes the tarball that would be published; a fresh
// project installs it from the tarball with Vite, webpack, esbuild and TypeScript from the npm
// registry (versions pinned here), builds a page with each bundler, and a click on that page
// reaches the real collector; the types compile under `tsc --noEmit --strict`; the installed
// `goalpost check` runs. Vite and webpack are not told where the .wasm is: the package names it
// with `new URL(…, import.meta.url)`, which both copy as an asset; esbuild gets the README's
// one setting (the .wasm imported as a file).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, copyFileSync, readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { goalpostMessages, launch, openPage, root, startCollector, waitFor } from './harness.mjs';

const VERSIONS = { vite: '8.4.1', webpack: '5.113.0', esbuild: '0.28.2', typescript: '5.9.3' };
const fixture = join(root, 'tests', 'fixtures', 'npm');
let dir;
let tarball;
let browser;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'goalpost-npm-'));
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop();
  tarball = join(dir, name);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'a-site', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball,
    ...Object.entries(VERSIONS).map(([k, v]) => `${k}@${v}`)], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  browser = await launch();
}, { timeout: 300000 });

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds what a user needs and nothing else', () => {
  const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, '')).sort();
  for (const f of ['package.json', 'README.md', 'LICENSE-MIT', 'LICENSE-APACHE', 'dist/goalpost.mjs', 'dist/goalpost.js', 'dist/goalpost.d.ts', 'dist/goalpost_wasm_bg.wasm', 'dist/cli.mjs', 'dist/preview.mjs', 'dist/goalpost-explain.mjs', 'dist/goalpost_explain_bg.wasm']) {
    assert.ok(files.includes(f), `${f} in ${files.join(' ')}`);
  }
  assert.ok(files.every((f) => f === 'package.json' || f === 'README.md' || f.startsWith('LICENSE') || f.startsWith('dist/')), files.join(' '));
  const pkg = JSON.parse(readFileSync(join(dir, 'node_modules', 'goalpost', 'package.json'), 'utf8'));
  assert.equal(pkg.exports['.'].types, './dist/goalpost.d.ts');
  assert.equal(pkg.license, 'MIT OR Apache-2.0');
  assert.deepEqual(pkg.dependencies, undefined, 'installing goalpost installs nothing else');
});

test('the installed `goalpost check` (npx) checks a config with no dependency of its own', () => {
  writeFileSync(join(dir, 'goals.json'), JSON.stringify({ collector: '/collect', site: 's', goals: [{ id: 'a', on: 'clik' }] }));
  const r = spawnSync('npx', ['--no-install', 'goalpost', 'check', 'goals.json'], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.equal(r.stdout, 'goals.json: error: goals[0].on: unknown value "clik" — did you mean "click"?\n1 error, 0 warnings: these goals would be skipped, the others work\n');
  writeFileSync(join(dir, 'goals.json'), JSON.stringify({ collector: '/collect', site: 's', goals: [{ id: 'a', on: 'click', match: { selector: '#a' } }] }));
  const ok = spawnSync('npx', ['--no-install', 'goalpost', 'check', 'goals.json'], { cwd: dir, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.equal(ok.stdout, 'ok: 1 goal, no errors, 0 warnings\n');
});

/** Copies the fixture page into `out` for `bundler`, then checks a click on it is stored. */
async function clickThrough(bundler, out, { preview = false } = {}) {
  const collector = await startCollector({ siteDir: out });
  try {
    const { page, context, log } = await openPage(browser);
    await page.goto(collector.base + '/index.html');
    await page.waitForFunction(() => window.gpReady === true);
    await page.click('#signup');
    const rows = await waitFor(`the ${bundler} page's events`, async () => {
      const r = await collector.events('npm-' + bundler);
      return r.length === 2 && r;
    });
    assert.deepEqual(rows.map((r) => [r.type, r.goal || null]), [['page_view', null], ['conversion', 'signup']]);
    assert.equal(rows[0].title, 'Bundled with ' + bundler);
    assert.deepEqual(goalpostMessages(log, 'error'), []);
    assert.deepEqual(log.errors, []);
    await context.close();
    if (preview) {
      // the companion, found through the URLs the bundler rewrote: a config problem in words
      const t = await openPage(browser);
      await t.page.goto(collector.base + '/index.html?typo=1');
      const said = await waitFor(`the ${bundler} page's config problem`, () => goalpostMessages(t.log, 'error')[0]);
      assert.equal(said.text, 'goalpost: config problems; these goals are skipped, the rest work. goals[1].on: unknown value "clik" — did you mean "click"?');
      assert.deepEqual(t.log.errors, []);
      await t.context.close();
      // the preview panel: copied by the bundler as an asset, not bundled, loaded on request
      const p = await openPage(browser);
      await p.page.goto(collector.base + '/index.html?goalpost_preview=1');
      const goals = await waitFor(`the ${bundler} page's preview panel`, () => p.page.evaluate(() => {
        const host = document.querySelector('goalpost-preview');
        return host && [...host.shadowRoot.querySelectorAll('.goals li')].map((li) => li.textContent.replace(/\s+/g, ' ').trim()).join('|');
      }));
      assert.equal(goals, 'signup click · macro — 1 element watched');
      assert.deepEqual(p.log.errors, []);
      await p.context.close();
    }
  } finally {
    await collector.stop();
  }
}

function page(bundler, into) {
  writeFileSync(join(into, 'index.html'), readFileSync(join(fixture, 'index.html'), 'utf8').replace('SITE', 'npm-' + bundler).replace('BUNDLER', bundler));
}

test(`Vite ${VERSIONS.vite} builds a page with the installed package, and it converts`, async () => {
  const src = join(dir, 'vite-src');
  execFileSync('mkdir', ['-p', src]);
  copyFileSync(join(fixture, 'main.mjs'), join(src, 'main.js'));
  page('vite', src);
  const { build } = await import(pathToFileURL(join(dir, 'node_modules', 'vite', 'dist', 'node', 'index.js')));
  await build({ root: src, logLevel: 'warn', build: { outDir: join(dir, 'vite-out'), target: 'es2022', emptyOutDir: true } });
  assert.ok(readdirSync(join(dir, 'vite-out', 'assets')).some((f) => f.endsWith('.wasm')), 'the .wasm copied as an asset');
  // a file, not inlined as a data: URL (which a CSP without data: in script-src refuses)
  assert.ok(readdirSync(join(dir, 'vite-out', 'assets')).some((f) => /^goalpost-explain-.*\.mjs$/.test(f)), 'the companion copied as a file');
  assert.ok(!readFileSync(join(dir, 'vite-out', 'assets', readdirSync(join(dir, 'vite-out', 'assets')).find((f) => /^index.*\.js$/.test(f))), 'utf8').includes('goalpost preview'), 'the panel is not in the bundle');
  await clickThrough('vite', join(dir, 'vite-out'), { preview: true });
});

test(`webpack ${VERSIONS.webpack} builds a page with the installed package, and it converts`, async () => {
  const out = join(dir, 'webpack-out');
  copyFileSync(join(fixture, 'main.mjs'), join(dir, 'main.js'));
  const { default: webpack } = await import(pathToFileURL(join(dir, 'node_modules', 'webpack', 'lib', 'index.js')));
  const stats = await new Promise((resolve, reject) => webpack({
    mode: 'production', context: dir, entry: './main.js', target: 'web',
    output: { path: out, filename: 'main.js', publicPath: '/' },
  }, (err, s) => (err ? reject(err) : resolve(s))));
  assert.ok(!stats.hasErrors(), stats.toString('errors-only'));
  page('webpack', out);
  assert.ok(readdirSync(out).some((f) => f.endsWith('.wasm')), 'the .wasm copied as an asset');
  assert.ok(!readFileSync(join(out, 'main.js'), 'utf8').includes('goalpost preview'), 'the panel is not in the bundle');
  await clickThrough('webpack', out, { preview: true });
});

test(`esbuild ${VERSIONS.esbuild} builds a page with the installed package (the .wasm imported as a file), and it converts`, async () => {
  const out = join(dir, 'esbuild-out');
  copyFileSync(join(fixture, 'main-esbuild.mjs'), join(dir, 'main-esbuild.js'));
  const esbuild = await import(pathToFileURL(join(dir, 'node_modules', 'esbuild', 'lib', 'main.js')));
  const result = await esbuild.build({
    absWorkingDir: dir, entryPoints: ['main-esbuild.js'], bundle: true, format: 'esm', target: 'es2022',
    loader: { '.wasm': 'file' }, outfile: join(out, 'main.js'), logLevel: 'silent',
  });
  assert.deepEqual(result.errors, []);
  page('esbuild', out);
  assert.ok(readdirSync(out).some((f) => f.endsWith('.wasm')), 'the .wasm emitted next to the bundle');
  await clickThrough('esbuild', out);
});

test(`the types compile under TypeScript ${VERSIONS.typescript} (tsc --noEmit --strict)`, () => {
  copyFileSync(join(fixture, 'types.ts'), join(dir, 'types.ts'));
  const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
  assert.ok(existsSync(tsc));
  execFileSync('node', [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom', 'types.ts'], { cwd: dir, stdio: 'inherit' });
  // and a config the types refuse, so the check can fail
  writeFileSync(join(dir, 'bad.ts'), "import init from 'goalpost';\nawait init({ collector: '/c', site: 's', goals: [{ id: 'x', on: 'clik' }] });\nexport {};\n");
  assert.throws(
    () => execFileSync('node', [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom', 'bad.ts'], { cwd: dir, stdio: 'pipe' }),
    (e) => /bad\.ts.*"clik"/s.test(String(e.stdout)),
    'a misspelt trigger is a type error',
  );
});
