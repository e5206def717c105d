// A real video (tests/pages/media/demo.webm, 4 s) played in Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conversions, openPage, useCollectorAndBrowser, waitFor } from './harness.mjs';

const env = useCollectorAndBrowser();

test('a video played to the end reports start, thresholds and completion once each', async () => {
  const { page, context } = await openPage(env.browser);
  await page.goto(env.collector.base + '/video.html');
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  // Play at 4x and wait for the real `ended` event (a condition, not a sleep).
  await page.evaluate(() => new Promise((resolve, reject) => {
    const v = document.getElementById('demo');
    v.playbackRate = 4;
    v.addEventListener('ended', resolve, { once: true });
    v.play().catch(reject);
  }));
  await page.evaluate(() => window.goalpost.gp.flush());
  let rows = await env.collector.events('video');
  assert.deepEqual(conversions(rows).sort(), ['any_2s', 'demo_50', 'demo_90', 'demo_done', 'demo_start']);
  // Played again on the same page view: nothing more (once per element per page view).
  await page.evaluate(() => new Promise((resolve) => {
    const v = document.getElementById('demo');
    v.currentTime = 0;
    v.addEventListener('ended', resolve, { once: true });
    v.play();
  }));
  await page.evaluate(() => window.goalpost.gp.flush());
  rows = await env.collector.events('video');
  assert.equal(conversions(rows).length, 5);
  const conv = rows.find((r) => r.goal === 'demo_50');
  assert.equal(conv.url, env.collector.base + '/video.html');
  // which video and which threshold (the page view is anonymous: the source is a plain URL)
  const src = env.collector.base + '/media/demo.webm';
  assert.deepEqual(conv.detail, { src, threshold: 50, unit: 'percent' });
  assert.deepEqual(rows.find((r) => r.goal === 'any_2s').detail, { src, threshold: 2, unit: 'seconds' });
  assert.deepEqual(rows.find((r) => r.goal === 'demo_done').detail, { src }, 'completion: the source, no threshold');
  await context.close();
});

test('seeking past a threshold counts it as reached; the other video has its own goals', async () => {
  const { page, context } = await openPage(env.browser);
  await page.goto(env.collector.base + '/video.html');
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  const before = conversions(await env.collector.events('video')).filter((g) => g === 'other_75').length;
  await page.evaluate(() => new Promise((resolve) => {
    const v = document.getElementById('other');
    v.addEventListener('timeupdate', function t() { if (v.currentTime >= 3.2) { v.removeEventListener('timeupdate', t); v.pause(); resolve(); } });
    v.currentTime = 3.2; // 80 %
    v.play();
  }));
  await page.evaluate(() => window.goalpost.gp.flush());
  const rows = await waitFor('other_75', async () => {
    const r = await env.collector.events('video');
    return conversions(r).filter((g) => g === 'other_75').length === before + 1 && r;
  });
  const last = rows.filter((r) => r.type === 'conversion').slice(-3).map((r) => r.goal);
  assert.ok(!last.includes('demo_50'), 'the #demo goals do not fire for #other');
  await context.close();
});
