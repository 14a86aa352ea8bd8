/**
 * Table-driven tests for the tokenizer and for negation in English and Dutch: in the rule-based
 * sentiment (scoreSentiment, and the full rule pipeline analyzeContext, which adds complaint cues)
 * and in the learned layer's features (words inside a negation's scope are hashed apart).
 *
 * Only the rules and feature extraction are used here, never analyze()/analyzeOne(): those load
 * the shipped model files.
 */
import { analyzeContext } from '../../src/analysis';
import { copyFeatures, extractFeatures, type FeatureSpec } from '../../src/analysis/model/features';
import { NEGATION_SCOPE, type RuleLang } from '../../src/analysis/rules';
import { scoreSentiment, type SentimentResult } from '../../src/analysis/sentiment';
import { tokenize, type Token, type TokenKind } from '../../src/analysis/tokenize';

type SentimentLabel = SentimentResult['label'];

const pairs = (text: string) => tokenize(text).map((t) => [t.kind, t.text] as [TokenKind, string]);
const norms = (text: string) => tokenize(text).map((t) => [t.kind, t.norm] as [TokenKind, string]);

/** The rules on their own (no complaint cue weight). */
const rules = (lang: RuleLang, text: string) => scoreSentiment(text, tokenize(text), lang);
/** The full rule pipeline: language from the hint, complaint cues folded into the sentiment. */
const pipeline = (lang: RuleLang, text: string) => {
  const ctx = analyzeContext({ text, langHint: lang });
  expect(ctx.ruleLang).toBe(lang);
  return ctx.sentiment;
};

// ---------------------------------------------------------------------------------------------
// 1. Tokenizer
// ---------------------------------------------------------------------------------------------

