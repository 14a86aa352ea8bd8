import { analyze, createAnalyzer, rulesOnly, shippedAnalyzer, type TextModel } from '../../src/analysis';
import { detectLanguage, languageFromHint } from '../../src/analysis/language';
import { collapseElongation, tokenize, type TokenKind } from '../../src/analysis/tokenize';

const kinds = (text: string) => tokenize(text).map((t) => [t.kind, t.norm] as [TokenKind, string]);
const lang = (text: string, hint?: string) => detectLanguage(tokenize(text), hint).lang;

// These tests describe the rules layer; the learned layer on top is tested in analysis-model.test.ts.
const analyzeOne = rulesOnly.analyzeOne;

describe('tokenize', () => {
  test.each<[string, string, [TokenKind, string][]]>([
    ['keeps accented letters', 'Ik ben geïrriteerd, één café!', [
      ['word', 'ik'], ['word', 'ben'], ['word', 'geïrriteerd'], ['punct', ','], ['word', 'één'], ['word', 'café'], ['punct', '!'],
    ]],
    ['emoji as tokens, without variation selector or skin tone', 'love it ❤️👍🏽😡', [
      ['word', 'love'], ['word', 'it'], ['emoji', '❤'], ['emoji', '👍'], ['emoji', '😡'],
    ]],
    ['emoticons', 'ok :( then :-) and :D ;) <3', [
      ['word', 'ok'], ['emoticon', ':('], ['word', 'then'], ['emoticon', ':-)'], ['word', 'and'], ['emoticon', ':D'], ['emoticon', ';)'], ['emoticon', '<3'],
    ]],
    ['hashtags, mentions and URLs are typed', '@KLM #fail see https://t.co/abc.', [
      ['mention', '@klm'], ['hashtag', 'fail'], ['word', 'see'], ['url', 'https://t.co/abc'], ['punct', '.'],
    ]],
    ['contractions stay whole, ’ becomes \'', 'it isn’t working, zo\'n dag', [
      ['word', 'it'], ['word', "isn't"], ['word', 'working'], ['punct', ','], ['word', "zo'n"], ['word', 'dag'],
    ]],
    ['elongation collapses to two', 'sooooo goooood', [['word', 'soo'], ['word', 'good']]],
    ['times and e-mail addresses are not emoticons or mentions', 'at 3:30 mail a@b.nl', [
      ['word', 'at'], ['number', '3:30'], ['word', 'mail'], ['word', 'a'], ['word', 'b'], ['punct', '.'], ['word', 'nl'],
    ]],
  ])('%s', (_name, text, expected) => {
    expect(kinds(text)).toEqual(expected);
  });

  test('offsets point into the original text and elongation is flagged', () => {
    const text = 'Soooo BAD';
    const [a, b] = tokenize(text);
    expect(text.slice(a.start, a.end)).toBe('Soooo');
    expect(a.elongated).toBe(true);
    expect(b.text).toBe('BAD');
    expect(b.elongated).toBeUndefined();
  });

  test.each([
    ['sooooo', 2, 'soo'],
    ['sooooo', 1, 'so'],
    ['good', 2, 'good'],
    ['baaaad', 1, 'bad'],
  ])('collapseElongation(%s, %d) = %s', (word, keep, out) => {
    expect(collapseElongation(word, keep)).toBe(out);
  });
});

describe('language', () => {
  test.each([
    ['nl', 'Ik ben echt heel teleurgesteld over de service van jullie, mijn pakket is nog steeds niet bezorgd.'],
    ['en', 'My order still has not arrived and nobody at the help desk answers the phone.'],
    ['fr', "Merci beaucoup pour votre aide, c'est très gentil de votre part."],
    ['de', 'Vielen Dank für die schnelle Hilfe, das ist wirklich sehr nett von euch.'],
    ['und', 'ok'],
    ['und', '@KLM thanks!'],
    ['und', 'https://t.co/abc #fail'],
  ])('%s: %s', (expected, text) => {
    expect(lang(text)).toBe(expected);
  });

  test('urls, mentions and "#" do not count as words', () => {
    expect(lang('@united @delta https://t.co/x #delayed')).toBe('und');
  });

  test.each([
    ['en', 'en'],
    ['nl-BE', 'nl'],
    ['EN_gb', 'en'],
    ['es', 'es'],
    ['nld', 'nl'],
    ['und', undefined],
    ['qme', undefined],
    ['zxx', undefined],
    ['', undefined],
    ['not a tag', undefined],
  ])('hint %j → %j', (hint, expected) => {
    expect(languageFromHint(hint)).toBe(expected);
  });

  test('a real hint wins over the text; a no-language hint does not', () => {
    expect(detectLanguage(tokenize('The service was great'), 'nl')).toMatchObject({ lang: 'nl', source: 'hint' });
    expect(lang('Het eten was niet lekker en de bediening was traag', 'und')).toBe('nl');
    expect(analyzeOne({ text: 'gracias', langHint: 'es' }).lang).toBe('es');
  });

  test('short text has low confidence', () => {
    const r = detectLanguage(tokenize('ok thanks'));
    expect(r.lang).toBe('und');
    expect(r.confidence).toBeLessThan(0.3);
  });
});

