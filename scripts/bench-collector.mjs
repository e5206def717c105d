#!/usr/bin/env node
// npm run bench:collector: the collector under load, on SQLite and on PostgreSQL, on 127.0.0.1.
//
// For each store: (1) 16 clients post realistic batches for a fixed time; (2) the same with a
// report query running over and over beside them; (3) crash: the collector is killed with
// SIGKILL under load and started again on the same database while the clients go on; (4) a site
// of a million events: the report's time and the collector's peak memory.
// After (1)-(3) every event the collector acknowledged is looked up in the store (nothing
// lost), and the stored count is compared with the acknowledged one (nothing doubled).
// Figures go to bench/collector.md. Run under scripts/with-postgres.sh (package.json does).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'target', 'release', 'goalpost-collector');
const load = join(root, 'target', 'release', 'examples', 'load');
const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const CLIENTS = Number(process.env.BENCH_CLIENTS || 16);
const EVENTS = Number(process.env.BENCH_EVENTS || 1_000_000);
const work = mkdtempSync(join(tmpdir(), 'goalpost-bench-'));
const admin = process.env.GOALPOST_TEST_POSTGRES;
if (!admin) throw new Error('run under scripts/with-postgres.sh (npm run bench:collector does)');

let dbs = 0;
/** A fresh database of the kind asked for, as a `--db` value. */
function freshDb(kind) {
  dbs += 1;
  if (kind === 'sqlite') return join(work, `bench-${dbs}.sqlite`);
  const name = `goalpost_bench_${process.pid}_${dbs}`;
  execFileSync('psql', [admin, '-q', '-c', `CREATE DATABASE ${name}`]);
  return admin.replace(/\/[^/]*$/, '/' + name);
}

/** Starts the collector; resolves with its process and base URL once it listens. */
function collector(db, listen = '127.0.0.1:0') {
  const proc = spawn(bin, ['--listen', listen, '--db', db, '--rate-limit', '0', '--log', 'off'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (c) => {
      out += c;
      const m = out.match(/listening on (http:\/\/[\d.:]+)/);
      if (m) resolve({ proc, base: m[1] });
    });
    proc.once('exit', (code, sig) => reject(new Error(`collector exited: ${code ?? sig}`)));
  });
}

const stop = (proc, sig = 'SIGTERM') => new Promise((r) => {
  if (proc.exitCode !== null || proc.signalCode !== null) return r();
  proc.once('exit', r);
  proc.kill(sig);
});

function drive(base, firstId, acked) {
  return new Promise((resolve, reject) => {
    const p = spawn(load, ['drive', '--url', base, '--clients', String(CLIENTS), '--seconds', String(SECONDS), '--first-id', String(firstId), '--acked', acked], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c) => { out += c; });
    p.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error('load exited ' + code))));
  });
}

/** Every stored event id of site `bench`, through the paged read API. */
async function storedIds(base) {
  const ids = new Set();
  let after = '';
  let rows = 0;
  for (;;) {
    const res = await fetch(`${base}/api/events?site=bench&limit=1000${after ? '&after=' + after : ''}`);
    if (!res.ok) throw new Error('/api/events: ' + res.status);
    const page = await res.json();
    for (const e of page.events) ids.add(e.id);
    rows += page.events.length;
    if (!page.next) return { ids, rows };
    after = page.next;
  }
}

/** Acknowledged ids (from the load tool's file) that the store does not hold. */
function check(ackedFile, stored) {
  let acked = 0;
  let missing = 0;
  for (const line of readFileSync(ackedFile, 'utf8').split('\n')) {
    if (!line) continue;
    const [first, count] = line.split(' ').map(BigInt);
    for (let i = 0n; i < count; i++) {
      acked += 1;
      if (!stored.ids.has((first + i).toString(16).padStart(32, '0'))) missing += 1;
    }
  }
  return { acked, missing, stored: stored.rows, distinct: stored.ids.size };
}

async function timeReport(base) {
  const t = performance.now();
  const res = await fetch(`${base}/api/report?site=bench`);
  const body = await res.json();
  if (!res.ok) throw new Error('report: ' + JSON.stringify(body));
  return { ms: performance.now() - t, body };
}

const peakRss = (pid) => {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : NaN;
};

