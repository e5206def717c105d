// The soak run: scripted browser sessions against a collector that fails at random.
//
//   npm run soak -- [--sessions 200] [--concurrency 6] [--seed 1] [--out bench/soak.md]
//
// Real headless Chromium, the real tracker, two real collectors on 127.0.0.1: one serves the
// pages, the other receives the beacons (cross-origin, as on a real site) and is made to fail:
// 5xx, 429 with Retry-After, slow answers past the tracker's timeout, connections reset before
// and after storing, and whole outages (the process stopped and started again). The sessions go
// offline and back, reload, navigate, pause, and end by flushing or by closing the tab with
// events queued. Afterwards every visitor opens one more page (which resumes queues that closed
// tabs left in storage), and the script compares what it generated with what the collector
// stored, by content: each page view carries its own utm_content, each event its own props.
// It also measures requests per 100 events under sustained interaction (no faults).
// SOAK_NO_CHAOS=1 runs the same sessions without faults; SOAK_TRACE=1 logs each session's steps.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { prng, arg } from './lib/random.mjs';
import { startCollector, launch, waitFor, root } from '../tests/e2e/harness.mjs';


const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const goals = [
  { id: 'act', on: 'custom' },
  { id: 'buy', kind: 'macro', on: 'custom' },
  { id: 'tap', on: 'click', match: { selector: '#own' }, once: 'every' },
];

function config(collector, mode) {
  return {
    collector, site: 'soak', consent: { mode },
    retry: { baseMs: 200, maxMs: 2000, timeoutMs: 1500, attempts: 12 },
    goals,
  };
}

/** Arms random collector faults until `stop()`; counts what it did. */
function chaos(beacon, rng) {
  const done = { status500: 0, status503: 0, status429: 0, slow: 0, resetBefore: 0, resetAfter: 0, down: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      await sleep(rng.int(200, 1200));
      if (!running || process.env.SOAK_NO_CHAOS) continue;
      const what = rng.pick([[4, 'none'], [2, '500'], [1, '503'], [1, '429'], [2, 'slow'], [1, 'resetBefore'], [1, 'resetAfter'], [1, 'down']]);
      switch (what) {
        case '500': done.status500++; await beacon.inject({ kind: 'status', status: 500, count: rng.int(1, 3) }); break;
        case '503': done.status503++; await beacon.inject({ kind: 'status', status: 503, count: rng.int(1, 2), retry_after: 1 }); break;
        case '429': done.status429++; await beacon.inject({ kind: 'status', status: 429, count: 1, retry_after: 1 }); break;
        case 'slow': done.slow++; await beacon.inject({ kind: 'slow', count: rng.int(1, 2), delay_ms: rng.int(500, 3000) }); break;
        case 'resetBefore': done.resetBefore++; await beacon.inject({ kind: 'reset', count: 1 }); break;
        case 'resetAfter': done.resetAfter++; await beacon.inject({ kind: 'reset', count: 1, after_store: true }); break;
        case 'down':
          done.down++;
          if (process.env.SOAK_TRACE) console.log("  down at", new Date().toISOString());
          await beacon.down();
          await sleep(rng.int(300, 2000));
          await beacon.up();
          break;
        default: break;
      }
    }
  })();
  return {
    done,
    async stop() {
      running = false;
      await loop;
      await beacon.inject({ kind: 'status', status: 200, count: 0 });
    },
  };
}

/**
 * Runs the soak. Returns the figures; `log` receives progress lines.
 * @param {{sessions?: number, concurrency?: number, seed?: number, visitors?: number, log?: (s: string) => void}} o
 */
