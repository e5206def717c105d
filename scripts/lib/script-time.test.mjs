// The benchmark's script-time measure (scripts/lib/script-time.mjs) counts a page's script
// wherever it runs: in a script, in a callback, in a promise continuation, after a wasm module
// resolves, in a module after `await`. The same fixed work, run each way, must measure alike;
// a page that does nothing must measure near nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { launch } from '../../tests/e2e/harness.mjs';
import { traced } from './script-time.mjs';

// A fixed amount of work (not a fixed wall time: the measure is thread time)
const WORK = 'let x=0;for(let i=0;i<1e7;i++)x=(x*31+i)%1000003;window.sink=x;window.done=1;';
const EMPTY_WASM = '[0,97,115,109,1,0,0,0]';
const PAGES = {
  script: `<script>${WORK}</script>`,
  microtask: `<script>Promise.resolve().then(()=>{${WORK}})</script>`,
  fetch: `<script>fetch('/data').then((r)=>r.text()).then(()=>{${WORK}})</script>`,
  wasm: `<script>WebAssembly.instantiate(new Uint8Array(${EMPTY_WASM})).then(()=>{${WORK}})</script>`,
  module: `<script type="module">await Promise.resolve();${WORK}</script>`,
  listener: `<button id="b">b</button><script>b.onclick=()=>{${WORK}};setTimeout(()=>b.click(),0)</script>`,
  nothing: '<script>window.done=1</script>',
};

test('script time counts the same work alike wherever it runs, and an idle page near zero', async () => {
  const srv = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(PAGES[req.url.slice(1)] ?? 'data');
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const browser = await launch();
  try {
    const measured = {};
    for (const name of Object.keys(PAGES)) {
      const context = await browser.newContext();
      const page = await context.newPage();
      [, measured[name]] = await traced(browser, page, async () => {
        await page.goto(`http://127.0.0.1:${srv.address().port}/${name}`);
        await page.waitForFunction(() => window.done === 1);
      });
      await context.close();
    }
    const base = measured.script;
    assert.ok(base > 5, `the work measures as script: ${JSON.stringify(measured)}`);
    for (const name of ['microtask', 'fetch', 'wasm', 'module', 'listener']) {
      const ratio = measured[name] / base;
      assert.ok(ratio > 0.5 && ratio < 2, `${name}: ${measured[name].toFixed(1)} ms against ${base.toFixed(1)} ms run as a script`);
    }
    assert.ok(measured.nothing < base / 4, `a page without the work: ${measured.nothing.toFixed(1)} ms`);
  } finally {
    await browser.close();
    srv.close();
  }
});
