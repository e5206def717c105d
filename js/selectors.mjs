// `goalpost check`'s CSS selector check, for Node (no browser to ask). A selector is an
// error only where every browser rejects it; a pseudo-class or pseudo-element that some
// engines lack is a warning naming them (there, goalpost skips the goal). The syntax comes
// from css-what (css-select's parser) after the CSS Syntax rule that closes open strings,
// brackets and parentheses at the end of input; what css-what lets through but browsers
// refuse is checked here. The engines' support is @mdn/browser-compat-data's, extracted at
// build time into pseudo.json (scripts/build.mjs). tests/e2e/check.test.mjs holds this
// against Chromium on a list of selectors: never an error where Chromium accepts, never
// silent where it refuses.
import { parse } from 'css-what';
import nthCheck from 'nth-check';
import PSEUDO from './pseudo.json';

const ENGINES = ['Chrome', 'Firefox', 'Safari'];
/**
 * The engine versions of December 2024: what a feature needs beyond them is new enough that
 * some visitors' browsers lack it (a warning, not an error).
 */
const SETTLED = [131, 133, 18.2];
/** Pseudo-classes whose argument is a selector list (checked in turn). */
const LISTS = new Set(['is', 'where', 'not', 'has', 'host', 'host-context', 'nth-child', 'nth-last-child']);
/** Forgiving lists: an empty or invalid argument matches nothing instead of failing. */
const FORGIVING = new Set(['is', 'where']);

class Invalid extends Error {}

/**
 * Calls `fn(c, i)` for each character of `sel` outside strings (an escaped character skipped);
 * returns the quote of a string left open at the end, or null.
 */
function outsideStrings(sel, fn) {
  let quote = null;
  for (let i = 0; i < sel.length; i++) {
    const c = sel[i];
    if (c === '\\') { i++; continue; }
    if (quote) { if (c === quote) quote = null; continue; }
    if (c === '"' || c === "'") quote = c;
    else fn(c, i);
  }
  return quote;
}

/** The CSS Syntax rule for the end of input: open strings, brackets and parentheses close. */
export function closeAtEnd(sel) {
  const open = [];
  const quote = outsideStrings(sel, (c) => {
    if (c === '[' || c === '(') open.push(c === '[' ? ']' : ')');
    else if ((c === ']' || c === ')') && open[open.length - 1] === c) open.pop();
  });
  return sel + (quote || '') + open.reverse().join('');
}

/** An identifier may not start with a digit, or a hyphen and a digit (`#1a` is not an id selector). */
function checkIdents(sel) {
  outsideStrings(sel, (c, i) => {
    if ((c === '#' || c === '.') && /^-?[0-9]/.test(sel.slice(i + 1))) throw new Invalid(`"${c}${sel.slice(i + 1).split(/[^\w-]/)[0]}" is not a valid ${c === '#' ? 'id' : 'class'} (it starts with a digit)`);
  });
}

const COMBINATORS = new Set(['child', 'parent', 'sibling', 'adjacent', 'descendant', 'column-combinator']);

/** Checks one parsed compound list; `relative`: inside :has(), where a leading combinator is fine. */
function checkParsed(list, { relative = false, inHas = false }, warnings) {
  if (list.length === 0) throw new Invalid('is empty');
  for (const tokens of list) {
    if (tokens.length === 0) throw new Invalid('has an empty part');
    if (COMBINATORS.has(tokens[tokens.length - 1].type)) throw new Invalid('ends with a combinator');
    if (!relative && COMBINATORS.has(tokens[0].type)) throw new Invalid('starts with a combinator');
    let afterElement = false;
    for (const t of tokens) {
      if (afterElement && t.type !== 'pseudo') throw new Invalid('has a selector after a pseudo-element');
      if (afterElement) warnings.push(`:${t.name} after a pseudo-element matches nothing in most browsers`);
      if (t.type === 'pseudo-element') afterElement = true;
      if (t.type === 'attribute' && t.ignoreCase === false) supportWarning('the attribute flag s', PSEUDO['[s]'], warnings);
      if (t.type === 'column-combinator') throw new Invalid('uses the column combinator ||, which no browser supports');
      if (t.type === 'tag' && t.namespace && t.namespace !== '*') throw new Invalid(`uses the namespace prefix "${t.namespace}|", which a page cannot declare for a selector`);
      if (t.type === 'attribute' && t.namespace && t.namespace !== '*') throw new Invalid(`uses the namespace prefix "${t.namespace}|"`);
      if (t.type === 'pseudo' || t.type === 'pseudo-element') checkPseudo(t, inHas, warnings);
    }
  }
}

