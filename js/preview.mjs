// goalpost preview panel: loaded only when a page asks for it (`?goalpost_preview=1`, or
// `goalpost('preview')`), never part of the default download. It outlines the elements each
// goal watches, lists page views, conversions and funnel steps as they happen, shows the
// consent state and what it allows, and for an interaction that matched no goal, the closest
// goal and the condition that failed. It lives in a shadow root (the site's CSS cannot reach
// it), catches everything it does, and sends nothing: it only reads what the tracker tells it
// (js/entry.mjs `note`, the K_* kinds of src/host.rs Note) and the page's own DOM.

const ERROR = 0;
const NOT_MATCHED = 1;
// (2: anything else that led to nothing, shown as the tracker says it)
const COLLECTED = 3;
const CONVERTED = 4;
const TRIGGERS = ['click', 'link', 'download', 'submit', 'media', 'scroll', 'pageview', 'visible', 'engaged', 'custom', 'funnel'];
/** What each trigger counts, for "it counts downloads; this was not one". */
const COUNTS = {
  click: 'clicks', link: 'links of its kinds', download: 'downloads', submit: 'form submits', media: 'media events',
  scroll: 'scroll depths', pageview: 'page views', visible: 'elements seen', engaged: 'engaged time', custom: 'custom events',
};
const MAX_LOG = 100;
const MAX_BOXES = 300;
/** The events the panel keeps to itself. */
const OWN = ['click', 'mousedown', 'mouseup', 'pointerdown', 'pointerup', 'auxclick', 'keydown', 'focusin'];

const CSS = `
:host { all: initial; }
* { box-sizing: border-box; }
.panel { position: fixed; right: 12px; bottom: 12px; width: 380px; max-height: min(70vh, 620px); display: flex;
  flex-direction: column; background: #101418; color: #e8edf2; font: 12px/1.45 system-ui, sans-serif;
  border-radius: 10px; box-shadow: 0 8px 30px rgba(0,0,0,.35); overflow: hidden; z-index: 2147483647; }
.panel.min .body { display: none; }
header { display: flex; align-items: center; gap: 6px; padding: 8px 10px; background: #1b232b; }
header b { flex: 1; font-size: 13px; }
button { all: unset; cursor: pointer; padding: 2px 7px; border-radius: 5px; background: #2c3742; color: #e8edf2; }
button:hover { background: #3a4855; }
.body { overflow: auto; padding: 6px 10px 10px; }
h2 { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: #8fa3b5; margin: 10px 0 4px; }
ul { list-style: none; margin: 0; padding: 0; }
.log { max-height: 180px; overflow: auto; }
li { padding: 3px 0; border-bottom: 1px solid #1e272f; }
.error { background: #4a1d1d; color: #ffd7d7; padding: 6px 8px; border-radius: 6px; margin: 4px 0; }
.consent span { display: inline-block; margin: 0 8px 2px 0; }
.ok { color: #7ee2a8; } .no { color: #ff9b9b; } .wait { color: #ffd479; }
.goal code, .log code { color: #9fd3ff; }
.muted { color: #8fa3b5; }
.log .conv { color: #7ee2a8; } .log .miss { color: #ffd479; } .log .step { color: #c7a6ff; }
.overlay { position: fixed; inset: 0; pointer-events: none; z-index: 2147483646; }
.box { position: fixed; border: 2px solid #2f9cff; border-radius: 3px; background: rgba(47,156,255,.08); }
.box span { position: absolute; left: -2px; top: -17px; background: #2f9cff; color: #fff; font: 10px/15px system-ui, sans-serif;
  padding: 0 4px; border-radius: 3px 3px 0 0; white-space: nowrap; max-width: 320px; overflow: hidden; text-overflow: ellipsis; }
.box.link { border-color: #b26bff; background: rgba(178,107,255,.08); } .box.link span { background: #b26bff; }
.hidden { display: none; }
`;

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** What a person would call an element: `button#buy.primary "Add to cart"`. */
function describe(el) {
  if (!el || !el.localName) return 'the page';
  let d = el.localName;
  if (el.id) d += '#' + el.id;
  const cls = typeof el.className === 'string' ? el.className.trim().split(/\s+/).filter(Boolean).slice(0, 2) : [];
  if (cls.length) d += '.' + cls.join('.');
  const text = (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 30);
  return text ? `${d} "${text}"` : d;
}

