// Preview mode on the demo store (separate pages): `?goalpost_preview=1` loads the panel module
// (and only then), which outlines the elements each goal watches, lists the page view, the
// conversion and the funnel step as they happen, shows the consent state as it changes, and
// explains an interaction that matched nothing. It sends nothing: the collector stores exactly
// what the same visit stores without preview. A broken config shows its error instead.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launch, openPage, root, startCollector, waitFor } from './harness.mjs';

let browser;
let pages; // tests/pages
before(async () => {
  browser = await launch();
  pages = await startCollector();
});
after(async () => {
  await browser?.close();
  await pages?.stop();
});

/** The panel's text, its outlines (label → count) and its log lines (oldest first). */
const panel = (page) => page.evaluate(() => {
  const host = document.querySelector('goalpost-preview');
  if (!host) return null;
  const r = host.shadowRoot;
  const boxes = {};
  for (const b of r.querySelectorAll('.box')) boxes[b.dataset.goals] = (boxes[b.dataset.goals] || 0) + 1;
  return {
    consent: r.querySelector('.consent').innerText.replace(/\s+/g, ' ').trim(),
    goals: [...r.querySelectorAll('.goals li')].map((li) => li.innerText.replace(/\s+/g, ' ').trim()),
    // (scroll depth lines come whenever the page settles after a scroll: left out)
    log: [...r.querySelectorAll('.log li')].map((li) => li.innerText.replace(/^\d\d:\d\d:\d\d\s*/, '').replace(/\s+/g, ' ').trim()).reverse()
      .filter((l) => !l.startsWith('scroll ')),
    errors: [...r.querySelectorAll('.error')].map((e) => e.innerText.trim()),
    boxes,
  };
});
const until = (page, what, fn) => waitFor(what, async () => { const p = await panel(page); return p && fn(p) && p; });

/** One visit of the store's product page: a page view, an add to cart, a click on the heading. */
async function visit(collector, query) {
  const { page, context, log } = await openPage(browser);
  const requests = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  await page.goto(collector.base + '/store/index.html' + query);
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  await page.waitForSelector('[data-action=add-to-cart]');
  return { page, context, log, requests };
}

const stored = async (collector) => (await collector.events('demo')).map((r) => [r.type, r.goal || r.funnel || null, r.step ?? null]);

test('the store in preview: outlines, the consent state, what happened and why; nothing extra sent', async () => {
  const withPreview = await startCollector({ siteDir: join(root, 'www') });
  const without = await startCollector({ siteDir: join(root, 'www') });
  try {
    const v = await visit(withPreview, '?goalpost_preview=1');
    const buttons = await v.page.locator('[data-action=add-to-cart]').count();
    assert.ok(buttons >= 3);
    let p = await until(v.page, 'the panel with its outlines, the consent state and the page view',
      (p) => p.boxes.add_to_cart === buttons && p.log.length >= 1 && p.consent.startsWith('mode'));
    assert.match(p.consent, /mode anonymous .*analytics not chosen .*collecting: without identifiers browser storage: not used dataLayer: not forwarded/);
    assert.ok(p.goals.includes(`add_to_cart click — ${buttons} elements watched`), p.goals.join('\n'));
    assert.ok(p.goals.includes('booking submit · macro — no element on this page'), p.goals.join('\n'));
    assert.equal(p.log[0], 'page view /store/index.html');
    // (the page view matched no page-view goal: the closest says why)
    assert.equal(p.log[1], 'the page view matched no goal — closest: checkout_started: its condition on path failed');

    await v.page.locator('[data-action=add-to-cart]').first().click();
    p = await until(v.page, 'the conversion and the funnel step', (p) => p.log.some((l) => l.startsWith('funnel')));
    assert.deepEqual(p.log.slice(2), ['conversion add_to_cart from click on button "Add to cart"', 'funnel checkout: step 1 of 3']);
    assert.ok(p.goals.includes(`add_to_cart click — ${buttons} elements watched · converted ×1`));

    await v.page.click('h1');
    p = await until(v.page, 'the click that matched nothing', (p) => p.log.length >= 5);
    assert.equal(p.log[4], `click on h1 "The gear" matched no goal — closest: add_to_cart: its selector [data-action=add-to-cart] matches ${buttons} other elements, not this one`);

    // the panel's own buttons are not the page's: folding and unfolding it converts nothing
    const host = v.page.locator('goalpost-preview');
    await host.locator('button.min').click();
    await host.locator('button.min').click();
    // the consent choice, as the visitor makes it in the site's banner: the next line is its
    // click, not the panel's two
    await v.page.click('#consent [data-consent=granted]');
    p = await until(v.page, 'the new consent state', (p) => /analytics granted/.test(p.consent) && p.log.length >= 6);
    assert.match(p.consent, /mode anonymous analytics granted ads granted storage granted collecting: with identifiers browser storage: allowed dataLayer: forwarded/);
    assert.match(p.log[5], /^click on button\.primary "Accept" matched no goal/);
    assert.equal(p.log.length, 6, p.log.join(' | '));
    await v.page.evaluate(() => new Promise((r) => window.goalpost('flush', r)));

    // the same visit without preview
    const w = await visit(without, '');
    await w.page.locator('[data-action=add-to-cart]').first().click();
    await w.page.click('h1');
    await w.page.click('#consent [data-consent=granted]');
    await w.page.evaluate(() => new Promise((r) => window.goalpost('flush', r)));
    assert.equal(await w.page.locator('goalpost-preview').count(), 0);
    assert.ok(!w.requests.includes('/goalpost/preview.mjs'), 'no panel without preview');
    assert.ok(v.requests.includes('/goalpost/preview.mjs'));

    const a = await stored(withPreview);
    assert.deepEqual(a, await stored(without), 'preview sends what the visit sends, nothing more');
    assert.deepEqual(a.map((r) => r[0]).sort(), ['conversion', 'funnel_step', 'page_view']);
    // and requested nothing else: the same paths, plus the panel module
    const paths = (r) => [...new Set(r)].sort();
    assert.deepEqual(paths(v.requests).filter((x) => x !== '/goalpost/preview.mjs'), paths(w.requests));
    assert.deepEqual(v.log.errors, []);

    mkdirSync(join(root, 'target'), { recursive: true });
    await v.page.screenshot({ path: join(root, 'target', 'preview.png') });
    await v.context.close();
    await w.context.close();
  } finally {
    await withPreview.stop();
    await without.stop();
  }
});

