// goalpost — the ES module entry (npm, bundlers, and the script-tag loader all use it).
// It loads the wasm, hands it the host functions, and exposes a small API that never throws.
import initWasm, { Goalpost } from './goalpost_wasm.js';

let dead = false;
let instance = null;
let instanceConfig = null;
let memory = null;
// The preview panel (js/preview.mjs, loaded only when asked for: `?goalpost_preview=1`, or
// `goalpost('preview')`): `preview` is its sink for notes (a buffer while it loads),
// `previewCtx` what it reads ({config, inner, error, host}), `watched` the click filter's CSS.
let preview = null;
let previewCtx = null;
let watched = null;

// Debug lines (`debug: true`, and always in preview): the console line, and the parts to the
// panel. Kinds (src/host.rs Note): 0 config problems, 1 a goal not matched (a goal, b what
// failed), 2 another ignored input, 3 an event collected (a what, b URL or funnel, n of m),
// 4 a conversion (a goal).
function note(kind, text, a, b, n, m) {
  // config problems come as JSON paths: logged once the companion has put them in words
  if (kind === 0) {
    explained(text).then((words) => show(0, words));
    return;
  }
  show(kind, text, a, b, n, m);
}

function show(kind, text, a, b, n, m) {
  (kind ? console.log : console.error)(text);
  if (preview) {
    try { preview(kind, text, a, b, n, m); } catch (_) {}
  }
}

// The tracker's build knows where a config's problems are (their JSON paths), not what they
// are in words: that is the companion's (js/explain.mjs, its own wasm build), loaded only for
// a config with a problem, on this page, which then says exactly what goalpost has always
// said (what is wrong, the did-you-mean). Resolves to that line, or to `paths` with the reason
// the companion could not be had. Both files are found next to this module (bundlers that
// follow `new URL(…, import.meta.url)` copy them as assets, as the panel).
function explained(paths) {
  return import(/* webpackIgnore: true */ /* @vite-ignore */ new URL('goalpost-explain.mjs', import.meta.url).href)
    .then((m) => m.explain(instanceConfig, new URL('goalpost_explain_bg.wasm', import.meta.url)))
    .then((words) => words || paths, (err) => paths + ' (what is wrong at each is said by goalpost-explain.mjs, which could not be loaded: ' + err + ')');
}

function openPreview(ctx) {
  // (opened before the start: the context learns the tracker once it runs)
  if (previewCtx) return Object.assign(previewCtx, ctx);
  previewCtx = ctx;
  const held = [];
  preview = (...args) => held.push(args);
  // a URL, not a module specifier: bundlers copy the file as an asset (as they do the .wasm)
  // instead of bundling it, so the panel never adds to a site's bundle
  import(/* webpackIgnore: true */ /* @vite-ignore */ new URL('preview.mjs', import.meta.url).href).then((m) => {
    const sink = m.open(ctx, () => watched);
    for (const args of held) sink(...args);
    preview = sink;
  }, (err) => { preview = null; console.warn('goalpost: the preview panel could not be loaded', err); });
}

function die(err) {
  if (!dead) {
    dead = true;
    try { console.error('goalpost: internal error; tracking is off for this page.', err); } catch (_) {}
  }
}

