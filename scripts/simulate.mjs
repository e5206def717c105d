// The simulator: headless Chromium visitors on the demo site, through the real tracker into
// the real collector, so that the dashboard shows numbers produced end to end.
//
//   npm run simulate -- [--visitors 40] [--base http://127.0.0.1:8080] [--seed 7] [--concurrency 4]
//
// Each visitor arrives from a campaign (UTM-tagged e-mail, paid search with a click id,
// social), an organic search or a referring site, or directly; answers the consent banner (or
// not); and follows a journey with realistic branching: browse, add to cart, abandon or buy, in
// the single-page shop (/shop/) or the multi-page store (/store/, where some buyers reload the
// thank-you page or come back to it); read the journal, download the price list, watch the
// video, subscribe; book a tasting.
import { pathToFileURL } from 'node:url';
import { prng, arg } from './lib/random.mjs';
import { launch } from '../tests/e2e/harness.mjs';


/** Where visitors come from: [weight, query string, referrer, landing path]. */
const SOURCES = [
  [4, '', 'https://www.google.com/', '/'],
  [2, '', 'https://duckduckgo.com/', '/blog/'],
  [3, '?utm_source=newsletter&utm_medium=email&utm_campaign=november', '', '/shop/'],
  [3, '?utm_source=google&utm_medium=cpc&utm_campaign=grinder-sale&gclid=sim', '', '/shop/p/conical-grinder'],
  [2, '?utm_source=instagram&utm_medium=social&utm_campaign=latte-art', '', '/'],
  [1, '', 'https://coffeeforum.example/t/best-grinder', '/shop/p/conical-grinder'],
  [3, '?utm_source=newsletter&utm_medium=email&utm_campaign=november', '', '/store/'],
  [2, '', 'https://www.google.com/', '/store/'],
  [3, '', '', '/'],
];

const ready = (page) => page.waitForFunction(() => window.goalpost && window.goalpost.gp);

/** A link to another document of the store, then goalpost ready there. */
async function follow(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
  await ready(page);
}

async function spa(page, selector) {
  await page.click(selector);
  await page.waitForLoadState('domcontentloaded');
}

