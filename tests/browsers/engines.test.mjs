// npm run test:browsers: where browser engines differ, on Chromium, Firefox and WebKit, each
// asserting on what the real collector stored: capture of each trigger family, delivery on
// unload (link, button + location.href, tab close), the retry path, consent with a storage
// recorder, the multi-page store (a reloaded thank-you page is one purchase), and a config
// with problems put in words by the companion build. Each test prints its engine and version.
// The unload figures go to target/engines/unload.json.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ENGINES, GPC_ENGINES, launch } from './engines.mjs';
import { root, startCollector, waitFor, HEX32 } from '../e2e/harness.mjs';

const UNLOAD_ROUNDS = Number(process.env.GOALPOST_UNLOAD_ROUNDS || 5);
// a test that hangs (a driver call that never settles) fails on its own instead of holding the run
const LIMIT = 180000;
// The retry test once failed on Firefox (2 of 4 CI runs; 3 of ~50 loaded local runs): one or
// two 500s, then nothing. The failure messages below showed why: a timer that Firefox fired a
// moment before its coarsened Date.now() reached the time asked for found nothing due, and the
// tracker never asked for that wake-up again (fixed in core/src/tracker.rs; regression test
// a_timer_that_fires_a_moment_early_is_asked_for_again). They carry the page's sends, its
// heartbeat timer, the tracker's listeners and its console, and whether a new input sets a
// stuck queue going.
const unloadFile = join(root, 'target', 'engines', 'unload.json');
const conversions = (rows, goal) => rows.filter((r) => r.type === 'conversion' && (!goal || r.goal === goal));
// goalpost started on the page; if not, what the page was doing (for the failure message)
const ready = (page) => page.waitFor(() => !!(window.goalpost && window.goalpost.gp)).catch(async (e) => {
  const state = await page.evaluate(() => ({
    url: location.href, readyState: document.readyState, visibility: document.visibilityState, focus: document.hasFocus(),
    online: navigator.onLine, goalpost: typeof window.goalpost,
    loaded: performance.getEntriesByType('resource').map((r) => `${r.name.replace(location.origin, '')} ${Math.round(r.responseEnd)}ms`),
    now: Math.round(performance.now()),
  })).catch((x) => String(x));
  throw new Error(`${e.message}; page ${JSON.stringify(state)}`);
});
const flush = (page) => page.evaluate(() => new Promise((r) => window.goalpost('flush', r)));

