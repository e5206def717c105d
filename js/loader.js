/* goalpost loader: a classic script. Keeps calls made before the wasm is ready and replays
   them in order; loading twice is harmless. */
(function (w, d) {
  var cur = w.goalpost;
  if (cur && cur.l) return;
  var script = d.currentScript;
  var queue = [];
  // Conversion callbacks are DOM event listeners: attach them at once, so that they also see
  // conversions made while goalpost starts (a landing-page goal).
  function on(type, fn) {
    if (type !== 'conversion' || typeof fn !== 'function') return;
    d.addEventListener('goalpost:conversion', function (e) {
      try { fn(e.detail); } catch (err) { console.error('goalpost: a conversion callback threw', err); }
    });
  }
  function take(args) {
    if (args[0] === 'on') on(args[1], args[2]);
    else queue.push(args);
  }
  // Interactions before goalpost is ready (the wasm can take a second on a slow network): the
  // click, middle-click and submit events themselves, at most 50, nothing read from them here.
  // goalpost takes them when it starts (its listeners then replace these) and handles each as
  // if it happened then.
  var kept = [];
  var kinds = ['click', 'auxclick', 'submit'];
  function keep(e) { if (kept.length < 50) kept.push(e); }
  function early() {
    for (var i = 0; i < kinds.length; i++) d.removeEventListener(kinds[i], keep, true);
    var got = kept;
    kept = [];
    return got;
  }
  for (var i = 0; i < kinds.length; i++) d.addEventListener(kinds[i], keep, true);
  var calls = (cur && cur.q) || [];
  for (var k = 0; k < calls.length; k++) take(calls[k]);
  var stub = function () { take(arguments); };
  stub.q = queue;
  stub.l = 1;
  w.goalpost = stub;

  function config() {
    var id = (script && script.getAttribute('data-config')) || 'goalpost-config';
    var el = d.getElementById(id);
    if (el) return el.textContent;
    if (w.goalpostConfig) return w.goalpostConfig;
    console.error('goalpost: no config found (a <script type="application/json" id="' + id + '"> element or window.goalpostConfig); tracking is off.');
    return null;
  }

  function run(gp, args) {
    var cmd = args[0];
    if (cmd === 'track') gp.track(args[1], args[2]);
    else if (cmd === 'flush') { var p = gp.flush(); if (typeof args[1] === 'function') p.then(args[1]); }
    else if (cmd === 'shutdown') gp.shutdown();
    else if (cmd === 'on') on(args[1], args[2]);
    else if (cmd === 'consent') gp.consent(args[1]);
    else if (cmd === 'optOut') gp.optOut();
    else if (cmd === 'optIn') gp.optIn();
    else if (cmd === 'preview') gp.preview();
    else console.warn('goalpost: unknown command ' + cmd);
  }

  function start() {
    var cfg = config();
    if (cfg == null) return early();
    var base = (script && script.src) || d.baseURI;
    // consent choices queued before the start (a site's remembered answer, told on every page)
    // apply before the page view: it, the page-view goals and the stored visit come under them
    var consent = [];
    for (var j = 0; j < queue.length; j++) if (queue[j][0] === 'consent') consent.push(queue.splice(j--, 1)[0][1]);
    import(new URL('goalpost.mjs', base).href).then(function (m) {
      return m.init(cfg, { early: early, consent: consent });
    }).then(function (gp) {
      var live = function () { try { run(gp, arguments); } catch (e) { /* never into the page */ } };
      live.l = 1;
      live.gp = gp;
      live.q = [];
      w.goalpost = live;
      for (var i = 0; i < queue.length; i++) live.apply(null, queue[i]);
      queue.length = 0;
    }, function (err) {
      early();
      console.warn('goalpost: could not load (' + (err && err.message) + '); tracking is off.');
    });
  }

  // goalpost starts once the page is idle after DOMContentLoaded (at most a second later), so
  // that its start-up does not run in the middle of the page's own start-up work. Calls and
  // interactions made before then are kept (above).
  function later() {
    if (w.requestIdleCallback) w.requestIdleCallback(start, { timeout: 1000 });
    else setTimeout(start, 0);
  }
  // (an async script can run after parsing but before the deferred and module scripts, whose
  // calls, such as the site's remembered consent choice, must be in the queue at the start:
  // readyState is 'interactive' then, and DOMContentLoaded has not begun)
  var nav = w.performance && performance.getEntriesByType && performance.getEntriesByType('navigation')[0];
  if (d.readyState === 'loading' || (d.readyState === 'interactive' && nav && !nav.domContentLoadedEventStart)) {
    d.addEventListener('DOMContentLoaded', later);
  } else later();
})(window, document);
