/**
 * Unicode-aware tokeniser for social posts. One precompiled regex walks the text once; every token
 * keeps its surface form and offsets so evidence can quote the post exactly.
 */

export type TokenKind = 'word' | 'url' | 'mention' | 'hashtag' | 'emoji' | 'emoticon' | 'number' | 'punct';

export interface Token {
  kind: TokenKind;
  /** The text exactly as it appears in the post. */
  text: string;
  /**
   * Lookup form. word: lowercased, ’ → ', letter runs of 3+ collapsed to 2 ("sooooo" → "soo");
   * hashtag: body without '#', lowercased; mention: handle lowercased with '@'; emoji: without
   * variation selectors and skin tones; punct: the punctuation run; others: lowercased text.
   */
  norm: string;
  start: number;
  end: number;
  /** word only: a letter was repeated 3+ times ("sooooo"), which signals emphasis. */
  elongated?: boolean;
}

// Alternatives in priority order; each one is a capture group so the kind is known without re-testing.
// Schemes in any case (HTTPS://, WWW.); a truncation mark ("…") ends the link.
const URL_SRC = String.raw`(?:[hH][tT][tT][pP][sS]?:\/\/|[wW][wW][wW]\.)[^\s…]*[^\s.,!?;:)\]}"'’”»…]`;
const MENTION_SRC = String.raw`(?<![\p{L}\p{N}_])@[\p{L}\p{N}_]+`;
const HASHTAG_SRC = String.raw`(?<![\p{L}\p{N}_&])#[\p{L}\p{N}_]*\p{L}[\p{L}\p{M}\p{N}_]*`;
// Western emoticons (eyes, optional nose, one repeated mouth), reversed ones, hearts and a few kaomoji.
const EMOTICON_SRC =
  String.raw`(?<![\p{L}\p{N}])(?:>?[:;=][\-o*'^]?(?:\)+|\(+|\]+|\[+|D+|[pPb]+|\/+|\\+|\|+|@|\*+|3+|[oO0])` +
  String.raw`|\(+[\-']?[:;=]|\)+[\-']?[:;=]|<\/?3+|[xX]D+|\^[_\-.]?\^|-_-|[tT]_[tT]|;_;)(?![\p{L}\p{N}])`;
// An emoji with its modifiers and ZWJ sequences, keycaps, or a flag (two regional indicators).
const EMOJI_SRC =
  String.raw`\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier}|\u200D\p{Extended_Pictographic}\uFE0F?\p{Emoji_Modifier}?)*` +
  String.raw`|[0-9#*]\uFE0F?\u20E3|\p{Regional_Indicator}{2}`;
// Words keep inner apostrophes (don't, zo'n, c'est) and hyphens (e-mail, check-in); marks stay with their letter.
// Text passed through twice-escaped JSON (some exports and scrapers) carries a literal "\u2019" for the
// apostrophe and "\u002c" for the comma: read as what they stand for, or "don\u2019t" loses its negation.
const WORD_SRC = String.raw`\p{L}[\p{L}\p{M}\p{N}]*(?:(?:['’]|\\u2019)\p{L}[\p{L}\p{M}]*)*(?:-\p{L}[\p{L}\p{M}\p{N}]*)*`;
const NUMBER_SRC = String.raw`\p{N}+(?:[.,:]\p{N}+)*`;
const PUNCT_SRC = String.raw`(?:[.!?;,…]|\\u002[cC])+`;
const ESCAPED_APOSTROPHE_RE = /\\u2019/g;

const TOKEN_RE = new RegExp(
  `(${URL_SRC})|(${MENTION_SRC})|(${HASHTAG_SRC})|(${EMOTICON_SRC})|(${EMOJI_SRC})|(${WORD_SRC})|(${NUMBER_SRC})|(${PUNCT_SRC})`,
  'gu',
);
const KINDS: TokenKind[] = ['url', 'mention', 'hashtag', 'emoticon', 'emoji', 'word', 'number', 'punct'];
const EMOJI_STRIP_RE = /[\uFE0F\u{1F3FB}-\u{1F3FF}]/gu;

/**
 * Collapses runs of 3+ identical letters to 2 ("sooooo" → "soo", "goooood" → "good").
 * Returns the input itself when nothing repeats, so the common case allocates nothing.
 */
export function collapseElongation(word: string, keep = 2): string {
  let run = 1;
  let found = false;
  for (let i = 1; i < word.length; i++) {
    if (word.charCodeAt(i) === word.charCodeAt(i - 1)) {
      if (++run > keep) {
        found = true;
        break;
      }
    } else run = 1;
  }
  if (!found) return word;
  let out = '';
  run = 0;
  for (let i = 0; i < word.length; i++) {
    const c = word[i];
    run = i > 0 && c === word[i - 1] ? run + 1 : 1;
    if (run <= keep) out += c;
  }
  return out;
}

/** Splits a post into typed tokens (whitespace, quotes, brackets and other symbols are dropped). */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  TOKEN_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = TOKEN_RE.exec(text)) !== null) {
    let g = 1;
    while (m[g] === undefined) g++;
    const kind = KINDS[g - 1];
    const surface = m[0];
    const start = m.index;
    const tok: Token = { kind, text: surface, norm: surface, start, end: start + surface.length };
    switch (kind) {
      case 'word': {
        let lower = surface.toLowerCase();
        if (lower.includes('’')) lower = lower.replace(/’/g, "'");
        if (lower.includes('\\u2019')) lower = lower.replace(ESCAPED_APOSTROPHE_RE, "'");
        const collapsed = collapseElongation(lower, 2);
        tok.norm = collapsed;
        if (collapsed !== lower) tok.elongated = true;
        break;
      }
      case 'hashtag':
        tok.norm = collapseElongation(surface.slice(1).toLowerCase(), 2);
        break;
      case 'mention':
      case 'url':
        tok.norm = surface.toLowerCase();
        break;
      case 'emoji':
        tok.norm = surface.length > 2 || surface.includes('\uFE0F') ? surface.replace(EMOJI_STRIP_RE, '') || surface : surface;
        break;
    }
    out.push(tok);
  }
  return out;
}
