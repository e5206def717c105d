// The goal language in a real page: element conditions and attribute values, custom props,
// link classes, page-view conditions; callbacks, the DOM event and dataLayer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goalpostMessages, openPage, useCollectorAndBrowser, waitFor } from './harness.mjs';

const env = useCollectorAndBrowser();

test('goals match locally; values, callbacks and dataLayer carry what the collector stores', async () => {
  const { page, context, log } = await openPage(env.browser);
  await page.goto(env.collector.base + '/goals.html?utm_source=mail&email=x@y.z');
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  await page.click('text=Details'); // a .plan without the text: no conversion
  await page.click('text=Choose'); // a child of the .plan button that says "Choose"
  await page.click('#internal'); // internal link: nothing
  await page.click('#partner');
  await page.click('#tel');
  await page.evaluate(() => window.goalpost('track', 'purchase', { total: 59.9, items: 2 }));
  await page.evaluate(() => window.goalpost('track', 'purchase', { total: 0 })); // fails the gt 0 condition
  await page.evaluate(() => window.goalpost.gp.flush());
  const rows = await env.collector.events('goals');
  const conv = rows.filter((r) => r.type === 'conversion');
  assert.deepEqual(conv.map((r) => r.goal), ['landing', 'plan', 'partner', 'call', 'purchase']);
  const by = Object.fromEntries(conv.map((r) => [r.goal, r]));
  assert.equal(by.plan.value, 19.9);
  assert.equal(by.plan.currency, 'EUR');
  assert.equal(by.plan.kind, 'micro');
  assert.equal(by.purchase.value, 59.9);
  assert.equal(by.purchase.currency, 'EUR');
  assert.equal(by.purchase.category, 'sales');
  assert.equal(by.purchase.kind, 'macro');
  assert.deepEqual(by.purchase.props, { total: 59.9, items: 2 });
  assert.equal(by.landing.value, null);
  assert.equal(by.landing.url, env.collector.base + '/goals.html?utm_source=mail', 'matched on the full URL, sent stripped');
  assert.equal(rows.filter((r) => r.type === 'page_view').length, 1);

  const seen = await page.evaluate(() => window.seen);
  assert.deepEqual(seen.map((c) => c.goal), ['landing', 'plan', 'partner', 'call', 'purchase']);
  assert.deepEqual(seen[1], { goal: 'plan', kind: 'micro', label: 'Chose a plan', category: null, value: 19.9, currency: 'EUR' });
  const layer = await page.evaluate(() => window.dataLayer);
  assert.equal(layer.length, 5);
  assert.deepEqual(layer[4], { goal: 'purchase', kind: 'macro', label: null, category: 'sales', value: 59.9, currency: 'EUR', event: 'goalpost_conversion' });
  assert.deepEqual(log.errors, []);
  assert.deepEqual(goalpostMessages(log, 'error'), []);
  await context.close();
});

test('an invalid regular expression skips its goal with the path; the rest work', async () => {
  const { page, context, log } = await openPage(env.browser);
  await page.addInitScript(() => {
    window.goalpostConfig = {
      collector: '/collect', site: 'badregex',
      goals: [
        { id: 'bad', on: 'pageview', match: { path: { matches: '([unclosed' } } },
        { id: 'ok', on: 'pageview', match: { path: { matches: '^/' } } },
      ],
    };
  });
  await page.goto(env.collector.base + '/window-config.html');
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  await page.evaluate(() => window.goalpost.gp.flush());
  // the words come from the companion, loaded for this problem: they arrive after the start
  await waitFor('the problem logged', () => goalpostMessages(log, 'error').length > 0);
  const msgs = goalpostMessages(log, 'error');
  assert.equal(msgs.length, 1);
  // at the pattern's own path
  assert.match(msgs[0].text, /goals\[0\]\.match\.path\.matches: has an invalid regular expression: \(\[unclosed/);
  await context.close();
});