/** Every selector a goal names (its match, `any` alternatives, inline funnel steps). */
function selectorsOf(goal) {
  const out = [];
  const walk = (m, depth) => {
    if (!m || typeof m !== 'object' || depth > 4) return;
    if (typeof m.selector === 'string') out.push(m.selector);
    if (Array.isArray(m.any)) m.any.forEach((x) => walk(x, depth + 1));
  };
  walk(goal.match, 0);
  if (Array.isArray(goal.steps)) goal.steps.forEach((s) => s && typeof s === 'object' && walk(s.match, 0));
  return out;
}

function elementsOf(selectors) {
  const found = new Set();
  for (const s of selectors) {
    try { document.querySelectorAll(s).forEach((el) => found.add(el)); } catch (_) { /* a selector the tracker rejected */ }
  }
  return [...found];
}

/** The tracker's consent bits (core/src/tracker.rs `consent_bits`) as names. */
function unpack(bits) {
  const choice = (k) => ['unknown', 'granted', 'denied'][(bits >> k) & 3];
  return {
    mode: ['required', 'anonymous', 'implied'][bits & 3], analytics: choice(2), ads: choice(4), storage: choice(6),
    collect: ['full', 'anonymous', 'hold', 'refuse'][(bits >> 8) & 3], store: !!(bits & 1024), forward: !!(bits & 2048),
  };
}

/** The consent state in words. */
function consentLine(st) {
  if (!st) return '<span class="muted">the tracker is not running</span>';
  const choice = (c) => (c === 'granted' ? '<b class="ok">granted</b>' : c === 'denied' ? '<b class="no">denied</b>' : '<b class="wait">not chosen</b>');
  const collect = {
    full: '<b class="ok">with identifiers</b>', anonymous: '<b class="wait">without identifiers</b>',
    hold: '<b class="wait">held until a choice</b>', refuse: '<b class="no">nothing</b>',
  }[st.collect] || esc(st.collect);
  return [`<span>mode <b>${esc(st.mode)}</b></span>`, `<span>analytics ${choice(st.analytics)}</span>`, `<span>ads ${choice(st.ads)}</span>`,
    `<span>storage ${choice(st.storage)}</span><br>`, `<span>collecting: ${collect}</span>`,
    `<span>browser storage: ${st.store ? '<b class="ok">allowed</b>' : '<b class="no">not used</b>'}</span>`,
    `<span>dataLayer: ${st.forward ? '<b class="ok">forwarded</b>' : '<b class="no">not forwarded</b>'}</span>`].join(' ');
}

/**
 * Opens the panel. `ctx`: { config, inner (the running Goalpost, once started), error; host
 * (set here) }; `watched()`: the click filter's CSS { selectors, links }. Returns the sink for
 * the tracker's notes: (kind, text, a, b, n, m).
 */
