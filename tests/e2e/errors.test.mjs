// Bad config and hostile pages: one clear console message, the page keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { goalpostMessages, openPage, root, useCollectorAndBrowser, waitFor } from './harness.mjs';

const env = useCollectorAndBrowser();

/** The companion that puts config errors in words, which a page loads only when it has some. */
const COMPANION = ['goalpost-explain.mjs', 'goalpost_explain_bg.wasm'];

/**
 * Loads `path`, waits until goalpost has spoken or is live, clicks the page's own button.
 * `files`: the names of the files the page requested. `prepare(context)` runs before the load.
 */
async function visit(path, { until, prepare }) {
  const { page, context, log } = await openPage(env.browser);
  if (prepare) await prepare(context);
  const requests = [];
  const files = [];
  page.on('request', (r) => {
    if (r.url().includes('/collect')) requests.push(r);
    files.push(new URL(r.url()).pathname.split('/').pop());
  });
  await page.goto(env.collector.base + path);
  await waitFor('goalpost to react', () => until(log, page));
  await page.click('#own');
  assert.equal(await page.evaluate(() => window.pageClicks), 1, "the page's own handler ran");
  return { page, context, log, requests, files };
}

const live = (page) => page.evaluate(() => !!(window.goalpost && window.goalpost.gp));

test('invalid JSON: one error, tracking off, page unharmed', async () => {
  const { context, log, requests } = await visit('/bad-json.html', { until: (log) => goalpostMessages(log).length > 0 });
  const msgs = goalpostMessages(log);
  assert.equal(msgs.length, 1, JSON.stringify(msgs));
  assert.equal(msgs[0].type, 'error');
  assert.match(msgs[0].text, /^goalpost: the config is not valid JSON \(.+\); tracking is off\.$/);
  assert.deepEqual(log.errors, []);
  assert.equal(requests.length, 0);
  await context.close();
});

test('a missing collector disables goalpost with the JSON path named', async () => {
  const { context, log, requests, files } = await visit('/bad-top.html', { until: (log) => goalpostMessages(log).length > 0 });
  const msgs = goalpostMessages(log);
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0].type, 'error');
  assert.equal(msgs[0].text, 'goalpost: invalid config, tracking is off. collector: is required');
  // the words came from the companion, fetched for this page's problem
  for (const f of COMPANION) assert.ok(files.includes(f), `${f} requested: ${files}`);
  assert.equal(requests.length, 0);
  assert.deepEqual(await env.collector.events('badtop'), []);
  await context.close();
});

test('bad goals are skipped with their paths; the good goal still converts', async () => {
  const { page, context, log, files } = await visit('/bad-goals.html', { until: async (log, page) => goalpostMessages(log).length > 0 && live(page) });
  const msgs = goalpostMessages(log);
  assert.equal(msgs.length, 1, JSON.stringify(msgs));
  assert.equal(msgs[0].type, 'error');
  assert.equal(
    msgs[0].text,
    'goalpost: config problems; these goals are skipped, the rest work. ' +
      'goals[0].on: unknown value "clik" — did you mean "click"?; goals[1].match.selector: is not a valid CSS selector: [[nope',
  );
  for (const f of COMPANION) assert.ok(files.includes(f), `${f} requested: ${files}`);
  await page.click('#a'); // the typo goal: nothing
  await page.click('#good');
  const rows = await waitFor('good conversion', async () => {
    const r = await env.collector.events('badgoals');
    return r.length === 2 && r;
  });
  assert.deepEqual(rows.map((r) => r.goal), [null, 'good']);
  await page.evaluate(() => window.goalpost.gp.flush());
  assert.equal((await env.collector.events('badgoals')).length, 2, 'the skipped goals sent nothing');
  assert.deepEqual(log.errors, []);
  await context.close();
});

test('the companion unreachable: the problems by their JSON paths and why no words, the good goal still converts', async () => {
  const { page, context, log, files } = await visit('/bad-goals.html', {
    prepare: (context) => context.route('**/goalpost-explain.mjs', (route) => route.abort()),
    until: async (log, page) => goalpostMessages(log).length > 0 && live(page),
  });
  const msgs = goalpostMessages(log);
  assert.equal(msgs.length, 1, JSON.stringify(msgs));
  assert.equal(msgs[0].type, 'error');
  assert.match(
    msgs[0].text,
    /^goalpost: config problems; these goals are skipped, the rest work\. goals\[0\]\.on; goals\[1\]\.match\.selector \(what is wrong at each is said by goalpost-explain\.mjs, which could not be loaded: TypeError: .+\)$/,
  );
  assert.ok(!files.includes('goalpost_explain_bg.wasm'));
  await page.click('#good');
  await waitFor('good conversion', async () => (await env.collector.events('badgoals')).some((r) => r.goal === 'good'));
  assert.deepEqual(log.errors, []);
  await context.close();
});

