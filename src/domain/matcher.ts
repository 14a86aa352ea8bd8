/**
 * Brand matching: which texts are about a brand, for sources that cannot search server-side
 * (streams, feeds, review and comment APIs). The same keyword definitions also build the X query
 * (src/connectors/x.ts), so a brand is heard the same way everywhere.
 *
 * ## Folding
 * Text and terms are compared after folding: Unicode compatibility decomposition (NFKD, so styled
 * letters such as 𝗔𝗰𝗺𝗲 and the ligature ĳ compare as plain letters), lower case, combining marks
 * removed ("café" = "cafe", "Coöp" = "coop"), and invisible format characters removed (soft hyphen,
 * zero-width joiner and non-joiner, direction marks). A zero-width space stays a separator.
 *
 * ## Words and boundaries
 * A word is a run of letters and digits. A term matches only where neither end touches a letter,
 * digit or underscore: "ing" does not match "something"; "acme" matches "Acme's", "ACME!", "#acme",
 * "@acme" and "acme.nl", but not "acme_help" or "acmebank". Between the words of a phrase any run of
 * other characters is allowed ("acme bank" = "Acme-Bank" = "acme,\nbank" = "acme_bank"), and a phrase
 * of two or more words also matches written together as one hashtag ("volta bank" = "#VoltaBank").
 *
 * ## Terms
 *   #tag    only that hashtag: not the bare word, not a longer hashtag ("#acme" ≠ "acme", "#acmebank")
 *   @name   only that @mention; `handles` are @mentions too, written with or without "@"
 *   other   a phrase of one or more words (punctuation in it only separates words)
 *
 * ## Keyword grammar
 * A keyword is a plain term (its double quotes dropped) unless it has at least two parts and one of
 * them is an operator: AND, OR, NOT (upper case, unquoted; "and" is an ordinary word) or a part
 * written with a leading "-" ("-storing", "-\"geen storing\""). Then it is a query:
 *
 *   query   = branch { "OR" branch }
 *   branch  = literal { [ "AND" ] literal }        adjacent literals are ANDed too
 *   literal = [ "NOT" ] term | "-" term             "-" is written against the term, no space
 *   term    = '"' text '"' | word { word }          unquoted words next to each other form one phrase
 *   word    = a run of characters other than spaces and '"', not AND, OR or NOT, not starting with "-"
 *
 * AND binds tighter than OR; there are no parentheses (list alternatives as separate keywords).
 * NOT and "-" negate the whole next term ("acme -storing fout" = acme, and not "storing fout") and
 * mean "nowhere in the text". Every OR branch needs at least one term that is not negated: negation
 * only narrows.
 *   acme bank AND storing        "acme bank" and "storing" both occur
 *   acme OR #acmebank            either
 *   acme -koffie                 "acme" and not "koffie"
 *   acme NOT "acme coffee"       "acme" and not the phrase "acme coffee"
 *   ing AND bank OR ing AND app  (ing and bank) or (ing and app)
 * A keyword that breaks these rules (a dangling operator, an unclosed quote, parentheses, a branch
 * of only negations, a term without letters or digits) is refused with RW_ERR_CONFIG_INVALID;
 * `keywordProblem` says why, for config checks. Empty keywords and handles are ignored.
 *
 * ## Exclusions
 * Each `exclude` entry is one term (phrase, #tag or @name; no operators). When any of them occurs
 * anywhere in the text the text does not match the brand, whatever else it contains.
 *
 * ## Result
 * `matched(text)` lists the keywords, then the handles, whose rule holds, each as written in the
 * config and once, in config order; [] when none holds or an exclusion occurs. `test(text)` is
 * `matched(text).length > 0` but stops at the first.
 *
 * ## Speed
 * Everything is compiled once per brand definition (and cached). One regular expression over the
 * first term of every branch rejects most texts in one pass; only texts that pass are checked term
 * by term. Measured on one core, a brand with a dozen terms, 200-character texts: 230,000–280,000
 * texts a second with emoji and accents, 440,000–570,000 in plain ASCII.
 */
