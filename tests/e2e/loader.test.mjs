// The script tag: calls queued before the wasm loads, a double include, a cross-origin
// collector; and the npm module bundled by esbuild.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync, mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import * as esbuild from 'esbuild';
import { HEX32, goalpostMessages, openPage, root, useCollectorAndBrowser, waitFor } from './harness.mjs';

const env = useCollectorAndBrowser();

/**
 * Holds back every request of `page` to a URL matching `pattern` (a slow network) until
 * `release()`; `asked` lists the file names requested, in order.
 */
async function holdBack(page, pattern) {
  let release;
  const held = new Promise((r) => { release = r; });
  const asked = [];
  await page.route(pattern, async (route) => {
    asked.push(route.request().url().split('/').pop());
    await held;
    await route.continue();
  });
  return { asked, release };
}

test('calls made before the wasm loaded are replayed in order, and a double include tracks once', async () => {
  const { page, context, log } = await openPage(env.browser);
  await page.goto(env.collector.base + '/early.html');
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  await page.evaluate(() => window.goalpost.gp.flush());
  const rows = await env.collector.events('early');
  assert.equal(rows.length, 2, JSON.stringify(rows));
  const [pv, conv] = rows;
  assert.equal(pv.type, 'page_view');
  assert.equal(pv.title, 'Early calls');
  assert.equal(conv.type, 'conversion');
  assert.equal(conv.goal, 'trial_started');
  assert.equal(conv.kind, 'micro');
  assert.deepEqual(conv.props, { plan: 'pro', seats: 3 });
  assert.equal(conv.page, pv.id);
  assert.ok(!rows.some((r) => r.goal === 'not_a_goal'), 'events that match no goal are not sent');
  // after load, the same command API goes straight to the tracker
  await page.evaluate(() => window.goalpost('track', 'trial_started', { plan: 'team' }));
  await page.evaluate(() => window.goalpost.gp.flush());
  const later = await env.collector.events('early');
  assert.equal(later.length, 3);
  assert.deepEqual(later[2].props, { plan: 'team' });
  assert.equal(later.filter((r) => r.type === 'page_view').length, 1, 'one page view despite two script tags');
  assert.deepEqual(log.errors, []);
  assert.deepEqual(goalpostMessages(log, 'error'), []);
  await context.close();
});

for (const [how, file, site] of [['script tag', 'early-clicks.html', 'earlyclicks'], ['npm module', 'early-module.html', 'earlymodule']]) test(`${how}: clicks and submits made before the wasm has loaded count once, when goalpost starts`, async () => {
  const { page, context, log } = await openPage(env.browser);
  // the wasm is held back until the visitor has interacted (a slow network)
  const { asked, release } = await holdBack(page, '**/goalpost_wasm_bg.wasm');
  await page.goto(env.collector.base + '/' + file);
  await waitFor('the wasm requested', () => asked.length > 0);
  assert.equal(await page.evaluate(() => Boolean(window.goalpost && window.goalpost.gp)), false, 'not started yet');
  await page.click('#buy');
  await page.click('#nothing');
  await page.click('#join-button');
  release();
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  await page.evaluate(() => window.goalpost.gp.flush());
  const rows = await env.collector.events(site);
  assert.deepEqual(rows.map((r) => [r.type, r.goal]), [['page_view', null], ['conversion', 'buy'], ['conversion', 'join']],
    'the page view, then the kept click and submit, once each; the click on text made nothing');
  for (const r of rows.slice(1)) {
    assert.equal(r.page, rows[0].id, 'of this page view');
    assert.match(r.id, HEX32);
  }
  // from now on goalpost's own listeners count: one click, one conversion (the keeping is over)
  await page.click('#buy');
  await page.evaluate(() => window.goalpost.gp.flush());
  const after = await env.collector.events(site);
  assert.deepEqual(after.slice(3).map((r) => r.goal), ['buy']);
  assert.equal(after.length, 4);
  assert.deepEqual(log.errors, []);
  assert.deepEqual(goalpostMessages(log, 'error'), []);
  await context.close();
});

