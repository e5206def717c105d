// End-to-end harness: the real collector on 127.0.0.1 and the system Chromium.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { before, after } from 'node:test';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * A fresh database in the PostgreSQL cluster of `scripts/with-postgres.sh`
 * (`GOALPOST_E2E_STORE=postgres`), as the collector's `--db` URL.
 */
function freshPostgres() {
  const admin = process.env.GOALPOST_TEST_POSTGRES;
  if (!admin) throw new Error('GOALPOST_E2E_STORE=postgres needs GOALPOST_TEST_POSTGRES (scripts/with-postgres.sh)');
  const name = `goalpost_e2e_${process.pid}_${++databases}`;
  execFileSync('psql', [admin, '-q', '-c', `CREATE DATABASE ${name}`]);
  return admin.replace(/\/[^/]*$/, '/' + name);
}
let databases = 0;

/** Starts goalpost-collector on a free port with a fresh database (SQLite, or see above). */
export async function startCollector({ siteDir = join(root, 'tests', 'pages'), faults = false, args: extra = ['--rate-limit', '0'] } = {}) {
  const bin = join(root, 'target', 'debug', 'goalpost-collector');
  if (!existsSync(bin)) throw new Error('build the collector first: cargo build -p goalpost-collector');
  const dir = mkdtempSync(join(tmpdir(), 'goalpost-e2e-'));
  const db = process.env.GOALPOST_E2E_STORE === 'postgres' ? freshPostgres() : join(dir, 'events.sqlite');
  let banner = '';
  const run = async (listen) => {
    const args = ['--listen', listen, '--db', db, '--site-dir', siteDir, '--dist-dir', join(root, 'dist'), '--log', faults ? 'off' : 'error'];  // injected faults are 5xx by design
    if (faults) args.push('--test-faults');
    args.push(...extra);  // default: no rate limit (a test's many pages all come from 127.0.0.1)
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const base = await new Promise((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (chunk) => {
        out += chunk;
        const m = out.match(/listening on (http:\/\/[\d.:]+)/);
        banner = out;
        if (m) resolve(m[1]);
      });
      proc.on('exit', (code) => reject(new Error('collector exited with ' + code)));
    });
    return { proc, base };
  };
  let { proc, base } = await run('127.0.0.1:0');
  const kill = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  };
  /** Every row of a paged listing (`/api/events`, `/api/batches`), following `next`. */
  async function all(what, site) {
    const rows = [];
    let after = '';
    for (;;) {
      const q = new URLSearchParams({ limit: '1000' });
      if (site) q.set('site', site);
      if (after) q.set('after', after);
      const res = await fetch(`${base}/api/${what}?${q}`);
      if (!res.ok) throw new Error(`/api/${what}: ${res.status} ${await res.text()}`);
      const page = await res.json();
      rows.push(...page[what]);
      if (!page.next) return rows;
      after = page.next;
    }
  }
  return {
    base,
    db,
    /** What the collector printed on start. */
    get banner() { return banner; },
    /** Stops the collector: connections to its port are refused until `up()`. */
    down: kill,
    /** Starts it again on the same port and database. */
    async up() { ({ proc } = await run(base.replace('http://', ''))); },
    /** What the collector received per site, repeats included (`/api/stats`). */
    async stats(site) {
      const res = await fetch(base + '/api/stats' + (site ? '?site=' + site : ''));
      const rows = await res.json();
      return site ? rows[0] || { site, batches: 0, events: 0, duplicates: 0 } : rows;
    },
    /** Every stored event (of one site if given), as the collector's SQLite holds them. */
    events(site) { return all('events', site); },
    /** The batches the collector accepted (with their `dropped` counts). */
    batches(site) { return all('batches', site); },
    /** Makes the next `count` batches fail with `status` (needs `faults: true`). */
    fault(status, count, retryAfter) {
      return this.inject({ kind: 'status', status, count, retry_after: retryAfter ?? null });
    },
    /**
     * Arms a fault for the next `count` batches (needs `faults: true`): `{kind: 'status',
     * status, retry_after}`, `{kind: 'slow', delay_ms}` (stored, answered late) or
     * `{kind: 'reset', after_store}` (the connection drops without an answer).
     */
    async inject(fault) {
      const res = await fetch(base + '/__test/faults', { method: 'POST', body: JSON.stringify(fault) });
      if (res.status !== 204) throw new Error('fault injection is off: ' + res.status);
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const chromiumArgs = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** The system Chromium; `backForwardCache: true` keeps the back-forward cache Playwright turns off. */
export async function launch({ backForwardCache = false } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: chromiumArgs,
    ignoreDefaultArgs: backForwardCache ? ['--disable-back-forward-cache'] : [],
  });
}

/** A new page that records console messages and uncaught page errors. */
export async function openPage(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const log = { console: [], errors: [] };
  page.on('console', (m) => log.console.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => log.errors.push(String(e)));
  return { page, context, log };
}

/** Polls `check` until it returns a truthy value; fails with `what` after `timeout` ms. */
export async function waitFor(what, check, { timeout = 10000, every = 25 } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** goalpost's own console messages (they all start with "goalpost:"). */
export function goalpostMessages(log, type) {
  return log.console.filter((m) => m.text.startsWith('goalpost:') && (!type || m.type === type));
}

export const HEX32 = /^[0-9a-f]{32}$/;

/**
 * Registers before/after hooks for a test file: a fresh collector (serving `siteDir`) and a
 * browser. Returns an object whose `collector` and `browser` are set once the hooks ran.
 */
export function useCollectorAndBrowser(options) {
  const env = { collector: null, browser: null };
  before(async () => {
    env.collector = await startCollector(options);
    env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close();
    await env.collector?.stop();
  });
  return env;
}

/**
 * Counts, in the page, every call goalpost makes to send (`fetch` and `navigator.sendBeacon` to a
 * `/collect` URL) in `window.goalpostSends`. goalpost calls them synchronously from the input
 * that decides to send, so "nothing was sent" is checked right after that input, without waiting.
 * Call before the page loads.
 */
export async function countSends(page) {
  await page.addInitScript(() => {
    window.goalpostSends = 0;
    const hit = (url) => String(url).includes('/collect');
    const fetch0 = window.fetch;
    window.fetch = function (url, ...rest) {
      if (hit(url)) window.goalpostSends++;
      return fetch0.call(this, url, ...rest);
    };
    const beacon0 = navigator.sendBeacon && navigator.sendBeacon.bind(navigator);
    if (beacon0) navigator.sendBeacon = (url, body) => { if (hit(url)) window.goalpostSends++; return beacon0(url, body); };
  });
}

/** The goal ids of the stored conversions, in order. */
export const conversions = (rows) => rows.filter((r) => r.type === 'conversion').map((r) => r.goal);