import { RepwatchError } from './errors';

export type TermKind = 'phrase' | 'hashtag' | 'mention';

export interface MatchTerm {
  kind: TermKind;
  /** The term as written (without quotes, "-" or NOT), trimmed, runs of whitespace made one space. */
  raw: string;
  /** Folded words; a hashtag or mention has one: the tag or handle without '#'/'@'. */
  words: string[];
}

export interface Literal {
  term: MatchTerm;
  negated: boolean;
}

export interface ParsedKeyword {
  keyword: string;
  /** false: a plain term (no operators), `branches` is [[that term]]. */
  isQuery: boolean;
  /** OR of ANDs: the keyword holds when every literal of at least one branch holds. */
  branches: Literal[][];
}

export interface BrandMatcher {
  test(text: string): boolean;
  /** The keywords and handles (as written in the config) found in the text; [] when none, or when an exclusion occurs. */
  matched(text: string): string[];
}

export interface BrandTerms {
  keywords: string[];
  handles: string[];
  exclude?: string[];
  /** Only used to name the brand in errors. */
  id?: string;
}

// ---- folding ------------------------------------------------------------------------------

const NON_ASCII = /[^\x00-\x7f]/;
/** Exact but slow (a Unicode-property scan): only for a text with characters outside the BMP other than emoji. */
const STRIP_ALL = /\p{M}|(?!\u200B)\p{Cf}/gu;
let stripTable: Uint8Array | undefined;

/**
 * Which BMP code units are marks or format characters, built on first use from the runtime's own
 * Unicode tables. A table walk is several times faster than a `\p{M}` regex replace, and folding
 * runs on every text.
 */
function marksTable(): Uint8Array {
  if (stripTable) return stripTable;
  const is = /[\p{M}\p{Cf}]/u;
  const table = new Uint8Array(0x10000);
  for (let c = 0; c < 0x10000; c++) {
    // Surrogates are left to STRIP_ALL; the zero-width space stays because it separates words.
    if ((c < 0xd800 || c > 0xdfff) && c !== 0x200b && is.test(String.fromCharCode(c))) table[c] = 1;
  }
  stripTable = table;
  return table;
}

/** Removes marks and format characters: BMP ones by table, the rare others with STRIP_ALL. */
function stripMarks(s: string): string {
  const table = marksTable();
  let out = '';
  let from = 0;
  let stripped = false;
  let astral = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xad) continue; // nothing below the soft hyphen is stripped
    if (table[c] === 1) {
      out += s.slice(from, i);
      from = i + 1;
      stripped = true;
    } else if (c >= 0xd800 && c <= 0xdbff && (c < 0xd83c || c > 0xd83e)) {
      // A high surrogate outside the emoji planes (U+1F000–1FBFF, which have no marks or format characters).
      astral = true;
    }
  }
  const rest = stripped ? out + s.slice(from) : s;
  return astral ? rest.replace(STRIP_ALL, '') : rest;
}

/** The form in which texts and terms are compared (see the file comment). */
export function foldText(text: string): string {
  if (!NON_ASCII.test(text)) return text.toLowerCase();
  return stripMarks(text.normalize('NFKD').toLowerCase());
}

// ---- keyword parsing ----------------------------------------------------------------------

const HASHTAG = /^#[\p{L}\p{M}\p{N}_]+$/u;
const MENTION = /^@[\p{L}\p{M}\p{N}_]+$/u;
const WORD_SPLIT = /[^\p{L}\p{N}]+/u;
const OPERATORS = new Set(['AND', 'OR', 'NOT']);

class KeywordProblem extends Error {}

function makeTerm(raw: string): MatchTerm {
  const t = raw.trim().replace(/\s+/g, ' ');
  if (HASHTAG.test(t)) return { kind: 'hashtag', raw: t, words: [foldText(t.slice(1))] };
  if (MENTION.test(t)) return { kind: 'mention', raw: t, words: [foldText(t.slice(1))] };
  const words = foldText(t).split(WORD_SPLIT).filter(Boolean);
  if (words.length === 0) throw new KeywordProblem(`${t ? `"${t}"` : 'an empty term'} has no letters or digits to match`);
  return { kind: 'phrase', raw: t, words };
}