// Wraps a callback so that nothing it throws (a wasm trap included) reaches the page.
// The click pre-filter (`selectors`, `links`: CSS the wasm validated, either may be empty): a
// click that is neither inside a `selectors` match nor inside a link matching `links` never
// enters the wasm, but for one a minute that keeps the session alive; a shadow host passes,
// since the element really clicked may be inside it. (src/dom.rs ClickFilter: the same test.)
// A click that goes on into the wasm on an element that hosts no shadow root takes that
// element along (`fn(event, target)`): the wasm then reads neither the target nor its
// `shadowRoot` again.
function guard(fn, selectors, links) {
  let quiet = -6e4;
  return function (e) {
    if (dead) return undefined;
    try {
      const t = selectors != null && e.target;
      let link, hosts;
      // (a custom element's own shadowRoot getter may throw: then the wasm looks, and catches)
      try { hosts = t && t.shadowRoot; } catch (_) { hosts = true; }
      if (t && t.closest && !hosts) {
        // (in preview every click goes in: the panel shows why one matched nothing)
        if (!preview && !(selectors && t.closest(selectors)) &&
            !(links && (link = t.closest('a[href],area[href]')) && link.matches(links))) {
          const now = Date.now();
          if (now - quiet < 6e4) return undefined;
          quiet = now;
        }
        return fn.call(this, e, t);
      }
      return fn.apply(this, arguments);
    } catch (err) { die(err); return undefined; }
  };
}

// Every callback the wasm registers (listeners, timers, observers, the host's own callbacks)
// enters it through one closure: `entry(code, a, b, c)`, guarded, and behind the click
// pre-filter when `selectors` / `links` are given (src/runtime.rs, the K_* codes). A filtered
// callback given the target element by the guard says so in the code (`K_TARGET`, 1 << 20).
const cb = (entry, code, selectors, links) => {
  if (selectors != null) watched = { selectors, links };
  const f = guard(selectors == null
    ? (a, b, c) => entry(code, a, b, c)
    : (a, b) => entry(b ? code | 1048576 : code, a, b), selectors, links);
  // the document's submit listener (K_SUBMIT, src/runtime.rs) also goes into shadow roots
  if (code === 8) shadowForms(f);
  return f;
};

// Forms in open shadow roots: `submit` does not cross a shadow boundary, so the document's
// listener never hears a form inside a web component. A click or focus that comes from inside
// a shadow host (on other pages: one property read per click or focus) adds the same submit
// listener to each open shadow root on its path, once per root: roots attached after load and
// nested ones included; a form is clicked or focused before it is submitted (Enter in a field,
// a submit button, or the page's own `requestSubmit()` after the visitor filled it in).
// `unhookShadowForms()` stops the hooking when the tracker stops (a root's listener left behind
// then calls a stopped tracker, which ignores it).
let unhookShadowForms = () => {};
function shadowForms(listener) {
  const seen = new WeakSet();
  const hook = (e) => {
    try {
      if (e.target.shadowRoot) {
        for (const n of e.composedPath()) {
          if (n instanceof ShadowRoot && !seen.has(n)) {
            seen.add(n);
            n.addEventListener('submit', listener, true);
          }
        }
      }
    } catch (_) { /* never into the page */ }
  };
  const on = (add) => { for (const t of ['click', 'focusin']) (add ? addEventListener : removeEventListener)(t, hook, true); };
  on(true);
  unhookShadowForms = () => on(false);
}

