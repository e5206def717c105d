// The demo shop: real pages, real forms, the single-page shop section, the consent banner; the
// collector stores exactly the goals the site's config describes, field by field, and no form
// value ever leaves the browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { HEX32, goalpostMessages, openPage, root, useCollectorAndBrowser, waitFor } from './harness.mjs';

const env = useCollectorAndBrowser({ siteDir: join(root, 'www') });

const ready = (page) => page.waitForFunction(() => window.goalpost && window.goalpost.gp);
const flush = (page) => page.evaluate(() => new Promise((r) => window.goalpost('flush', r)));

test('a campaign visitor buys through the single-page shop: page views, cart, purchase value, funnel', async () => {
  const { page, context, log } = await openPage(env.browser);
  const t0 = Date.now();
  await page.goto(env.collector.base + '/shop/p/brew-scale?utm_source=google&utm_medium=cpc&utm_campaign=sale&email=jane@example.com');
  await ready(page);
  await page.click('[data-action=add-to-cart]');
  await page.click('a[href="/shop/cart"].button');
  await page.click('#to-checkout');
  await page.fill('#checkout [name=name]', 'Jane Secret');
  await page.fill('#checkout [name=email]', 'jane.secret@example.com');
  await page.fill('#checkout [name=address]', '7 Hidden Lane');
  await page.fill('#checkout [name=card]', '4111 1111 1111 1111');
  await page.click('#pay');
  await page.waitForURL('**/shop/thanks');
  await flush(page);
  const rows = await env.collector.events('demo');
  const base = env.collector.base;
  assert.deepEqual(rows.filter((r) => r.type === 'page_view').map((r) => r.url), [
    base + '/shop/p/brew-scale?utm_source=google&utm_medium=cpc&utm_campaign=sale',
    base + '/shop/cart', base + '/shop/checkout', base + '/shop/thanks',
  ], 'one page view per route, the query stripped to the allowlist');
  const conv = (goal) => rows.filter((r) => r.type === 'conversion' && r.goal === goal);
  const [add] = conv('add_to_cart');
  assert.deepEqual([add.kind, add.value, add.currency], ['micro', 39, 'EUR']);
  assert.equal(conv('checkout_started').length, 1);
  const [buy] = conv('purchase');
  assert.deepEqual([buy.kind, buy.value, buy.currency, buy.category], ['macro', 39, 'EUR', 'sales']);
  const { order_id: order, ...props } = buy.props;
  assert.deepEqual(props, { total: 39, currency: 'EUR', items: 1 });
  assert.match(order, /^BL-[0-9A-Z]+$/, 'the order number, the purchase goal\'s once.per key');
  assert.match(buy.id, HEX32);
  assert.ok(buy.ts >= t0);
  assert.equal(conv('checkout').length, 1, 'the funnel completed');
  assert.deepEqual(rows.filter((r) => r.type === 'funnel_step').map((r) => [r.goal, r.step, r.steps]),
    [['checkout', 0, 3], ['checkout', 1, 3], ['checkout', 2, 3]], 'steps are 0-based on the wire');
  assert.equal(buy.consent, 'anonymous', 'no banner answer: anonymous');
  assert.equal(buy.session, null);
  const all = JSON.stringify(rows);
  // (the card number in full: a short fragment could occur in a random id)
  for (const secret of ['jane@example.com', 'Jane Secret', 'jane.secret', 'Hidden Lane', '4111 1111 1111 1111', '4111111111111111']) {
    assert.ok(!all.includes(secret), `${secret} never left the browser`);
  }
  // a reload of a shop route is served by the shop's page (the collector's SPA fallback)
  await page.goto(base + '/shop/cart');
  await ready(page);
  assert.match(await page.textContent('h1'), /Your cart/);
  assert.deepEqual(log.errors, []);
  assert.deepEqual(goalpostMessages(log, 'error'), []);
  await context.close();
});

test('newsletter, price list, the booking form (a lead), a phone link; after Accept with session and campaign', async () => {
  const { page, context } = await openPage(env.browser);
  await page.goto(env.collector.base + '/?utm_source=newsletter&utm_medium=email&utm_campaign=nov');
  await ready(page);
  await page.click('#consent [data-consent=granted]');
  await page.fill('#newsletter input', 'reader@example.com');
  await page.click('#newsletter button');
  assert.match(await page.textContent('#newsletter-done'), /Thanks/, 'the page still works');
  await page.click('#price-list');
  await Promise.all([page.waitForURL('**/contact.html'), page.click('nav a[href="/contact.html"]')]);
  await ready(page);
  await page.fill('#booking [name=name]', 'Bo Oker');
  await page.fill('#booking [name=email]', 'bo@example.com');
  await page.fill('#booking [name=date]', '2026-12-24');
  await page.click('#booking button');
  assert.match(await page.textContent('#booking-done'), /Thanks/);
  // last: after a tel: link, headless Chromium stops submitting forms on the next page
  await page.click('a[href^="tel:"]');
  await flush(page);
  const rows = await env.collector.events('demo');
  const mine = rows.filter((r) => r.consent === 'granted');
  assert.deepEqual(mine.filter((r) => r.type === 'conversion').map((r) => [r.goal, r.kind]), [
    ['newsletter', 'micro'], ['price_list', 'micro'], ['booking', 'macro'], ['contact_link', 'micro'],
  ]);
  const [lead] = mine.filter((r) => r.goal === 'booking');
  assert.match(lead.session, HEX32, 'after Accept: a session');
  assert.deepEqual([lead.first.channel, lead.first.campaign], ['email', 'nov'], 'and the campaign that brought the visitor, across pages');
  assert.ok(!JSON.stringify(rows).includes('Bo Oker') && !JSON.stringify(rows).includes('reader@'));
  await context.close();
});

test('Decline in the banner: nothing more is sent from this visitor', async () => {
  const { page, context } = await openPage(env.browser);
  const sent = [];
  page.on('request', (r) => r.url().endsWith('/collect') && sent.push(r.postData()));
  await page.goto(env.collector.base + '/blog/?utm_campaign=declined-visitor');
  await ready(page);
  await page.click('#consent [data-consent=denied]');
  await page.evaluate(() => scrollTo(0, document.documentElement.scrollHeight));
  await Promise.all([page.waitForURL('**/contact.html'), page.click('#article-end a[href="/contact.html"]')]);
  await ready(page);
  await flush(page);
  assert.deepEqual(sent, [], 'not even the page views');
  assert.equal((await env.collector.events('demo')).filter((r) => r.url.includes('declined-visitor')).length, 0);
  await context.close();
});