test('an exception inside goalpost never reaches the page: one error, then silence', async () => {
  const { page, context, log } = await openPage(env.browser);
  await page.goto(env.collector.base + '/hostile.html');
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  // A hostile page breaks Date.now, which goalpost calls on every input.
  await page.evaluate(() => { Date.now = () => { throw new Error('hostile page'); }; });
  await page.click('#signup');
  await page.click('#own');
  await page.click('#signup');
  await page.evaluate(() => window.goalpost('track', 'anything'));
  assert.equal(await page.evaluate(() => window.pageClicks), 1);
  const msgs = goalpostMessages(log);
  assert.equal(msgs.length, 1, JSON.stringify(msgs));
  assert.match(msgs[0].text, /^goalpost: internal error; tracking is off for this page\./);
  assert.deepEqual(log.errors, [], 'no uncaught error reached the page');
  // a flush on a silenced tracker settles instead of hanging
  assert.equal(await page.evaluate(() => window.goalpost.gp.flush().then(() => 'settled')), 'settled');
  await context.close();
});

test('under the documented CSP goalpost works', async () => {
  const { page, context, log } = await openPage(env.browser);
  const files = [];
  page.on('request', (r) => files.push(new URL(r.url()).pathname.split('/').pop()));
  await page.goto(env.collector.base + '/csp-ok.html');
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  await page.click('#signup');
  const rows = await waitFor('csp events', async () => {
    const r = await env.collector.events('csp');
    return r.length === 2 && r;
  });
  assert.deepEqual(rows.map((r) => r.type), ['page_view', 'conversion']);
  assert.deepEqual(goalpostMessages(log), []);
  assert.deepEqual(log.errors, []);
  // a config without problems: the tracker and nothing else of goalpost's
  assert.ok(files.includes('goalpost_wasm_bg.wasm'), String(files));
  for (const f of COMPANION) assert.ok(!files.includes(f), `${f} not requested: ${files}`);
  await context.close();
});

test('under a CSP that forbids wasm: one warning, page unharmed, nothing sent', async () => {
  const { context, log, requests } = await visit('/csp-no-wasm.html', { until: (log) => goalpostMessages(log).length > 0 });
  const msgs = goalpostMessages(log);
  assert.equal(msgs.length, 1, JSON.stringify(msgs));
  assert.equal(msgs[0].type, 'warning');
  assert.match(msgs[0].text, /Content-Security-Policy blocks WebAssembly; add 'wasm-unsafe-eval' to script-src/);
  assert.deepEqual(log.errors, []);
  assert.equal(requests.length, 0);
  assert.deepEqual(await env.collector.events('cspblocked'), []);
  await context.close();
});

test("under a CSP whose connect-src leaves out the tracker's origin: one warning naming what to add", async () => {
  const { context, log, requests } = await visit('/csp-no-connect.html', { until: (log) => goalpostMessages(log).length > 0 });
  const msgs = goalpostMessages(log);
  assert.equal(msgs.length, 1, JSON.stringify(msgs));
  assert.equal(msgs[0].type, 'warning');
  assert.equal(msgs[0].text, `goalpost: this page's Content-Security-Policy blocks fetching goalpost's WebAssembly; add ${env.collector.base} to connect-src. Tracking is off.`);
  assert.ok(!msgs[0].text.includes('internal error'));
  assert.deepEqual(log.errors, []);
  assert.equal(requests.length, 0);
  await context.close();
});

test("the README's CSP example, as written: goalpost runs and converts", async () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const policy = readme.match(/^Content-Security-Policy: (.+)$/m)[1];
  const page = readFileSync(join(root, 'tests', 'pages', 'csp-readme.html'), 'utf8');
  assert.ok(page.includes(`content="${policy}"`), 'the test page carries the README policy verbatim');
  const { page: p, context, log } = await visit('/csp-readme.html', { until: async (l, pg) => pg.evaluate(() => !!(window.goalpost && window.goalpost.gp)) });
  await p.click('#signup');
  await waitFor('the conversion under the README policy', async () => (await env.collector.events('cspreadme')).some((r) => r.goal === 'signup'));
  assert.deepEqual(goalpostMessages(log), []);
  await context.close();
});

test('a page that re-enters goalpost from inside it (a patched RegExp calling track) loses nothing', async () => {
  const { page, context, log } = await openPage(env.browser);
  await page.addInitScript(() => {
    window.goalpostConfig = {
      collector: '/collect', site: 'reenter',
      goals: [
        { id: 'outer', on: 'click', match: { selector: '#own', text: { matches: '^own$' } } },
        { id: 'inner', on: 'custom', match: { event: 'inner' } },
      ],
    };
    // the page's own code, run by goalpost's regular expression test while the tracker is busy
    const test = RegExp.prototype.test;
    RegExp.prototype.test = function (s) {
      if (window.goalpost && window.goalpost.gp) window.goalpost('track', 'inner', { n: 1 });
      return test.call(this, s);
    };
  });
  await page.goto(env.collector.base + '/window-config.html');
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  await page.click('#own');
  await page.evaluate(() => new Promise((r) => window.goalpost('flush', r)));
  const rows = await waitFor('both conversions', async () => {
    const r = (await env.collector.events('reenter')).filter((e) => e.type === 'conversion');
    return r.length >= 2 && r;
  });
  assert.deepEqual(rows.map((r) => r.goal).sort(), ['inner', 'outer'], 'the re-entrant track call was handled, not dropped');
  assert.deepEqual(rows.find((r) => r.goal === 'inner').props, { n: 1 });
  assert.deepEqual(log.errors, []);
  await context.close();
});