// Scroll depth, read in JS at most every 250 ms while the page scrolls or resizes, once more
// after the last scroll, and when the page is hidden (control(2), before its last send) if it
// scrolled or resized since the last read: reading the position makes the browser bring layout
// up to date, which costs more than the scroll itself, so not on every frame, and not at a
// page's exit when nothing moved (a page leaving for the next one has its style invalidated by
// the browser: a read there cost 2.4-5 ms of style and layout in Chromium). The listeners are
// off while a read that a scroll asked for is pending: scroll
// events come every frame while the page scrolls, and the pending read covers them all (one
// call per 250 ms of scrolling instead of one per frame). The wasm hears only of a threshold
// passed (percent of the page or pixels from its top, the deepest this page view).
// control(1) starts a new page view, control(0) stops.
function depth(percentsView, pixelsView, reached) {
  // the arguments are views of wasm memory, valid only during this call: copied
  const percents = Array.from(percentsView);
  const pixels = Array.from(pixelsView);
  let pending = false;
  let stopped = false;
  let pct = 0;
  let px = 0;
  // Until the visitor scrolls, a depth counts only once the page's height has held still for a
  // second: content that arrives late (an app's view, a lazy article) would otherwise find a
  // short page and read it as 100 %. A page that never grows is still read on load.
  let settled = false;
  let height = -1;
  // a scroll or resize since the last read
  let moved = false;
  const opts = { capture: true, passive: true };
  const listen = (on) => {
    for (const type of ['scroll', 'resize']) {
      if (on) addEventListener(type, onMove, opts);
      else removeEventListener(type, onMove, opts);
    }
  };
  const measure = guard(() => {
    pending = false;
    moved = false;
    const root = document.documentElement;
    if (stopped || !root) return;
    listen(true);
    const h = root.scrollHeight;
    if (!settled && scrollY === 0 && h !== height) {
      height = h;
      setTimeout(settle, 1000);
      return;
    }
    settled = true;
    const y = scrollY + innerHeight;
    const p = Math.min(100, (y / Math.max(1, h)) * 100);
    const passed = percents.some((t) => p >= t && pct < t) || pixels.some((t) => y >= t && px < t);
    pct = Math.max(pct, p);
    px = Math.max(px, y);
    if (passed) reached(p, y);
  });
  function settle() {
    if (!settled && !pending) measure();
  }
  function schedule() {
    if (!pending && !stopped) {
      pending = true;
      setTimeout(measure, 250);
    }
  }
  function onMove() {
    moved = true;
    // the pending read covers the scrolling that follows: off until it ran
    listen(false);
    schedule();
  }
  // a page shorter than the viewport is read to the end once it has settled; listening from
  // the start, so that a scroll before the first read is known on hide
  listen(true);
  schedule();
  return (what) => {
    if (what === 2) return moved ? measure() : undefined;
    if (what === 1) {
      pct = px = 0;
      settled = false;
      height = -1;
      schedule();
      return;
    }
    stopped = true;
    listen(false);
  };
}

const noop = () => {};

// send's codes besides HTTP statuses (src/host.rs, SENT_*)
const NETWORK_ERROR = -1, BEACON_REFUSED = -2, BEACON_TAKEN = -3;

function send(url, body, beacon, batch, timeout, done) {
  if (beacon && navigator.sendBeacon) {
    let ok = false;
    try { ok = navigator.sendBeacon(url, body); } catch (_) {}
    done(batch, ok ? BEACON_TAKEN : BEACON_REFUSED, -1);
    return;
  }
  let timer = 0;
  const ctrl = typeof AbortController === 'function' ? new AbortController() : null;
  if (ctrl) timer = setTimeout(() => ctrl.abort(), timeout);
  try {
    fetch(url, { method: 'POST', body, keepalive: true, credentials: 'omit', mode: 'cors', signal: ctrl && ctrl.signal })
      .then((res) => {
        clearTimeout(timer);
        // Read the body: Chromium returns the keepalive budget only once it is consumed.
        res.arrayBuffer().catch(noop);
        done(batch, res.status, retryAfter(res.headers.get('retry-after')));
      }, () => {
        clearTimeout(timer);
        done(batch, NETWORK_ERROR, -1);
      });
  } catch (_) {
    clearTimeout(timer);
    done(batch, -1, -1);
  }
}

// A conversion for the page: a DOM event, and a dataLayer entry when forwarding is on
// (its own copy: callbacks keep the detail they were given). Goals are registered once, at
// start (`goal`), and conversions refer to them by index.
const goals = [];
function goal(id, kind, label, category) {
  goals.push({ goal: id, kind, label: label ?? null, category: category ?? null });
}
function announce(index, value, currency, layer) {
  const detail = Object.assign({}, goals[index], { value: value ?? null, currency: currency ?? null });
  document.dispatchEvent(new CustomEvent('goalpost:conversion', { detail }));
  if (layer) (window.dataLayer = window.dataLayer || []).push(Object.assign({}, detail, { event: layer }));
}

