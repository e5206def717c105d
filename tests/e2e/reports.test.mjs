// Reports from end-to-end data: the simulator drives visitors through the demo shop, the real
// tracker sends, the real collector stores. The report's figures are recomputed here from the
// raw stored events, independently, and must equal /api/report: sessions, conversion rates,
// macro/micro, revenue, a funnel, and all three attribution models. Then the dashboard is
// rendered in Chromium, screenshotted, and read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { openPage, root, useCollectorAndBrowser, waitFor } from './harness.mjs';
import { simulate } from '../../scripts/simulate.mjs';

const env = useCollectorAndBrowser({ siteDir: join(root, 'www') });
const today = new Date().toISOString().slice(0, 10);
let raw;
let report;

// The simulated run, once, shared by the tests (the harness's own hooks start the collector).
let ran = null;
function setup() {
  ran ||= (async () => {
    await simulate({ base: env.collector.base, visitors: 24, seed: 11, concurrency: 3 });
    raw = await env.collector.events('demo');
    const res = await fetch(`${env.collector.base}/api/report?site=demo&from=${today}&to=${today}`);
    assert.equal(res.status, 200);
    report = await res.json();
  })();
  return ran;
}

/** The report, recomputed from raw events with the definitions in README (Reports). */
function recompute(rows, goalFilter) {
  const wanted = (r) => !goalFilter || r.goal === goalFilter;
  const pageSession = new Map();
  for (const r of rows) if (r.session && !pageSession.has(r.page)) pageSession.set(r.page, r.session);
  const sessionOf = (r) => r.session || pageSession.get(r.page) || r.page;
  const sessions = new Set(rows.map(sessionOf));
  const goals = new Map();
  const kinds = { macro: { conversions: 0, sessions: new Set() }, micro: { conversions: 0, sessions: new Set() } };
  const revenue = {};
  const addValue = (map, r, share = 1) => { if (r.value != null && r.currency) map[r.currency] = (map[r.currency] || 0) + r.value * share; };
  for (const r of rows.filter((r) => r.type === 'conversion' && wanted(r))) {
    const g = goals.get(r.goal) || { goal: r.goal, kind: r.kind, conversions: 0, sessions: new Set(), value: {} };
    g.conversions++; g.sessions.add(sessionOf(r)); addValue(g.value, r);
    goals.set(r.goal, g);
    kinds[r.kind].conversions++; kinds[r.kind].sessions.add(sessionOf(r));
    if (r.kind === 'macro') addValue(revenue, r);
  }
  const funnels = new Map();
  for (const r of rows.filter((r) => r.type === 'funnel_step' && wanted(r))) {
    const f = funnels.get(r.goal) || new Map();
    const n = r.step + 1;
    f.set(n, (f.get(n) || new Set()).add(sessionOf(r)));
    funnels.set(r.goal, f);
  }
  const key = (t) => [t && t.channel ? t.channel : 'anonymous', (t && t.source) || '', (t && t.medium) || '', (t && t.campaign) || ''].join('|');
  const models = { first_touch: new Map(), last_touch: new Map(), linear: new Map() };
  const credit = (model, k, r, share) => {
    const c = models[model].get(k) || { conversions: 0, value: {} };
    c.conversions += share; addValue(c.value, r, share);
    models[model].set(k, c);
  };
  // the touch path: over the session's conversions (the events that carry touches), in the
  // order they happened: the first touch, then each change of last touch
  const paths = new Map();
  const inOrder = rows.filter((r) => r.type === 'conversion').sort((a, b) => a.ts - b.ts);
  for (const r of inOrder) {
    const s = sessionOf(r);
    const path = paths.get(s) || [];
    if (!path.length) path.push(key(r.first || r.last));
    const last = key(r.last || r.first);
    if (path[path.length - 1] !== last) path.push(last);
    paths.set(s, path);
    if (!wanted(r)) continue;
    credit('first_touch', key(r.first || r.last), r, 1);
    credit('last_touch', last, r, 1);
    for (const k of path) credit('linear', k, r, 1 / path.length);
  }
  return { sessions: sessions.size, goals, kinds, revenue, funnels, models, pageViews: rows.filter((r) => r.type === 'page_view').length };
}

const close = (a, b, what) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);
const closeMaps = (a, b, what) => {
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), what);
  for (const k of Object.keys(a)) close(a[k], b[k], `${what} ${k}`);
};

