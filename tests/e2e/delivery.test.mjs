// Delivery under faults: the real collector fails on demand and the browser goes offline.
// In every case the collector ends with every accepted event exactly once, and deliberate
// drops are counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, useCollectorAndBrowser, waitFor } from './harness.mjs';

const env = useCollectorAndBrowser({ faults: true });

/** A page whose config is `goals` for `site`, fast retries; records /collect requests. */
async function open(site) {
  const o = await openPage(env.browser);
  o.requests = [];
  o.page.on('request', (r) => r.url().endsWith('/collect') && o.requests.push({ at: Date.now(), r }));
  await o.page.addInitScript((site) => {
    window.goalpostConfig = {
      collector: '/collect', site, retry: { baseMs: 100, maxMs: 400 },
      goals: [{ id: 'buy', kind: 'macro', on: 'custom' }],
    };
  }, site);
  await o.page.goto(env.collector.base + '/window-config.html');
  await o.page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  return o;
}

const track = (page, props) => page.evaluate((p) => window.goalpost('track', 'buy', p), props);

test('two 500s, then the batch is delivered once', async () => {
  await env.collector.fault(500, 2);
  const { page, context, requests } = await open('f500');
  await track(page, { n: 1 });
  const rows = await waitFor('delivery after 500s', async () => {
    const r = await env.collector.events('f500');
    return r.length === 2 && r;
  });
  assert.deepEqual(rows.map((r) => r.type), ['page_view', 'conversion']);
  // Playwright reports requests asynchronously: wait for the third, then check there is no fourth
  await waitFor('three requests', () => requests.length >= 3);
  await page.evaluate(() => window.goalpost.gp.flush());
  assert.equal(requests.length, 3, 'two failures and one success');
  assert.equal((await env.collector.batches('f500')).length, 1);
  await context.close();
});

test('429 with Retry-After: the next attempt waits for it', async () => {
  await env.collector.fault(429, 1, 1);
  const { page, context, requests } = await open('f429');
  await track(page, { n: 1 });
  await waitFor('delivery after 429', async () => (await env.collector.events('f429')).length === 2);
  await waitFor('two requests', () => requests.length >= 2);
  assert.equal(requests.length, 2);
  // the browser's own clock for when each request started
  for (const q of requests) await q.r.response();
  const gap = requests[1].r.timing().startTime - requests[0].r.timing().startTime;
  assert.ok(gap >= 1000, `retried after ${gap} ms, Retry-After was 1 s (the backoff alone is at most 400 ms)`);
  await context.close();
});

test('a 400 drops that batch, and the next batch reports the drop', async () => {
  await env.collector.fault(400, 1);
  const { page, context } = await open('f400');
  await track(page, { n: 1 }); // page view + conversion: refused
  await waitFor('the refused request', async () => (await env.collector.events('f400')).length === 0 && true);
  await page.evaluate(() => window.goalpost.gp.flush());
  await track(page, { n: 2 });
  await page.evaluate(() => window.goalpost.gp.flush());
  const rows = await env.collector.events('f400');
  assert.deepEqual(rows.map((r) => [r.type, r.props && r.props.n]), [['conversion', 2]], 'only what came after');
  const batches = await env.collector.batches('f400');
  assert.deepEqual(batches.map((b) => [b.events, b.dropped]), [[1, 2]], 'the two refused events are counted');
  await context.close();
});

test('offline: nothing is attempted; back online, everything is delivered once', async () => {
  const { page, context, requests } = await open('offline');
  await page.evaluate(() => window.goalpost.gp.flush()); // the page view
  const before = requests.length;
  await context.setOffline(true);
  await page.waitForFunction(() => navigator.onLine === false);
  await track(page, { n: 1 });
  await track(page, { n: 2 });
  await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
  assert.equal(requests.length, before, 'no request while offline');
  await context.setOffline(false);
  const rows = await waitFor('delivery after going online', async () => {
    const r = await env.collector.events('offline');
    return r.length === 3 && r;
  });
  assert.deepEqual(rows.filter((r) => r.type === 'conversion').map((r) => r.props.n), [1, 2]);
  await page.evaluate(() => window.goalpost.gp.flush());
  assert.equal((await env.collector.events('offline')).length, 3, 'exactly once');
  await context.close();
});
