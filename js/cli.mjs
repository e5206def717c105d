// `goalpost check`: a config checked before it is deployed, with goalpost's companion build
// (the tracker's config compiler and browser checks, with the errors in words).
// Bundled by scripts/build.mjs into dist/cli.mjs (with linkedom for HTML and safe-regex2 for
// patterns), the package's `bin`. Errors are exactly what the browser would log (the wasm's
// `check`: same compile, same messages); warnings are what only a page or a reader can tell.
//
//   goalpost check <config.json | config.js | page.html | https://…> [--html page.html]… [--json] [--strict]
//
// Exit 0: no error (warnings allowed, unless --strict); 1: the config has errors or could not
// be read as one; 2: a usage mistake.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve, extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runInNewContext } from 'node:vm';
import { initSync, check as checkWasm } from './goalpost_explain.js';
import { parseHTML } from 'linkedom';
import safeRegex from 'safe-regex2';
import { checkSelector, closeAtEnd } from './selectors.mjs';
import { parse as parseJsonc, printParseErrorCode } from 'jsonc-parser';

/** The largest input read: a goalpost config is a few KB, a page a few hundred. */
export const MAX_BYTES = 5 * 1024 * 1024;
const FETCH_MS = 15000;
/** How deep the warnings walk `any` lists (the wasm bounds the rest). */
const MAX_ANY = 8;

const USAGE = `usage: goalpost check <config.json | config.js | page.html | https://…> [--html page.html]… [--json] [--strict]

Checks a goalpost config with the tracker's own rules: every error with its JSON path (and a
suggestion where one fits), and warnings: a selector that matches nothing in the given HTML, a
goal no interaction can reach, a 'matches' pattern that can backtrack catastrophically.
  --html P  also look for the goals' elements in page P (a file or URL; repeatable): a selector
            is reported when it matches nothing in any of the pages given
  --json    print {"errors": [...], "warnings": [...]} instead of lines
  --strict  exit 1 on warnings too
Exit code: 0 no errors, 1 errors (or not a config), 2 usage.`;

class InputError extends Error {}

let wasmReady = false;
function loadWasm() {
  if (wasmReady) return;
  const here = dirname(fileURLToPath(import.meta.url));
  initSync({ module: readFileSync(join(here, 'goalpost_explain_bg.wasm')) });
  wasmReady = true;
}

const kb = (n) => (n / 1048576).toFixed(1) + ' MB';

/** `pos` in `text` as line:column (1-based). */
function lineCol(text, pos) {
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  return `${line}:${pos - before.lastIndexOf('\n')}`;
}

/** jsonc-parser's error codes, as a reader says them. */
const JSON_ERRORS = {
  InvalidSymbol: 'an unexpected character', InvalidNumberFormat: 'a malformed number', PropertyNameExpected: 'a property name (in double quotes) expected',
  ValueExpected: 'a value expected', ColonExpected: 'a colon expected', CommaExpected: 'a comma expected',
  CloseBraceExpected: 'a closing } expected', CloseBracketExpected: 'a closing ] expected', EndOfFileExpected: 'nothing expected after the value',
  InvalidCommentToken: 'comments are not JSON', UnexpectedEndOfComment: 'comments are not JSON', UnexpectedEndOfString: 'a string left open',
  UnexpectedEndOfNumber: 'a malformed number', InvalidUnicode: 'a malformed \\u escape', InvalidEscapeCharacter: 'a malformed escape', InvalidCharacter: 'a control character in a string',
};

function parseJson(text, where) {
  try {
    return JSON.parse(text);
  } catch (_) {
    // where and what, without echoing the input (which may be anything)
    const errors = [];
    parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
    const first = errors[0] || { error: 0, offset: 0 };
    throw new InputError(`${where}:${lineCol(text, first.offset)}: not valid JSON (${JSON_ERRORS[printParseErrorCode(first.error)] || 'malformed'})`);
  }
}

/** The page's config block: the element a goalpost script tag names, or #goalpost-config. */
function configFromHtml(html, where) {
  const { document } = parseHTML(html);
  const tag = [...document.querySelectorAll('script[data-config]')][0];
  const id = tag ? tag.getAttribute('data-config') : 'goalpost-config';
  const el = document.getElementById(id);
  if (!el) {
    throw new InputError(`${where}: no element with id "${id}" holds a config (a config set by script as window.goalpostConfig cannot be checked from the HTML; check it as a .json or module file)`);
  }
  return { config: parseJson(el.textContent, `${where} #${id}`), document };
}

