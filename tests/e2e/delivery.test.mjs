// Delivery under faults: the real collector fails on demand and the browser goes offline.
// In every case the collector ends with every accepted event exactly once, and deliberate
// drops are counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countSends, openPage, useCollectorAndBrowser, waitFor } from './harness.mjs';

const env = useCollectorAndBrowser({ faults: true });

/** A page of `site` with one macro goal and fast retries (plus `extra` config); records /collect requests. */
async function open(site, extra = {}) {
  const o = await openPage(env.browser);
  o.requests = [];
  o.failed = [];
  o.page.on('request', (r) => r.url().endsWith('/collect') && o.requests.push({ at: Date.now(), r }));
  o.page.on('requestfailed', (r) => r.url().endsWith('/collect') && o.failed.push(r));
  await countSends(o.page);
  await o.page.addInitScript((c) => { window.goalpostConfig = c; }, {
    collector: '/collect', site, retry: { baseMs: 100, maxMs: 400 },
    goals: [{ id: 'buy', kind: 'macro', on: 'custom' }], ...extra,
  });
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
  // a listener added after goalpost's runs after it: once it has, goalpost knows
  await page.evaluate(() => addEventListener('offline', () => { window.offlineSeen = true; }));
  await context.setOffline(true);
  await page.waitForFunction(() => window.offlineSeen === true);
  const sends = await page.evaluate(() => {
    const before = window.goalpostSends;
    window.goalpost('track', 'buy', { n: 1 }); // macro: online, each would be sent at once
    window.goalpost('track', 'buy', { n: 2 });
    window.goalpost('flush');
    return window.goalpostSends - before;
  });
  assert.equal(sends, 0, 'nothing attempted while offline');
  assert.equal(requests.length, before);
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

/** The conversions stored for `site` carrying props.n === n (counted by content, not id). */
const copies = (rows, n) => rows.filter((r) => r.type === 'conversion' && r.props && r.props.n === n).length;

test('collector down: attempts fail and back off; once it is up, delivered once', async () => {
  const { page, context, failed } = await open('down');
  await page.evaluate(() => window.goalpost.gp.flush()); // the page view, delivered
  await env.collector.down();
  try {
    await track(page, { n: 1 });
    await waitFor('two refused attempts', () => failed.length >= 2);
  } finally {
    await env.collector.up();
  }
  const rows = await waitFor('delivery once the collector is back', async () => {
    const r = await env.collector.events('down');
    return copies(r, 1) === 1 && r;
  });
  assert.deepEqual(rows.map((r) => r.type), ['page_view', 'conversion']);
  await page.evaluate(() => window.goalpost.gp.flush());
  assert.equal((await env.collector.stats('down')).duplicates, 0, 'refused connections stored nothing');
  await context.close();
});

test('a slow answer times out; the retry carries the same ids and is de-duplicated', async () => {
  await env.collector.inject({ kind: 'slow', count: 1, delay_ms: 3000 });
  const { page, context, requests } = await open('slow', { retry: { baseMs: 100, maxMs: 400, timeoutMs: 500 } });
  await track(page, { n: 1 });
  await waitFor('the retry after the timeout', () => requests.length >= 2);
  await page.evaluate(() => window.goalpost.gp.flush());
  const rows = await env.collector.events('slow');
  assert.deepEqual(rows.map((r) => r.type), ['page_view', 'conversion']);
  const sent = requests.map((q) => JSON.parse(q.r.postData()));
  assert.deepEqual(sent[1].events.map((e) => e.id), sent[0].events.map((e) => e.id), 'the same event ids');
  assert.notEqual(sent[1].batch, sent[0].batch, 'a new batch id per attempt');
  const stats = await waitFor('both receipts', async () => {
    const s = await env.collector.stats('slow');
    return s.batches === 2 && s;
  });
  assert.deepEqual([stats.events, stats.duplicates], [4, 2], 'the retry arrived and was ignored');
  await context.close();
});

for (const afterStore of [false, true]) {
  test(`connection reset ${afterStore ? 'after' : 'before'} storing: delivered once`, async () => {
    const site = afterStore ? 'reset-after' : 'reset-before';
    await env.collector.inject({ kind: 'reset', count: 1, after_store: afterStore });
    const { page, context } = await open(site);
    await track(page, { n: 1 });
    await page.evaluate(() => window.goalpost.gp.flush());
    const rows = await env.collector.events(site);
    assert.deepEqual(rows.map((r) => r.type), ['page_view', 'conversion']);
    assert.equal(copies(rows, 1), 1);
    // a reset after storing means the collector saw the batch twice (the browser or goalpost
    // sent it again); before storing, the first receipt stored nothing
    const stats = await env.collector.stats(site);
    assert.deepEqual([stats.batches, stats.duplicates], afterStore ? [2, 2] : [1, 0]);
    await context.close();
  });
}

for (const how of ['reload', 'navigate']) {
  for (const mode of ['anonymous', 'implied']) {
    test(`${how} while a batch is in flight (${mode === 'implied' ? 'queue in storage' : 'memory only'}): no loss, no double count`, async () => {
      const site = `mid-${how}-${mode}`;
      await env.collector.inject({ kind: 'slow', count: 1, delay_ms: 1500 });
      const { page, context, requests } = await open(site, { consent: { mode } });
      await track(page, { n: 1 });
      await waitFor('the batch in flight', () => requests.length >= 1);
      if (how === 'reload') await page.reload();
      else await page.goto(env.collector.base + '/window-config.html?next');
      await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
      await track(page, { n: 2 });
      await page.evaluate(() => window.goalpost.gp.flush());
      const rows = await waitFor("the first page's conversion", async () => {
        const r = await env.collector.events(site);
        return copies(r, 1) >= 1 && r;
      });
      assert.equal(copies(rows, 1), 1, 'the in-flight conversion once');
      assert.equal(copies(rows, 2), 1, "the second page's conversion once");
      assert.equal(rows.filter((r) => r.type === 'page_view').length, 2, 'one page view per page');
      if (mode === 'implied') {
        const left = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('goalpost_q_') && localStorage.getItem(k).includes('"n":1')));
        assert.deepEqual(left, [], 'no stored copy of the first page queue is left to resend later');
      }
      await context.close();
    });
  }
}

test('the collector stopped while a batch is being stored answers it first and keeps it', async () => {
  const hex = () => [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const id = hex();
  const now = Date.now();
  const body = JSON.stringify({
    v: 1, site: 'shutdown', batch: hex(), sent: now,
    events: [{ id, type: 'page_view', ts: now, page: id, url: 'https://shop.test/', consent: 'anonymous' }],
  });
  await env.collector.inject({ kind: 'slow', count: 1, delay_ms: 800 });
  const answer = fetch(env.collector.base + '/collect', { method: 'POST', body });
  await waitFor('the batch stored', async () => (await env.collector.stats('shutdown')).batches === 1);
  const stopped = env.collector.down(); // SIGTERM while the answer is still held back
  const res = await answer;
  assert.equal(res.status, 200, 'the in-flight request is answered before the process exits');
  await stopped;
  await env.collector.up();
  const rows = await env.collector.events('shutdown');
  assert.deepEqual(rows.map((r) => r.id), [id], 'and its events are in the database after a restart');
});