// History hooks for single-page apps: the page's call runs first, unchanged (and throws as it
// would); only after it succeeded is goalpost told. 0 push, 1 replace, 2 popstate, 3 hashchange.
function watch(navigated) {
  const h = history;
  const hooks = ['pushState', 'replaceState'].map((name, kind) => {
    const original = h[name];
    const hook = function () {
      const result = original.apply(this, arguments);
      navigated(kind);
      return result;
    };
    h[name] = hook;
    return [name, original, hook];
  });
  const pop = () => navigated(2);
  const hash = () => navigated(3);
  addEventListener('popstate', pop);
  addEventListener('hashchange', hash);
  return () => {
    for (const [name, original, hook] of hooks) if (h[name] === hook) h[name] = original;
    removeEventListener('popstate', pop);
    removeEventListener('hashchange', hash);
  };
}

// Retry-After: seconds, or an HTTP date; milliseconds, or -1.
function retryAfter(value) {
  if (!value) return -1;
  const secs = Number(value);
  if (value.trim() !== '' && secs >= 0) return secs * 1000;
  const at = Date.parse(value);
  return isNaN(at) ? -1 : Math.max(0, at - Date.now());
}

// Consent signals: Google Consent Mode commands in dataLayer (those already there, then each
// one pushed), and an IAB TCF v2.2 tool (__tcfapi), also one that appears after load.
function watchConsent(google, tcf, changed) {
  const undo = [];
  if (google) {
    const dl = (window.dataLayer = window.dataLayer || []);
    const seen = (e) => {
      if (e && e[0] === 'consent' && (e[1] === 'default' || e[1] === 'update') && e[2] && typeof e[2] === 'object') changed(0, e[2]);
    };
    for (const e of Array.from(dl)) seen(e);
    const push = dl.push;
    const hook = function () {
      const result = push.apply(this, arguments);
      for (const e of arguments) seen(e);
      return result;
    };
    dl.push = hook;
    undo.push(() => { if (dl.push === hook) dl.push = push; });
  }
  if (tcf) {
    let listenerId = null;
    const attach = () => {
      if (typeof window.__tcfapi !== 'function') return false;
      window.__tcfapi('addEventListener', 2, (d, ok) => {
        if (!ok || !d) return;
        if (d.listenerId != null) listenerId = d.listenerId;
        if (d.eventStatus !== 'tcloaded' && d.eventStatus !== 'useractioncomplete') return;
        const p = (d.purpose && d.purpose.consents) || {};
        changed(1, [d.gdprApplies !== false, !!p[1], !!p[7], !!p[8], !!p[9]]);
      });
      return true;
    };
    if (!attach()) {
      const later = () => attach();
      addEventListener('load', later, { once: true });
      undo.push(() => removeEventListener('load', later));
    }
    undo.push(() => {
      if (listenerId != null && typeof window.__tcfapi === 'function') window.__tcfapi('removeEventListener', 2, noop, listenerId);
    });
  }
  return () => undo.forEach((f) => f());
}

// Stored queues: this page holds a Web Lock on its own key while it lives; a stored queue
// whose lock is free belongs to a page that is gone, and is claimed (read, removed, resent).
// Without Web Locks, stored queues are claimed directly (the collector de-duplicates).
function persistence(own, restore) {
  const locks = navigator.locks;
  if (locks) locks.request(own, () => new Promise(noop)).catch(noop);
  const keys = [];
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (k && k.indexOf('goalpost_q_') === 0 && k !== own) keys.push(k);
    }
  } catch (_) { return; }
  for (const k of keys) {
    const take = () => {
      let v = null;
      try { v = localStorage.getItem(k); localStorage.removeItem(k); } catch (_) {}
      if (v) restore(v);
    };
    // Waits for the owner's lock: a live tab keeps its queue until it is gone, and a page
    // being unloaded (this tab's previous page, on a reload) may hold it a moment longer.
    // Skipping a held lock lost that page's queue until some later page load (a CI flake of
    // delivery.test.mjs, "reload while a batch is in flight").
    if (locks) locks.request(k, take).catch(noop);
    else take();
  }
}

