// The click pre-filter with the real JS host: every kind of link a goal can mean reaches the
// core, in the forms sites write them (uppercase schemes, leading spaces, a link's child, an
// image-map area, protocol-relative, a download attribute, an uppercase extension), and what
// no goal can mean (internal links, text) never enters the wasm at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goalpostMessages, openPage, useCollectorAndBrowser, waitFor } from './harness.mjs';

const env = useCollectorAndBrowser();

// Counts every call from JS into the wasm (a copy of the instance's exports with each
// function wrapped): the pre-filter's work is to make that count not move.
function countWasmCalls() {
  window.__wasmCalls = 0;
  const streaming = WebAssembly.instantiateStreaming;
  WebAssembly.instantiateStreaming = async function () {
    const { instance, module } = await streaming.apply(this, arguments);
    const exports = {};
    for (const [k, v] of Object.entries(instance.exports)) {
      exports[k] = typeof v === 'function' ? function () { window.__wasmCalls++; return v.apply(this, arguments); } : v;
    }
    return { instance: { exports }, module };
  };
}

async function open(path, { count = false } = {}) {
  const o = await openPage(env.browser);
  if (count) await o.context.addInitScript(countWasmCalls);
  await o.page.goto(env.collector.base + path);
  await o.page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  return o;
}

test('every link kind passes the pre-filter; internal links and text stay out of the wasm', async () => {
  const { page, context, log } = await open('/links.html', { count: true });
  // (the page has debug on: a click that enters the wasm logs what it matched or not)
  const clicks = {
    out: 'outbound', 'out-rel': 'outbound', 'area-out': 'outbound', tel: 'phone', 'mail-inner': 'phone',
    wa: 'chat', 'wa-web': 'chat', pdf: 'file', attr: 'file', 'cta-inner': 'cta',
    internal: null, text: null, 'own-abs': null,
  };
  // the first click outside every goal enters once (it keeps the session alive, once a minute)
  await page.evaluate(() => document.getElementById('text').click());
  const seen = {};
  const calls = {};
  for (const id of Object.keys(clicks)) {
    const before = log.console.length;
    calls[id] = await page.evaluate((id) => {
      const n = window.__wasmCalls;
      document.getElementById(id).click();
      return window.__wasmCalls - n;
    }, id);
    seen[id] = goalpostMessages({ console: log.console.slice(before) });
  }
  for (const [id, goal] of Object.entries(clicks)) {
    const conv = seen[id].filter((m) => m.text.startsWith('goalpost: conversion ')).map((m) => m.text.slice(21));
    assert.deepEqual(conv, goal ? [goal] : [], id);
  }
  assert.deepEqual([calls.internal, calls.text], [0, 0], 'an internal link and text never entered the wasm');
  assert.deepEqual(seen.internal, []);
  assert.ok(calls['own-abs'] > 0 && calls.out > 0, 'links that can match do enter');
  assert.ok(seen['own-abs'].some((m) => m.text === 'goalpost: goal outbound not matched: link'),
    "an absolute link to the site's own host enters (it might have been outbound) and is refuted there");
  await page.evaluate(() => window.goalpost.gp.flush());
  const rows = await waitFor('the conversions', async () => {
    const r = (await env.collector.events('links')).filter((x) => x.type === 'conversion');
    return r.length >= 10 && r;
  });
  assert.deepEqual(rows.map((r) => r.goal).sort(), Object.values(clicks).filter(Boolean).sort());
  assert.deepEqual(goalpostMessages(log, 'error'), []);
  await context.close();
});

test('under a <base href> on another host, a relative link is outbound and passes the pre-filter', async () => {
  const { page, context } = await open('/links-base.html');
  await page.click('#rel');
  await page.evaluate(() => window.goalpost.gp.flush());
  const rows = await waitFor('the outbound conversion', async () => {
    const r = (await env.collector.events('links-base')).filter((x) => x.type === 'conversion');
    return r.length > 0 && r;
  });
  assert.deepEqual(rows.map((r) => r.goal), ['outbound']);
  await context.close();
});

test('a click inside an open shadow root counts for the link inside it (the pre-filter lets shadow hosts through)', async () => {
  const { page, context, log } = await open('/links.html', { count: true });
  const before = log.console.length;
  const calls = await page.evaluate(() => {
    const host = document.createElement('div');
    host.id = 'widget';
    document.body.append(host);
    const root = host.attachShadow({ mode: 'open' });
    root.innerHTML = '<a href="http://localhost:' + location.port + '/out.html"><span>Partner in a widget</span></a><p>text</p>';
    const n = window.__wasmCalls;
    root.querySelector('span').click(); // the document sees the host as the target
    return window.__wasmCalls - n;
  });
  assert.ok(calls > 0, 'a shadow host enters the wasm: the real target may be inside');
  const conv = goalpostMessages({ console: log.console.slice(before) }).filter((m) => m.text.startsWith('goalpost: conversion '));
  assert.deepEqual(conv.map((m) => m.text.slice(21)), ['outbound'], 'the link inside the shadow root converts');
  await context.close();
});

test("a custom element whose shadowRoot getter throws neither breaks the click nor turns goalpost off", async () => {
  const { page, context, log } = await open('/links.html');
  const before = log.console.length;
  await page.evaluate(() => {
    customElements.define('gp-odd', class extends HTMLElement { get shadowRoot() { throw new Error('odd element'); } });
    const odd = document.createElement('gp-odd');
    odd.className = 'cta';
    odd.textContent = 'Add (custom element)';
    document.body.append(odd);
    odd.click();
    document.getElementById('cta').click(); // and goalpost still works after it
  });
  const conv = goalpostMessages({ console: log.console.slice(before) }).filter((m) => m.text.startsWith('goalpost: conversion '));
  assert.deepEqual(conv.map((m) => m.text.slice(21)), ['cta', 'cta']);
  assert.deepEqual(goalpostMessages(log, 'error'), [], 'no internal error: tracking stays on');
  assert.deepEqual(log.errors, []);
  await context.close();
});

test('each conversion says which link or file: two partners, a PDF and an ISO, a phone number redacted', async () => {
  const { page, context } = await open('/details.html');
  for (const id of ['partner-a', 'partner-b', 'pdf', 'iso', 'tel', 'mail']) await page.click('#' + id);
  await page.evaluate(() => window.goalpost.gp.flush());
  const rows = await waitFor('six conversions', async () => {
    const r = (await env.collector.events('details')).filter((x) => x.type === 'conversion');
    return r.length === 6 && r;
  });
  const other = env.collector.base.replace('127.0.0.1', 'localhost');
  assert.deepEqual(rows.map((r) => [r.goal, r.detail]), [
    ['outbound', { href: other + '/a/offer?utm_source=shop', link: 'outbound' }],
    ['outbound', { href: other + '/b/', link: 'outbound' }],
    ['file', { href: env.collector.base + '/files/price-list.pdf', link: 'download', ext: 'pdf' }],
    ['file', { href: env.collector.base + '/files/setup.iso', link: 'download', ext: 'iso' }],
    ['call', { href: 'tel:[phone]', link: 'tel' }],
    ['quiet', null],
  ]);
  await context.close();
});
