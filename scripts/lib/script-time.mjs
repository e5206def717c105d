// Script time from a Chromium trace: the main thread's time (its own thread clock) inside script.
//
// DevTools' ScriptDuration (Performance.getMetrics) is not enough for a tracker that starts
// asynchronously: it counts scripts and callbacks, but not promise continuations. Work after
// `await`, after `fetch().then`, after `WebAssembly.instantiateStreaming` resolves or in a module
// that awaits is invisible to it (scripts/lib/script-time.test.mjs shows each case). goalpost's
// whole start-up runs in such continuations, so ScriptDuration undercounted it.
//
// This measure takes every main-thread event that runs script (a script evaluated, a callback,
// a microtask checkpoint) or works on wasm (streaming, compiling, instantiating, lazy compiles)
// and counts the union of their thread-clock spans, so nested events count once.

/** The trace categories the measure needs (light: what the DevTools Performance panel records). */
export const SCRIPT_TRACE_CATEGORIES = ['devtools.timeline', 'v8.execute', 'v8.wasm'];

const SCRIPT_EVENTS = new Set(['EvaluateScript', 'FunctionCall', 'RunMicrotasks']);

/** The renderer main threads in a trace (one per process; a test page has one). */
function mainThreads(events) {
  return new Set(events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
}

/**
 * Milliseconds of main-thread time spent in script or wasm work, from the trace's events
 * (`JSON.parse(await browser.stopTracing()).traceEvents`).
 */
export function scriptTime(events) {
  const mains = mainThreads(events);
  const spans = events
    .filter((e) => e.ph === 'X' && e.tdur > 0 && mains.has(`${e.pid}:${e.tid}`)
      && (SCRIPT_EVENTS.has(e.name) || e.cat.split(',').includes('v8.wasm')))
    .map((e) => [e.tts, e.tts + e.tdur])
    .sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [s, e] of spans) {
    if (e <= end) continue;
    total += e - Math.max(s, end);
    end = e;
  }
  return total / 1000;
}

/** Runs `body` with the browser tracing `page`; returns [body's result, script ms]. */
export async function traced(browser, page, body) {
  await browser.startTracing(page, { categories: SCRIPT_TRACE_CATEGORIES });
  let result;
  try {
    result = await body();
  } catch (e) {
    await browser.stopTracing();
    throw e;
  }
  const buf = await browser.stopTracing();
  return [result, scriptTime(JSON.parse(buf.toString()).traceEvents)];
}