function api(inner) {
  return {
    track(name, props) {
      if (inner && !dead && typeof name === 'string') guard(() => inner.track(name, props))();
    },
    flush() {
      return new Promise((resolve) => {
        if (!inner || dead) return resolve();
        guard(() => inner.flush(resolve))();
        if (dead) resolve();
      });
    },
    shutdown() {
      if (inner && !dead) guard(() => inner.shutdown())();
      unhookShadowForms();
    },
    /** consent('granted' | 'denied' | {analytics, ads, storage} | Google Consent Mode keys) */
    consent(choice) {
      if (inner && !dead) guard(() => inner.consent(choice))();
    },
    /** A per-browser opt-out that survives reloads; deletes what goalpost stored. */
    optOut() {
      if (inner && !dead) guard(() => inner.optOut())();
    },
    optIn() {
      if (inner && !dead) guard(() => inner.optIn())();
    },
    /** Opens the preview panel on this page (loaded on demand; sends nothing). */
    preview() {
      if (inner && !dead) {
        guard(() => inner.debug(true))();
        openPreview({ config: instanceConfig, inner });
      }
    },
    /** on('conversion', fn): fn(detail) for every conversion; returns a function that unsubscribes. */
    on(type, fn) {
      if (type !== 'conversion' || typeof fn !== 'function') return noop;
      const handler = (e) => {
        try { fn(e.detail); } catch (err) { console.error('goalpost: a conversion callback threw', err); }
      };
      document.addEventListener('goalpost:conversion', handler);
      return () => document.removeEventListener('goalpost:conversion', handler);
    },
    /** @internal listeners installed, for tests */
    get listenerCount() { return inner && !dead ? inner.listenerCount() : 0; },
    /** @internal the wasm linear memory's size in bytes, for tests */
    get memoryBytes() { return memory ? memory.buffer.byteLength : 0; },
  };
}

// Where the .wasm is: next to this module by default. A relative path (what bundlers' asset
// loaders produce, e.g. esbuild's "./goalpost_wasm_bg-HASH.wasm") is resolved against this
// module's URL, not the page's.
function wasmSource(given) {
  if (!given) return new URL('goalpost_wasm_bg.wasm', import.meta.url);
  if (typeof given === 'string' && !/^([a-z][a-z0-9+.-]*:|\/)/i.test(given)) return new URL(given, import.meta.url);
  return given;
}

// The module's own keeping of early interactions (the loader has the same, for the script
// tag): the click, middle-click and submit events themselves, at most 50, nothing read from
// them until goalpost handles each as if it happened when it starts.
function keepEarly() {
  const kept = [];
  if (typeof document === 'undefined') return () => kept;
  const kinds = ['click', 'auxclick', 'submit'];
  const keep = (e) => { if (kept.length < 50) kept.push(e); };
  for (const k of kinds) document.addEventListener(k, keep, true);
  return () => {
    for (const k of kinds) document.removeEventListener(k, keep, true);
    return kept.splice(0);
  };
}

// The wasm is fetched: a page whose CSP `connect-src` leaves out the tracker's origin makes the
// fetch fail with a bare "Failed to fetch". The page's `securitypolicyviolation` event (which may
// come a moment after the rejection) names the directive: then goalpost says which origin to add.
async function blockedFetch(source, err) {
  const origin = (source instanceof URL || typeof source === 'string') && new URL(source, location.href).origin;
  if (!origin || !(err instanceof TypeError)) throw err;
  const violated = await new Promise((resolve) => {
    const seen = (e) => {
      if (/^connect-src/.test(e.effectiveDirective) && String(e.blockedURI).startsWith(origin)) done(1);
    };
    const done = (v) => { document.removeEventListener('securitypolicyviolation', seen); resolve(v); };
    document.addEventListener('securitypolicyviolation', seen);
    setTimeout(done, 100);
  });
  throw violated ? { csp: origin } : err;
}

