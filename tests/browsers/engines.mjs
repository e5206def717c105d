// One small adapter over three browser engines, so that a test is written once:
// Chromium (playwright-core, Debian's chromium), Firefox (puppeteer-core over WebDriver BiDi,
// Debian's firefox-esr) and WebKit (selenium-webdriver against WebKitWebDriver, Debian's
// webkit2gtk-driver, driving WebKitGTK's MiniBrowser under Xvfb). Each `page()` is a fresh
// browser profile: no storage shared between pages or tests.
//
//   const engine = await launch('webkit');   // engine.name, engine.version
//   const page = await engine.page();
//   await page.goto(url); await page.click('#buy'); await page.evaluate(() => document.title);
//   await page.close();                      // a tab closed by the visitor (pagehide runs)
//   await page.discard();                    // the page's profile gone (after every page)
//   await engine.close();
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';

export const ENGINES = (process.env.GOALPOST_ENGINES || 'chromium,firefox,webkit').split(',').filter(Boolean);

const CHROMIUM = '/usr/bin/chromium';
const FIREFOX = '/usr/bin/firefox-esr';
const MINIBROWSER = ['/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser', '/usr/lib/aarch64-linux-gnu/webkit2gtk-4.1/MiniBrowser'].find(existsSync);

const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `promise`, or an error after 15 s: a driver call that never settles fails its test, not the run. */
function bounded(promise, what) {
  let timer;
  const limit = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer in 15 s`)), 15000); });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/**
 * Goes back in the page's history and waits until the previous page is there and loaded. By
 * script, not by the driver's own "back": a page restored from the back-forward cache fires no
 * `load`, which the drivers' navigation waits would wait for.
 */
async function back(page) {
  const from = await page.evaluate(() => location.href);
  await page.evaluate(() => { setTimeout(() => history.back(), 0); });
  await waitIn(page, (from) => location.href !== from && document.readyState === 'complete', from);
}

/** Polls `fn` in the page until it returns something truthy (or throws after `timeout`). */
async function waitIn(page, fn, arg, timeout = 10000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await page.evaluate(fn, arg).catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting in the page for ' + String(fn).slice(0, 80));
    await sleep(50);
  }
}

/**
 * A page of playwright-core or puppeteer-core (their page APIs agree on what is used here);
 * `context` is its own browser context, closed with it.
 */
function devtoolsPage(p, context, navigation = {}, closeOptions = {}) {
  // the page's console, for failure messages
  const consoleLog = [];
  p.on('console', (m) => { if (consoleLog.length < 50) consoleLog.push(`${m.type()}: ${m.text()}`); });
  return {
    consoleLog,
    goto: async (url) => { await p.goto(url, navigation); },
    click: (sel) => p.click(sel),
    evaluate: (fn, arg) => p.evaluate(fn, arg),
    reload: async () => { await p.reload(navigation); },
    back() { return back(this); },
    scrollTo: (y) => p.evaluate((y) => window.scrollTo(0, y), y),
    waitFor(fn, arg, timeout) { return waitIn(this, fn, arg, timeout); },
    // the visitor closing the tab: pagehide and unload run; the browser stays (its profile goes
    // with discard(), after the test has looked at the collector)
    // (the profile stays until discard(): closing it with the tab cut off Firefox's beacon from
    // the closing page when the machine was busy, 1 of 8 runs under load)
    close: async () => {
      await bounded(p.close(closeOptions), 'closing the tab');
    },
    discard: () => bounded(context.close(), 'closing the profile').catch(() => {}),
  };
}

async function chromium() { // no GPC setting
  const { chromium: pw } = await import('playwright-core');
  const browser = await pw.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    name: 'chromium',
    version: browser.version(),
    async page() {
      const context = await browser.newContext();
      // a plain close: Playwright waits until the tab is gone, and the page's unload handlers run
      return devtoolsPage(await context.newPage(), context);
    },
    close: () => browser.close(),
  };
}

async function firefox({ gpc = false } = {}) {
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({
    browser: 'firefox', executablePath: FIREFOX, headless: true,
    extraPrefsFirefox: {
      'browser.shell.checkDefaultBrowser': false, 'network.proxy.type': 0,
      // Global Privacy Control, as a visitor turns it on in Firefox's settings
      'privacy.globalprivacycontrol.enabled': gpc,
    },
  });
  return {
    name: 'firefox',
    version: (await browser.version()).replace(/^firefox\//i, ''),
    async page() {
      const context = await browser.createBrowserContext();
      // BiDi closes a tab without its unload handlers unless asked to run them
      return devtoolsPage(await context.newPage(), context, { waitUntil: 'load' }, { runBeforeUnload: true });
    },
    close: () => browser.close(),
  };
}

let xvfb = null;
/** An X display for MiniBrowser: the session's own, or a private Xvfb. */
async function display() {
  if (process.env.DISPLAY) return process.env.DISPLAY;
  if (!xvfb) {
    const n = 90 + Math.floor(Math.random() * 400);
    xvfb = { proc: spawn('Xvfb', [`:${n}`, '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: 'ignore' }), display: `:${n}` };
    xvfb.proc.unref();
    process.on('exit', () => xvfb.proc.kill());
    await sleep(300);
  }
  return xvfb.display;
}

async function webkit() { // no GPC in WebKitGTK
  const { Builder, By } = await import('selenium-webdriver');
  const env = { ...process.env, DISPLAY: await display() };
  const port = await freePort();
  const driver = spawn('WebKitWebDriver', [`--port=${port}`], { env, stdio: 'ignore' });
  process.on('exit', () => driver.kill());
  await sleep(300);
  const server = `http://127.0.0.1:${port}`;
  const caps = {
    browserName: 'MiniBrowser',
    'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
  };
  const session = () => new Builder().usingServer(server).withCapabilities(caps).build();
  const probe = await session();
  const version = (await probe.getCapabilities()).get('browserVersion');
  await probe.quit();
  return {
    name: 'webkit',
    version,
    async page() {
      const d = await session();
      const run = (fn, arg) => d.executeScript(`return (${fn})(arguments[0])`, arg);
      let closed = false;
      return {
        goto: (url) => d.get(url),
        click: async (sel) => { await (await d.findElement(By.css(sel))).click(); },
        evaluate: run,
        reload: () => d.navigate().refresh(),
        back() { return back(this); },
        scrollTo: (y) => run((y) => window.scrollTo(0, y), y),
        waitFor(fn, arg, timeout) { return waitIn(this, fn, arg, timeout); },
        // closing the window is the visitor closing the tab (the last window: the session ends)
        close: () => d.close().catch(() => {}),
        discard: async () => { if (!closed) { closed = true; await d.quit().catch(() => {}); } },
      };
    },
    close: async () => { driver.kill(); },
  };
}

/** Starts an engine by name. `{gpc: true}`: with Global Privacy Control on (Firefox only). */
export function launch(name, options = {}) {
  return { chromium, firefox, webkit }[name](options);
}

/** The engines that can send Global Privacy Control (`navigator.globalPrivacyControl`). */
export const GPC_ENGINES = ['firefox'];