export function open(ctx, watchedCss) {
  const state = () => { try { return ctx.inner ? unpack(ctx.inner.state()) : null; } catch (_) { return null; } };
  const watched = () => { try { return watchedCss(); } catch (_) { return null; } };
  const host = document.createElement('goalpost-preview');
  host.setAttribute('data-goalpost', 'preview');
  const root = host.attachShadow({ mode: 'open' });
  root.innerHTML = `<style>${CSS}</style><div class="overlay"></div>
    <section class="panel" role="complementary" aria-label="goalpost preview">
      <header><b>goalpost preview</b><button class="outlines" title="outline the watched elements">outlines</button>
      <button class="min" title="fold">–</button><button class="exit" title="leave preview">exit</button></header>
      <div class="body">
        <div class="errors"></div>
        <h2>Consent</h2><div class="consent"></div>
        <h2>What happened</h2><ul class="log"></ul>
        <h2>Goals</h2><ul class="goals"></ul>
      </div>
    </section>`;
  ctx.host = host;
  const $ = (sel) => root.querySelector(sel);
  const counts = new Map();
  let outlines = true;
  let closed = false;

  // the tracker's message: what happens (a sentence), then each problem on a line of its own
  const errors = (text) => {
    const m = /^(.*?(?:tracking is off|the rest work)\.) (.*)$/s.exec(String(text).replace(/^goalpost: /, ''));
    const lines = m ? [m[1], ...m[2].split('; ')] : [String(text).replace(/^goalpost: /, '')];
    $('.errors').insertAdjacentHTML('beforeend', `<div class="error">${lines.map(esc).join('<br>')}</div>`);
  };
  let shownError = null;

  const log = (cls, html) => {
    const ul = $('.log');
    const time = new Date().toTimeString().slice(0, 8);
    ul.insertAdjacentHTML('afterbegin', `<li class="${cls}"><span class="muted">${time}</span> ${html}</li>`);
    while (ul.children.length > MAX_LOG) ul.lastElementChild.remove();
  };

  const goals = () => (ctx.config && Array.isArray(ctx.config.goals) ? ctx.config.goals.filter((g) => g && typeof g.id === 'string') : []);

  function renderGoals() {
    const css = watched();
    const rows = goals().map((g) => {
      const sels = selectorsOf(g);
      let where = '';
      if (sels.length) {
        const n = elementsOf(sels).length;
        where = n ? `${n} element${n === 1 ? '' : 's'} watched` : '<span class="no">no element on this page</span>';
      } else if ((g.on === 'link' || g.on === 'download') && css && css.links) {
        const n = linksOf(css.links).length;
        where = `${n} link${n === 1 ? '' : 's'} that may match`;
      } else {
        where = { pageview: 'on page views', scroll: 'on scroll depth', engaged: 'on engaged time', custom: 'on goalpost(\'track\')', funnel: 'on its steps', media: 'on media' }[g.on] || '';
      }
      const k = counts.get(g.id) || 0;
      return `<li class="goal"><code>${esc(g.id)}</code> <span class="muted">${esc(g.on)}${g.kind === 'macro' ? ' · macro' : ''}</span> — ${where}`
        + `${k ? ` · <b class="ok">converted ×${k}</b>` : ''}</li>`;
    });
    $('.goals').innerHTML = rows.join('') || '<li class="muted">no goals</li>';
  }

  function linksOf(css) {
    const out = [];
    try {
      document.querySelectorAll('a[href],area[href]').forEach((a) => { if (a.matches(css)) out.push(a); });
    } catch (_) { /* (the tracker validated it) */ }
    return out;
  }

  function drawOutlines() {
    const overlay = $('.overlay');
    overlay.textContent = '';
    if (!outlines) return;
    const labels = new Map();
    for (const g of goals()) {
      for (const el of elementsOf(selectorsOf(g))) labels.set(el, [...(labels.get(el) || []), g.id]);
    }
    const css = watched();
    const linkGoals = goals().filter((g) => g.on === 'link' || g.on === 'download').map((g) => g.id);
    const links = css && css.links && linkGoals.length ? linksOf(css.links) : [];
    const boxes = [...labels].map(([el, ids]) => [el, ids.join(', '), '']).concat(links.filter((a) => !labels.has(a)).map((a) => [a, linkGoals.join(', '), 'link']));
    let n = 0;
    for (const [el, label, cls] of boxes) {
      if (n >= MAX_BOXES) break;
      const r = el.getBoundingClientRect();
      if (!r.width && !r.height) continue;
      if (r.bottom < 0 || r.top > innerHeight) continue;
      const box = document.createElement('div');
      box.className = 'box ' + cls;
      box.style.cssText = `left:${r.left}px;top:${r.top}px;width:${r.width}px;height:${r.height}px`;
      box.innerHTML = `<span>${esc(label)}</span>`;
      box.setAttribute('data-goals', label);
      overlay.appendChild(box);
      n++;
    }
  }

  function refresh() {
    if (closed) return;
    try {
      // (the start can fail after the panel opened)
      if (ctx.error && ctx.error !== shownError) { shownError = ctx.error; errors(ctx.error); }
      $('.consent').innerHTML = consentLine(state());
      renderGoals();
      drawOutlines();
    } catch (_) { /* the panel never breaks the page */ }
  }

  let frame = 0;
  const soon = () => { if (!frame) frame = setTimeout(() => { frame = 0; refresh(); }, 16); };

  // the interaction the tracker's next notes are about (clicks and submits on the page)
  let last = null;
  const seen = (e) => { if (e.target !== host) last = { type: e.type, el: e.target }; };
  // (on the window: its capture runs before the tracker's listeners on the document)
  addEventListener('click', seen, true);
  addEventListener('submit', seen, true);

  // notes of one interaction arrive together (one task): judged together
  let group = null;
  const triggerOf = (id) => (goals().find((g) => g.id === id) || {}).on;

  /**
   * A click no goal's selector matched never reaches a rule: the closest goal is the one whose
   * element is inside what was clicked, else the one whose element is nearest on screen.
   */
  function closestByElement(el) {
    const r0 = el.getBoundingClientRect();
    let best = null;
    for (const g of goals().filter((g) => g.on === 'click' || g.on === 'submit')) {
      for (const sel of selectorsOf(g)) {
        let inside = null;
        let all = [];
        try { inside = el.querySelector(sel); all = [...document.querySelectorAll(sel)]; } catch (_) { continue; }
        if (inside) return { goal: g.id, why: `its selector <code>${esc(sel)}</code> matches an element inside this one (<code>${esc(describe(inside))}</code>): click that` };
        for (const other of all) {
          const r = other.getBoundingClientRect();
          const d = Math.hypot(r.left + r.width / 2 - (r0.left + r0.width / 2), r.top + r.height / 2 - (r0.top + r0.height / 2));
          if (!best || d < best.d) best = { d, goal: g.id, why: `its selector <code>${esc(sel)}</code> matches ${all.length} other element${all.length === 1 ? '' : 's'}, not this one` };
        }
      }
    }
    return best;
  }

  function flushGroup() {
    const g = group;
    group = null;
    if (!g || g.converted) return;
    const misses = g.notes.filter((x) => x.kind === NOT_MATCHED);
    const about = g.about || (misses[0] && { type: triggerOf(misses[0].goal) || 'interaction' });
    const what = about.el ? `${about.type} on <code>${esc(describe(about.el))}</code>` : esc(about.type);
    if (misses.length) {
      // the closest goal got furthest: past its trigger, past its selector
      const rank = (m) => (TRIGGERS.includes(m.failed) ? 0 : m.failed === 'selector' ? 1 : 2);
      const best = misses.reduce((a, b) => (rank(b) > rank(a) ? b : a));
      const why = TRIGGERS.includes(best.failed) ? `it counts ${COUNTS[best.failed] || esc(best.failed)}; this was not one`
        : best.failed === 'selector' ? 'its selector does not match this element'
          : `its condition on <code>${esc(best.failed)}</code> failed`;
      log('miss', `${what} matched no goal — closest: <code>${esc(best.goal || '(funnel step)')}</code>: ${why}`);
      return;
    }
    for (const x of g.notes) {
      // (no rule was a candidate: no selector of a click goal matched)
      if (about.el && about.type === 'click' && /no goal listens for click/.test(x.text)) {
        const near = closestByElement(about.el);
        log('miss', near ? `${what} matched no goal — closest: <code>${esc(near.goal)}</code>: ${near.why}`
          : `${what} matched no goal: no click goal's element is on this page`);
      } else {
        log('miss', `${what}: ${esc(x.text.replace(/^goalpost: /, ''))}`);
      }
    }
  }

  function sink(kind, text, a, b, n, m) {
    if (closed) return;
    try {
      soon(); // (after this task: the tracker has started by then)
      if (kind === ERROR) { errors(text); return; }
      if (kind === COLLECTED) {
        if (a === 'page_view') {
          // a page view (an app's route change inside a click, say) ends what came before it:
          // the notes after it are about it
          flushGroup();
          log('view', `page view <code>${esc(b.replace(/^https?:\/\/[^/]+/, '') || '/')}</code>`);
          last = { type: 'the page view' };
        }
        else log('step', `funnel <code>${esc(b)}</code>: step ${n + 1} of ${m}`);
        return;
      }
      if (!group) {
        group = { notes: [], converted: false, about: last };
        last = null;
        setTimeout(flushGroup, 0);
      }
      if (kind === CONVERTED) {
        group.converted = true;
        counts.set(a, (counts.get(a) || 0) + 1);
        log('conv', `<b>conversion</b> <code>${esc(a)}</code>${group.about ? ` from ${esc(group.about.type)} on <code>${esc(describe(group.about.el))}</code>` : ''}`);
        renderGoals();
        return;
      }
      group.notes.push({ kind, text, goal: a, failed: b });
    } catch (_) { /* never into the page */ }
  }

  const actions = {
    min: () => $('.panel').classList.toggle('min'),
    outlines: () => { outlines = !outlines; drawOutlines(); },
    exit: () => {
      closed = true;
      try { if (ctx.inner) ctx.inner.debug(false); } catch (_) {}
      removeEventListener('click', seen, true);
      removeEventListener('submit', seen, true);
      removeEventListener('scroll', soon, true);
      removeEventListener('resize', soon);
      for (const type of OWN) removeEventListener(type, own, true);
      host.remove();
    },
  };
  // The panel's own clicks are not the page's: taken on the window, before any listener of the
  // page or the tracker sees them, and stopped there.
  function own(e) {
    if (e.target !== host) return;
    e.stopPropagation();
    if (e.type !== 'click') return;
    const b = e.composedPath()[0].closest && e.composedPath()[0].closest('button');
    if (b && actions[b.className]) actions[b.className]();
  }
  for (const type of OWN) addEventListener(type, own, true);
  addEventListener('scroll', soon, { passive: true, capture: true });
  addEventListener('resize', soon);
  const timer = setInterval(() => (closed ? clearInterval(timer) : refresh()), 1000);
  document.documentElement.appendChild(host);
  refresh();
  return sink;
}
