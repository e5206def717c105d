// The demo's multi-page store (/store/: product list, cart, checkout, thank-you as separate
// documents), driven as visitors use it: reloads, back and forward (with and without the
// back-forward cache), a second tab, a second order, a session timeout on the browser's clock.
// In each consent mode the collector must hold each conversion exactly as often as the goals
// say: the funnel once, a purchase once per order, a page-view goal once per session (where
// storage is allowed), and nothing in storage where it is not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HEX32, chromiumArgs, goalpostMessages, root, startCollector, waitFor } from './harness.mjs';
import { chromium } from 'playwright-core';
import { before, after } from 'node:test';

const goalsJs = readFileSync(join(root, 'www', 'goals.js'), 'utf8');
let collector;
let browser;
let bfcacheBrowser;
before(async () => {
  collector = await startCollector({ siteDir: join(root, 'www') });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: chromiumArgs });
  bfcacheBrowser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: chromiumArgs,
    ignoreDefaultArgs: ['--disable-back-forward-cache'],
  });
});
after(async () => {
  await browser?.close();
  await bfcacheBrowser?.close();
  await collector?.stop();
});

/**
 * A visitor: a browser context whose pages get the site's goals with `site` and consent `mode`
 * (the site owner's choice), recording every goalpost storage access and every page error.
 */
async function visitor(site, mode, { bfcache = false } = {}) {
  const context = await (bfcache ? bfcacheBrowser : browser).newContext();
  const errors = [];
  const consoleLines = [];
  const storage = [];
  await context.route('**/goals.js', (route) => route.fulfill({
    contentType: 'text/javascript',
    body: goalsJs.replace('"site": "demo"', `"site": "${site}"`).replace('"mode": "anonymous"', `"mode": "${mode}"`),
  }));
  // every storage access of every document and tab, collected here in the test
  await context.exposeBinding('recordStorage', (_source, op, key) => storage.push([op, key]));
  await context.addInitScript(() => {
    for (const area of [localStorage, sessionStorage]) {
      for (const op of ['getItem', 'setItem', 'removeItem']) {
        const f = area[op].bind(area);
        area[op] = (k, ...rest) => { window.recordStorage(op, k); return f(k, ...rest); };
      }
    }
  });
  const watch = (page) => {
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => consoleLines.push({ type: m.type(), text: m.text() }));
    return page;
  };
  const page = watch(await context.newPage());
  return { context, page, errors, console: consoleLines, storage, watch };
}

const ready = (page) => page.waitForFunction(() => window.goalpost && window.goalpost.gp);
const flush = (page) => page.evaluate(() => new Promise((r) => window.goalpost('flush', r)));

/** Navigates by clicking `selector` and waits for goalpost on the next document. */
async function go(page, selector, url) {
  await Promise.all([page.waitForURL(url), page.click(selector)]);
  await ready(page);
}

/**
 * The thank-you page shown again: reloaded, left with the back button (the checkout page, a new
 * document) and returned to with forward, then opened in a second tab of the visit.
 */
async function revisit(v, page) {
  await page.reload();
  await ready(page);
  await page.goBack();
  await ready(page);
  assert.match(page.url(), /checkout\.html$/);
  await page.goForward();
  await ready(page);
  const tab = v.watch(await v.context.newPage());
  await tab.goto(page.url());
  await ready(tab);
  await flush(tab);
  await tab.close();
}

/** /store/ → add the grinder → cart → checkout → pay: on the thank-you page, returns its order. */
async function order(page, { from = true } = {}) {
  if (from) {
    await page.goto(collector.base + '/store/');
    await ready(page);
  }
  await page.click('[data-slug=conical-grinder]');
  await go(page, '#to-cart', '**/store/cart.html');
  await go(page, '#to-checkout', '**/store/checkout.html');
  return pay(page);
}

/** Fills the checkout form (real values, which must never be sent) and pays. */
async function pay(page) {
  await page.fill('#name', 'Jane Secret');
  await page.fill('#email', 'jane.secret@example.com');
  await page.fill('#address', '7 Hidden Lane');
  await page.fill('#card', '4111 1111 1111 1111');
  await go(page, '#pay', '**/store/thanks.html?**');
  return new URL(page.url()).searchParams.get('order');
}

const events = (site) => collector.events(site);
const of = (rows, type, goal) => rows.filter((r) => r.type === type && (!goal || r.goal === goal));
const pageViews = (rows, path) => of(rows, 'page_view').filter((r) => new URL(r.url).pathname === path);

/**
 * Waits until the collector holds at least what `expected` counts for `site` (`views`: page
 * views; `goal`: conversions of it; `steps`: funnel steps), so that everything each document
 * sent has arrived; the tests then check the exact counts, repeats refuted.
 */
