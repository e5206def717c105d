// The dashboard of a collector with a read token: it asks for the token once, keeps it in an
// HttpOnly cookie (never in a URL or in script-readable storage), and then shows the report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, useCollectorAndBrowser } from './harness.mjs';

const TOKEN = 'e2e-read-token-0123456789abcdef';
const env = useCollectorAndBrowser({ args: ['--rate-limit', '0', '--read-token', TOKEN] });
const hex = (n) => n.toString(16).padStart(32, '0');

test('the dashboard asks for the read token, keeps it in an HttpOnly cookie, and shows the report', async () => {
  const base = env.collector.base;
  const now = Date.now();
  const events = [1, 2, 3].map((i) => ({ id: hex(i), type: 'page_view', ts: now, page: hex(100 + i), consent: 'anonymous', url: 'https://shop.test/' }));
  events.push({ id: hex(9), type: 'conversion', ts: now, page: hex(101), consent: 'anonymous', url: 'https://shop.test/', goal: 'lead', kind: 'macro' });
  const res = await fetch(base + '/collect', { method: 'POST', body: JSON.stringify({ v: 1, site: 'demo', batch: hex(77), sent: now, events }) });
  assert.equal(res.status, 200, await res.text());
  assert.equal((await fetch(base + '/api/report?site=demo')).status, 401, 'no token, no report (even on loopback)');

  const { page, context, log } = await openPage(env.browser);
  const urls = [];
  page.on('request', (r) => urls.push(r.url()));
  await page.goto(base + '/dashboard?site=demo');
  await page.waitForSelector('#signin:not([hidden])');
  await page.fill('#token', 'not-the-token-at-all-xxxx');
  await page.click('#signin button');
  await page.waitForFunction(() => document.getElementById('signin-error').textContent !== '');
  assert.match(await page.textContent('#signin-error'), /not a read token/);

  await page.fill('#token', TOKEN);
  await page.click('#signin button');
  await page.waitForSelector('body[data-loaded=true]');
  const text = await page.textContent('main');
  assert.ok(text.includes('3sessions'), text.slice(0, 200));
  assert.ok(text.includes('lead'), 'the goal row');
  const cookies = await context.cookies(base);
  const cookie = cookies.find((c) => c.name === 'goalpost_read');
  assert.ok(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', JSON.stringify(cookies));
  assert.equal(await page.evaluate(() => document.cookie), '', 'script cannot read the token');
  assert.ok(urls.every((u) => !u.includes(TOKEN)), 'the token is in no URL');
  // the CSV link works with the cookie alone
  const csv = await page.evaluate(async () => (await fetch(document.getElementById('csv').href)).text());
  assert.match(csv, /^section,model,date,goal/);
  // a reload stays signed in
  await page.reload();
  await page.waitForSelector('body[data-loaded=true]');
  assert.equal(await page.isHidden('#signin'), true);
  assert.deepEqual(log.errors.filter((e) => !/401/.test(e)), []);
  await context.close();
});
