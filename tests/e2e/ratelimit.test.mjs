// The collector's real rate limit (not an injected fault): a page that sends faster than its
// client's bucket allows gets 429 with Retry-After, waits as told, and in the end every event
// is stored exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, useCollectorAndBrowser, waitFor } from './harness.mjs';

const env = useCollectorAndBrowser({ args: ['--rate-limit', '1', '--rate-burst', '2'] });

test('over its rate a page is answered 429, honours Retry-After, and loses nothing', async () => {
  const { page, context, log } = await openPage(env.browser);
  const answers = [];
  page.on('response', (r) => r.url().endsWith('/collect') && answers.push({ status: r.status(), at: Date.now(), retryAfter: r.headers()['retry-after'] }));
  await page.addInitScript((c) => { window.goalpostConfig = c; }, {
    collector: '/collect', site: 'limited', retry: { baseMs: 100, maxMs: 400 },
    goals: [{ id: 'buy', kind: 'macro', on: 'custom' }],
  });
  await page.goto(env.collector.base + '/window-config.html');
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  // each macro conversion is sent at once: six sends against a bucket of two
  for (let n = 1; n <= 6; n++) {
    await page.evaluate((p) => window.goalpost('track', 'buy', p), { n });
    await waitFor(`the answer to send ${n}`, () => answers.length >= n);
  }
  const rows = await waitFor('every conversion stored', async () => {
    const r = await env.collector.events('limited');
    return r.filter((x) => x.type === 'conversion').length === 6 && r;
  }, { timeout: 15000 });
  const throttled = answers.filter((a) => a.status === 429);
  assert.ok(throttled.length >= 1, `429s: ${JSON.stringify(answers.map((a) => a.status))}`);
  assert.ok(throttled.every((a) => Number(a.retryAfter) >= 1), 'each 429 says when');
  // the first send after the first 429 waited for its Retry-After (the backoff alone is ≤ 400 ms)
  const first = answers.indexOf(throttled[0]);
  const next = answers[first + 1];
  assert.ok(next && next.at - throttled[0].at >= 900, `retried ${next && next.at - throttled[0].at} ms after the 429`);
  const ns = rows.filter((r) => r.type === 'conversion').map((r) => r.props.n).sort((a, b) => a - b);
  assert.deepEqual(ns, [1, 2, 3, 4, 5, 6], 'each once');
  assert.equal(rows.filter((r) => r.type === 'page_view').length, 1);
  assert.deepEqual(log.errors, []);
  await context.close();
});