export async function soak({ sessions = 200, concurrency = 6, seed = 1, visitors, log = () => {} } = {}) {
  const rng = prng(seed);
  const site = await startCollector();
  const beacon = await startCollector({ faults: true });
  const browser = await launch();
  const started = Date.now();
  const expected = new Map(); // content key → how many times generated
  const modeOf = new Map(); // content key → the visitor's consent mode
  const expect = (key, mode) => {
    expected.set(key, (expected.get(key) || 0) + 1);
    modeOf.set(key, mode);
  };
  const actions = { track: 0, offline: 0, reload: 0, navigate: 0, pause: 0, flushEnd: 0, closeEnd: 0, closeOffline: 0 };
  let attempts = 0;
  const trace = [];
  const collect = beacon.base + '/collect';

  // visitors: browser contexts (their localStorage lives across their sessions)
  const nVisitors = visitors || Math.max(concurrency, Math.ceil(sessions / 4));
  const people = [];
  for (let v = 0; v < nVisitors; v++) {
    const mode = v % 2 ? 'implied' : 'anonymous'; // queue in storage, or memory only
    const context = await browser.newContext();
    await context.addInitScript((c) => { window.goalpostConfig = c; }, config(collect, mode));
    people.push({ context, mode, busy: false });
  }

  async function open(page, key, mode) {
    await page.goto(`${site.base}/window-config.html?utm_content=${key}`);
    await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
    expect('pv:' + key, mode);
  }

  async function session(i, person) {
    const sid = 's' + i;
    const { context, mode } = person;
    const page = await context.newPage();
    page.on('request', (r) => r.url() === collect && attempts++);
    let n = 0;
    let pageNo = 1;
    let offline = false;
    const track = async (goal) => {
      const props = { s: sid, n: n++ };
      await page.evaluate(([g, p]) => window.goalpost('track', g, p), [goal, props]);
      expect(`ev:${sid}:${props.n}`, mode);
    };
    await open(page, `${sid}p${pageNo}`, mode);
    const steps = rng.int(2, 6);
    const did = [mode];
    trace.push([sid, did]);
    for (let s = 0; s < steps; s++) {
      const what = rng.pick([[4, 'track'], [1, 'offline'], [1, 'reload'], [1, 'navigate'], [1, 'pause']]);
      actions[what]++;
      did.push(what);
      if ((what === 'reload' || what === 'navigate') && offline) {
        // pages load only online (the events queued offline are still waiting)
        await context.setOffline(false);
        offline = false;
      }
      if (what === 'track') {
        for (let k = rng.int(1, 4); k > 0; k--) await track(rng.next() < 0.2 ? 'buy' : 'act');
      } else if (what === 'offline') {
        await context.setOffline(true);
        offline = true;
        for (let k = rng.int(1, 3); k > 0; k--) await track('act');
        await sleep(rng.int(50, 800));
        if (mode === 'anonymous' || rng.next() < 0.7) {
          await context.setOffline(false);
          offline = false;
        }
      } else if (what === 'reload') {
        await page.reload();
        await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
        expect(`pv:${sid}p${pageNo}`, mode);
      } else if (what === 'navigate') {
        await open(page, `${sid}p${++pageNo}`, mode);
      } else {
        await sleep(rng.int(100, 1500));
      }
    }
    // The end: flush and close, or close the tab with events queued (a visitor who keeps the
    // queue in storage may even close it while offline).
    if (rng.next() < 0.6 && !offline) {
      actions.flushEnd++;
      did.push('flush');
      await page.evaluate(() => window.goalpost.gp.flush());
    } else {
      if (offline) actions.closeOffline++;
      actions.closeEnd++;
      did.push(offline ? 'close-offline' : 'close');
    }
    await page.close();
    if (offline) await context.setOffline(false);
  }

  const storm = chaos(beacon, rng);
  let nextSession = 0;
  let finished = 0;
  async function worker() {
    while (nextSession < sessions) {
      const i = nextSession++;
      const person = people.find((p) => !p.busy) || people[i % people.length];
      person.busy = true;
      try {
        await session(i, person);
      } finally {
        person.busy = false;
      }
      finished++;
      if (finished % 20 === 0) log(`  ${finished}/${sessions} sessions`);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (process.env.SOAK_TRACE) log(JSON.stringify(trace));
  await storm.stop();
  log('  sessions done; every visitor opens one more page');

  // Every visitor comes back once: stored queues of closed tabs are resumed.
  for (const [v, person] of people.entries()) {
    const page = await person.context.newPage();
    page.on('request', (r) => r.url() === collect && attempts++);
    await open(page, `v${v}back`, person.mode);
    await page.evaluate(() => window.goalpost.gp.flush());
    await page.close();
  }
  const generated = [...expected.values()].reduce((a, b) => a + b, 0);
  const generatedIn = { implied: 0, anonymous: 0 };
  for (const [k, n] of expected) generatedIn[modeOf.get(k)] += n;
  const keyOf = (e) => {
    if (e.type === 'page_view') {
      const m = /utm_content=([^&#]+)/.exec(e.url);
      return m && 'pv:' + m[1];
    }
    return e.props && e.props.s !== undefined ? `ev:${e.props.s}:${e.props.n}` : null;
  };
  const tally = async () => {
    const found = new Map();
    let stray = 0;
    for (const e of await beacon.events('soak')) {
      const k = keyOf(e);
      if (k && expected.has(k)) found.set(k, (found.get(k) || 0) + 1);
      else stray++;
    }
    let delivered = 0;
    let doubled = stray;
    const missing = [];
    const lost = { implied: 0, anonymous: 0 };
    for (const [k, want] of expected) {
      const got = found.get(k) || 0;
      delivered += Math.min(got, want);
      doubled += Math.max(0, got - want);
      if (got < want) {
        missing.push(k);
        lost[modeOf.get(k)] += want - got;
      }
    }
    return { delivered, doubled, missing, lost };
  };
  // Beacons of closed tabs may still be arriving: wait for them (bounded).
  let t;
  try {
    t = await waitFor('every generated event at the collector', async () => {
      const r = await tally();
      return r.delivered === generated && r;
    }, { timeout: 30000, every: 250 });
  } catch {
    t = await tally();
  }
  const receipts = await beacon.stats('soak');
  const batches = await beacon.batches('soak');
  const dropped = batches.reduce((s, b) => s + b.dropped, 0);
  const soakSeconds = (Date.now() - started) / 1000;

  for (const p of people) await p.context.close();
  await browser.close();
  await beacon.stop();
  await site.stop();
  return {
    sessions, concurrency, seed, visitors: nVisitors, seconds: soakSeconds,
    generated, delivered: t.delivered, lost: generated - t.delivered, doubleCounted: t.doubled,
    generatedStored: generatedIn.implied, lostStored: t.lost.implied,
    generatedMemory: generatedIn.anonymous, lostMemory: t.lost.anonymous,
    missing: t.missing.slice(0, 50),
    received: receipts.events, duplicatesAtCollector: receipts.duplicates,
    // what the collector says it stored, counted by the collector, not by the ledger above
    stored: receipts.events - receipts.duplicates,
    batchesReceived: receipts.batches, attemptsSeen: attempts, droppedReported: dropped,
    faults: storm.done, actions,
  };
}

/**
 * Requests per 100 events under sustained interaction: one tab, a click goal hit by every
 * click, `clicks` clicks `everyMs` apart (0: as fast as the page takes them). No faults.
 */
export async function sustained({ clicks = 300, everyMs = 100 } = {}) {
  const site = await startCollector();
  const browser = await launch();
  const context = await browser.newContext();
  await context.addInitScript((c) => { window.goalpostConfig = c; }, config('/collect', 'anonymous'));
  const page = await context.newPage();
  let requests = 0;
  page.on('request', (r) => r.url().endsWith('/collect') && requests++);
  await page.goto(site.base + '/window-config.html');
  await page.waitForFunction(() => window.goalpost && window.goalpost.gp);
  const started = Date.now();
  for (let i = 0; i < clicks; i++) {
    await page.click('#own');
    if (everyMs) await sleep(everyMs);
  }
  await page.evaluate(() => window.goalpost.gp.flush());
  const seconds = (Date.now() - started) / 1000;
  const rows = await site.events('soak');
  const events = rows.length;
  // no faults here: every request is a batch the collector received
  const { batches } = await site.stats('soak');
  await waitFor('every request reported by the browser', () => requests >= batches);
  await context.close();
  await browser.close();
  await site.stop();
  return { clicks, everyMs, seconds, events, conversions: rows.filter((r) => r.goal === 'tap').length, requests, batches, per100: (requests / events) * 100 };
}

function report(s, rates, command) {
  const row = (k, v) => `| ${k} | ${v} |`;
  const f = s.faults;
  return [
    '# Soak run',
    '',
    `Produced by \`${command}\` on ${new Date().toISOString().slice(0, 10)} (headless Chromium, both collectors on 127.0.0.1).`,
    '',
    '| | |',
    '|---|---|',
    row('sessions (visitors, concurrency, seed)', `${s.sessions} (${s.visitors}, ${s.concurrency}, ${s.seed})`),
    row('events generated (page views + tracked events)', s.generated),
    row('delivered (stored at the collector, by content)', s.delivered),
    row('**lost**', `**${s.lost}**`),
    row('… of visitors whose queue may be stored (consent mode `implied`)', `${s.lostStored} of ${s.generatedStored}`),
    row('… of visitors with memory only (mode `anonymous`, no storage consent)', `${s.lostMemory} of ${s.generatedMemory}`),
    row('double-counted (stored twice under different ids, or unexpected)', s.doubleCounted),
    row('events received by the collector, repeats included', s.received),
    row('duplicates received and ignored (de-duplicated by id)', s.duplicatesAtCollector),
    row('valid batches received', s.batchesReceived),
    row('send attempts seen by the browser (closing tabs\' beacons not all visible)', s.attemptsSeen),
    row('drops reported by trackers', s.droppedReported),
    row('wall time', `${s.seconds.toFixed(0)} s`),
    '',
    `Faults injected at random during the sessions: 500 ×${f.status500}, 503 + Retry-After ×${f.status503}, ` +
      `429 + Retry-After ×${f.status429}, slow answers past the 1.5 s timeout ×${f.slow}, connection reset before ` +
      `storing ×${f.resetBefore} and after storing ×${f.resetAfter}, collector down (process stopped, 0.3–2 s) ×${f.down}.`,
    `Session actions: ${Object.entries(s.actions).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    'The seed fixes the sequence of random choices; sessions and faults run concurrently, so which fault meets which',
    'session differs from run to run, and so do the figures. Memory-only visitors (no storage consent) can lose a',
    "page's last beacon to a fault: nothing may keep it for a later page.",
    '',
    '## Requests per 100 events under sustained interaction',
    '',
    '| clicks | spacing | events sent | requests | requests per 100 events |',
    '|---|---|---|---|---|',
    ...rates.map((r) => `| ${r.clicks} | ${r.everyMs ? r.everyMs + ' ms' : 'back to back'} (${r.seconds.toFixed(1)} s) | ${r.events} | ${r.requests} | ${r.per100.toFixed(1)} |`),
    '',
    'Every click hits a goal, so every click is an event; the page view is one more.',
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sessions = Number(arg('sessions', 200));
  const concurrency = Number(arg('concurrency', 6));
  const seed = Number(arg('seed', 1));
  const out = arg('out', join(root, 'bench', 'soak.md'));
  const log = (s) => console.log(s);
  log(`soak: ${sessions} sessions, concurrency ${concurrency}, seed ${seed}`);
  const s = await soak({ sessions, concurrency, seed, log });
  log(JSON.stringify(s, null, 2));
  const rates = [];
  for (const [clicks, everyMs] of [[300, 100], [1000, 0]]) {
    const r = await sustained({ clicks, everyMs });
    log(`sustained: ${JSON.stringify(r)}`);
    rates.push(r);
  }
  const command = `npm run soak -- --sessions ${sessions} --concurrency ${concurrency} --seed ${seed}`;
  writeFileSync(out, report(s, rates, command));
  log(`wrote ${out}`);
  // memory-only visitors can lose a page's last beacon to an outage (see docs/delivery.md)
  if (s.lostStored || s.doubleCounted) process.exitCode = 1;
}
