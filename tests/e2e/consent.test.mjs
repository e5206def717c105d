// Consent: every request and every storage area inspected, for each mode and signal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countSends, goalpostMessages, openPage, useCollectorAndBrowser, waitFor } from './harness.mjs';

const env = useCollectorAndBrowser();

/**
 * Opens window-config.html with `config` (and `before`, a script run before the page's own),
 * recording every /collect request and every storage read and write.
 */
async function open(config, before) {
  const o = await openPage(env.browser);
  o.requests = [];
  o.page.on('request', (r) => r.url().includes('/collect') && o.requests.push(r.postData()));
  await o.page.addInitScript(() => {
    window.storageWrites = [];
    window.storageReads = [];
    for (const area of [localStorage, sessionStorage]) {
      const set = area.setItem.bind(area);
      area.setItem = (k, v) => { window.storageWrites.push(k); set(k, v); };
      const get = area.getItem.bind(area);
      area.getItem = (k) => { window.storageReads.push(k); return get(k); };
      const key = area.key.bind(area);
      area.key = (i) => { window.storageReads.push('key:' + i); return key(i); };
    }
    const cookie = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
    Object.defineProperty(document, 'cookie', {
      get: () => cookie.get.call(document),
      set: (v) => { window.storageWrites.push('cookie:' + v); cookie.set.call(document, v); },
    });
  });
  await countSends(o.page);
  if (before) await o.page.addInitScript(before);
  await o.page.addInitScript((c) => { window.goalpostConfig = c; }, config);
  await o.page.goto(env.collector.base + '/window-config.html');
  await o.page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  return o;
}

const config = (site, consent) => ({
  collector: '/collect', site, consent, dataLayer: true,
  goals: [{ id: 'buy', kind: 'macro', on: 'custom' }],
});
const track = (page) => page.evaluate(() => window.goalpost('track', 'buy'));
const flush = (page) => page.evaluate(() => window.goalpost.gp.flush());

test('required: zero requests and zero storage before consent; held events delivered once after the grant', async () => {
  const { page, context, requests } = await open(config('c-required', { mode: 'required' }));
  await track(page);
  await flush(page);
  await page.evaluate(() => window.dispatchEvent(new Event('pagehide')));
  assert.equal(requests.length, 0, 'no request before a choice');
  assert.deepEqual(await page.evaluate(() => window.storageWrites), [], 'no storage before a choice');
  assert.deepEqual(await page.evaluate(() => window.storageReads), ['goalpost_optout'],
    "nothing read but the visitor's own opt-out (no stored visit or queue looked at)");
  assert.deepEqual(await page.evaluate(() => ({ l: localStorage.length, s: sessionStorage.length, c: document.cookie })), { l: 0, s: 0, c: '' });
  await page.evaluate(() => window.goalpost('consent', 'granted'));
  const rows = await waitFor('held events', async () => {
    const r = await env.collector.events('c-required');
    return r.length === 2 && r;
  });
  assert.deepEqual(rows.map((r) => [r.type, r.consent]), [['page_view', 'pending'], ['conversion', 'pending']]);
  assert.equal(rows[0].session.length, 32);
  await page.evaluate(() => window.goalpost('consent', 'granted'));
  await flush(page);
  assert.equal((await env.collector.events('c-required')).length, 2, 'exactly once');
  await context.close();
});

test('a denial sends nothing more and empties goalpost storage; the opt-out survives a reload', async () => {
  const before = () => { localStorage.setItem('goalpost_queue', 'x'); localStorage.setItem('site_own', 'keep'); };
  const { page, context, requests } = await open(config('c-deny', { mode: 'implied' }), before);
  await flush(page);
  const n = requests.length;
  await page.evaluate(() => window.goalpost.gp.optOut());
  await track(page);
  await flush(page);
  assert.equal(requests.length, n, 'nothing after the opt-out');
  assert.deepEqual(await page.evaluate(() => ({ q: localStorage.getItem('goalpost_queue'), own: localStorage.getItem('site_own'), out: localStorage.getItem('goalpost_optout') })),
    { q: null, own: 'keep', out: '1' }, "goalpost's keys deleted, the site's kept, the opt-out recorded");
  await page.reload();
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  await track(page);
  await flush(page);
  assert.equal(requests.length, n, 'still nothing after a reload');
  assert.equal((await env.collector.events('c-deny')).filter((r) => r.type === 'conversion').length, 0);
  await context.close();
});

test('anonymous (the default): beacons carry no identifier until a grant', async () => {
  const { page, context } = await open(config('c-anon', undefined));
  await track(page);
  await flush(page);
  let rows = await env.collector.events('c-anon');
  assert.deepEqual(rows.map((r) => [r.consent, r.session, r.first]), [['anonymous', null, null], ['anonymous', null, null]]);
  assert.deepEqual(await page.evaluate(() => [window.storageReads, window.storageWrites]), [['goalpost_optout'], []],
    "without storage consent, nothing read but the visitor's own opt-out, nothing written");
  assert.deepEqual(await page.evaluate(() => window.dataLayer.filter((e) => e.event)), [], 'no forwarding to ad tags without ads consent');
  await page.evaluate(() => window.goalpost('consent', 'granted'));
  await track(page);
  await flush(page);
  rows = await env.collector.events('c-anon');
  assert.equal(rows[2].consent, 'granted');
  assert.equal(rows[2].session.length, 32);
  assert.equal(rows[2].first.channel, 'direct');
  assert.equal((await page.evaluate(() => window.dataLayer.filter((e) => e.event))).length, 1);
  await context.close();
});