async function arrived(site, expected) {
  const enough = (rows) => Object.entries(expected).every(([what, n]) => {
    if (what === 'views') return of(rows, 'page_view').length >= n;
    if (what === 'steps') return of(rows, 'funnel_step').length >= n;
    return of(rows, 'conversion', what).length >= n;
  });
  return waitFor(`${JSON.stringify(expected)} at the collector (${site})`, async () => {
    const rows = await events(site);
    return enough(rows) && rows;
  }, { timeout: 15000 });
}

/** The goalpost keys a visitor's documents touched in storage, besides the opt-out check. */
const goalpostKeys = (storage) => storage.filter(([, k]) => k.startsWith('goalpost_') && k !== 'goalpost_optout');

test('implied: funnel once, each order once, checkout_started once per session, through reloads, back/forward, a second tab and a timeout', async () => {
  const site = 'mp-implied';
  const v = await visitor(site, 'implied');
  const { page, context } = v;
  await context.clock.install({ time: Date.now() });
  await context.clock.resume();
  const first = await order(page);
  await revisit(v, page);
  const second = await order(page);
  assert.notEqual(first, second);
  await flush(page);
  // documents: store, cart, checkout, thanks, reload, checkout, thanks, tab, store, cart, checkout, thanks
  let rows = await arrived(site, { views: 12, purchase: 2, checkout: 1, checkout_started: 1, add_to_cart: 2, steps: 6 });
  const purchases = of(rows, 'conversion', 'purchase');
  assert.deepEqual(purchases.map((p) => p.props.order_id), [first, second], 'each order once');
  assert.deepEqual(purchases.map((p) => [p.value, p.currency, p.kind]), [[149, 'EUR', 'macro'], [149, 'EUR', 'macro']]);
  assert.equal(of(rows, 'conversion', 'checkout_started').length, 1, 'once per session, not again after back');
  assert.equal(of(rows, 'conversion', 'checkout').length, 1, 'the funnel converts, once');
  assert.equal(of(rows, 'conversion', 'add_to_cart').length, 2);
  assert.deepEqual(of(rows, 'funnel_step').map((s) => s.step), [0, 1, 2, 0, 1, 2]);
  const sessions = new Set(rows.map((r) => r.session));
  assert.equal(sessions.size, 1, 'one session across every document and both tabs');
  assert.match([...sessions][0], HEX32);
  const [funnel] = of(rows, 'conversion', 'checkout');
  assert.equal(new URL(funnel.url).pathname, '/store/thanks.html');
  assert.equal(new URL(funnel.url).search, '', 'the order number in the query is not sent');
  // the collector's funnel report agrees with what the tracker sent
  const today = new Date().toISOString().slice(0, 10);
  const report = await (await fetch(`${collector.base}/api/report?site=${site}&from=${today}&to=${today}`)).json();
  const reported = report.funnels.find((f) => f.goal === 'checkout');
  assert.deepEqual(reported.steps.map((s) => s.sessions), [1, 1, 1]);

  // 31 minutes later (the browser's clock): a new session; the orders are still known
  await context.clock.fastForward('31:00');
  await page.reload(); // the second order's thank-you page again
  await ready(page);
  await page.goto(collector.base + '/store/checkout.html');
  await ready(page);
  await flush(page);
  rows = await arrived(site, { views: 14, checkout_started: 2 });
  assert.equal(of(rows, 'conversion', 'purchase').length, 2, 'an order is once per visitor, not per session');
  const started = of(rows, 'conversion', 'checkout_started');
  assert.equal(started.length, 2, 'a new session: checkout_started again');
  assert.notEqual(started[1].session, started[0].session);
  assert.equal(new Set(rows.map((r) => r.session)).size, 2);
  // the values in full, as typed and as a form encodes them: a fragment as short as "4111" occurs
  // in a random id or a timestamp now and then (it failed a CI rehearsal that way)
  const all = JSON.stringify(rows);
  for (const secret of ['Jane Secret', 'Jane+Secret', 'Jane%20Secret', '4111 1111 1111 1111', '4111+1111+1111+1111', '4111%201111%201111%201111', '4111111111111111']) {
    assert.ok(!all.includes(secret), `${secret} never left the browser`);
  }
  assert.deepEqual(v.errors, []);
  assert.ok(goalpostKeys(v.storage).some(([op, k]) => op === 'setItem' && k === 'goalpost_visit'));
  await context.close();
});

