// No leaks: after 1,000 single-page navigations and shutdown(), the page's event listeners,
// history methods and JS heap are back where they started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, useCollectorAndBrowser } from './harness.mjs';

const env = useCollectorAndBrowser();

/** Listeners on window and document, as DevTools counts them. */
async function listeners(cdp) {
  let n = 0;
  for (const expr of ['window', 'document']) {
    const { result } = await cdp.send('Runtime.evaluate', { expression: expr });
    const { listeners } = await cdp.send('DOMDebugger.getEventListeners', { objectId: result.objectId });
    n += listeners.length;
  }
  return n;
}

async function heap(cdp) {
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.collectGarbage');
  return (await cdp.send('Runtime.getHeapUsage')).usedSize;
}

test('1,000 SPA navigations and shutdown leave no listener, hook or heap behind', async () => {
  const { page, context } = await openPage(env.browser);
  const cdp = await context.newCDPSession(page);
  await page.goto(env.collector.base + '/leak.html');
  await page.evaluate(async () => {
    window.gpModule = await import('/goalpost/goalpost.mjs');
    window.originalPush = history.pushState;
  });
  const listeners0 = await listeners(cdp);
  // Control: the same navigations without goalpost (the browser keeps history entries too).
  const heapC0 = await heap(cdp);
  await page.evaluate(() => {
    for (let i = 0; i < 1000; i++) history.pushState({}, '', '/control/' + i);
  });
  const heapC1 = await heap(cdp);
  const heap0 = heapC1;
  await page.evaluate(async () => {
    window.gp = await window.gpModule.init({
      collector: '/collect', site: 'leak',
      goals: [
        { id: 'b', on: 'click', match: { selector: '#b' } },
        { id: 'f', on: 'submit', match: { selector: '#f' } },
        { id: 'v', on: 'media', match: { selector: '#v', percent: 50 } },
        { id: 'r', on: 'scroll', match: { percent: 50 } },
        { id: 'w', on: 'visible', match: { selector: '#w' } },
        { id: 'e', on: 'engaged', match: { seconds: 30 } },
      ],
    });
  });
  const heapStarted = await heap(cdp);
  const listenersRunning = await listeners(cdp);
  assert.ok(listenersRunning > listeners0, 'goalpost installed listeners');
  assert.notEqual(await page.evaluate(() => history.pushState === window.originalPush), true, 'history is hooked');
  await page.evaluate(() => {
    for (let i = 0; i < 1000; i++) history.pushState({}, '', '/app/' + i);
    document.getElementById('b').click();
  });
  const heapRunning = await heap(cdp);
  await page.evaluate(async () => {
    await window.gp.flush();
    window.gp.shutdown();
    window.gp = null;
  });
  const listeners1 = await listeners(cdp);
  const heap1 = await heap(cdp);
  assert.equal(listeners1, listeners0, 'every listener removed');
  assert.equal(await page.evaluate(() => history.pushState === window.originalPush), true, 'history restored');
  // Figures for the record (the test output): JS heap in bytes.
  const control = heapC1 - heapC0;
  const withGoalpost = heap1 - heapStarted;
  console.log(
    `leak check: listeners ${listeners0} -> ${listenersRunning} -> ${listeners1}; JS heap: 1000 navigations without ` +
      `goalpost +${control} B; goalpost init +${heapStarted - heap0} B; 1000 navigations with goalpost then shutdown ` +
      `+${withGoalpost} B (peak ${heapRunning - heapStarted} B)`,
  );
  // The wasm instance stays loaded (the module keeps it); what must not stay is per-navigation
  // state: the growth over the navigations may exceed the control's by 32 KiB of noise at most.
  assert.ok(withGoalpost - control < 32 * 1024, `goalpost kept ${withGoalpost - control} bytes over 1000 navigations`);
  const views = (await env.collector.events('leak')).filter((r) => r.type === 'page_view');
  assert.equal(views.length, 1001, 'every navigation was a page view, delivered');
  await context.close();
});

test('25,000 interactions and 2,500 navigations: JS heap and wasm memory stop growing once warm', { timeout: 120000 }, async () => {
  const { page, context } = await openPage(env.browser);
  const cdp = await context.newCDPSession(page);
  await page.goto(env.collector.base + '/leak.html');
  await page.evaluate(async () => {
    const m = await import('/goalpost/goalpost.mjs');
    window.gp = await m.init({
      collector: '/collect', site: 'leak2',
      goals: [
        { id: 'b', on: 'click', match: { selector: '#b' }, once: 'every' },
        { id: 'r', on: 'scroll', match: { percent: 50 } },
      ],
    });
  });
  // one round: 1,000 clicks (700 of them goal hits: with the page views, below the queue's
  // bound of 1,000, which would drop the oldest) and 100 navigations, then a flush
  const round = (r) => page.evaluate(async (r) => {
    const b = document.getElementById('b');
    for (let i = 0; i < 1000; i++) (i % 10 < 7 ? b : document.body).dispatchEvent(new MouseEvent('click', { bubbles: true }));
    for (let i = 0; i < 100; i++) history.pushState({}, '', `/r${r}/${i}`);
    await window.gp.flush();
  }, r);
  const sample = async () => ({ heap: await heap(cdp), wasm: await page.evaluate(() => window.gp.memoryBytes) });
  for (let r = 0; r < 5; r++) await round(r); // warm-up: the allocator and the queue reach their working size
  const warm = await sample();
  for (let r = 5; r < 25; r++) await round(r);
  const end = await sample();
  console.log(`memory: wasm ${warm.wasm} -> ${end.wasm} B, JS heap ${warm.heap} -> ${end.heap} B over 20,000 more interactions and 2,000 navigations`);
  assert.ok(warm.wasm > 0, 'the wasm memory is measured');
  // One 64 KiB page of slack: when sends complete relative to the bursts changes the
  // allocator's high-water mark a little (seen once in CI). State that grew with every
  // conversion (the converted-goal lists once did, 4 bytes per conversion) took 256 KiB more
  // here (measured), which this still refuses.
  assert.ok(end.wasm - warm.wasm <= 64 * 1024, `wasm memory grew ${end.wasm - warm.wasm} B once warm`);
  // the browser's own session history grows with navigations (~70 KB per 1,000, the control above)
  assert.ok(end.heap - warm.heap < 256 * 1024, `JS heap grew ${end.heap - warm.heap} B`);
  const stored = (await env.collector.events('leak2')).filter((e) => e.goal === 'b').length;
  assert.equal(stored, 17500, 'every goal hit delivered');
  assert.equal((await env.collector.batches('leak2')).reduce((n, b) => n + b.dropped, 0), 0, 'nothing dropped');
  await context.close();
});