const results = [];
for (const kind of ['sqlite', 'postgres']) {
  // (1) intake alone
  {
    const c = await collector(freshDb(kind));
    const acked = join(work, `${kind}-1.acked`);
    const r = await drive(c.base, 1, acked);
    const v = check(acked, await storedIds(c.base));
    results.push({ kind, phase: 'intake', ...r, ...v });
    await stop(c.proc);
  }
  // (2) intake with reports running
  {
    const c = await collector(freshDb(kind));
    const acked = join(work, `${kind}-2.acked`);
    const reports = [];
    let running = true;
    const loop = (async () => {
      while (running) reports.push((await timeReport(c.base)).ms);
    })();
    const r = await drive(c.base, 1, acked);
    running = false;
    await loop;
    const v = check(acked, await storedIds(c.base));
    reports.sort((a, b) => a - b);
    results.push({ kind, phase: 'intake + reports', ...r, ...v, reports: reports.length, report_p50_ms: reports[Math.floor(reports.length / 2)] });
    await stop(c.proc);
  }
  // (3) crash under load: SIGKILL, restart on the same database and port
  {
    const db = freshDb(kind);
    let c = await collector(db);
    const listen = c.base.replace('http://', '');
    const acked = join(work, `${kind}-3.acked`);
    const running = drive(c.base, 1, acked);
    await new Promise((r) => setTimeout(r, SECONDS * 300));
    await stop(c.proc, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    c = await collector(db, listen);
    const r = await running;
    const v = check(acked, await storedIds(c.base));
    results.push({ kind, phase: 'SIGKILL under load, restart', ...r, ...v });
    await stop(c.proc);
  }
  // (4) a site of a million events
  {
    const db = freshDb(kind);
    const seeded = JSON.parse(execFileSync(load, ['seed', '--db', db, '--events', String(EVENTS)], { encoding: 'utf8' }));
    const c = await collector(db);
    const times = [];
    let report;
    for (let i = 0; i < 5; i++) {
      const t = await timeReport(c.base);
      times.push(t.ms);
      report = t.body;
    }
    times.sort((a, b) => a - b);
    const t0 = performance.now();
    await (await fetch(`${c.base}/api/events?site=bench&limit=1000`)).json();
    const firstPage = performance.now() - t0;
    results.push({
      kind, phase: `report on ${EVENTS.toLocaleString('en')} events`, seeded_s: seeded.seconds,
      report_ms: times[2], report_min_ms: times[0], sessions: report.sessions, page_views: report.page_views,
      events_page_ms: firstPage, peak_rss_mb: peakRss(c.proc.pid),
    });
    await stop(c.proc);
  }
  console.error(`bench:collector: ${kind} done`);
}

const f = (x, d = 0) => (x === undefined ? '' : Number(x).toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d }));
const cpu = cpus()[0]?.model || 'unknown CPU';
const pg = execFileSync('psql', [admin, '-Atc', 'SHOW server_version']).toString().trim();
const fsync = execFileSync('psql', [admin, '-Atc', 'SHOW fsync']).toString().trim();
const lines = [
  '# Collector benchmark',
  '',
  `Produced by \`npm run bench:collector\` (scripts/bench-collector.mjs) on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} × ${cpu}.`,
  `The release build of goalpost-collector on 127.0.0.1; ${CLIENTS} clients (collector/examples/load.rs, one kept-alive connection each) post realistic batches of 1 to 40 events (13 on average; of 100 events, 93 page views, 4 add-to-cart and 1 purchase conversions with touches and values, 2 funnel steps) for ${SECONDS} s; no rate limit. Clients and collector share the machine's cores.`,
  `SQLite: WAL, \`synchronous = FULL\` (an acknowledged batch is on disk). PostgreSQL ${pg}, a local cluster with \`fsync = ${fsync}\`, the collector's pool of 16 connections.`,
  '',
  '"Lost" is acknowledged events that the store does not hold, looked up one by one through `/api/events`; "stored" counts the rows there. In the crash run the collector is killed with SIGKILL at 30 % of the run and started again half a second later; clients see errors meanwhile, and nothing they were told was stored may be missing. There, "stored" exceeds "acknowledged" by the batches committed whose answers the kill cut off: a tracker sends those again and the collector drops the repeats by id.',
  '',
  '| store | run | requests/s | events/s | p50 ms | p99 ms | errors | acknowledged events | stored | lost | reports run (p50 ms) |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];
for (const r of results.filter((x) => x.requests !== undefined)) {
  lines.push(`| ${r.kind} | ${r.phase} | ${f(r.acked_requests / r.seconds)} | ${f(r.acked_events / r.seconds)} | ${f(r.p50_ms, 1)} | ${f(r.p99_ms, 1)} | ${f(r.errors)} | ${f(r.acked)} | ${f(r.stored)} | ${f(r.missing)} | ${r.reports ? `${f(r.reports)} (${f(r.report_p50_ms)})` : ''} |`);
}
lines.push('', `## Reports on a large site`, '', `${EVENTS.toLocaleString('en')} events of one site over 30 days, written through the collector's insert path (\`load seed\`), then \`/api/report\` (the default 30 days: every event) five times; the median, and the collector's peak resident memory (VmHWM) after them.`, '');
lines.push('| store | seeding s | report ms (median) | fastest ms | sessions | page views | first page of /api/events ms | collector peak RSS MB |', '|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results.filter((x) => x.report_ms !== undefined)) {
  lines.push(`| ${r.kind} | ${f(r.seeded_s, 1)} | ${f(r.report_ms)} | ${f(r.report_min_ms)} | ${f(r.sessions)} | ${f(r.page_views)} | ${f(r.events_page_ms)} | ${f(r.peak_rss_mb)} |`);
}
lines.push('');
writeFileSync(join(root, 'bench', 'collector.md'), lines.join('\n'));
console.log(lines.join('\n'));
const lost = results.reduce((s, r) => s + (r.missing || 0), 0);
const doubled = results.filter((r) => r.stored !== undefined && r.stored !== r.distinct);
rmSync(work, { recursive: true, force: true });
if (lost || doubled.length) {
  console.error(`bench:collector: ${lost} acknowledged events lost, ${doubled.length} runs with repeated rows`);
  process.exit(1);
}
