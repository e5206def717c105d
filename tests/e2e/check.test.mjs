// `goalpost check` (dist/cli.mjs, the package's bin): a config checked before it is deployed.
// Exact messages on good, bad and hostile input; the errors equal what Chromium logs for the
// same config (same wasm); warnings for selectors that match nothing in the given HTML,
// goals that cannot fire and patterns that backtrack catastrophically; exit codes for CI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goalpostMessages, openPage, root, useCollectorAndBrowser, waitFor } from './harness.mjs';

const cli = join(root, 'dist', 'cli.mjs');
const env = useCollectorAndBrowser();
let dir;
before(() => { dir = mkdtempSync(join(tmpdir(), 'goalpost-check-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI: { code, out, err, lines (stdout lines) }. */
function run(...args) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8', timeout: 30000 });
  assert.equal(r.error, undefined, String(r.error));
  return { code: r.status, out: r.stdout, err: r.stderr, lines: r.stdout.trim().split('\n').filter(Boolean) };
}
const file = (name, text) => { writeFileSync(join(dir, name), text); return name; };
const json = (name, value) => file(name, JSON.stringify(value));
const base = { collector: '/collect', site: 'shop' };

test('a good config: exit 0, a one-line summary', () => {
  json('good.json', { ...base, goals: [
    { id: 'buy', kind: 'macro', on: 'click', match: { selector: '#buy' } },
    { id: 'read', on: 'scroll', match: { percent: 75, path: { matches: '^/blog/[a-z0-9-]+$' } } },
  ] });
  const r = run('check', 'good.json');
  assert.equal(r.code, 0, r.out + r.err);
  assert.deepEqual(r.lines, ['ok: 2 goals, no errors, 0 warnings']);
  assert.equal(r.err, '');
});

test('every error with its JSON path and suggestion; exit 1', () => {
  json('bad.json', { ...base, goals: [
    { id: 'buy', on: 'clik', match: { selector: '#buy' } },
    { id: 'cart', on: 'click', match: { selector: '#cart[' } },
    { id: 'news', on: 'submit', match: { selektor: '#n' } },
    { id: 'signup', on: 'submit', match: { selector: '#signup' } },
    { id: 'f', on: 'funnel', steps: ['signup', 'sigup'] },
  ] });
  const r = run('check', 'bad.json');
  assert.equal(r.code, 1);
  assert.deepEqual(r.lines, [
    'bad.json: error: goals[0].on: unknown value "clik" — did you mean "click"?',
    'bad.json: error: goals[2].match.selektor: unknown key — did you mean "selector"?',
    'bad.json: error: goals[4].steps[1]: no goal with id "sigup" — did you mean "signup"?',
    'bad.json: error: goals[1].match.selector: is not a valid CSS selector: #cart[',
    '4 errors, 0 warnings: these goals would be skipped, the others work',
  ]);
  // a config that cannot be used at all says so
  json('top.json', { site: 'shop', goals: [] });
  const t = run('check', 'top.json');
  assert.equal(t.code, 1);
  assert.deepEqual(t.lines, ['top.json: error: collector: is required', '1 error, 0 warnings: the config cannot be used (tracking would be off)']);
});

test('the errors are the ones Chromium logs for the same config (the same wasm)', async () => {
  const r = run('check', join(root, 'tests', 'pages', 'check-shop.html'), '--json');
  assert.equal(r.code, 1);
  const { errors } = JSON.parse(r.out);
  assert.equal(errors.length, 7, r.out);
  const { page, context, log } = await openPage(env.browser);
  await page.goto(env.collector.base + '/check-shop.html');
  await waitFor('goalpost to report its config problems', () => goalpostMessages(log, 'error').length > 0);
  const [logged] = goalpostMessages(log, 'error');
  const prefix = 'goalpost: config problems; these goals are skipped, the rest work. ';
  assert.ok(logged.text.startsWith(prefix), logged.text);
  assert.deepEqual(logged.text.slice(prefix.length).split('; '), errors.map((e) => `${e.path}: ${e.message}`));
  await context.close();
});

// selectors a site might write, valid and not, modern and old, and engine-specific ones
const SELECTORS = ["#buy", "button.add[data-sku", "#cart[", "[[nope", "a[href$=\".pdf\" i]", "a[href^='tel:' s]", ":has(> img)", "div:has(> .x)", ":is(.a, .b) > p", ":where(nav) a", ":not(.a, .b)", "li:nth-child(2n+1 of .item)", "li:nth-last-child(-n+3)", "p::before", "p::first-line", "a:hover", ":focus-visible", "input:checked", "p:first-of-type", ":lang(en)", ":dir(rtl)", "svg|a", ":host", "a:visited", ":popover-open", ":state(open)", "& .x", ".a { }", "div >", "> div", "div,", "", " ", "*", "#1abc", "#\\31 abc", ".a\\:b", "[data-x=\"unterminated", "button:contains('Buy')", ":nth-child(odd)", ":nth-child(foo)", "div::after:hover", ":root", ":scope > a", ":defined", "input:placeholder-shown", ":target", ":any-link", ":read-only", "a:link", "::selection", "::part(x)", "::slotted(span)", ":modal", ":fullscreen", ":user-invalid", ":-webkit-autofill", ":-moz-focusring", "div:nth-of-type(3)", "a[target=_blank]", "a[href*=checkout]", "[data-action=add-to-cart]", "form#newsletter button[type=submit]", "a:not([href^=\"/\"])", ":is()", ":where()", ":not()", "div:has()", "div:has(:has(a))", ".a.b#c[d]:e", ":first", "abc|def", "*|*", "|a", "a ~ b + c > d", "a >> b", "a || b", "#a:nth-child(2 of #b)", "div:nth-col(1)", ":host(.x)", ":host-context(.x)", ":open", ":placeholder-shown", ":enabled", ":indeterminate", ":empty", ":blank", ":current", ":past", ":playing", ":paused", ":muted", ":volume-locked", ":autofill", ":in-range", ":heading", ":active-view-transition"];

test('selectors: never an error where Chromium accepts one, never silent where it refuses one', async () => {
  const { checkSelector } = await import(cli);
  const { page, context } = await openPage(env.browser);
  await page.setContent('<!doctype html><p>x</p>');
  const chromium = await page.evaluate((list) => list.map((s) => {
    try { document.documentElement.matches(s); return true; } catch (_) { return false; }
  }), SELECTORS);
  await context.close();
  const wrong = [];
  SELECTORS.forEach((s, i) => {
    const r = checkSelector(s);
    if (!r.valid && chromium[i]) wrong.push(`${JSON.stringify(s)}: an error (${r.why}), but Chromium accepts it`);
    if (r.valid && !chromium[i] && !r.warnings.length) wrong.push(`${JSON.stringify(s)}: Chromium refuses it, the check says nothing`);
  });
  assert.deepEqual(wrong, []);
  // and both directions occur in the list, so the comparison can fail either way
  assert.ok(chromium.filter(Boolean).length > 40 && chromium.filter((x) => !x).length > 15);
  assert.equal(checkSelector('button.add[data-sku').valid, true, 'the end of input closes the bracket, as in CSS');
  assert.deepEqual(checkSelector(':has(> img)'), { valid: true, warnings: [] });
  assert.deepEqual(checkSelector('#1abc'), { valid: false, why: '"#1abc" is not a valid id (it starts with a digit)', warnings: [] });
  assert.deepEqual(checkSelector(':host-context(.x)').warnings, [':host-context() is not supported by Firefox or Safari: there this goal is skipped']);
});

test('warnings: a selector no element of the page matches, a goal that cannot fire, a pattern that backtracks', () => {
  const r = run('check', join(root, 'tests', 'pages', 'check-shop.html'));
  const warnings = r.lines.filter((l) => l.includes(': warning: ')).map((l) => l.slice(l.indexOf('warning: ') + 9));
  assert.deepEqual(warnings, [
    'goals[6].match.selector: "#help" matches no element in ' + join(root, 'tests', 'pages', 'check-shop.html') + ' (as served: an element added later by script is not seen here)',
    'goals[7].match.url.matches: "(a+)+$" can backtrack catastrophically (a repetition inside a repetition): a crafted URL or text can freeze the page; write it without nested quantifiers',
  ]);
  json('never.json', { ...base, goals: [
    { id: 'read', on: 'scroll', match: { percent: 120 } },
    { id: 'plan', on: 'custom', match: { event: 'trial', props: { plan: { in: [] } } } },
    { id: 'mid', on: 'custom', match: { event: 'x', props: { n: { gt: 10, lt: 5 } } } },
    { id: 'fine', on: 'custom', match: { event: 'y', props: { n: { gte: 5, lte: 5 } } } },
    { id: 'safe', on: 'pageview', match: { path: { matches: '^/(a|b)+/[0-9]{1,4}$' } } },
    { id: 'noslash', on: 'pageview', match: { path: 'checkout/done' } },
    { id: 'relative', on: 'pageview', match: { url: { startsWith: '/shop' } } },
    { id: 'upper', on: 'pageview', match: { hostname: ['Shop.Example', 'www.Shop.Example'] } },
    { id: 'fine_paths', on: 'pageview', match: { path: ['/a', 'b'], hostname: { equals: 'Shop.Example', caseInsensitive: true } } },
  ] });
  const n = run('check', 'never.json');
  assert.equal(n.code, 0, 'warnings alone do not fail');
  assert.deepEqual(n.lines, [
    'never.json: warning: goals[0].match.percent: 120 % is never reached (100 % is the end): this goal cannot fire',
    'never.json: warning: goals[1].match.props."plan": "in": [] matches nothing: this goal cannot fire',
    'never.json: warning: goals[2].match.props."n": no number is {gt:10,lt:5}: this goal cannot fire',
    'never.json: warning: goals[5].match.path: "checkout/done": a page path always starts with "/": this goal cannot fire',
    'never.json: warning: goals[6].match.url: "/shop": a page URL always starts with http:// or https://: this goal cannot fire',
    'never.json: warning: goals[7].match.hostname: "Shop.Example": a hostname is lower case, with no scheme, port or path: this goal cannot fire',
    'ok: 9 goals, no errors, 6 warnings',
  ]);
  assert.equal(run('check', 'never.json', '--strict').code, 1, '--strict fails on warnings');
});

test('the config of a JS module, a classic script, a page with --html pages, and a URL', async () => {
  const goals = [{ id: 'buy', on: 'click', match: { selector: '#buy' } }, { id: 'help', on: 'click', match: { selector: '#help' } }];
  file('mod.mjs', `export default ${JSON.stringify({ ...base, goals })};\n`);
  file('named.mjs', `export const config = ${JSON.stringify({ ...base, goals: [{ id: 'x', on: 'clik' }] })};\n`);
  file('goals.js', `window.goalpostConfig = ${JSON.stringify({ ...base, goals })};\n`);
  file('a.html', '<!doctype html><button id="buy">Buy</button>');
  file('b.html', '<!doctype html><a id="help" href="/help">Help</a>');
  assert.deepEqual(run('check', 'mod.mjs').lines, ['ok: 2 goals, no errors, 0 warnings']);
  assert.deepEqual(run('check', 'named.mjs').lines.slice(0, 1), ['named.mjs: error: goals[0].on: unknown value "clik" — did you mean "click"?']);
  // the selector is reported only when no page given has its element
  assert.deepEqual(run('check', 'goals.js', '--html', 'a.html', '--html', 'b.html').lines, ['ok: 2 goals, no errors, 0 warnings']);
  assert.deepEqual(run('check', 'goals.js', '--html', 'a.html').lines, [
    'goals.js: warning: goals[1].match.selector: "#help" matches no element in a.html (as served: an element added later by script is not seen here)',
    'ok: 2 goals, no errors, 1 warning',
  ]);
  // a page on a server (async: the server runs in this process)
  const html = `<!doctype html><script type="application/json" id="gp">${JSON.stringify({ ...base, goals })}</script><script src="/goalpost.js" data-config="gp"></script><button id="buy">`;
  const server = createServer((req, res) => {
    if (req.url === '/shop') { res.setHeader('content-type', 'text/html'); res.end(html); } else { res.statusCode = 404; res.end(); }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${server.address().port}`;
    const runAsync = (...args) => new Promise((resolve) => {
      import('node:child_process').then(({ execFile }) => execFile(process.execPath, [cli, ...args], { cwd: dir }, (e, out) => resolve({ code: e ? e.code : 0, lines: out.trim().split('\n') })));
    });
    const page = await runAsync('check', url + '/shop');
    assert.equal(page.code, 0);
    assert.deepEqual(page.lines, [`${url}/shop: warning: goals[1].match.selector: "#help" matches no element in ${url}/shop (as served: an element added later by script is not seen here)`, 'ok: 2 goals, no errors, 1 warning']);
    const missing = await runAsync('check', url + '/gone');
    assert.equal(missing.code, 1);
  } finally {
    server.close();
  }
});

test('hostile input: a clear message and exit 1, never a crash', () => {
  const cases = [
    ['deep.json', '{"collector":"/c","site":"s","goals":' + '['.repeat(100000) + ']'.repeat(100000) + '}', /^deep\.json: error: goals\[0\]: expected an object, found an array$/m],
    ['deepany.json', '{"collector":"/c","site":"s","goals":[{"id":"a","on":"click","match":' + '{"any":['.repeat(3000) + '{}' + ']}'.repeat(3000) + '}]}', /^deepany\.json: error: goals\[0\]\.match\.any\[0\]\.any: unknown key$/m],
    ['garbage.json', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)), /^error: garbage\.json:1:1: not valid JSON \(an unexpected character\)\n$/],
    ['trailing.json', '{"collector": "/c",\n  "site": "s",\n}', /^error: trailing\.json:3:1: not valid JSON \(a property name \(in double quotes\) expected\)\n$/],
    ['array.json', '[1, 2]', /^array\.json: error: config: expected an object, found an array$/m],
    ['empty.json', '', /^error: empty\.json:1:1: not valid JSON \(a value expected\)\n$/],
    ['noconfig.html', '<!doctype html><p>hello', /^error: noconfig\.html: no element with id "goalpost-config" holds a config/],
    ['loop.js', 'while (true) {}', /^error: loop\.js: the script failed to run \(Script execution timed out after 1000ms\)\n$/],
    ['throws.mjs', 'export default (() => { throw new Error("boom"); })();', /^error: throws\.mjs: the module failed to load \(boom\)\n$/],
    ['nothing.mjs', 'export const other = 1;', /^error: nothing\.mjs: no config found/],
  ];
  for (const [name, text, expected] of cases) {
    file(name, text);
    const r = run('check', name);
    assert.equal(r.code, 1, `${name}: ${r.out}${r.err}`);
    assert.match(r.out + r.err, expected, name);
    assert.doesNotMatch(r.err, /internal error|at .*\.mjs:\d+/, name);
  }
  // larger than anything a config is: refused before it is read
  writeFileSync(join(dir, 'huge.json'), Buffer.alloc(6 * 1024 * 1024, 32));
  const huge = run('check', 'huge.json');
  assert.equal(huge.code, 1);
  assert.equal(huge.err, 'error: huge.json: 6.0 MB is more than the 5.0 MB goalpost check reads\n');
  assert.equal(run('check', 'missing.json').err, 'error: missing.json: cannot be read (ENOENT)\n');
  // a usage mistake is 2, with the usage
  const usage = run('chek', 'good.json');
  assert.equal(usage.code, 2);
  assert.match(usage.err, /^usage: goalpost check/);
  assert.equal(run('check', 'good.json', '--jsn').code, 2);
  // --json has the same content, parseable
  const j = run('check', 'array.json', '--json');
  assert.deepEqual(JSON.parse(j.out), { errors: [{ path: 'config', message: 'expected an object, found an array' }], warnings: [] });
  assert.ok(readFileSync(cli, 'utf8').startsWith('#!/usr/bin/env node'));
});