interface Token {
  text: string;
  quoted: boolean;
  negated: boolean;
  op?: 'AND' | 'OR' | 'NOT';
}

function tokenize(keyword: string): { tokens: Token[]; unclosedQuote: boolean; parenthesis: boolean } {
  const tokens: Token[] = [];
  let unclosedQuote = false;
  let parenthesis = false;
  const n = keyword.length;
  const space = (c: string | undefined) => c !== undefined && /\s/.test(c);
  let i = 0;
  while (i < n) {
    if (space(keyword[i])) {
      i++;
      continue;
    }
    let negated = false;
    if (keyword[i] === '-' && i + 1 < n && !space(keyword[i + 1])) {
      negated = true;
      i++;
    }
    if (keyword[i] === '"') {
      const close = keyword.indexOf('"', i + 1);
      if (close < 0) unclosedQuote = true;
      const end = close < 0 ? n : close;
      tokens.push({ text: keyword.slice(i + 1, end), quoted: true, negated });
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < n && !space(keyword[j]) && keyword[j] !== '"') j++;
    const text = keyword.slice(i, j);
    if (text.includes('(') || text.includes(')')) parenthesis = true;
    tokens.push({ text, quoted: false, negated, op: !negated && OPERATORS.has(text) ? (text as Token['op']) : undefined });
    i = j;
  }
  return { tokens, unclosedQuote, parenthesis };
}

function parseQuery(tokens: Token[], unclosedQuote: boolean, parenthesis: boolean): Literal[][] {
  if (unclosedQuote) throw new KeywordProblem('a double quote is not closed');
  if (parenthesis) throw new KeywordProblem('parentheses are not supported: list the alternatives as separate keywords');

  // Unquoted words next to each other form one phrase; "-" starts a new (negated) one.
  type Item = { op: 'AND' | 'OR' | 'NOT' } | { raw: string; negated: boolean; run: boolean };
  const items: Item[] = [];
  for (const t of tokens) {
    if (t.op) {
      items.push({ op: t.op });
      continue;
    }
    const last = items[items.length - 1];
    if (!t.quoted && !t.negated && last && 'run' in last && last.run) last.raw += ` ${t.text}`;
    else items.push({ raw: t.text, negated: t.negated, run: !t.quoted });
  }

  const branches: Literal[][] = [[]];
  let prev: 'start' | 'term' | 'AND' | 'OR' | 'NOT' = 'start';
  for (const item of items) {
    if ('op' in item) {
      if (item.op === 'NOT') {
        if (prev === 'NOT') throw new KeywordProblem('NOT NOT is not allowed');
      } else if (prev !== 'term') {
        throw new KeywordProblem(prev === 'NOT' ? 'NOT must be followed by a term' : `${item.op} needs a term on each side`);
      }
      if (item.op === 'OR') branches.push([]);
      prev = item.op;
      continue;
    }
    if (prev === 'NOT' && item.negated) throw new KeywordProblem(`NOT before "-${item.raw}" negates twice`);
    branches[branches.length - 1].push({ term: makeTerm(item.raw), negated: item.negated || prev === 'NOT' });
    prev = 'term';
  }
  if (prev === 'NOT') throw new KeywordProblem('NOT must be followed by a term');
  if (prev === 'AND' || prev === 'OR') throw new KeywordProblem(`${prev} needs a term on each side`);
  for (const b of branches) {
    if (!b.some((l) => !l.negated)) {
      throw new KeywordProblem('every OR alternative needs a term that is not negated (NOT and "-" only narrow a match)');
    }
  }
  return branches;
}