test('the module and the wasm, however slow, hold back neither the first paint nor the load event', async () => {
  const { page, context, log } = await openPage(env.browser);
  const { asked, release } = await holdBack(page, /\/goalpost\/goalpost(\.mjs|_wasm_bg\.wasm)$/);
  await page.goto(env.collector.base + '/early-clicks.html', { waitUntil: 'commit' });
  // the module is held: the load event and the first paint must still come
  await page.waitForFunction(() => document.readyState === 'complete'
    && performance.getEntriesByName('first-contentful-paint').length === 1, null, { timeout: 5000 });
  // (the loader asks for the module once the page is idle: maybe after the load event)
  await waitFor('the module requested', () => asked.length > 0);
  assert.deepEqual(asked, ['goalpost.mjs'], 'the loader asked for the module, which is still held');
  assert.equal(await page.evaluate(() => Boolean(window.goalpost && window.goalpost.gp)), false, 'not started yet');
  const views = async () => (await env.collector.events('earlyclicks')).filter((r) => r.type === 'page_view').length;
  const before = await views();
  release();
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  assert.deepEqual(asked, ['goalpost.mjs', 'goalpost_wasm_bg.wasm']);
  await page.evaluate(() => window.goalpost.gp.flush());
  assert.equal(await views(), before + 1, 'once released, goalpost starts and sends the page view');
  assert.deepEqual(log.errors, []);
  await context.close();
});

test('the script tag starts goalpost once the page is idle, not during its own start-up work', async () => {
  const { page, context, log } = await openPage(env.browser);
  // busy.html works for 300 ms after DOMContentLoaded, in tasks back to back
  await page.goto(env.collector.base + '/busy.html');
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp && window.busyUntil);
  const t = await page.evaluate(() => ({
    busyUntil: window.busyUntil,
    dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
    module: performance.getEntriesByType('resource').find((e) => e.name.endsWith('/goalpost/goalpost.mjs'))?.startTime,
  }));
  assert.ok(t.module >= t.busyUntil, `the module asked for only after the page's work (${JSON.stringify(t)})`);
  assert.ok(t.module - t.dcl < 1500, `within the idle timeout (1 s) and some slack (${JSON.stringify(t)})`);
  await page.evaluate(() => window.goalpost.gp.flush());
  const rows = await env.collector.events('busy');
  assert.deepEqual(rows.map((r) => r.type), ['page_view'], 'the page view was sent');
  assert.deepEqual(log.errors, []);
  await context.close();
});

test('a collector on another origin receives the beacon (CORS-simple, no preflight)', async () => {
  const { page, context } = await openPage(env.browser);
  const methods = [];
  page.on('request', (r) => r.url().includes('/collect') && methods.push(r.method()));
  await page.goto(env.collector.base + '/cross-origin.html');
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith('http://localhost:') && r.url().endsWith('/collect')),
    page.click('#signup'),
  ]);
  assert.equal(res.status(), 200);
  assert.equal(res.headers()['access-control-allow-origin'], env.collector.base);
  const rows = await waitFor('cross-origin events', async () => {
    const r = await env.collector.events('xorigin');
    return r.length === 2 && r;
  });
  assert.deepEqual(rows.map((r) => [r.type, r.goal]), [['page_view', null], ['conversion', 'signup']]);
  assert.deepEqual(methods, ['POST'], 'no OPTIONS preflight');
  await context.close();
});

test('the npm module works when bundled with esbuild (the .wasm is found)', async () => {
  const outdir = join(root, 'tests', 'pages', 'bundle', 'out');
  rmSync(outdir, { recursive: true, force: true });
  // Install the package as npm would: pack it, unpack the tarball into node_modules/goalpost.
  const tmp = mkdtempSync(join(tmpdir(), 'goalpost-pack-'));
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop();
  const pkgDir = join(tmp, 'node_modules', 'goalpost');
  mkdirSync(pkgDir, { recursive: true });
  execFileSync('tar', ['-xzf', join(tmp, tarball), '-C', pkgDir, '--strip-components=1']);
  await esbuild.build({
    entryPoints: [join(root, 'tests', 'fixtures', 'bundle', 'main.mjs')],
    bundle: true, format: 'esm', target: 'es2022', outdir,
    nodePaths: [join(tmp, 'node_modules')], // resolved through the package's "exports"
    loader: { '.wasm': 'file' }, logLevel: 'warning',
  });
  rmSync(tmp, { recursive: true, force: true });
  const { page, context, log } = await openPage(env.browser);
  await page.goto(env.collector.base + '/bundle/index.html');
  await page.waitForFunction(() => window.gpReady === true);
  await page.click('#signup');
  const rows = await waitFor('bundled events', async () => {
    const r = await env.collector.events('bundled');
    return r.length === 2 && r;
  });
  assert.equal(rows[0].type, 'page_view');
  assert.equal(rows[0].title, 'Bundled with esbuild');
  assert.equal(rows[1].goal, 'signup');
  assert.match(rows[1].id, HEX32);
  assert.deepEqual(goalpostMessages(log, 'error'), []);
  assert.deepEqual(log.errors, []);
  await context.close();
});
