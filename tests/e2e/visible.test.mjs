// Element visibility with IntersectionObserver, including elements added later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conversions, openPage, useCollectorAndBrowser, waitFor } from './harness.mjs';

const env = useCollectorAndBrowser();

/** Waits until `goal` is stored, flushing goalpost's queue while it waits. */
const converted = (page, goal) => waitFor(goal, async () => {
  await page.evaluate(() => window.goalpost.gp.flush());
  return conversions(await env.collector.events('visible')).includes(goal);
});

/** Adds a 50 px element of class `cls` before or after #pricing. */
const add = (page, cls, where) => page.evaluate(([cls, where]) => {
  const el = document.createElement('div');
  el.className = cls;
  el.style.height = '50px';
  el.textContent = cls;
  document.getElementById('pricing')[where](el);
}, [cls, where]);

test('an element counts once it was visible long enough; late elements are watched too', async () => {
  const { page, context } = await openPage(env.browser);
  await page.goto(env.collector.base + '/visible.html');
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  await page.evaluate(() => window.goalpost.gp.flush());
  assert.deepEqual(conversions(await env.collector.events('visible')), [], 'nothing visible yet');
  await page.evaluate(() => document.getElementById('pricing').scrollIntoView());
  await converted(page, 'saw_pricing');
  // an element added after load, then shown
  await add(page, 'late', 'after');
  await converted(page, 'saw_late');
  // scrolled away and back, in view for longer than its 300 ms: still once. The witness, shown
  // beside it with the same rule, converting proves the time passed in view.
  await page.evaluate(() => window.scrollTo(0, 0));
  await add(page, 'witness', 'before');
  await page.evaluate(() => document.getElementById('pricing').scrollIntoView({ block: 'center' }));
  await converted(page, 'saw_witness');
  await page.evaluate(() => document.getElementById('footer').scrollIntoView());
  await page.evaluate(() => window.goalpost.gp.flush());
  const all = conversions(await env.collector.events('visible'));
  assert.deepEqual(all.sort(), ['saw_late', 'saw_pricing', 'saw_witness'], 'once each; the footer needs a minute');
  await context.close();
});

test('more than 32 visible goals on one element each count once', async () => {
  const { page, context } = await openPage(env.browser);
  const goals = Array.from({ length: 34 }, (_, i) => ({ id: `seen_${i}`, on: 'visible', match: { selector: '#own', ms: 0 } }));
  await page.addInitScript((g) => { window.goalpostConfig = { collector: '/collect', site: 'visible-many', goals: g }; }, goals);
  await page.goto(env.collector.base + '/window-config.html');
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  const rows = await waitFor('34 conversions', async () => {
    await page.evaluate(() => window.goalpost.gp.flush());
    const c = conversions(await env.collector.events('visible-many'));
    return c.length >= 34 && c;
  });
  assert.deepEqual([...rows].sort(), goals.map((g) => g.id).sort(), 'each goal once, goal 32 and 33 included');
  await context.close();
});
