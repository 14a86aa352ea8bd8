/**
 * English specifics of issue #13: apostrophes and commas that arrive as literal "\u2019" / "\u002c"
 * (text escaped twice on its way in) read as what they stand for. The last table runs the shipped
 * models on posts to brands, escaped ones among them, and checks the quoted evidence.
 */
import { analyzeOne } from '../../src/analysis';
import { scoreSentiment } from '../../src/analysis/sentiment';
import { tokenize, type TokenKind } from '../../src/analysis/tokenize';

const ESC = '\\u2019'; // the six characters backslash, u, 2, 0, 1, 9
const COMMA = '\\u002c';

describe('escaped apostrophes and commas', () => {
  test.each<[string, string, [TokenKind, string, string][]]>([
    ['an escaped apostrophe stays inside its word', `don${ESC}t`, [['word', `don${ESC}t`, "don't"]]],
    ['and reads like a straight one', `I${ESC}m fine`, [['word', `I${ESC}m`, "i'm"], ['word', 'fine', 'fine']]],
    ['an escaped comma is punctuation', `late${COMMA} again`, [['word', 'late', 'late'], ['punct', COMMA, COMMA], ['word', 'again', 'again']]],
    ['a stray backslash-u elsewhere is not a word part', 'path\\u0041x', [['word', 'path', 'path'], ['word', 'u0041x', 'u0041x']]],
  ])('%s', (_name, text, expected) => {
    expect(tokenize(text).map((t) => [t.kind, t.text, t.norm])).toEqual(expected);
  });

  test('offsets still point into the text as given', () => {
    const text = `they don${ESC}t care`;
    for (const t of tokenize(text)) expect(text.slice(t.start, t.end)).toBe(t.text);
  });

  test.each([
    [`I don${ESC}t like it`, "I don't like it"],
    [`It isn${ESC}t good${COMMA} sadly`, "It isn't good, sadly"],
  ])('negation through an escaped apostrophe: %s scores like %s', (escaped, plain) => {
    const a = scoreSentiment(escaped, tokenize(escaped), 'en');
    const b = scoreSentiment(plain, tokenize(plain), 'en');
    expect(a.score).toBeCloseTo(b.score, 6);
    expect(a.label).toBe(b.label);
  });
});

describe('English posts to a brand (shipped models)', () => {
  // [text, sentiment, words the evidence must quote]
  const POSTS: [string, 'negative' | 'neutral' | 'positive', string[]][] = [
    ['@united worst customer service ever, two hours on hold and nobody picks up', 'negative', ['worst']],
    ['@SouthwestAir thank you for the great flight, the crew was amazing!', 'positive', ['amazing']],
    [`@AmericanAir I don${ESC}t understand why my bag is still missing${COMMA} terrible`, 'negative', ['terrible']],
    ['@JetBlue what time does the check-in desk open tomorrow?', 'neutral', []],
  ];

  test.each(POSTS)('%s → %s', (text, label, quoted) => {
    const j = analyzeOne({ text, langHint: 'en' });
    expect(j.sentiment.label).toBe(label);
    const evidence = label === 'negative' ? j.evidence.negative : label === 'positive' ? j.evidence.positive : [];
    for (const w of quoted) expect(evidence.join(' ')).toContain(w);
    for (const e of [...j.evidence.negative, ...j.evidence.positive, ...j.evidence.complaint]) expect(text).toContain(e);
  });
});
