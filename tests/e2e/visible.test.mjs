// Element visibility with IntersectionObserver, including elements added later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conversions, openPage, useCollectorAndBrowser, waitFor } from './harness.mjs';

const env = useCollectorAndBrowser();

test('an element counts once it was visible long enough; late elements are watched too', async () => {
  const { page, context } = await openPage(env.browser);
  await page.goto(env.collector.base + '/visible.html');
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  await page.evaluate(() => window.goalpost.gp.flush());
  assert.deepEqual(conversions(await env.collector.events('visible')), [], 'nothing visible yet');
  await page.evaluate(() => document.getElementById('pricing').scrollIntoView());
  await waitFor('saw_pricing', async () => {
    await page.evaluate(() => window.goalpost.gp.flush());
    return conversions(await env.collector.events('visible')).includes('saw_pricing');
  });
  // an element added after load, then shown
  await page.evaluate(() => {
    const el = document.createElement('div');
    el.className = 'late';
    el.style.height = '50px';
    el.textContent = 'added later';
    document.getElementById('pricing').after(el);
  });
  await waitFor('saw_late', async () => {
    await page.evaluate(() => window.goalpost.gp.flush());
    return conversions(await env.collector.events('visible')).includes('saw_late');
  });
  // scrolled away and back: still once
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.evaluate(() => document.getElementById('pricing').scrollIntoView());
  await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
  await page.evaluate(() => document.getElementById('footer').scrollIntoView());
  await page.evaluate(() => window.goalpost.gp.flush());
  const all = conversions(await env.collector.events('visible'));
  assert.deepEqual(all.sort(), ['saw_late', 'saw_pricing'], 'once each; the footer needs a minute');
  await context.close();
});