test('the simulated run produced conversions of every family the report shows', async () => {
  await setup();
  const store = process.env.GOALPOST_E2E_STORE === 'postgres' ? 'postgres' : 'sqlite';
  assert.match(env.collector.banner, new RegExp(`store: +${store}`), 'the store this run asked for');
  const conv = raw.filter((r) => r.type === 'conversion').map((r) => r.goal);
  for (const g of ['purchase', 'add_to_cart', 'checkout_started']) assert.ok(conv.includes(g), `a ${g} conversion: ${[...new Set(conv)]}`);
  assert.ok(raw.some((r) => r.type === 'funnel_step'), 'funnel steps');
  assert.ok(raw.some((r) => r.first && r.first.campaign), 'campaign visitors with consent');
});

test('/api/report equals the figures recomputed from the raw events', async () => {
  await setup();
  const want = recompute(raw);
  assert.equal(report.sessions, want.sessions);
  assert.equal(report.page_views, want.pageViews);
  assert.equal(report.visitors, null);
  assert.deepEqual(report.goals.map((g) => g.goal), [...want.goals.keys()].sort());
  for (const g of report.goals) {
    const w = want.goals.get(g.goal);
    assert.deepEqual([g.kind, g.conversions, g.sessions], [w.kind, w.conversions, w.sessions.size], g.goal);
    close(g.rate, w.sessions.size / want.sessions, `${g.goal} rate`);
    closeMaps(g.value, w.value, `${g.goal} value`);
  }
  for (const k of ['macro', 'micro']) {
    assert.deepEqual([report[k].conversions, report[k].sessions], [want.kinds[k].conversions, want.kinds[k].sessions.size], k);
    close(report[k].rate, want.kinds[k].sessions.size / want.sessions, `${k} rate`);
  }
  closeMaps(report.revenue, want.revenue, 'revenue');
  assert.ok(Object.keys(report.revenue).length > 0, 'some revenue');
});

test('the funnel: sessions per step and the share retained, as recomputed', async () => {
  await setup();
  const want = recompute(raw);
  assert.deepEqual(report.funnels.map((f) => f.goal), [...want.funnels.keys()].sort());
  const f = report.funnels.find((x) => x.goal === 'checkout');
  assert.ok(f && f.steps.length >= 2, 'the checkout funnel has reached at least step 2');
  const w = want.funnels.get('checkout');
  const first = w.get(1).size;
  for (const s of f.steps) {
    const n = (w.get(s.step) || new Set()).size;
    assert.equal(s.sessions, n, `step ${s.step}`);
    close(s.retained, n / first, `step ${s.step} retained`);
  }
  assert.ok(f.steps[0].sessions >= f.steps[f.steps.length - 1].sessions, 'drop-off, not growth');
});

test('attribution under first-touch, last-touch and linear models, as recomputed', async () => {
  await setup();
  const want = recompute(raw);
  for (const model of ['first_touch', 'last_touch', 'linear']) {
    const got = new Map(report.attribution[model].map((c) => [[c.channel, c.source, c.medium, c.campaign].join('|'), c]));
    assert.deepEqual([...got.keys()].sort(), [...want.models[model].keys()].sort(), model);
    for (const [k, w] of want.models[model]) {
      close(got.get(k).conversions, w.conversions, `${model} ${k}`);
      closeMaps(got.get(k).value, w.value, `${model} ${k} value`);
    }
    const total = report.attribution[model].reduce((s, c) => s + c.conversions, 0);
    close(total, raw.filter((r) => r.type === 'conversion').length, `${model}: every conversion credited once in total`);
  }
  assert.ok(report.attribution.first_touch.some((c) => c.campaign), 'a campaign is credited');
});

test('which link, which file: the report\'s top targets per goal, as recomputed from the raw details', async () => {
  await setup();
  const want = new Map();
  for (const r of raw.filter((r) => r.type === 'conversion' && r.detail && r.detail.href)) {
    const k = r.goal + ' ' + r.detail.href;
    want.set(k, (want.get(k) || 0) + 1);
  }
  assert.ok(want.size > 0, 'the simulated visitors followed links or downloaded files');
  assert.deepEqual(new Map(report.links.map((l) => [l.goal + ' ' + l.href, l.conversions])), want);
  // the details as the tracker sent them: a class for each, an extension for a download
  for (const r of raw.filter((r) => r.detail)) {
    if (r.goal === 'price_list') assert.deepEqual([r.detail.link, r.detail.ext], ['download', 'pdf']);
    if (r.goal === 'outbound') assert.equal(r.detail.link, 'outbound');
    if (r.detail.href) assert.ok(!r.detail.href.includes('#'), 'no fragment');
  }
});