describe('sentiment', () => {
  const s = (text: string, langHint?: string) => analyzeOne({ text, langHint }).sentiment;

  test.each<[string, string, 'negative' | 'neutral' | 'positive']>([
    ['en', 'The service was great, thank you!', 'positive'],
    ['en', 'Worst airline ever, rude staff and my bag is lost', 'negative'],
    ['en', 'The flight leaves at 9 from gate 12', 'neutral'],
    ['nl', 'Wat een geweldige service, echt top!', 'positive'],
    ['nl', 'Waardeloze klantenservice, ik ben teleurgesteld', 'negative'],
    ['nl', 'De trein vertrekt om negen uur van spoor twee', 'neutral'],
  ])('%s: %s → %s', (langHint, text, label) => {
    expect(s(text, langHint).label).toBe(label);
  });

  test('negation stays in its clause: "not good, but the service was great" leans positive', () => {
    const r = s('Not good, but the service was great', 'en');
    expect(r.score).toBeGreaterThan(0);
    expect(r.label).not.toBe('negative');
  });

  test('negation flips: "not good" is negative, "geen goede service" is negative', () => {
    expect(s('The food was not good', 'en').label).toBe('negative');
    expect(s('Geen goede service', 'nl').label).toBe('negative');
    expect(s('Ze leveren geen goede service', 'nl').label).toBe('negative');
  });

  test('a negated negative is not negative: "niet slecht", "not bad"', () => {
    expect(s('Het eten was niet slecht', 'nl').label).not.toBe('negative');
    expect(s('niet slecht').label).not.toBe('negative');
    expect(s('The food was not bad at all', 'en').label).not.toBe('negative');
  });

  test("n't negates and negation ends at the clause boundary", () => {
    expect(s("It isn't good", 'en').label).toBe('negative');
    // "not" belongs to the first clause; "great" is untouched.
    expect(s('I did not sleep. The crew was great', 'en').label).toBe('positive');
  });

  test('contrast: the clause after but/maar counts more', () => {
    expect(s('The seats were nice but the staff was rude and unhelpful', 'en').label).toBe('negative');
    expect(s('Het duurde lang maar de service was uitstekend', 'nl').label).toBe('positive');
    expect(s('Great food but terrible service', 'en').score).toBeLessThan(s('Terrible service but great food', 'en').score);
  });

  test('intensifiers, ALL-CAPS and ! amplify', () => {
    const base = s('The service was bad', 'en').score;
    expect(s('The service was very bad', 'en').score).toBeLessThan(base);
    expect(s('The service was BAD', 'en').score).toBeLessThan(base);
    expect(s('The service was bad!!!', 'en').score).toBeLessThan(base);
    expect(s('De service was erg slecht', 'nl').score).toBeLessThan(s('De service was slecht', 'nl').score);
  });

  test('elongated words are found in the lexicon', () => {
    expect(s('this is sooooo goooood', 'en').label).toBe('positive');
    expect(s('baaaad', 'en').label).toBe('negative');
  });

  test('emoji and emoticons carry polarity', () => {
    expect(s('my flight today 😡', 'en').label).toBe('negative');
    expect(s('my flight today 😍', 'en').label).toBe('positive');
    expect(s('my flight today :(', 'en').label).toBe('negative');
    expect(s('my flight today :-)', 'en').label).toBe('positive');
  });

  test('repwatch customer-service additions count', () => {
    expect(s('flight delayed and then cancelled', 'en').label).toBe('negative');
    expect(s('pakket nog steeds niet bezorgd, vertraging', 'nl').label).toBe('negative');
  });

  test('French and German fall back to neutral with low confidence', () => {
    const fr = analyzeOne({ text: "C'est vraiment nul, le pire service que j'ai jamais vu." });
    expect(fr.lang).toBe('fr');
    expect(fr.sentiment).toEqual({ label: 'neutral', score: 0, confidence: 0.2 });
    expect(analyzeOne({ text: 'Das ist wirklich der schlechteste Service, den ich je hatte.' }).sentiment.label).toBe('neutral');
  });

  test('score and confidence stay in range', () => {
    for (const text of ['', 'HATE HATE HATE!!!! 😡😡😡 worst worst worst', 'love love love 😍😍😍 best best best!!!!', 'hmm']) {
      const r = s(text);
      expect(r.score).toBeGreaterThanOrEqual(-1);
      expect(r.score).toBeLessThanOrEqual(1);
      expect(r.confidence).toBeGreaterThanOrEqual(0);
      expect(r.confidence).toBeLessThanOrEqual(1);
    }
  });
});