test('implied, back-forward cache: a restored page is a page view and takes in what later pages did', async () => {
  const site = 'mp-bfcache';
  const v = await visitor(site, 'implied', { bfcache: true });
  const { page, context } = v;
  await page.goto(collector.base + '/store/');
  await ready(page);
  await page.click('[data-slug=brew-scale]');
  await go(page, '#to-cart', '**/store/cart.html');
  await go(page, '#to-checkout', '**/store/checkout.html'); // checkout_started, funnel step 2
  // back to the cart: the document from the cache, whose memory predates the checkout page
  // (a page restored from the cache fires no load event: wait for the navigation to commit)
  await page.goBack({ waitUntil: 'commit' });
  await page.waitForURL('**/store/cart.html', { waitUntil: 'commit' });
  assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation')[0].type), 'navigate',
    'the original navigation entry: this document came back from the cache');
  // checkout again, a new document: it must find checkout_started and the funnel's progress,
  // which the restored cart page would have overwritten with what it knew
  await go(page, '#to-checkout', '**/store/checkout.html');
  await pay(page);
  await flush(page);
  // store, cart, checkout, cart (restored), checkout, thanks
  const rows = await arrived(site, { views: 6, checkout_started: 1, checkout: 1, purchase: 1 });
  assert.equal(pageViews(rows, '/store/cart.html').length, 2, 'the restore is a page view');
  assert.equal(of(rows, 'conversion', 'checkout_started').length, 1, 'not again on the second checkout page');
  assert.equal(of(rows, 'conversion', 'checkout').length, 1);
  assert.deepEqual(of(rows, 'funnel_step').map((s) => s.step), [0, 1, 2]);
  assert.equal(new Set(rows.map((r) => r.session)).size, 1);
  assert.deepEqual(v.errors, []);
  await context.close();
});

/**
 * Two tabs of one visit on the store, opened together: `meanwhile(a, b)` runs once both are up,
 * then A reports an order, and B, which loaded before it, reports the same order. B must have
 * heard of A's (the storage event): its page is told of no conversion and nothing is sent for it.
 * Returns what the collector stored.
 */
async function twoTabs(site, mode, meanwhile, order) {
  const v = await visitor(site, mode);
  const a = v.page;
  const b = v.watch(await v.context.newPage());
  for (const p of [a, b]) {
    await p.goto(collector.base + '/store/');
    await ready(p);
  }
  await meanwhile(a, b);
  await a.evaluate((id) => window.goalpost('track', 'purchase', { order_id: id, total: 10, currency: 'EUR' }), order);
  await waitFor("A's visit stored with the order's key", () => a.evaluate(() => {
    const v = JSON.parse(localStorage.getItem('goalpost_visit') || '{}');
    return (v.keys || []).length === 1;
  }));
  const announced = await b.evaluate((id) => new Promise((resolve) => {
    const seen = [];
    document.addEventListener('goalpost:conversion', (e) => seen.push(e.detail.goal));
    window.goalpost('track', 'purchase', { order_id: id, total: 10, currency: 'EUR' });
    window.goalpost('flush', () => resolve(seen));
  }), order);
  assert.deepEqual(announced, [], 'B merged what A stored');
  await flush(a);
  const rows = await arrived(site, { views: 2, purchase: 1 });
  assert.equal(of(rows, 'conversion', 'purchase').length, 1);
  assert.equal((await collector.stats(site)).duplicates, 0, 'B did not even send it');
  assert.deepEqual(v.errors, []);
  await v.context.close();
  return rows;
}

test('implied, two tabs open at once: what one tab counts, the other hears of (the storage event) and does not count again', async () => {
  const rows = await twoTabs('mp-tabs', 'implied', async () => {}, 'TAB-1');
  assert.equal(new Set(rows.map((r) => r.session)).size, 1, 'one session in both tabs');
});

test('anonymous, two tabs, storage granted in both after they opened: what one tab counts, the other hears of', async () => {
  // the visitor accepts in B, then in A (the banner on each page); B listens for another tab's
  // stored visit only from its grant on
  await twoTabs('mp-tabs-granted', 'anonymous', async (a, b) => {
    for (const p of [b, a]) await p.evaluate(() => window.goalpost('consent', 'granted'));
  }, 'TAB-2');
});