function checkPseudo(t, inHas, warnings) {
  const element = t.type === 'pseudo-element';
  const name = (element ? '::' : ':') + t.name.toLowerCase();
  const fn = t.data != null;
  const shown = name + (fn ? '()' : '');
  const known = PSEUDO[shown] ?? PSEUDO[name] ?? PSEUDO[name + '()'];
  if (!known) {
    // a vendor prefix: some engine may know it
    if (/^::?-(webkit|moz)-/.test(name)) {
      warnings.push(`${shown} is vendor-prefixed: a browser that does not know it skips this goal`);
      return;
    }
    throw new Invalid(`uses ${shown}, which is not a CSS ${element ? 'pseudo-element' : 'pseudo-class'}`);
  }
  supportWarning(shown, known, warnings);
  const base = t.name.toLowerCase();
  if (base === 'has' && inHas) throw new Invalid(':has() inside :has() is not allowed');
  if (/^nth-/.test(base) && typeof t.data === 'string') {
    const [an, of] = t.data.split(/\s+of\s+/i);
    try { nthCheck(an.trim()); } catch (_) { throw new Invalid(`:${base}(${t.data}) has no valid An+B`); }
    if (of !== undefined) {
      if (!/^nth-(last-)?child$/.test(base)) throw new Invalid(`:${base}() takes no "of S"`);
      checkList(of, { relative: false, inHas }, warnings);
    }
  } else if (LISTS.has(base) && Array.isArray(t.data)) {
    try {
      checkParsed(t.data, { relative: base === 'has', inHas: inHas || base === 'has' }, warnings);
    } catch (e) {
      // a forgiving list drops what it cannot parse (and matches nothing for it)
      if (!(e instanceof Invalid) || !FORGIVING.has(base)) throw e;
      warnings.push(`a part of :${base}() ${e.message}: it matches nothing`);
    }
  }
}

/** A warning when some engine lacks a feature, or has had it only since after SETTLED. */
function supportWarning(what, versions, warnings) {
  if (versions.every((v) => !v)) throw new Invalid(`uses ${what}, which no browser supports`);
  const missing = ENGINES.filter((_, i) => !versions[i]);
  const recent = ENGINES.filter((_, i) => versions[i] > SETTLED[i]).map((e) => `${e} ${versions[ENGINES.indexOf(e)]}`);
  if (missing.length) warnings.push(`${what} is not supported by ${missing.join(' or ')}: there this goal is skipped`);
  else if (recent.length) warnings.push(`${what} is new (${recent.join(', ')}): older browsers skip this goal`);
}

function checkList(sel, ctx, warnings) {
  let parsed;
  try {
    parsed = parse(sel);
  } catch (e) {
    throw new Invalid(e.message.replace(/\.$/, '').toLowerCase());
  }
  checkParsed(parsed, ctx, warnings);
}

/**
 * Checks a selector as the browsers take it: { valid, why (when not), warnings (engine
 * differences) }.
 */
export function checkSelector(selector) {
  const warnings = [];
  // the nesting selector stands for :scope at the top level; forgiving lists may be empty
  let sel = closeAtEnd(selector).replace(/(^|[\s>+~(,])&(?=$|[\s>+~.#:[,)])/g, '$1:scope');
  sel = sel.replace(/:(is|where)\(\s*\)/gi, ':$1(*)');
  try {
    if (!sel.trim()) throw new Invalid('is empty');
    checkIdents(sel);
    checkList(sel, {}, warnings);
    return { valid: true, warnings };
  } catch (e) {
    if (!(e instanceof Invalid)) throw e;
    return { valid: false, why: e.message, warnings };
  }
}