function isWasmBlocked(err) {
  const msg = String(err && err.message);
  return (typeof WebAssembly === 'undefined') || /Content Security Policy|wasm-unsafe-eval|unsafe-eval/i.test(msg);
}

/**
 * Starts goalpost with `config` (an object, or a JSON string). Resolves to the API; never
 * rejects: on any problem it logs one console message and resolves to an API that does nothing.
 */
export async function init(config, options = {}) {
  if (instance) {
    console.warn('goalpost: init() was called again; the running instance is kept.');
    return instance;
  }
  instance = api(null);
  // Interactions made while the wasm loads are kept: by the script-tag loader (which hands
  // `options.early` over), or here, from the call of `init` on. `early()` stops the keeping and
  // returns what was kept: taken right before the tracker's own listeners go in, so that no
  // event is both kept and seen; idempotent, so `finally` can make sure.
  const early = typeof options.early === 'function' ? options.early : keepEarly();
  const takeEarly = () => {
    try { return early() || []; } catch (_) { return []; }
  };
  try {
    const asked = typeof location !== 'undefined' && /[?&]goalpost_preview=1(&|$)/.test(location.search);
    if (typeof config === 'string') {
      try { config = JSON.parse(config); } catch (err) {
        const msg = 'goalpost: the config is not valid JSON (' + err.message + '); tracking is off.';
        console.error(msg);
        if (asked) openPreview({ error: msg });
        return instance;
      }
    }
    // asked for in the URL: debug notes from the start, the panel loading meanwhile
    if (asked && config && typeof config === 'object' && !Array.isArray(config)) {
      config = Object.assign({}, config, { debug: true });
      openPreview({ config });
    }
    instanceConfig = config;
    // (export names are minified at build time: the memory is found by its type)
    const source = wasmSource(options.wasm);
    const exports = await initWasm({ module_or_path: source }).catch((err) => blockedFetch(source, err));
    memory = Object.values(exports).find((v) => v instanceof WebAssembly.Memory) || null;
    // A page the browser prerenders (speculation rules) may never be shown: its files load, but
    // goalpost starts, and counts the page view, only once the visitor navigates to it.
    if (typeof document !== 'undefined' && document.prerendering) {
      await new Promise((r) => document.addEventListener('prerenderingchange', r, { once: true }));
    }
    const seed = new Uint32Array(4);
    crypto.getRandomValues(seed);
    let inner;
    goals.length = 0;
    const kept = takeEarly();
    try {
      // the visitor's choices made before the start (options.consent: one, or a list in order)
      const consent = options.consent == null ? undefined : [].concat(options.consent);
      inner = Goalpost.start(config, { cb, send, watch, watchConsent, persistence, goal, announce, depth, note }, seed, consent);
    } catch (err) {
      if (typeof err === 'string') {
        explained(err).then((words) => {
          console.error(words);
          if (asked) openPreview({ config, error: words });
        });
        return instance;
      }
      throw err;
    }
    instance = api(inner);
    if (asked) openPreview({ inner });
    // interactions from before the tracker was ready, in order, after its page view
    for (const e of kept) if (e instanceof Event) guard(() => inner.replay(e, e.type))();
  } catch (err) {
    if (err && err.csp) {
      console.warn("goalpost: this page's Content-Security-Policy blocks fetching goalpost's WebAssembly; add " + err.csp + ' to connect-src. Tracking is off.');
    } else if (isWasmBlocked(err)) {
      console.warn("goalpost: this page's Content-Security-Policy blocks WebAssembly; add 'wasm-unsafe-eval' to script-src. Tracking is off.");
    } else {
      die(err);
    }
  } finally {
    takeEarly();
  }
  return instance;
}

export default init;