describe('complaint', () => {
  const c = (text: string, langHint?: string) => analyzeOne({ text, langHint }).complaint;

  test.each([
    ['en', "@shop my order still hasn't arrived, can you check?"],
    ['en', '@airline I have been waiting for my refund for three weeks'],
    ['en', '@telco my internet is not working again, please fix this'],
    ['nl', '@bol mijn pakket is nog steeds niet bezorgd, kunnen jullie dit nakijken?'],
    ['nl', '@ziggo geen reactie van de klantenservice, internet werkt niet'],
  ])('complaint (%s): %s', (langHint, text) => {
    expect(c(text, langHint).label).toBe(true);
  });

  test.each([
    ['en', '@shop thanks for the quick delivery, love it!'],
    ['en', 'What a beautiful morning in Amsterdam'],
    ['nl', '@bol bedankt voor de snelle levering, top service!'],
  ])('not a complaint (%s): %s', (langHint, text) => {
    expect(c(text, langHint).label).toBe(false);
  });

  test('an insult without a service problem is negative but need not be a complaint', () => {
    const j = analyzeOne({ text: 'you are all idiots lol', langHint: 'en' });
    expect(j.sentiment.label).toBe('negative');
    expect(j.complaint.score).toBeLessThan(0.5);
  });

  test('a polite complaint is a complaint even without negative words', () => {
    const j = analyzeOne({ text: "@shop hi, my order still hasn't arrived, can you check please?" });
    expect(j.complaint.label).toBe(true);
    expect(j.complaint.score).toBeGreaterThan(0.7);
  });
});

describe('evidence', () => {
  test('quotes the words as written, negated phrases whole, at most 5 each', () => {
    const j = analyzeOne({ text: "@united flight DELAYED again, the food was not good and the crew was great. Still hasn't left! 😡", langHint: 'en' });
    expect(j.evidence.negative).toEqual(expect.arrayContaining(['DELAYED', 'not good', '😡']));
    expect(j.evidence.positive).toEqual(['great']);
    expect(j.evidence.complaint).toEqual(expect.arrayContaining(['DELAYED', "Still hasn't"]));
    const many = analyzeOne({ text: 'bad awful terrible horrible worst rude broken stuck lost', langHint: 'en' });
    expect(many.evidence.negative.length).toBe(5);
    expect(many.evidence.negative[0]).toBe('worst');
  });

  test('Dutch evidence keeps accents and phrases', () => {
    const j = analyzeOne({ text: 'Ik ben erg geïrriteerd, nooit meer bestellen hier', langHint: 'nl' });
    expect(j.evidence.negative).toEqual(expect.arrayContaining(['geïrriteerd', 'nooit meer']));
  });

  test('neutral text has no evidence', () => {
    expect(analyzeOne({ text: 'The flight leaves at 9 from gate 12', langHint: 'en' }).evidence).toEqual({ negative: [], positive: [], complaint: [] });
  });
});

describe('analyze', () => {
  test('keeps order, handles empty and odd input', () => {
    const out = analyze([{ text: 'great!', langHint: 'en' }, { text: '' }, { text: '🤷' }, { text: 'slecht', langHint: 'nl' }]);
    expect(out.map((j) => j.sentiment.label)).toEqual(['positive', 'neutral', 'neutral', 'negative']);
    expect(out[1].lang).toBe('und');
    expect(analyze([])).toEqual([]);
  });

  test('is deterministic', () => {
    const input = [{ text: "Still waiting for my refund 😡 why is this taking so long?" }];
    expect(analyze(input)).toEqual(analyze(input));
  });

  test('a model can override the rules and sees what they computed', () => {
    const seen: string[] = [];
    const model: TextModel = {
      judge(ctx) {
        seen.push(`${ctx.language.lang}:${ctx.ruleLang}:${ctx.sentiment.label}`);
        return { complaint: { label: true, score: 0.99 } };
      },
    };
    const j = createAnalyzer({ model }).analyzeOne({ text: 'The crew was great', langHint: 'en' });
    expect(seen).toEqual(['en:en:positive']);
    expect(j.complaint).toEqual({ label: true, score: 0.99 });
    expect(j.sentiment.label).toBe('positive');
  });

  test('the learned layer adds a bounded cost to the rules (ratio in one run; npm run eval prints posts/s)', () => {
    const texts = [
      "@united my flight is delayed again, still waiting for an update. Worst airline ever 😡",
      '@bol bedankt voor de snelle levering, echt top service!',
      'Not good, but the service was great. Thanks @KLM!',
      'Mijn pakket is nog steeds niet bezorgd, kunnen jullie dit nakijken? #teleurgesteld',
      'Loving my new phone :) the camera is amazing https://t.co/xyz',
    ];
    const inputs = Array.from({ length: 10_000 }, (_, i) => ({ text: `${texts[i % texts.length]} ${i}` }));
    const learned = shippedAnalyzer();
    const rate = (run: () => unknown) => {
      run(); // warm up: lexicons, models, JIT
      const t0 = process.hrtime.bigint();
      run();
      return inputs.length / Number(process.hrtime.bigint() - t0);
    };
    // Interleaved and best-of-three, so a noisy neighbour hurts both sides alike.
    let ratio = 0;
    for (let round = 0; round < 3; round++) {
      const rules = rate(() => rulesOnly.analyze(inputs));
      const withModel = rate(() => learned.analyze(inputs));
      ratio = Math.max(ratio, withModel / rules);
    }
    // Outside jest the learned layer runs at ~0.4 of the rules' speed on these posts; inside jest's sandbox ~0.1.
    expect(ratio).toBeGreaterThan(0.05);
  });
});