describe('tokenize tables', () => {
  // [name, input, expected [kind, surface text] pairs]
  const SURFACE: [string, string, [TokenKind, string][]][] = [
    ['accented letters stay inside words', 'café privé één België coördinatie', [
      ['word', 'café'], ['word', 'privé'], ['word', 'één'], ['word', 'België'], ['word', 'coördinatie'],
    ]],
    ['Dutch apostrophes stay inside words', "zo'n m'n auto's", [['word', "zo'n"], ['word', "m'n"], ['word', "auto's"]]],
    ['English contractions, straight and curly', 'don’t, can’t won\'t', [
      ['word', 'don’t'], ['punct', ','], ['word', 'can’t'], ['word', "won't"],
    ]],
    ['hyphenated words stay whole', 'e-mail check-in', [['word', 'e-mail'], ['word', 'check-in']]],
    ['emoji with skin tones', '👍🏽👍🏿 ok', [['emoji', '👍🏽'], ['emoji', '👍🏿'], ['word', 'ok']]],
    ['ZWJ sequences are one emoji', '👨‍👩‍👧 👩🏽‍💻 🏳️‍🌈 👩‍❤️‍👨', [
      ['emoji', '👨‍👩‍👧'], ['emoji', '👩🏽‍💻'], ['emoji', '🏳️‍🌈'], ['emoji', '👩‍❤️‍👨'],
    ]],
    ['flags are pairs of regional indicators', '🇳🇱 🇧🇪🇳🇱', [['emoji', '🇳🇱'], ['emoji', '🇧🇪'], ['emoji', '🇳🇱']]],
    ['keycaps are emoji', '1️⃣', [['emoji', '1️⃣']]],
    ['emoticons', ":) :-( :'( <3 xD ;) XD :DDD :)))", [
      ['emoticon', ':)'], ['emoticon', ':-('], ['emoticon', ":'("], ['emoticon', '<3'], ['emoticon', 'xD'],
      ['emoticon', ';)'], ['emoticon', 'XD'], ['emoticon', ':DDD'], ['emoticon', ':)))'],
    ]],
    ['hashtags; "#1" and "#2024" are numbers, not hashtags', '#fail #NSFail #1 #2024 #a1', [
      ['hashtag', '#fail'], ['hashtag', '#NSFail'], ['number', '1'], ['number', '2024'], ['hashtag', '#a1'],
    ]],
    ['mentions; an e-mail address is not a mention', 'ask @KLM or @bol_com via info@klm.nl', [
      ['word', 'ask'], ['mention', '@KLM'], ['word', 'or'], ['mention', '@bol_com'], ['word', 'via'],
      ['word', 'info'], ['word', 'klm'], ['punct', '.'], ['word', 'nl'],
    ]],
    ['URLs without trailing punctuation or brackets', 'see http://x.nl/a, https://t.co/abc. www.klm.com! (https://a.b/c) www.klm.nl/a?b=1?', [
      ['word', 'see'], ['url', 'http://x.nl/a'], ['punct', ','], ['url', 'https://t.co/abc'], ['punct', '.'],
      ['url', 'www.klm.com'], ['punct', '!'], ['url', 'https://a.b/c'], ['url', 'www.klm.nl/a?b=1'], ['punct', '?'],
    ]],
    ['numbers: decimals, times, Dutch decimal comma', 'om 14:30. Kost €10.5, 3,5 sterren', [
      ['word', 'om'], ['number', '14:30'], ['punct', '.'], ['word', 'Kost'], ['number', '10.5'], ['punct', ','],
      ['number', '3,5'], ['word', 'sterren'],
    ]],
    ['punctuation runs are one token', 'wow!!! echt?! hmm… ok?!?!', [
      ['word', 'wow'], ['punct', '!!!'], ['word', 'echt'], ['punct', '?!'], ['word', 'hmm'], ['punct', '…'],
      ['word', 'ok'], ['punct', '?!?!'],
    ]],
    ['hashtag and mention stop at punctuation', '#fail!! @KLM.', [['hashtag', '#fail'], ['punct', '!!'], ['mention', '@KLM'], ['punct', '.']]],
    ['quotes and brackets are dropped', '\'quoted\' “curly” (haakjes)', [['word', 'quoted'], ['word', 'curly'], ['word', 'haakjes']]],
  ];

  test.each(SURFACE)('%s: %j', (_name, text, expected) => {
    expect(pairs(text)).toEqual(expected);
  });

  // [input, expected [kind, norm] pairs]
  const NORMS: [string, [TokenKind, string][]][] = [
    ['BELGIË Coördinatie Één', [['word', 'belgië'], ['word', 'coördinatie'], ['word', 'één']]],
    ['can’t don’t Zo’n', [['word', "can't"], ['word', "don't"], ['word', "zo'n"]]],
    ['E-Mail Check-In', [['word', 'e-mail'], ['word', 'check-in']]],
    ['#NSFail #Tést #FAAAAIL', [['hashtag', 'nsfail'], ['hashtag', 'tést'], ['hashtag', 'faail']]],
    ['@KLM @Bol_Com', [['mention', '@klm'], ['mention', '@bol_com']]],
    ['https://KLM.com/Help www.KLM.nl', [['url', 'https://klm.com/help'], ['url', 'www.klm.nl']]],
    ['❤️ 👍🏽 👩🏽‍💻 🇳🇱', [['emoji', '❤'], ['emoji', '👍'], ['emoji', '👩‍💻'], ['emoji', '🇳🇱']]],
    ['!!! ?!', [['punct', '!!!'], ['punct', '?!']]],
  ];

  test.each(NORMS)('norms of %j', (text, expected) => {
    expect(norms(text)).toEqual(expected);
  });

  // [surface, norm, elongated]
  const ELONGATION: [string, string, boolean][] = [
    ['sooooo', 'soo', true],
    ['goooood', 'good', true],
    ['heeeel', 'heel', true],
    ['GOOOOD', 'good', true],
    ['Heeeerlijk', 'heerlijk', true],
    ['good', 'good', false],
    ['heel', 'heel', false],
    ['koffie', 'koffie', false],
    ['één', 'één', false],
  ];

  test.each(ELONGATION)('elongation: %j → norm %j, elongated %s', (surface, norm, elongated) => {
    const toks = tokenize(`${surface}!`);
    expect(toks).toHaveLength(2);
    expect(toks[0]).toMatchObject({ kind: 'word', text: surface, norm });
    expect(toks[0].elongated === true).toBe(elongated);
  });

  const OFFSET_TEXTS: string[] = [
    ...SURFACE.map(([, text]) => text),
    ...NORMS.map(([text]) => text),
    'Heeeel goooood!!! 👍🏽 @KLM #NSFail https://t.co/x, zo’n café :-( 14:30 e-mail',
    '  leading and   repeated   spaces\tand\ttabs\nand newlines  ',
  ];

  test.each(OFFSET_TEXTS)('offsets slice back to the surface text: %j', (text) => {
    const toks: Token[] = tokenize(text);
    expect(toks.length).toBeGreaterThan(0);
    let prevEnd = 0;
    for (const t of toks) {
      expect(text.slice(t.start, t.end)).toBe(t.text);
      expect(t.end - t.start).toBe(t.text.length);
      expect(t.start).toBeGreaterThanOrEqual(prevEnd); // in order, never overlapping
      prevEnd = t.end;
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Negation in its clause, contrast, degree words, caps, emoji
// ---------------------------------------------------------------------------------------------

type Expect = SentimentLabel | 'not negative';

function expectLabel(r: SentimentResult, expected: Expect): void {
  if (expected === 'not negative') {
    expect(r.label).not.toBe('negative');
    expect(r.score).toBeGreaterThanOrEqual(0);
  } else {
    expect(r.label).toBe(expected);
    if (expected === 'positive') expect(r.score).toBeGreaterThan(0);
    if (expected === 'negative') expect(r.score).toBeLessThan(0);
  }
}

describe('negation and clauses (rules and rule pipeline)', () => {
  // [lang, text, expected label, the hit that shows the negation at work: [surface, sign] or null]
  const NEGATION: [RuleLang, string, Expect, [string, 1 | -1] | null][] = [
    // a negated positive turns negative
    ['en', 'not good', 'negative', ['not good', -1]],
    ['en', 'never good', 'negative', ['never good', -1]],
    ['en', 'nothing good', 'negative', ['nothing good', -1]],
    ['en', 'hardly good', 'negative', ['hardly good', -1]],
    ['en', 'no good', 'negative', ['no good', -1]],
    ['en', 'not happy', 'negative', ['not happy', -1]],
    ['en', "wasn't great", 'negative', ["wasn't great", -1]],
    ['en', 'not a good experience', 'negative', ['not a good', -1]],
    ['en', 'not the best service', 'negative', ['not the best', -1]],
    ['en', 'not very friendly', 'negative', ['not very friendly', -1]],
    ['en', 'the food was not at all good', 'negative', ['not at all good', -1]],
    ['en', 'nobody was friendly', 'negative', ['nobody was friendly', -1]],
    ['en', "didn't like it", 'negative', ["didn't like", -1]],
    ['en', "I didn't like the food", 'negative', ["didn't like", -1]],
    ['en', "I don't like it", 'negative', ["don't like", -1]],
    ['en', 'can’t recommend them', 'negative', ['can’t recommend', -1]],
    ['en', "wouldn't recommend", 'negative', ["wouldn't recommend", -1]],
    ['en', 'would not recommend', 'negative', ['not recommend', -1]],
    ['en', 'not worth it', 'negative', ['not worth', -1]],
    ['nl', 'niet goed', 'negative', ['niet goed', -1]],
    ['nl', 'nooit goed', 'negative', ['nooit goed', -1]],
    ['nl', 'geen goede service', 'negative', ['geen goede', -1]],
    ['nl', 'geen goede ervaring', 'negative', ['geen goede', -1]],
    ['nl', 'de service was niet goed', 'negative', ['niet goed', -1]],
    ['nl', 'het eten was niet lekker', 'negative', ['niet lekker', -1]],
    ['nl', 'ik vond het niet leuk', 'negative', ['niet leuk', -1]],
    ['nl', 'niet blij', 'negative', ['niet blij', -1]],
    ['nl', 'niet heel goed', 'negative', ['niet heel goed', -1]],
    ['nl', 'niet echt goed', 'negative', ['niet echt goed', -1]],
    ['nl', 'de bediening was niet erg vriendelijk', 'negative', ['niet erg vriendelijk', -1]],
    ['nl', 'niemand was vriendelijk', 'negative', ['niemand was vriendelijk', -1]],
    // a negated negative is not negative
    ['en', 'not bad', 'not negative', ['not bad', 1]],
    ['en', "wasn't bad", 'not negative', ["wasn't bad", 1]],
    ['en', "I don't hate it", 'not negative', ["don't hate", 1]],
    ['en', 'never had a bad experience', 'not negative', ['never had a bad', 1]],
    ['nl', 'niet slecht', 'not negative', ['niet slecht', 1]],
    ['nl', 'niet zo slecht', 'not negative', ['niet zo slecht', 1]],
    ['nl', 'niet onaardig', 'not negative', ['niet onaardig', 1]],
    ['nl', 'niks mis mee', 'not negative', ['niks mis mee', 1]],
    // "never again" / "nooit meer" is a verdict, not a negator in search of a word
    ['nl', 'nooit meer', 'negative', ['nooit meer', -1]],
    ['nl', 'ik bestel hier nooit meer', 'negative', ['nooit meer', -1]],
    // negation ends at a comma or a full stop
    ['en', 'not sure, but it was great', 'positive', ['great', 1]],
    ['en', 'not sure. It was great', 'positive', ['great', 1]],
    ['en', 'no, it was great', 'positive', ['great', 1]],
    ['en', 'not bad, the service was terrible', 'negative', ['terrible', -1]],
    ['nl', 'niet zeker, maar het was geweldig', 'positive', ['geweldig', 1]],
    ['nl', 'niet zeker. Het was geweldig', 'positive', ['geweldig', 1]],
    ['nl', 'nee, het was geweldig', 'positive', ['geweldig', 1]],
    ['nl', 'niet slecht, maar de bediening was onbeschoft', 'negative', ['onbeschoft', -1]],
    // negation ends at a contrast word
    ['en', 'not cheap but good', 'positive', ['good', 1]],
    // contrast: the clause after but/maar decides
    ['en', 'good food but rude staff', 'negative', null],
    ['en', 'rude staff but good food', 'positive', null],
    ['en', 'good food however the staff was rude', 'negative', null],
    ['en', 'lovely staff but the food was awful', 'negative', null],
    ['en', 'nice view but 😡', 'negative', null],
    ['nl', 'lekker eten maar onbeschofte bediening', 'negative', null],
    ['nl', 'lekker eten, maar onbeschofte bediening', 'negative', null],
    ['nl', 'onbeschofte bediening maar lekker eten', 'positive', null],
    ['nl', 'het eten was lekker, de bediening was echter traag', 'negative', null],
    ['nl', 'lekker eten maar 😡', 'negative', null],
  ];

  test.each(NEGATION)('%s: %j → %s', (lang, text, expected, hit) => {
    const r = rules(lang, text);
    expectLabel(r, expected);
    expectLabel(pipeline(lang, text), expected);
    if (hit) {
      const [surface, sign] = hit;
      const h = r.hits.find((x) => x.surface === surface);
      expect(h).toBeDefined();
      expect(Math.sign(h!.value)).toBe(sign);
    }
  });

  test.each<[RuleLang, string, string]>([
    ['en', 'good food but rude staff', 'good'],
    ['nl', 'lekker eten maar onbeschofte bediening', 'lekker'],
  ])('%s: the clause before the contrast counts less (%j)', (lang, text, before) => {
    const plain = rules(lang, before).hits[0].value;
    const hit = rules(lang, text).hits.find((h) => h.surface === before);
    expect(hit).toBeDefined();
    expect(hit!.value).toBeGreaterThan(0);
    expect(hit!.value).toBeLessThan(plain);
  });

  // Idioms the rule pipeline recognises through its complaint cues.
  test.each<[RuleLang, string, Expect]>([
    ['en', 'never again', 'negative'],
    ['en', 'never again!', 'negative'],
    ['en', 'never again.', 'negative'],
  ])('pipeline %s: %j → %s', (lang, text, expected) => {
    expectLabel(pipeline(lang, text), expected);
  });

  // [lang, stronger, weaker]: same sign, larger magnitude.
  const AMPLIFIED: [RuleLang, string, string][] = [
    ['en', 'very good', 'good'],
    ['en', 'really good service', 'good service'],
    ['en', 'extremely good', 'very good'],
    ['en', 'the food was extremely bad', 'the food was bad'],
    ['en', 'the food was bad', 'the food was slightly bad'],
    ['nl', 'heel goed', 'goed'],
    ['nl', 'zeer goed', 'goed'],
    ['nl', 'ontzettend goed', 'heel goed'],
    ['nl', 'heeeel goed', 'goed'],
    ['nl', 'slecht', 'een beetje slecht'],
    // ALL-CAPS words in a mixed-case post
    ['en', 'the food was GOOD', 'the food was good'],
    ['en', 'BAD service', 'bad service'],
    ['nl', 'Het was GEWELDIG', 'Het was geweldig'],
    ['nl', 'GOED gedaan', 'goed gedaan'],
    ['nl', 'SLECHT geregeld', 'slecht geregeld'],
    // emoji add to the words
    ['en', 'the food was good 😍', 'the food was good'],
    ['en', 'not happy 😡', 'not happy'],
  ];

  test.each(AMPLIFIED)('%s: %j is stronger than %j', (lang, stronger, weaker) => {
    const a = rules(lang, stronger).score;
    const b = rules(lang, weaker).score;
    expect(b).not.toBe(0);
    expect(Math.sign(a)).toBe(Math.sign(b));
    expect(Math.abs(a)).toBeGreaterThan(Math.abs(b));
  });

  test.each<[RuleLang, string, string]>([
    ['en', 'THE FOOD WAS GOOD', 'the food was good'],
    ['nl', 'HET WAS GEWELDIG', 'het was geweldig'],
  ])('%s: a post in capitals throughout is not amplified (%j)', (lang, shouted, plain) => {
    expect(rules(lang, shouted).score).toBe(rules(lang, plain).score);
  });

  // [lang, text, expected label]
  const EMOJI: [RuleLang, string, SentimentLabel][] = [
    ['en', 'the food was 👍', 'positive'],
    ['en', 'the food was 👎', 'negative'],
    ['en', 'loved it ❤️', 'positive'],
    ['en', 'hate it 💔', 'negative'],
    ['en', 'my flight 😭', 'negative'],
    ['en', 'my flight 😢', 'negative'],
    ['en', "my flight :'(", 'negative'],
    ['en', 'my flight <3', 'positive'],
    ['en', 'my flight ;)', 'positive'],
    ['en', 'my flight xD', 'positive'],
    ['en', 'wtf 🤬', 'negative'],
    ['nl', 'mijn vlucht 👍🏽', 'positive'],
    ['nl', 'mijn vlucht 👎', 'negative'],
    ['nl', 'mijn vlucht :)', 'positive'],
    ['nl', 'mijn vlucht :(', 'negative'],
    ['nl', 'mijn vlucht <3', 'positive'],
    ['nl', 'pakket kwijt 😡', 'negative'],
    ['nl', 'dank je ❤️', 'positive'],
    ['nl', 'weer vertraging 😭', 'negative'],
  ];

  test.each(EMOJI)('%s: %j → %s', (lang, text, expected) => {
    expectLabel(rules(lang, text), expected);
    expectLabel(pipeline(lang, text), expected);
  });

  test('a skin tone does not change an emoji\'s polarity', () => {
    expect(rules('en', 'ok 👍🏿').score).toBe(rules('en', 'ok 👍').score);
    expect(rules('nl', 'ok 👍🏽').score).toBe(rules('nl', 'ok 👍').score);
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Negation scope in the learned layer's features
// ---------------------------------------------------------------------------------------------

describe('negation scope in features', () => {
  const SPEC: FeatureSpec = { bits: 18, charNgrams: [], bigrams: false };

  /** The hashed feature index of every token of a post ([] for tokens without a unigram feature). */
  function tokenFeatures(lang: RuleLang, text: string): { tokens: readonly Token[]; index: (i: number) => number } {
    const ctx = analyzeContext({ text, langHint: lang });
    expect(ctx.ruleLang).toBe(lang);
    const f = copyFeatures(extractFeatures(ctx, SPEC));
    return {
      tokens: ctx.tokens,
      index: (i: number) => {
        const found: number[] = [];
        for (let k = 0; k < f.n; k++) if (f.token[k] === i && f.span[k] === 1) found.push(f.index[k]);
        expect(found).toHaveLength(1);
        return found[0];
      },
    };
  }

  /** Feature index of the last token whose norm is `word`. */
  function indexOf(lang: RuleLang, text: string, word: string): number {
    const { tokens, index } = tokenFeatures(lang, text);
    const i = tokens.map((t) => t.norm).lastIndexOf(word);
    expect(i).toBeGreaterThanOrEqual(0);
    return index(i);
  }

  // [lang, text, word, marked as negated?]
  const SCOPE: [RuleLang, string, string, boolean][] = [
    ['en', 'not good', 'good', true],
    ['en', 'never good', 'good', true],
    ['en', 'not very good', 'good', true],
    ['en', "don't like it", 'like', true],
    ['en', 'can’t recommend them', 'recommend', true],
    ['en', 'not one two good', 'good', true], // third word after the negator: still in scope
    ['en', 'not one two three good', 'good', false], // fourth word: out of scope
    ['en', 'not sure, good', 'good', false],
    ['en', 'not sure. good', 'good', false],
    ['en', 'not sure! good', 'good', false],
    ['en', 'not cheap but good', 'good', false],
    ['en', 'not cheap however good', 'good', false],
    ['nl', 'niet goed', 'goed', true],
    ['nl', 'nooit goed', 'goed', true],
    ['nl', 'geen goede service', 'goede', true],
    ['nl', 'geen goede service', 'service', true],
    ['nl', 'niet echt goed', 'goed', true],
    ['nl', 'niet een twee goed', 'goed', true],
    ['nl', 'niet een twee drie goed', 'goed', false],
    ['nl', 'niet zeker, goed', 'goed', false],
    ['nl', 'geen idee, goede service', 'goede', false],
    ['nl', 'geen idee. goede service', 'goede', false],
    ['nl', 'niet goedkoop maar goed', 'goed', false],
    ['nl', 'geen tijd echter goed', 'goed', false],
  ];

  test.each(SCOPE)('%s: %j: %j negated = %s', (lang, text, word, negated) => {
    const plain = indexOf(lang, word, word);
    const inContext = indexOf(lang, text, word);
    if (negated) expect(inContext).not.toBe(plain);
    else expect(inContext).toBe(plain);
  });

  test('the scope the features use is the rules\' NEGATION_SCOPE of 3 words', () => {
    expect(NEGATION_SCOPE).toBe(3);
  });

  test.each<[RuleLang, string]>([
    ['en', 'not'],
    ['en', 'never'],
    ['en', "didn't"],
    ['nl', 'niet'],
    ['nl', 'geen'],
    ['nl', 'nooit'],
  ])('%s: %j marks the word after it like every other negator', (lang, negator) => {
    const good = lang === 'en' ? 'good' : 'goed';
    const marked = indexOf(lang, `${negator} ${good}`, good);
    expect(marked).not.toBe(indexOf(lang, good, good));
    expect(marked).toBe(indexOf(lang, `${lang === 'en' ? 'not' : 'niet'} ${good}`, good));
  });

  test('the negator itself and words before it are not marked', () => {
    const { tokens, index } = tokenFeatures('en', 'good not');
    expect(tokens.map((t) => t.norm)).toEqual(['good', 'not']);
    expect(index(0)).toBe(indexOf('en', 'good', 'good'));
    expect(index(1)).toBe(indexOf('en', 'not', 'not'));
    const nl = tokenFeatures('nl', 'goed niet');
    expect(nl.index(0)).toBe(indexOf('nl', 'goed', 'goed'));
  });
});
