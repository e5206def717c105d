// The demo site: a visitor clicks "Create an account"; the collector stores exactly the page
// view and the conversion, field by field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { HEX32, goalpostMessages, openPage, root, useCollectorAndBrowser, waitFor } from './harness.mjs';

const env = useCollectorAndBrowser({ siteDir: join(root, 'www') });

test('clicking the demo signup button stores one page view and one conversion', async () => {
  const { page, context, log } = await openPage(env.browser);
  const t0 = Date.now();
  await page.goto(env.collector.base + '/?utm_source=newsletter&email=jane@example.com&utm_campaign=nov#pricing');
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  const [req] = await Promise.all([
    page.waitForRequest((r) => r.url().endsWith('/collect') && r.method() === 'POST'),
    page.click('#signup span'), // a click on a child of the goal's element
  ]);
  // the beacon is a CORS-simple request: text/plain, no cookies
  assert.match(req.headers()['content-type'], /^text\/plain;charset=UTF-8$/i);
  const rows = await waitFor('two stored events', async () => {
    const r = await env.collector.events('demo');
    return r.length >= 2 && r;
  });
  // Drain anything else goalpost might still send, then check nothing else arrived.
  await page.evaluate(() => window.goalpost.gp.flush());
  const all = await env.collector.events();
  assert.equal(all.length, 2, 'exactly two events stored: ' + JSON.stringify(all));

  const [pv, conv] = rows;
  const url = env.collector.base + '/?utm_source=newsletter&utm_campaign=nov';
  assert.equal(pv.type, 'page_view');
  assert.equal(pv.site, 'demo');
  assert.match(pv.id, HEX32);
  assert.equal(pv.page, pv.id);
  assert.equal(pv.url, url, 'query stripped to the allowlist, fragment dropped');
  assert.equal(pv.title, 'Brewline — coffee gear for home baristas');
  assert.equal(pv.referrer, '');
  assert.equal(pv.goal, null);
  assert.ok(pv.ts >= t0 && pv.ts <= Date.now(), 'timestamp from this run');

  assert.equal(conv.type, 'conversion');
  assert.equal(conv.goal, 'signup');
  assert.equal(conv.kind, 'macro');
  assert.equal(conv.page, pv.id, 'the conversion belongs to the page view');
  assert.equal(conv.url, url);
  assert.equal(conv.title, null);
  assert.equal(conv.props, null);
  assert.match(conv.id, HEX32);
  assert.notEqual(conv.id, pv.id);
  assert.ok(conv.ts >= pv.ts);
  assert.equal(conv.batch, pv.batch, 'one batch: the macro conversion flushed the queued page view');
  assert.ok(!JSON.stringify(all).includes('jane@example.com'), 'no e-mail address left the browser');

  // the page's own behaviour is intact
  assert.match(await page.textContent('#status'), /Thanks!/);
  assert.deepEqual(log.errors, []);
  assert.deepEqual(goalpostMessages(log, 'error'), []);
  await context.close();
});

test('the trial button tracks a custom event through the command queue', async () => {
  const { page, context } = await openPage(env.browser);
  await page.goto(env.collector.base + '/');
  await page.click('#trial');
  const conv = await waitFor('trial conversion', async () => (await env.collector.events('demo')).find((e) => e.goal === 'trial_started'));
  assert.equal(conv.kind, 'macro');
  assert.deepEqual(conv.props, { plan: 'pro' });
  await context.close();
});