for (const name of ENGINES) {
  describe(name, () => {
    let engine;
    let pages; // tests/pages, with fault injection
    let store; // the demo's www/ (the multi-page store)
    before(async () => {
      engine = await launch(name);
      pages = await startCollector({ faults: true });
      store = await startCollector({ siteDir: join(root, 'www') });
    });
    after(async () => {
      await engine?.close();
      await pages?.stop();
      await store?.stop();
    });
    const say = (t) => t.diagnostic(`engine: ${engine.name} ${engine.version}`);

    test(`${name}: clicks, scroll, visibility, media, outbound links, custom events and a form that navigates`, { timeout: LIMIT }, async (t) => {
      say(t);
      const page = await engine.page();
      await page.goto(pages.base + '/engines/index.html');
      await ready(page);
      await page.evaluate(() => {
        window.converted = [];
        document.addEventListener('goalpost:conversion', (e) => window.converted.push(e.detail.goal));
      });
      await page.click('#buy');
      await page.scrollTo(3000);
      // the depth is measured after the scroll settles: wait for goalpost to say so
      await page.waitFor(() => window.converted.includes('read_50'));
      await page.waitFor(() => window.converted.includes('seen'));
      await page.click('#partner');
      await page.evaluate(() => window.goalpost('track', 'leave', { why: 'test' }));
      // a muted clip played to its end
      await page.evaluate(() => document.getElementById('clip').play().then(() => true));
      await page.waitFor(() => window.converted.includes('watched'), undefined, 15000);
      await flush(page);
      const rows = await waitFor('the page view and six conversions', async () => {
        const r = await pages.events('engines');
        return conversions(r).length >= 6 && r;
      }).catch(async (e) => {
        throw new Error(`${e.message}: ${JSON.stringify(conversions(await pages.events('engines')).map((r) => r.goal))}`);
      });
      const views = rows.filter((r) => r.type === 'page_view');
      assert.equal(views.length, 1);
      assert.equal(views[0].url, pages.base + '/engines/index.html');
      assert.equal(views[0].title, 'Engines');
      assert.match(views[0].session, HEX32);
      assert.deepEqual(conversions(rows).map((r) => r.goal).sort(), ['buy', 'leave', 'outbound', 'read_50', 'seen', 'watched']);
      const buy = conversions(rows, 'buy')[0];
      assert.equal(buy.kind, 'macro');
      assert.equal(buy.session, views[0].session, 'one session');
      assert.deepEqual(conversions(rows, 'leave')[0].props, { why: 'test' });
      // a form whose submission navigates away: the conversion leaves with the page
      await page.click('#signup-submit');
      await waitFor('the submit conversion', async () => conversions(await pages.events('engines'), 'signup').length === 1);
      assert.equal(await page.evaluate(() => location.pathname), '/engines/next.html');
      await page.discard();
    });

    test(`${name}: conversions on the way out are delivered (link, button + location.href, tab close)`, { timeout: LIMIT }, async (t) => {
      say(t);
      const count = (rows) => ({
        link: conversions(rows, 'to_next').length,
        href: conversions(rows, 'via_href').length,
        close: new Set(conversions(rows, 'leave').map((r) => r.props && r.props.n).filter(Boolean)).size,
      });
      for (let round = 1; round <= UNLOAD_ROUNDS; round++) {
        for (const how of ['link', 'href', 'close']) {
          const page = await engine.page();
          await page.goto(pages.base + '/engines/index.html');
          await ready(page);
          if (how === 'link') await page.click('#to-next');
          if (how === 'href') await page.click('#via-href');
          if (how === 'close') {
            await page.evaluate((n) => window.goalpost('track', 'leave', { n }), round);
            await page.close();
          }
          // The page's browser profile goes only once this round's conversion is stored (or
          // after 10 s): a visitor who closes a tab does not delete the profile with it, and
          // deleting it 5 s after the close gave Firefox 4 of 5 in 4 of ~50 loaded runs (read
          // as a beacon still on its way being cut off). WebKitWebDriver holds one session at
          // a time, so the profiles cannot all stay to the end.
          await waitFor(`${how} delivery, round ${round}`, async () => count(await pages.events('engines'))[how] >= round, { timeout: 10000 })
            .catch(() => {});
          await page.discard();
        }
      }
      // delivered: each round's conversion stored, counted within 20 s of the last round
      const all = { link: UNLOAD_ROUNDS, href: UNLOAD_ROUNDS, close: UNLOAD_ROUNDS };
      const delivered = await waitFor('every round delivered', async () => {
        const c = count(await pages.events('engines'));
        return JSON.stringify(c) === JSON.stringify(all) && c;
      }, { timeout: 20000 }).catch(async () => count(await pages.events('engines')));
      const figures = existsSync(unloadFile) ? JSON.parse(readFileSync(unloadFile, 'utf8')) : {};
      figures[name] = { version: engine.version, rounds: UNLOAD_ROUNDS, delivered };
      mkdirSync(join(root, 'target', 'engines'), { recursive: true });
      writeFileSync(unloadFile, JSON.stringify(figures, null, 2));
      t.diagnostic(`delivered of ${UNLOAD_ROUNDS}: link ${delivered.link}, button + href ${delivered.href}, tab close ${delivered.close}`);
      assert.deepEqual(delivered, { link: UNLOAD_ROUNDS, href: UNLOAD_ROUNDS, close: UNLOAD_ROUNDS });
      // and none twice
      const rows = await pages.events('engines');
      assert.equal(new Set(rows.map((r) => r.id)).size, rows.length);
    });

    test(`${name}: two failed sends, then the batch is stored once`, { timeout: LIMIT }, async (t) => {
      say(t);
      // a browser of its own: nothing left in flight by the tests before it
      const own = await launch(name);
      t.after(() => own.close());
      await pages.fault(500, 2);
      const page = await own.page();
      await page.goto(pages.base + '/engines/index.html?site=retry');
      await ready(page);
      await page.click('#buy'); // a macro conversion: sent at once, with the page view
      const rows = await waitFor('delivery after two 500s', async () => {
        const r = await pages.events('retry');
        return conversions(r, 'buy').length === 1 && r;
      }, { timeout: 20000 }).catch(async (e) => {
        // what the page sent, as its resource timing saw it (attempts, when, with what answer)
        const state = await page.evaluate(() => ({
          url: location.href, ready: !!(window.goalpost && window.goalpost.gp), online: navigator.onLine, now: Math.round(performance.now()),
          listeners: window.goalpost && window.goalpost.gp && window.goalpost.gp.listenerCount,
          sinceBeat: Math.round(performance.now() - (window.beat || 0)),
          visibility: document.visibilityState, trace: window.trace,
          sends: performance.getEntriesByType('resource').filter((r) => r.name.includes('/collect'))
            .map((r) => `${r.initiatorType} ${Math.round(r.startTime)}→${Math.round(r.responseEnd)} ${r.responseStatus ?? '?'}`),
        })).catch((x) => String(x));
        const stats = await pages.stats('retry');
        // does a new input (which also handles any input the tracker deferred) set it going?
        await page.evaluate(() => window.goalpost('track', 'probe')).catch(() => {});
        const after = await waitFor('a send after a new input', async () => (await pages.stats('retry')).batches > 0, { timeout: 3000 })
          .then(() => 'stored after a new input', () => 'nothing after a new input either');
        throw new Error(`${e.message}: stored ${JSON.stringify((await pages.events('retry')).map((r) => r.type))}, stats ${JSON.stringify(stats)}, page ${JSON.stringify(state)}, console ${JSON.stringify(page.consoleLog || [])}; ${after}`);
      });
      await flush(page);
      assert.deepEqual(rows.map((r) => [r.type, r.goal || null]), [['page_view', null], ['conversion', 'buy']]);
      const stats = await pages.stats('retry');
      assert.deepEqual([stats.batches, stats.duplicates], [1, 0], 'the third attempt stored it; the failed ones stored nothing');
      await page.discard();
    });

    test(`${name}: required consent: nothing sent or stored before the choice, all of it after`, { timeout: LIMIT }, async (t) => {
      say(t);
      const page = await engine.page();
      await page.goto(pages.base + '/engines/consent.html');
      await ready(page);
      await page.click('#buy');
      await flush(page);
      assert.equal((await pages.stats('consent')).batches, 0, 'nothing sent before the choice');
      const writes = await page.evaluate(() => window.storageWrites.filter((w) => w.includes('goalpost')));
      assert.deepEqual(writes, [], 'nothing stored before the choice');
      assert.equal(await page.evaluate(() => window.cookieWrites), 0);
      await page.click('#accept');
      const rows = await waitFor('the held page view and click, sent after the choice', async () => {
        const r = await pages.events('consent');
        return r.length >= 3 && r;
      });
      assert.deepEqual(rows.map((r) => [r.type, r.goal || null]).sort(), [['conversion', 'buy'], ['conversion', 'viewed'], ['page_view', null]]);
      assert.ok(rows.every((r) => r.session), 'identifiers once allowed');
      const after = await page.evaluate(() => window.storageWrites.filter((w) => w.includes('goalpost')));
      assert.ok(after.length > 0, 'storage used once allowed');
      assert.equal(await page.evaluate(() => window.cookieWrites), 0, 'never a cookie');
      await page.discard();
    });

    test(`${name}: Global Privacy Control turns goalpost off where the site says so`, { timeout: LIMIT, skip: !GPC_ENGINES.includes(name) && `${name} has no Global Privacy Control` }, async (t) => {
      say(t);
      const private_ = await launch(name, { gpc: true });
      try {
        const page = await private_.page();
        await page.goto(pages.base + '/engines/index.html?site=gpc&gpc=all');
        await ready(page);
        assert.equal(await page.evaluate(() => navigator.globalPrivacyControl), true);
        await page.click('#buy');
        await page.evaluate(() => window.goalpost('track', 'leave'));
        await flush(page);
        await page.discard();
        // the same page without the signal is measured: the collector is reachable
        const plain = await engine.page();
        await plain.goto(pages.base + '/engines/index.html?site=gpc&gpc=all');
        await ready(plain);
        await plain.click('#buy');
        await waitFor('the page without GPC measured', async () => conversions(await pages.events('gpc'), 'buy').length === 1);
        await flush(plain);
        const rows = await pages.events('gpc');
        assert.equal(rows.filter((r) => r.type === 'page_view').length, 1, 'one page view: the one without GPC');
        await plain.discard();
      } finally {
        await private_.close();
      }
    });

    test(`${name}: a config with problems: the companion says what is wrong, word for word; the good goal converts`, { timeout: LIMIT }, async (t) => {
      say(t);
      const page = await engine.page();
      await page.goto(pages.base + '/bad-goals.html');
      await ready(page);
      await page.waitFor(() => window.errors.length > 0);
      assert.deepEqual(await page.evaluate(() => window.errors), [
        'goalpost: config problems; these goals are skipped, the rest work. '
          + 'goals[0].on: unknown value "clik" — did you mean "click"?; goals[1].match.selector: is not a valid CSS selector: [[nope',
      ]);
      await page.click('#good');
      const rows = await waitFor('the good goal', async () => {
        const r = await pages.events('badgoals');
        return conversions(r).length >= 1 && r;
      });
      assert.deepEqual(conversions(rows).map((r) => r.goal), ['good']);
      await page.discard();
    });

    test(`${name}: the multi-page store: a reloaded and revisited thank-you page is one purchase`, { timeout: LIMIT }, async (t) => {
      say(t);
      const order = `BL-${name.toUpperCase()}-${Date.now().toString(36)}`;
      const page = await engine.page();
      await page.goto(`${store.base}/store/thanks.html?order=${order}&total=24.5`);
      await ready(page);
      await flush(page);
      await page.reload();
      await ready(page);
      await flush(page);
      await page.goto(store.base + '/store/');
      await ready(page);
      await page.back();
      await ready(page);
      await flush(page);
      const rows = await waitFor('four page views', async () => {
        const r = await store.events('demo');
        return r.filter((x) => x.type === 'page_view').length >= 4 && r;
      });
      const purchases = conversions(rows, 'purchase').filter((r) => r.props && r.props.order_id === order);
      assert.equal(purchases.length, 1, 'one purchase');
      assert.equal(purchases[0].value, 24.5);
      assert.equal(purchases[0].currency, 'EUR');
      const stats = await store.stats('demo');
      assert.ok(stats.duplicates >= 1, `the repeats were sent and dropped by id (${stats.duplicates})`);
      await page.discard();
    });
  });
}