async function readUrl(url) {
  const { text, type } = await fetchText(url, true);
  return /json/.test(type) ? { config: parseJson(text, url), document: null } : configFromHtml(text, url);
}

/** A URL's body as text (at most MAX_BYTES, within FETCH_MS). */
async function fetchText(url, withType = false) {
  let res;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(FETCH_MS), redirect: 'follow' });
  } catch (e) {
    throw new InputError(`${url}: could not be fetched (${e.cause?.message || e.message})`);
  }
  if (!res.ok) throw new InputError(`${url}: the server answered ${res.status}`);
  const declared = Number(res.headers.get('content-length'));
  if (declared > MAX_BYTES) throw new InputError(`${url}: ${kb(declared)} is more than the ${kb(MAX_BYTES)} goalpost check reads`);
  const chunks = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.length;
    if (size > MAX_BYTES) throw new InputError(`${url}: more than the ${kb(MAX_BYTES)} goalpost check reads`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return withType ? { text, type: res.headers.get('content-type') || '' } : text;
}

/** Reads `input` as the CLI takes it: { config, document (the page's DOM, or null) }. */
export async function readInput(input) {
  if (/^https?:\/\//i.test(input)) return readUrl(input);
  sizeOf(input);
  const ext = extname(input).toLowerCase();
  if (['.js', '.mjs', '.cjs'].includes(ext)) {
    const text = readFileSync(input, 'utf8');
    let config;
    if (/^\s*export\b|\bexport\s+(default|const|let|var|\{)/m.test(text)) {
      let mod;
      try {
        mod = await import(pathToFileURL(resolve(input)).href);
      } catch (e) {
        throw new InputError(`${input}: the module failed to load (${e.message})`);
      }
      config = mod.default ?? mod.config;
    } else {
      // a classic script, as a page includes it: `window.goalpostConfig = {…}`
      const window = {};
      try {
        runInNewContext(text, { window, self: window }, { filename: input, timeout: 1000 });
      } catch (e) {
        throw new InputError(`${input}: the script failed to run (${e.message})`);
      }
      config = window.goalpostConfig;
    }
    if (config === undefined) throw new InputError(`${input}: no config found (a module: export default or export const config; a script: window.goalpostConfig = …)`);
    return { config: typeof config === 'string' ? parseJson(config, input) : config, document: null };
  }
  const text = readFileSync(input, 'utf8');
  if (ext === '.html' || ext === '.htm' || (ext !== '.json' && /^\s*</.test(text))) return configFromHtml(text, input);
  return { config: parseJson(text, input), document: null };
}

/** A file's size, or an InputError when it is not a readable file or too large. */
function sizeOf(path) {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new InputError(`${path}: cannot be read (${e.code || e.message})`);
  }
  if (!st.isFile()) throw new InputError(`${path}: not a file`);
  if (st.size > MAX_BYTES) throw new InputError(`${path}: ${kb(st.size)} is more than the ${kb(MAX_BYTES)} goalpost check reads`);
  return st.size;
}

/** A page given with --html: its DOM. */
async function readPage(where) {
  let html;
  if (/^https?:\/\//i.test(where)) {
    html = await fetchText(where);
  } else {
    sizeOf(where);
    html = readFileSync(where, 'utf8');
  }
  return parseHTML(html).document;
}

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Every match object of the config's goals and funnel steps, with its JSON path. */
function matches(config) {
  const out = [];
  const walk = (m, path, depth) => {
    if (!isObj(m) || depth > MAX_ANY) return;
    out.push({ m, path });
    if (Array.isArray(m.any)) m.any.forEach((x, i) => walk(x, `${path}.any[${i}]`, depth + 1));
  };
  const goals = Array.isArray(config?.goals) ? config.goals : [];
  goals.forEach((g, i) => {
    if (!isObj(g)) return;
    walk(g.match, `goals[${i}].match`, 0);
    if (Array.isArray(g.steps)) g.steps.forEach((s, j) => isObj(s) && walk(s.match, `goals[${i}].steps[${j}].match`, 0));
  });
  return out;
}

const CONDITION_KEYS = ['url', 'path', 'hostname', 'hash', 'title', 'referrer', 'pagesInSession', 'text', 'id', 'classes',
  'tag', 'href', 'name', 'action', 'src', 'percent', 'seconds', 'pixels'];

/** Every condition under a match object: [condition, path]. */
function conditions(m, path) {
  const out = [];
  for (const k of CONDITION_KEYS) if (k in m) out.push([m[k], `${path}.${k}`]);
  for (const group of ['query', 'attr', 'props']) {
    if (isObj(m[group])) for (const [k, v] of Object.entries(m[group])) out.push([v, `${path}.${group}.${JSON.stringify(k)}`]);
  }
  return out;
}

/** A condition no value can meet, or null. */
function unreachable(cond, key) {
  if (Array.isArray(cond) && cond.length === 0) return 'an empty list matches nothing';
  // the page's location as goalpost reads it: a path starts with "/", a URL with its scheme,
  // a hostname is lower case with no scheme, port or path (core/src/interaction.rs, url.rs)
  const shape = {
    path: [(v) => v.startsWith('/'), 'a page path always starts with "/"'],
    url: [(v) => /^https?:\/\//i.test(v), 'a page URL always starts with http:// or https://'],
    hostname: [(v, ci) => !/[/:]/.test(v) && (ci || v === v.toLowerCase()), 'a hostname is lower case, with no scheme, port or path'],
  }[key];
  if (shape) {
    const str = (v) => typeof v === 'string';
    const ci = isObj(cond) && cond.caseInsensitive === true;
    const values = str(cond) ? [cond] : Array.isArray(cond) ? cond.filter(str)
      : isObj(cond) && !cond.not ? [cond.equals, cond.startsWith].filter(str).concat(Array.isArray(cond.in) ? cond.in.filter(str) : []) : [];
    // (every value a location must equal, or start with, is one no location has)
    if (values.length && values.every((v) => !shape[0](v, ci))) return `${JSON.stringify(values[0])}: ${shape[1]}`;
  }
  if (!isObj(cond)) {
    if (key === 'percent' && typeof cond === 'number' && cond > 100) return `${cond} % is never reached (100 % is the end)`;
    return null;
  }
  if (Array.isArray(cond.in) && cond.in.length === 0 && !cond.not) return '"in": [] matches nothing';
  const lo = [cond.gt, cond.gte].filter((x) => typeof x === 'number');
  const hi = [cond.lt, cond.lte].filter((x) => typeof x === 'number');
  if (!cond.not && lo.length && hi.length) {
    const low = Math.max(...lo);
    const high = Math.min(...hi);
    const open = typeof cond.gt === 'number' && cond.gt === low || typeof cond.lt === 'number' && cond.lt === high;
    if (low > high || (low === high && open)) return `no number is ${JSON.stringify(cond).replace(/"/g, '')}`;
  }
  if (key === 'percent' && !cond.not) {
    const low = Math.max(...[cond.gt, cond.gte, cond.equals].filter((x) => typeof x === 'number'));
    if (low > 100 || (cond.gt === 100)) return 'a percentage above 100 is never reached';
  }
  return null;
}

/** Warnings a page or a reader can tell and the runtime cannot: { path, message }. */
export function warnings(config, pages) {
  const out = [];
  for (const { m, path } of matches(config)) {
    const checked = typeof m.selector === 'string' && checkSelector(m.selector);
    if (checked) for (const w of checked.warnings) out.push({ path: path + '.selector', message: w });
    if (checked?.valid && pages.length) {
      const found = pages.map(({ document }) => {
        try { return document.querySelector(closeAtEnd(m.selector)) !== null; } catch (_) { return undefined; }
      });
      if (found.every((f) => f === false)) {
        const where = pages.map((p) => p.where).join(', ');
        out.push({ path: path + '.selector', message: `${JSON.stringify(m.selector)} matches no element in ${where} (as served: an element added later by script is not seen here)` });
      }
    }
    for (const [cond, cpath] of conditions(m, path)) {
      const why = unreachable(cond, cpath.split('.').pop());
      if (why) out.push({ path: cpath, message: `${why}: this goal cannot fire` });
      const pats = [];
      if (isObj(cond) && typeof cond.matches === 'string') pats.push([cond.matches, cpath + '.matches']);
      for (const [source, p] of pats) {
        let unsafe = false;
        // (a pattern the RegExp refuses is already an error)
        try { unsafe = !!new RegExp(source) && !safeRegex(source); } catch (_) { unsafe = false; }
        if (unsafe) {
          out.push({ path: p, message: `${JSON.stringify(source)} can backtrack catastrophically (a repetition inside a repetition): a crafted URL or text can freeze the page; write it without nested quantifiers` });
        }
      }
    }
  }
  return out;
}

/**
 * Checks a config: { fatal, errors: [{path, message}], warnings: [{path, message}] }. `pages`:
 * [{ document, where }], the pages whose elements the goals' selectors should find.
 */
export function check(config, pages = []) {
  loadWasm();
  // what the wasm asks of the page's DOM to check selectors: `documentElement.matches(s)`,
  // which throws for a selector the browsers reject (js/selectors.mjs)
  const probe = {
    matches(s) {
      const r = checkSelector(String(s));
      if (!r.valid) throw new SyntaxError(r.why);
      return false;
    },
  };
  const lines = checkWasm(config, { documentElement: probe }).split('\n').filter(Boolean);
  const fatal = lines[0] === 'invalid';
  const errors = lines.slice(1).map((line) => {
    const i = line.indexOf(': ');
    return { path: i < 0 ? '' : line.slice(0, i), message: i < 0 ? line : line.slice(i + 2) };
  });
  return { fatal, errors, warnings: fatal ? [] : warnings(config, pages) };
}

/** The CLI: prints, returns the exit code. */
export async function main(argv, out = process.stdout, err = process.stderr) {
  const flags = new Set();
  const args = [];
  const html = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--html' && i + 1 < argv.length) html.push(argv[++i]);
    else if (argv[i].startsWith('--')) flags.add(argv[i]);
    else args.push(argv[i]);
  }
  const unknown = [...flags].filter((f) => !['--json', '--strict', '--help'].includes(f));
  if (flags.has('--help')) { out.write(USAGE + '\n'); return 0; }
  if (args[0] !== 'check' || args.length !== 2 || unknown.length) {
    err.write((unknown.length ? `unknown option ${unknown[0]}\n` : '') + USAGE + '\n');
    return 2;
  }
  const input = args[1];
  const json = flags.has('--json');
  let result;
  let goals = 0;
  try {
    const { config, document } = await readInput(input);
    const pages = document ? [{ document, where: input }] : [];
    for (const where of html) pages.push({ document: await readPage(where), where });
    result = check(config, pages);
    goals = Array.isArray(config?.goals) ? config.goals.length : 0;
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    if (json) out.write(JSON.stringify({ errors: [{ path: '', message: e.message }], warnings: [] }) + '\n');
    else err.write(`error: ${e.message}\n`);
    return 1;
  }
  const { fatal, errors, warnings: warns } = result;
  if (json) {
    out.write(JSON.stringify({ errors, warnings: warns }, null, 2) + '\n');
  } else {
    for (const e of errors) out.write(`${input}: error: ${e.path || 'config'}: ${e.message}\n`);
    for (const w of warns) out.write(`${input}: warning: ${w.path}: ${w.message}\n`);
    const n = (k, word) => `${k} ${word}${k === 1 ? '' : 's'}`;
    if (errors.length) {
      out.write(`${n(errors.length, 'error')}, ${n(warns.length, 'warning')}: ${fatal ? 'the config cannot be used (tracking would be off)' : 'these goals would be skipped, the others work'}\n`);
    } else {
      out.write(`ok: ${n(goals, 'goal')}, no errors, ${n(warns.length, 'warning')}\n`);
    }
  }
  return errors.length || (flags.has('--strict') && warns.length) ? 1 : 0;
}

// run as a program (also through npm's bin link), not when imported
const invoked = (() => {
  try { return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url)); } catch (_) { return false; }
})();
if (invoked) {
  // (a reader that stops early, `goalpost check … | head`, is not an error)
  for (const stream of [process.stdout, process.stderr]) stream.on('error', (e) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); });
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
    process.stderr.write(`goalpost check: internal error: ${e && e.stack || e}\n`);
    process.exitCode = 1;
  });
}
export { checkSelector } from './selectors.mjs';