/** Parses one keyword (see the grammar in the file comment); undefined for an empty one. Throws RW_ERR_CONFIG_INVALID. */
export function parseKeyword(keyword: string): ParsedKeyword | undefined {
  if (!keyword.trim()) return undefined;
  try {
    const { tokens, unclosedQuote, parenthesis } = tokenize(keyword);
    const isQuery = tokens.length >= 2 && tokens.some((t) => t.op !== undefined || t.negated);
    if (isQuery) return { keyword, isQuery, branches: parseQuery(tokens, unclosedQuote, parenthesis) };
    return { keyword, isQuery, branches: [[{ term: makeTerm(keyword.replace(/"/g, ' ')), negated: false }]] };
  } catch (err) {
    if (err instanceof KeywordProblem) {
      throw new RepwatchError('RW_ERR_CONFIG_INVALID', `keyword "${keyword}": ${err.message}`, { details: { keyword, problem: err.message } });
    }
    throw err;
  }
}

/** Why a keyword cannot be used, or undefined when it can (for config validation). */
export function keywordProblem(keyword: string): string | undefined {
  try {
    parseKeyword(keyword);
    return undefined;
  } catch (err) {
    if (err instanceof RepwatchError && typeof err.details?.problem === 'string') return err.details.problem;
    throw err;
  }
}

/** An exclusion entry: one term, no operators. Undefined for an empty one. Throws RW_ERR_CONFIG_INVALID. */
export function parseExclusion(entry: string): MatchTerm | undefined {
  if (!entry.trim()) return undefined;
  try {
    return makeTerm(entry.replace(/"/g, ' '));
  } catch (err) {
    if (err instanceof KeywordProblem) {
      throw new RepwatchError('RW_ERR_CONFIG_INVALID', `exclusion "${entry}": ${err.message}`, { details: { exclude: entry, problem: err.message } });
    }
    throw err;
  }
}

/** A handle as a mention term ("@AcmeBank" or "AcmeBank"); undefined for an empty one. */
export function handleTerm(handle: string): MatchTerm | undefined {
  const h = handle.trim().replace(/^@/, '');
  if (!h) return undefined;
  return { kind: 'mention', raw: `@${h}`, words: [foldText(h)] };
}

// ---- compiling ----------------------------------------------------------------------------

// The end of a term must not touch a letter, digit or underscore.
const AFTER = String.raw`(?![\p{L}\p{N}_])`;
// Between the words of a phrase: anything that is not a letter or digit (spaces, punctuation, _, emoji).
const GAP = String.raw`[^\p{L}\p{N}]+`;
const WORD_CHAR = /[\p{L}\p{N}_]/u;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\\/]/g, '\\$&');

/** The pattern of a term, without its boundaries. */
function termPattern(t: MatchTerm): string {
  if (t.kind === 'hashtag') return `#${escape(t.words[0])}`;
  if (t.kind === 'mention') return `@${escape(t.words[0])}`;
  const words = t.words.map(escape);
  return words.length > 1 ? `${words.join(GAP)}|#${words.join('')}` : words[0];
}

/*
 * The start boundary is checked by hand rather than with a lookbehind: a pattern that starts with
 * its literal lets the regex engine skip ahead quickly, about three times faster on texts that do
 * not match, which are most of them.
 */
function wordCharBefore(s: string, i: number): boolean {
  const c = s.charCodeAt(i - 1);
  if (c < 0x80) return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || (c >= 0x41 && c <= 0x5a);
  const low = c >= 0xdc00 && c <= 0xdfff && i >= 2;
  return WORD_CHAR.test(s.slice(low ? i - 2 : i - 1, i));
}

/** Whether any of `patterns` occurs in the folded text at a word start. */
function occursFn(patterns: string[]): (s: string) => boolean {
  const re = new RegExp(`(?:${patterns.join('|')})${AFTER}`, 'gu');
  return (s) => {
    re.lastIndex = 0;
    for (;;) {
      const m = re.exec(s);
      if (!m) return false;
      if (m.index === 0 || !wordCharBefore(s, m.index)) return true;
      re.lastIndex = m.index + 1;
    }
  };
}

interface CompiledEntry {
  /** As written in the config. */
  label: string;
  branches: { atom: number; negated: boolean }[][];
}

function compile(brand: BrandTerms): BrandMatcher {
  const atomIndex = new Map<string, number>();
  const atoms: string[] = [];
  const atom = (t: MatchTerm): number => {
    const pattern = termPattern(t);
    let i = atomIndex.get(pattern);
    if (i === undefined) {
      i = atoms.length;
      atomIndex.set(pattern, i);
      atoms.push(pattern);
    }
    return i;
  };

  const entries: CompiledEntry[] = [];
  const labels = new Set<string>();
  const addEntry = (label: string, branches: Literal[][]) => {
    if (labels.has(label)) return;
    labels.add(label);
    entries.push({ label, branches: branches.map((b) => b.map((l) => ({ atom: atom(l.term), negated: l.negated }))) });
  };
  const withBrand = (err: unknown): unknown =>
    err instanceof RepwatchError && brand.id ? new RepwatchError(err.code, `brand "${brand.id}": ${err.message}`, { details: { brandId: brand.id, ...err.details } }) : err;

  try {
    for (const k of brand.keywords ?? []) {
      const parsed = parseKeyword(k);
      if (parsed) addEntry(k, parsed.branches);
    }
    for (const h of brand.handles ?? []) {
      const t = handleTerm(h);
      if (t) addEntry(h, [[{ term: t, negated: false }]]);
    }
    const exclusions = (brand.exclude ?? []).map(parseExclusion).filter((t): t is MatchTerm => t !== undefined);
    const excluded = exclusions.length > 0 ? occursFn([...new Set(exclusions.map(termPattern))]) : undefined;
    return matcherFor(entries, atoms, excluded);
  } catch (err) {
    throw withBrand(err);
  }
}

/*
 * A text can only match through some branch, and a branch only through its first non-negated term
 * (usually the brand's own word: "acme AND storing"). One regex over those first terms rejects most
 * texts in one pass; a text that passes is checked term by term, each term at most once and only
 * when an entry needs it.
 */
function matcherFor(entries: CompiledEntry[], atoms: string[], excluded: ((s: string) => boolean) | undefined): BrandMatcher {
  const leads = new Set<string>();
  for (const e of entries) for (const b of e.branches) leads.add(atoms[b.find((l) => !l.negated)!.atom]);
  const candidate = leads.size > 0 ? occursFn([...leads]) : undefined;
  const tests = atoms.map((p) => occursFn([p]));

  const run = (text: string, every: boolean): string[] => {
    if (!candidate || typeof text !== 'string' || text === '') return [];
    const folded = foldText(text);
    if (!candidate(folded)) return [];
    const state = new Int8Array(atoms.length); // 1 found, -1 absent, 0 not looked for yet
    const has = (i: number): boolean => {
      if (state[i] === 0) state[i] = tests[i](folded) ? 1 : -1;
      return state[i] === 1;
    };
    const found: string[] = [];
    for (const e of entries) {
      if (e.branches.some((b) => b.every((l) => has(l.atom) !== l.negated))) {
        found.push(e.label);
        if (!every) break;
      }
    }
    if (found.length > 0 && excluded?.(folded)) return [];
    return found;
  };
  return {
    test: (text: string) => run(text, false).length > 0,
    matched: (text: string) => run(text, true),
  };
}

// Connectors may ask per post; the definition is compiled once and kept (a brand has one definition).
const CACHE_LIMIT = 256;
const cache = new Map<string, BrandMatcher>();

/**
 * The matcher for a brand's keywords, handles and exclusions (see the file comment for the rules).
 * Throws RW_ERR_CONFIG_INVALID for a keyword or exclusion that cannot be used.
 */
export function brandMatcher(brand: BrandTerms): BrandMatcher {
  const key = JSON.stringify([brand.keywords, brand.handles, brand.exclude ?? []]);
  let m = cache.get(key);
  if (!m) {
    m = compile(brand);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, m);
  }
  return m;
}