test('a broken config: the panel shows the error instead of conversions', async () => {
  const { page, context } = await openPage(browser);
  await page.goto(pages.base + '/bad-top.html?goalpost_preview=1');
  let p = await until(page, 'the error', (p) => p.errors.length > 0);
  assert.deepEqual(p.errors, ['invalid config, tracking is off.\ncollector: is required']);
  assert.equal(p.consent, 'the tracker is not running');
  await page.click('#own');
  p = await panel(page);
  assert.deepEqual(p.log, []);
  await context.close();

  const bad = await openPage(browser);
  await bad.page.goto(pages.base + '/check-shop.html?goalpost_preview=1');
  p = await until(bad.page, 'the skipped goals', (p) => p.errors.length > 0);
  assert.deepEqual(p.errors[0].split('\n').slice(0, 3), [
    'config problems; these goals are skipped, the rest work.',
    'goals[0].on: unknown value "clik" — did you mean "click"?',
    'goals[2].match.selektor: unknown key — did you mean "selector"?',
  ]);
  assert.equal(p.errors[0].split('\n').length, 8, 'the sentence and the seven problems');
  await bad.context.close();

  const json = await openPage(browser);
  await json.page.goto(pages.base + '/bad-json.html?goalpost_preview=1');
  p = await until(json.page, 'the JSON error', (p) => p.errors.length > 0);
  assert.match(p.errors[0], /^the config is not valid JSON \(.+\); tracking is off\.$/);
  await json.context.close();
});

test("goalpost('preview') opens the panel on a running page, and the site's CSS does not reach it", async () => {
  const { page, context, log } = await openPage(browser);
  await page.goto(pages.base + '/check-shop.html');
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  assert.equal(await page.locator('goalpost-preview').count(), 0);
  await page.addStyleTag({ content: 'html * { color: red !important; font-size: 40px !important; display: block } li { display: none !important }' });
  await page.evaluate(() => window.goalpost('preview'));
  await until(page, 'the panel', (p) => p.goals.length > 0);
  const style = await page.evaluate(() => {
    const li = document.querySelector('goalpost-preview').shadowRoot.querySelector('.goals li');
    const s = getComputedStyle(li);
    return [s.color, s.fontSize, s.display];
  });
  assert.deepEqual(style, ['rgb(232, 237, 242)', '12px', 'list-item']);
  // a click on the buy button: its goal was skipped for its trigger typo, so nothing matches
  await page.click('#own');
  const p = await until(page, 'the click explained', (p) => p.log.length > 0);
  assert.equal(p.log[0], 'click on button#own "own" matched no goal: no click goal\'s element is on this page');
  assert.deepEqual(log.errors, []);
  await context.close();
});

test('in the single-page shop, a route change inside a click is its own page view in the panel', async () => {
  const shop = await startCollector({ siteDir: join(root, 'www') });
  try {
    const { page, context, log } = await openPage(browser);
    await page.goto(shop.base + '/shop/?goalpost_preview=1');
    await until(page, 'the first page view', (p) => p.log.length >= 2);
    await page.click('nav a[data-route][href="/shop/"]');
    const p = await until(page, 'the click and the route change', (p) => p.log.length >= 5);
    assert.deepEqual(p.log.slice(0, 5), [
      'page view /shop/',
      'the page view matched no goal — closest: checkout_started: its condition on path failed',
      // (the link is a candidate for the link and download goals only)
      'click on a "Shop" matched no goal — closest: price_list: it counts downloads; this was not one',
      'page view /shop/',
      'the page view matched no goal — closest: checkout_started: its condition on path failed',
    ]);
    assert.deepEqual(log.errors, []);
    await context.close();
  } finally {
    await shop.stop();
  }
});