test('Global Privacy Control denies the ads purpose', async () => {
  const gpc = () => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true });
  const { page, context } = await open(config('c-gpc', { mode: 'implied' }), gpc);
  await track(page);
  await flush(page);
  const rows = await env.collector.events('c-gpc');
  assert.equal(rows.length, 2, 'analytics still allowed');
  assert.deepEqual(await page.evaluate(() => window.dataLayer.filter((e) => e.event)), [], 'but no forwarding to ads');
  await context.close();
  const all = await open(config('c-gpc-all', { mode: 'implied', gpc: 'all' }), gpc);
  await track(all.page);
  await flush(all.page);
  assert.equal(all.requests.length, 0, 'gpc: "all" denies everything');
  await all.context.close();
});

test('Google Consent Mode in dataLayer, before and after goalpost loads', async () => {
  const gtagDenied = () => {
    window.dataLayer = window.dataLayer || [];
    window.gtag = function () { window.dataLayer.push(arguments); };
    window.gtag('consent', 'default', { analytics_storage: 'denied', ad_storage: 'denied' });
  };
  const { page, context, requests } = await open(config('c-gcm', { mode: 'implied' }), gtagDenied);
  await track(page);
  await flush(page);
  assert.equal(requests.length, 0, 'the default denial was read from dataLayer');
  await page.evaluate(() => window.gtag('consent', 'update', { analytics_storage: 'granted' }));
  await track(page);
  await flush(page);
  const rows = await env.collector.events('c-gcm');
  assert.deepEqual(rows.map((r) => [r.type, r.consent]), [['conversion', 'granted']], 'only what came after the update');
  await context.close();
});

test('an IAB TCF consent tool that answers after goalpost loaded', async () => {
  const cmp = () => {
    const listeners = [];
    window.__tcfapi = (cmd, version, cb) => {
      if (cmd === 'addEventListener') { listeners.push(cb); cb({ eventStatus: 'cmpuishown', listenerId: 1 }, true); }
    };
    window.answerTcf = (consents) => listeners.forEach((cb) => cb({ eventStatus: 'useractioncomplete', gdprApplies: true, listenerId: 1, purpose: { consents } }, true));
  };
  const { page, context, requests } = await open(config('c-tcf', { mode: 'required' }), cmp);
  await track(page);
  await flush(page);
  assert.equal(requests.length, 0, 'waiting for the consent tool');
  await page.evaluate(() => window.answerTcf({ 1: true, 7: false, 8: true, 9: true }));
  const rows = await waitFor('events after the TCF grant', async () => {
    const r = await env.collector.events('c-tcf');
    return r.length === 2 && r;
  });
  assert.deepEqual(rows.map((r) => r.type), ['page_view', 'conversion']);
  await page.evaluate(() => window.answerTcf({ 1: false, 7: false, 8: false, 9: false }));
  await track(page);
  await flush(page);
  assert.equal((await env.collector.events('c-tcf')).length, 2, 'nothing after the TCF withdrawal');
  await context.close();
});

test('with a TCF tool in implied mode, nothing leaves before its answer (bounded wait)', async () => {
  const cmp = () => {
    const listeners = [];
    window.__tcfapi = (cmd, version, cb) => { if (cmd === 'addEventListener') listeners.push(cb); };
    window.answerTcf = (consents) => listeners.forEach((cb) => cb({ eventStatus: 'tcloaded', gdprApplies: true, listenerId: 1, purpose: { consents } }, true));
  };
  const { page, context, requests, log } = await open(config('c-tcf-wait', { mode: 'implied', waitMs: 10000 }), cmp);
  assert.deepEqual(goalpostMessages(log), [], 'goalpost is running (a valid config)');
  // a macro conversion: without the wait it would be sent within this very call
  const sends = await page.evaluate(() => { window.goalpost('track', 'buy'); return window.goalpostSends; });
  assert.equal(sends, 0, 'held back while the consent tool has not answered');
  assert.equal(requests.length, 0);
  await page.evaluate(() => window.answerTcf({ 1: true, 7: false, 8: true, 9: false }));
  const rows = await waitFor('events after the answer', async () => {
    const r = await env.collector.events('c-tcf-wait');
    return r.length === 2 && r;
  });
  assert.deepEqual(rows.map((r) => r.type), ['page_view', 'conversion'], 'released by the answer, long before the 10 s wait');
  await context.close();
});

test("npm: init's consent option applies before the page view (required mode: no hold, no pending stamp)", async () => {
  for (const [choice, site] of [['granted', 'consentoption-granted'], [null, 'consentoption-none']]) {
    const o = await openPage(env.browser);
    await countSends(o.page);
    await o.page.goto(env.collector.base + '/consent-option.html' + (choice ? '?choice=' + choice : ''));
    await o.page.waitForFunction(() => window.goalpost && window.goalpost.gp);
    await o.page.evaluate(() => window.goalpost.gp.flush());
    if (choice) {
      const rows = await waitFor('the page view and its goal', async () => {
        const r = await env.collector.events(site);
        return r.length === 2 && r;
      });
      assert.deepEqual(rows.map((r) => [r.type, r.consent]), [['page_view', 'granted'], ['conversion', 'granted']],
        'collected under the choice, not held as pending');
      assert.match(rows[0].session, /^[0-9a-f]{32}$/);
    } else {
      assert.equal(await o.page.evaluate(() => window.goalpostSends), 0, 'without the option: nothing sent before a choice');
      assert.deepEqual(await env.collector.events(site), []);
    }
    await o.context.close();
  }
});