test('anonymous (the default): nothing stored; a reloaded, revisited or re-opened thank-you page is still one purchase', async () => {
  const site = 'mp-anon';
  const v = await visitor(site, 'anonymous');
  const { page, context } = v;
  const sentIds = []; // every event id the visitor's documents sent, repeats included
  context.on('request', (r) => r.url().endsWith('/collect') && sentIds.push(...JSON.parse(r.postData()).events.map((e) => e.id)));
  const first = await order(page);
  await revisit(v, page);
  const second = await order(page);
  await flush(page);
  // the thank-you page of the first order was shown four times: three repeats, dropped by the
  // collector because they carry the first one's event id
  await waitFor('the repeats at the collector', async () => (await collector.stats(site)).duplicates >= 3, { timeout: 15000 });
  const rows = await arrived(site, { views: 12, purchase: 2, checkout_started: 3 });
  const purchases = of(rows, 'conversion', 'purchase');
  assert.deepEqual(purchases.map((p) => p.props.order_id), [first, second]);
  assert.ok(purchases.every((p) => p.consent === 'anonymous' && p.session === null));
  // the first order's purchase: sent by each of the four documents that showed it, stored once
  // (the collector's duplicate count can be higher: a batch a beacon took is sent again by fetch
  // when its page is shown again, by design)
  assert.equal(sentIds.filter((id) => id === purchases[0].id).length, 4, 'sent by the four thank-you documents');
  assert.equal(rows.filter((r) => r.id === purchases[0].id).length, 1, 'stored once');
  // what cannot work without storage, reported honestly: no funnel across documents, and a
  // page-view goal converts on each checkout document
  assert.equal(of(rows, 'conversion', 'checkout').length, 0);
  assert.ok(of(rows, 'funnel_step').every((s) => s.step === 0));
  assert.equal(of(rows, 'conversion', 'checkout_started').length, 3, 'checkout, back to checkout, second checkout');
  assert.deepEqual(goalpostKeys(v.storage), [], 'no goalpost key read or written in any document');
  assert.deepEqual(v.errors, []);
  await context.close();
});

test('required: nothing sent or stored before a choice; after Accept the visit is kept and every rule holds', async () => {
  const site = 'mp-required';
  const v = await visitor(site, 'required');
  const { page, context } = v;
  const sent = [];
  context.on('request', (r) => r.url().endsWith('/collect') && sent.push(r.url()));
  await page.goto(collector.base + '/store/');
  await ready(page);
  await page.click('[data-slug=house-beans]'); // held, then lost with its page: no choice yet
  await go(page, '#to-cart', '**/store/cart.html');
  await flush(page);
  assert.deepEqual(sent, [], 'no request before a choice');
  assert.deepEqual(goalpostKeys(v.storage), [], 'no goalpost storage before a choice');
  await page.goto(collector.base + '/store/');
  await ready(page);
  await page.click('#consent [data-consent=granted]'); // the site remembers it for later pages
  await waitFor('the held events sent', async () => (await events(site)).length >= 1);
  const first = await order(page, { from: false });
  await page.reload();
  await ready(page);
  await flush(page);
  // /store/ (after Accept), cart, checkout, thanks, reload
  const rows = await arrived(site, { views: 5, purchase: 1, checkout: 1, add_to_cart: 1, steps: 3 });
  assert.equal(pageViews(rows, '/store/cart.html').length, 1, "the cart page seen before the choice was never sent");
  assert.equal(pageViews(rows, '/store/').length, 1);
  assert.deepEqual(of(rows, 'conversion', 'purchase').map((p) => p.props.order_id), [first]);
  assert.equal(of(rows, 'conversion', 'add_to_cart').length, 1, 'only the one after Accept');
  assert.equal(of(rows, 'conversion', 'checkout').length, 1, 'the funnel, across documents, after Accept');
  assert.deepEqual(of(rows, 'funnel_step').map((s) => s.step), [0, 1, 2]);
  assert.deepEqual([...new Set(rows.map((r) => r.consent))].sort(), ['granted', 'pending']);
  assert.equal(new Set(rows.map((r) => r.session)).size, 1);
  assert.ok(goalpostKeys(v.storage).some(([op, k]) => op === 'setItem' && k === 'goalpost_visit'));
  assert.deepEqual(v.errors, []);
  await context.close();
});

test('a purchase without its order_id counts every time, and debug mode says why', async () => {
  const site = 'mp-nokey';
  const v = await visitor(site, 'anonymous');
  const { page, context } = v;
  await context.route('**/goals.js', (route) => route.fulfill({
    contentType: 'text/javascript',
    body: goalsJs.replace('"site": "demo"', `"site": "${site}"`).replace('"consent":', '"debug": true, "consent":'),
  }));
  await page.goto(collector.base + '/store/thanks.html?total=20'); // no order number
  await ready(page);
  await page.evaluate(() => {
    window.goalpost('track', 'purchase', { total: 20, currency: 'EUR' });
    window.goalpost('track', 'purchase', { total: 20, currency: 'EUR', order_id: '' });
  });
  await flush(page);
  const rows = await waitFor('two purchases', async () => {
    const r = await events(site);
    return of(r, 'conversion', 'purchase').length === 2 && r;
  });
  const [a, b] = of(rows, 'conversion', 'purchase');
  assert.notEqual(a.id, b.id, 'fresh ids: both stored');
  const why = 'goalpost: goal purchase has no value for its once.per key: counted as every';
  assert.equal(v.console.filter((m) => m.text === why).length, 2);
  assert.deepEqual(goalpostMessages(v, 'error'), []);
  await context.close();
});