/** One visitor's journey. Returns what it did (for the log). */
async function visit(browser, base, rng) {
  const context = await browser.newContext();
  // links that leave the demo (WhatsApp, the roastery) land on a stub instead of the internet
  await context.route((url) => !url.href.startsWith(base), (route) => route.fulfill({ contentType: 'text/html', body: '<title>elsewhere</title>left the demo' }));
  const page = await context.newPage();
  const did = [];
  const [, query, referer, landing] = rng.pick(SOURCES.map((s) => [s[0], s]));
  await page.goto(base + landing + query, referer ? { referer } : {});
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  did.push('land ' + landing + (query ? ' (campaign)' : referer ? ' (referred)' : ' (direct)'));

  const answer = rng.pick([[6, "granted"], [1, "denied"], [3, null]]);
  if (answer) {
    await page.click(`#consent [data-consent=${answer}]`);
    did.push('consent ' + answer);
  }
  const journey = landing.startsWith('/store') ? rng.pick([[8, 'store'], [1, 'read']])
    : landing.startsWith('/shop') ? rng.pick([[8, 'shop'], [1, 'read']])
    : landing.startsWith('/blog') ? rng.pick([[6, 'read'], [2, 'shop'], [2, 'lead']])
      : rng.pick([[3, 'shop'], [2, 'store'], [2, 'read'], [2, 'lead'], [3, 'home']]);
  did.push(journey);

  if (journey === 'home') {
    if (rng.chance(0.35)) { await page.fill('#newsletter input', 'someone@example.com'); await page.click('#newsletter button'); did.push('newsletter'); }
    if (rng.chance(0.3)) {
      await page.evaluate(() => new Promise((resolve) => {
        const v = document.getElementById('grinder-video');
        v.addEventListener('ended', resolve, { once: true });
        v.playbackRate = 4;
        v.play().catch(resolve);
      }));
      did.push('video');
    }
    if (rng.chance(0.3)) { await page.click('#price-list'); did.push('price list'); }
    if (rng.chance(0.25)) { await page.click('a[href^="tel:"]'); did.push('tel'); }
    if (rng.chance(0.2)) { await page.click('a[href^="https://wa.me"]'); did.push('whatsapp'); }
    else if (rng.chance(0.15)) { await page.click('a[href^="https://roastery"]'); did.push('outbound'); }
  }
  if (journey === 'read') {
    if (!page.url().includes('/blog/')) await page.goto(base + '/blog/');
    await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
    const depth = rng.pick([[3, 0.3], [2, 0.6], [5, 1]]);
    await page.evaluate((d) => scrollTo(0, (document.documentElement.scrollHeight - innerHeight) * d), depth);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    did.push('read ' + Math.round(depth * 100) + '%');
    if (depth === 1 && rng.chance(0.3)) {
      await Promise.all([page.waitForURL('**/contact.html'), page.click('#article-end a[href="/contact.html"]')]);
      did.push('to tastings');
    }
  }
  if (journey === 'lead' || page.url().endsWith('/contact.html')) {
    if (!page.url().endsWith('/contact.html')) await page.goto(base + '/contact.html');
    await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
    if (rng.chance(0.5)) {
      await page.fill('#booking [name=name]', 'A. Visitor');
      await page.fill('#booking [name=email]', 'visitor@example.com');
      await page.fill('#booking [name=date]', '2026-12-12');
      await page.click('#booking button');
      did.push('booked');
    }
  }
  if (journey === 'shop') {
    if (!page.url().includes('/shop/')) { await page.goto(base + '/shop/'); await page.waitForFunction(() => window.goalpost && window.goalpost.gp); }
    if (!/\/shop\/p\//.test(page.url())) {
      const slug = rng.pick([[3, 'conical-grinder'], [2, 'gooseneck-kettle'], [2, 'brew-scale'], [3, 'house-beans']]);
      await spa(page, `a[href="/shop/p/${slug}"]`);
    }
    did.push('product');
    if (rng.chance(0.6)) {
      await page.click('[data-action=add-to-cart]');
      did.push('add to cart');
      if (rng.chance(0.75)) {
        await spa(page, 'a[href="/shop/cart"].button');
        if (rng.chance(0.7)) {
          await spa(page, '#to-checkout');
          did.push('checkout');
          if (rng.chance(0.65)) {
            await page.fill('#checkout [name=name]', 'A. Buyer');
            await page.fill('#checkout [name=email]', 'buyer@example.com');
            await page.fill('#checkout [name=address]', '1 Coffee Street');
            await page.fill('#checkout [name=card]', '4242 4242 4242 4242');
            await page.click('#pay');
            await page.waitForURL('**/shop/thanks');
            did.push('purchase');
          }
        }
      }
    }
  }
  if (journey === 'store') {
    if (!page.url().includes('/store/')) { await page.goto(base + '/store/'); await ready(page); }
    const slug = rng.pick([[3, 'conical-grinder'], [2, 'gooseneck-kettle'], [2, 'brew-scale'], [3, 'house-beans']]);
    if (rng.chance(0.6)) {
      await page.click(`[data-slug=${slug}]`);
      did.push('add to cart');
      if (rng.chance(0.75)) {
        await follow(page, '#to-cart');
        if (rng.chance(0.7)) {
          await follow(page, '#to-checkout');
          did.push('checkout');
          if (rng.chance(0.65)) {
            await page.fill('#name', 'A. Buyer');
            await page.fill('#email', 'buyer@example.com');
            await page.fill('#address', '1 Coffee Street');
            await page.fill('#card', '4242 4242 4242 4242');
            await follow(page, '#pay');
            did.push('purchase');
            // the thank-you page shown again: each time it reports the order, counted once
            if (rng.chance(0.3)) { await page.reload(); await ready(page); did.push('reload'); }
            if (rng.chance(0.2)) { await page.goBack(); await ready(page); await page.goForward(); await ready(page); did.push('back and forward'); }
          }
        }
      }
    }
  }
  // the visitor leaves: what goalpost queued goes out (as it would by beacon on close)
  // (a visitor who followed a link off the site already sent it on pagehide)
  if (page.url().startsWith(base)) await page.evaluate(() => new Promise((r) => window.goalpost('flush', r)));
  await context.close();
  return did;
}

/** Runs `visitors` journeys against the demo at `base`. */
export async function simulate({ base = 'http://127.0.0.1:8080', visitors = 40, seed = 7, concurrency = 4, log = () => {} } = {}) {
  const browser = await launch();
  let next = 0;
  const journeys = [];
  async function worker() {
    while (next < visitors) {
      const i = next++;
      // each visitor its own random stream: the same seed gives the same journeys at any concurrency
      const did = await visit(browser, base, prng(seed * 7919 + i));
      journeys.push(did);
      log(`visitor ${i + 1}: ${did.join(' → ')}`);
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    await browser.close();
  }
  return journeys;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const base = arg('base', process.env.GOALPOST_BASE || 'http://127.0.0.1:8080');
  const visitors = Number(arg('visitors', 40));
  try {
    const res = await fetch(base + '/health');
    if (!res.ok) throw new Error('status ' + res.status);
  } catch (err) {
    console.error(`simulate: no collector at ${base} (${err.message}); start one with npm start, or pass --base`);
    process.exit(1);
  }
  await simulate({ base, visitors, seed: Number(arg('seed', 7)), concurrency: Number(arg('concurrency', 4)), log: console.log });
  console.log(`simulate: ${visitors} visitors done; see ${base}/dashboard?site=demo`);
}