test('a goal filter, the daily series and the CSV export agree with the report', async () => {
  await setup();
  const res = await fetch(`${env.collector.base}/api/report?site=demo&from=${today}&to=${today}&goal=purchase`);
  const only = await res.json();
  assert.deepEqual(only.goals.map((g) => g.goal), ['purchase']);
  assert.equal(only.sessions, report.sessions, 'the filter narrows conversions, not sessions');
  const day = report.daily.find((d) => d.date === today);
  assert.equal(day.conversions, raw.filter((r) => r.type === 'conversion').length);
  assert.equal(day.sessions, report.sessions);
  const csv = await (await fetch(`${env.collector.base}/api/report.csv?site=demo&from=${today}&to=${today}`)).text();
  assert.match(csv, /^section,model,date,goal,kind,step,channel,source,medium,campaign,currency,href,metric,value\n/);
  assert.ok(csv.includes(`\nsummary,,,,,,,,,,,,sessions,${report.sessions}\n`));
  const buy = report.goals.find((g) => g.goal === 'purchase');
  assert.ok(csv.includes(`\ngoal,,,purchase,macro,,,,,,,,conversions,${buy.conversions}\n`));
  const bad = await fetch(`${env.collector.base}/api/report?site=demo&from=yesterday`);
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /^from: /);
});

test('the dashboard renders the report, is screenshotted, and refreshes as conversions arrive', async () => {
  await setup();
  assert.match(env.collector.banner, /dashboard: http:\/\/127\.0\.0\.1:\d+\/dashboard/, 'the collector prints the dashboard URL');
  const { page, context, log } = await openPage(env.browser);
  await page.setViewportSize({ width: 1280, height: 1100 });
  await page.goto(env.collector.base + '/dashboard?site=demo');
  await page.waitForSelector('body[data-loaded=true]');
  const dir = join(root, 'target', 'screenshots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, 'dashboard.png'), fullPage: true });
  const text = await page.textContent('main');
  assert.ok(text.includes(String(report.sessions) + 'sessions'), 'the session count');
  const pct = (x) => (x * 100).toFixed(1) + ' %';
  assert.ok(text.includes(pct(report.macro.rate) + 'macro conversion rate'), 'the macro rate');
  for (const g of report.goals) assert.ok(text.includes(g.goal + g.kind), `the goal ${g.goal}`);
  assert.ok(text.includes('checkout'), 'the funnel');
  const first = report.attribution.first_touch[0];
  assert.ok(text.includes(first.channel), 'the attribution table');
  await page.click('#models button:text("Linear")');
  const linearTop = report.attribution.linear[0].conversions;
  const shown = Number.isInteger(linearTop) ? String(linearTop) : linearTop.toFixed(2);
  assert.ok((await page.textContent('#attribution')).includes(shown), 'linear credits shown');
  const linksShown = await page.textContent('#links');
  for (const l of report.links.slice(0, 3)) assert.ok(linksShown.includes(l.href), `the link ${l.href} on the dashboard`);
  const svg = await page.$$eval('#daily svg rect', (r) => r.length);
  assert.ok(svg >= 2, 'the daily chart is drawn');

  // a new conversion arrives: the dashboard shows it without a reload
  const carts = () => page.$$eval('#goals tr', (rows) => {
    const r = rows.find((x) => x.cells[0] && x.cells[0].textContent === 'add_to_cart');
    return r ? Number(r.cells[2].textContent) : 0;
  });
  const beforeCount = await carts();
  const shopper = await openPage(env.browser);
  await shopper.page.goto(env.collector.base + '/shop/p/house-beans');
  await shopper.page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  await shopper.page.click('[data-action=add-to-cart]');
  await shopper.page.evaluate(() => new Promise((r) => window.goalpost('flush', r)));
  await waitFor('the dashboard to show the new add_to_cart', async () => (await carts()) === beforeCount + 1, { timeout: 8000 });
  assert.deepEqual(log.errors, []);
  await shopper.context.close();
  await context.close();
});
