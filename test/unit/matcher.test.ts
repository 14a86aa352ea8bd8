import { RepwatchError } from '../../src/domain/errors';
import { brandMatcher, foldText, keywordProblem, parseKeyword, type BrandTerms } from '../../src/domain/matcher';

type Case = [what: string, text: string, matched: string[]];

/** Runs a table against one brand: `matched` gives the listed terms, and `test` agrees with it. */
function table(name: string, brand: BrandTerms, cases: Case[]): void {
  describe(name, () => {
    const m = brandMatcher(brand);
    it.each(cases)('%s', (_what, text, expected) => {
      expect(m.matched(text)).toEqual(expected);
      expect(m.test(text)).toBe(expected.length > 0);
    });
  });
}

table('word boundaries', { keywords: ['ing', 'acme'], handles: [] }, [
  ['"ing" is not found inside "something"', 'something went wrong', []],
  ['"ing" is not found inside "bankieren" or "bankING"', 'bankieren bij bankING', []],
  ['"ing" as a word, any case (nl)', 'ING heeft weer een storing', ['ing']],
  ['"acme" followed by an apostrophe (en)', "Acme's app is down again", ['acme']],
  ['"acme" as a hashtag', 'boos op #acme', ['acme']],
  ['"acme" as an @mention', 'hey @acme waar blijft mijn pakket', ['acme']],
  ['"acme" in a domain name', 'zie acme.nl/storing', ['acme']],
  ['"acme" at the very start and end', 'acme', ['acme']],
  ['not inside a longer word', 'acmebank en superacme', []],
  ['not glued to an underscore or digits', 'acme_help acme24 24acme', []],
  ['both terms, in config order', 'Acme en ING liggen eruit', ['ing', 'acme']],
]);

table('case and accent folding', { keywords: ['café', 'Coöp', 'Citroën'], handles: [] }, [
  ['"café" matches "CAFE"', 'CAFE de Zon is dicht', ['café']],
  ['"café" matches "Café" written with a combining accent', 'Cafe\u0301 de Zon', ['café']],
  ['"Coöp" matches "coop"', 'coop supermarkt open?', ['Coöp']],
  ['"Coöp" matches "COÖP"', 'COÖP heeft geen brood', ['Coöp']],
  ['"Coöp" does not match "coöperatie"', 'de coöperatie vergadert', []],
  ['"Citroën" matches "citroen" (en)', 'my citroen broke down', ['Citroën']],
  ['styled letters (mathematical sans-serif bold) fold to plain ones', '𝗖𝗶𝘁𝗿𝗼𝗲𝗻 service is a joke', ['Citroën']],
  ['full-width letters fold to plain ones', 'ＣＯＯＰ', ['Coöp']],
]);

table('hashtags', { keywords: ['volta bank', '#x'], handles: [] }, [
  ['a phrase also matches as one hashtag', 'alweer #voltabank', ['volta bank']],
  ['… in any case', '#VoltaBank ligt eruit', ['volta bank']],
  ['… or with an underscore', '#volta_bank', ['volta bank']],
  ['but not a longer hashtag', '#voltabanking', []],
  ['"#x" matches the hashtag only', 'love #X today', ['#x']],
  ['"#x" does not match the bare word', 'x marks the spot', []],
  ['"#x" does not match a longer hashtag', '#xmas', []],
]);

table('handles', { keywords: [], handles: ['@AcmeBank', 'acme_help'] }, [
  ['@handle, case-insensitive', '@acmebank mijn pas is geblokkeerd', ['@AcmeBank']],
  ['a handle configured without @ is still an @mention', 'vraag het @Acme_Help', ['acme_help']],
  ['the bare name is not a mention', 'AcmeBank is slecht', []],
  ['an e-mail address is not a mention', 'mail info@acmebank.nl', []],
  ['a longer handle is another account', '@acmebank_nl help', []],
  ['a fediverse mention with its server', '@acmebank@mastodon.social werkt niets', ['@AcmeBank']],
  ['both, in config order', '@acme_help @AcmeBank', ['@AcmeBank', 'acme_help']],
]);

table('phrases', { keywords: ['acme bank', 'mobiel bankieren', 'Coca-Cola', 'bread and butter'], handles: [] }, [
  ['any spacing between words', 'acme   bank', ['acme bank']],
  ['a hyphen between words', 'de Acme-Bank app', ['acme bank']],
  ['punctuation and a line break between words', 'ACME.\nBank', ['acme bank']],
  ['another word between is no match', 'acme mobile bank', []],
  ['Dutch phrase with a hyphen', 'Mobiel-bankieren werkt niet', ['mobiel bankieren']],
  ['"Coca-Cola" matches "coca cola"', 'coca cola zero', ['Coca-Cola']],
  ['"Coca-Cola" matches "#cocacola"', '#CocaCola', ['Coca-Cola']],
  ['lower-case "and" is an ordinary word', 'Bread and butter pudding', ['bread and butter']],
  ['… so it is part of the phrase', 'bread, butter', []],
]);

table('exclusions', { keywords: ['zeezicht'], handles: ['@hotelzeezicht'], exclude: ['zeezicht uitzicht', '#zeezichtcamping'] }, [
  ['the brand alone matches', 'Hotel Zeezicht: kamer was vies', ['zeezicht']],
  ['an exclusion phrase in the text means no match', 'prachtig zeezicht uitzicht vanaf het strand', []],
  ['… written with a hyphen', 'zeezicht-uitzicht!', []],
  ['… anywhere in the text, also next to a real mention', 'Hotel Zeezicht was vies, maar wat een zeezicht uitzicht', []],
  ['… and for handles too', '@hotelzeezicht zeezicht uitzicht', []],
  ['a hashtag exclusion', 'Hotel Zeezicht #ZeezichtCamping', []],
  ['the excluded hashtag word alone does not exclude', 'zeezichtcamping is iets anders; hotel zeezicht', ['zeezicht']],
  ['only the words of an exclusion do not exclude', 'uitzicht op zee, hotel zeezicht', ['zeezicht']],
]);

table('boolean keywords', {
  keywords: ['acme AND storing', 'ing AND bank OR ing AND app', 'volta -koffie', 'zonnig NOT "zonnig weer"', 'bol OR #bolcom', 'kpn glasvezel AND "geen internet"'],
  handles: [],
}, [
  ['AND: both present (nl)', 'Acme heeft alweer een storing', ['acme AND storing']],
  ['AND: in any order (en)', 'storing? acme is down', ['acme AND storing']],
  ['AND: one missing', 'acme werkt prima', []],
  ['OR of ANDs: first branch', 'ING bank ligt eruit', ['ing AND bank OR ing AND app']],
  ['OR of ANDs: second branch', 'de ING app crasht', ['ing AND bank OR ing AND app']],
  ['OR of ANDs: neither branch complete', 'ING', []],
  ['"-": present without the negated word', 'volta app kapot', ['volta -koffie']],
  ['"-": the negated word vetoes the keyword', 'volta koffie is lekker', []],
  ['NOT "phrase": the phrase vetoes', 'zonnig weer vandaag', []],
  ['NOT "phrase": only its words do not', 'Zonnig energie: weer een storing', ['zonnig NOT "zonnig weer"']],
  ['OR: either side (hashtag)', 'pakket kwijt #bolcom', ['bol OR #bolcom']],
  ['unquoted words next to each other form a phrase', 'KPN glasvezel: geen internet sinds gisteren', ['kpn glasvezel AND "geen internet"']],
  ['… so the words apart do not match', 'glasvezel van KPN, geen internet', []],
]);

table('negation takes the whole next term', { keywords: ['acme -storing fout', 'a OR b AND c'], handles: [] }, [
  ['the negated phrase is present', 'acme storing fout', []],
  ['only part of the negated phrase is present', 'acme storing', ['acme -storing fout']],
  ['AND binds tighter than OR: a alone', 'a', ['a OR b AND c']],
  ['AND binds tighter than OR: b alone is not enough', 'b', []],
  ['AND binds tighter than OR: b and c', 'c b', ['a OR b AND c']],
]);

table('keywords without operators stay plain', { keywords: ['OR', '-acme', 'say "hi"', 'rock - paper'], handles: [] }, [
  ['a lone operator word is a word', 'this or that', ['OR']],
  ['a lone "-word" is the word', 'acme', ['-acme']],
  ['quotes are dropped', 'say: hi!', ['say "hi"']],
  ['a dash between spaces separates words', 'rock paper', ['rock - paper']],
]);

table('several terms at once', { keywords: ['acme', 'acme bank', 'acme AND storing', 'acme'], handles: ['@AcmeBank'] }, [
  ['every matching term once, in config order', '@AcmeBank acme bank heeft een storing', ['acme', 'acme bank', 'acme AND storing', '@AcmeBank']],
  ['a longer term does not hide a shorter one', 'Acme Bank', ['acme', 'acme bank']],
]);

const BIG = 100 * 1024;
table('odd input', { keywords: ['acme bank', 'acme', 'بنك'], handles: ['@acme'] }, [
  ['empty string', '', []],
  ['whitespace only', ' \n\t ', []],
  ['100 kB without the brand', 'de klantenservice is traag '.repeat(BIG / 27), []],
  ['100 kB with the brand at the very end', `${'x'.repeat(BIG)} acme`, ['acme']],
  ['100 kB of near misses', 'xacme acmex '.repeat(BIG / 12), []],
  ['100 kB of separators after the first word of a phrase', `acme${' '.repeat(BIG)}x`, ['acme']],
  ['emoji around the brand', '🏦acme🏦 👍', ['acme']],
  ['an emoji ZWJ sequence next to the brand', '👩‍💻acme👨‍👩‍👧', ['acme']],
  ['a flag with tag characters next to the brand', '🏴󠁧󠁢󠁳󠁣󠁴󠁿acme', ['acme']],
  ['Arabic text around a Latin brand', 'أنا لا أحب acme أبدا', ['acme']],
  ['an Arabic keyword matches with its vowel marks', 'البَنْك بَنْك', ['بنك']],
  ['right-to-left marks around the brand', '\u200Facme\u200F', ['acme']],
  ['a zero-width joiner inside the brand', 'ac\u200Dme', ['acme']],
  ['a soft hyphen inside the brand', 'ac\u00ADme', ['acme']],
  ['a zero-width space separates words', 'acme\u200Bbank', ['acme bank', 'acme']],
  ['a letter outside the BMP is a word character', '𠀀acme', []],
  ['a lone surrogate is not', '\uD800acme', ['acme']],
]);

describe('brandMatcher', () => {
  it('ignores a non-string text instead of throwing', () => {
    const m = brandMatcher({ keywords: ['acme'], handles: [] });
    expect(m.matched(undefined as unknown as string)).toEqual([]);
    expect(m.test(null as unknown as string)).toBe(false);
  });

  it('matches nothing for a brand without terms, and skips empty entries', () => {
    expect(brandMatcher({ keywords: [], handles: [] }).matched('acme')).toEqual([]);
    expect(brandMatcher({ keywords: ['  ', 'acme'], handles: ['', '@'], exclude: [' '] }).matched('acme')).toEqual(['acme']);
  });

  it('compiles a brand definition once', () => {
    const brand = { keywords: ['acme'], handles: ['@acme'], exclude: ['acme coffee'] };
    expect(brandMatcher({ ...brand })).toBe(brandMatcher({ ...brand }));
    expect(brandMatcher({ ...brand, exclude: [] })).not.toBe(brandMatcher(brand));
  });

  it('methods work detached from the matcher', () => {
    const { test, matched } = brandMatcher({ keywords: ['acme'], handles: [] });
    expect(test('ACME')).toBe(true);
    expect(matched('ACME')).toEqual(['acme']);
  });

  it.each([
    ['acme AND', 'AND needs a term on each side'],
    ['OR acme', 'OR needs a term on each side'],
    ['acme AND OR bank', 'OR needs a term on each side'],
    ['acme NOT', 'NOT must be followed by a term'],
    ['acme NOT AND bank', 'NOT must be followed by a term'],
    ['acme NOT NOT bank', 'NOT NOT is not allowed'],
    ['acme NOT -bank', 'negates twice'],
    ['NOT acme', 'needs a term that is not negated'],
    ['-acme OR bank', 'needs a term that is not negated'],
    ['acme AND "bank', 'a double quote is not closed'],
    ['(acme OR ing) AND bank', 'parentheses are not supported'],
    ['acme AND !!!', '"!!!" has no letters or digits'],
    ['acme AND ""', 'an empty term has no letters or digits'],
    ['!!!', '"!!!" has no letters or digits'],
  ])('refuses the keyword %j: %s', (keyword, problem) => {
    expect(keywordProblem(keyword)).toContain(problem);
    let err: unknown;
    try {
      brandMatcher({ id: 'acme', keywords: ['acme', keyword], handles: [] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RepwatchError);
    expect((err as RepwatchError).code).toBe('RW_ERR_CONFIG_INVALID');
    expect((err as RepwatchError).message).toContain(`brand "acme": keyword "${keyword}": `);
    expect((err as RepwatchError).details).toMatchObject({ brandId: 'acme', keyword });
  });

  it('refuses an exclusion without letters or digits', () => {
    expect(() => brandMatcher({ keywords: ['acme'], handles: [], exclude: ['???'] })).toThrow(/exclusion "\?\?\?": .*no letters or digits/);
  });

  it('accepts the keywords of the grammar examples', () => {
    for (const k of ['acme bank AND storing', 'acme OR #acmebank', 'acme -koffie', 'acme NOT "acme coffee"', 'ing AND bank OR ing AND app', 'acme -"geen storing"']) {
      expect(keywordProblem(k)).toBeUndefined();
    }
  });
});

describe('parseKeyword', () => {
  it('gives OR-of-AND branches with folded words and the terms as written', () => {
    expect(parseKeyword('Acme Bank AND storing -"Geen Storing" OR #AcmeDown NOT @Acme_Help')).toEqual({
      keyword: 'Acme Bank AND storing -"Geen Storing" OR #AcmeDown NOT @Acme_Help',
      isQuery: true,
      branches: [
        [
          { term: { kind: 'phrase', raw: 'Acme Bank', words: ['acme', 'bank'] }, negated: false },
          { term: { kind: 'phrase', raw: 'storing', words: ['storing'] }, negated: false },
          { term: { kind: 'phrase', raw: 'Geen Storing', words: ['geen', 'storing'] }, negated: true },
        ],
        [
          { term: { kind: 'hashtag', raw: '#AcmeDown', words: ['acmedown'] }, negated: false },
          { term: { kind: 'mention', raw: '@Acme_Help', words: ['acme_help'] }, negated: true },
        ],
      ],
    });
  });

  it('reads a keyword without operators as one plain term, and an empty one as nothing', () => {
    expect(parseKeyword('"Coöp" supermarkt')).toEqual({
      keyword: '"Coöp" supermarkt',
      isQuery: false,
      branches: [[{ term: { kind: 'phrase', raw: 'Coöp supermarkt', words: ['coop', 'supermarkt'] }, negated: false }]],
    });
    expect(parseKeyword('   ')).toBeUndefined();
  });
});

describe('foldText', () => {
  it.each([
    ['Café', 'cafe'],
    ['COÖP', 'coop'],
    ['İstanbul', 'istanbul'],
    ['Ĳsselmeer', 'ijsselmeer'],
    ['ac\u200Dme\u00AD', 'acme'],
    ['a\u200Bb', 'a\u200Bb'],
    ['plain ascii', 'plain ascii'],
  ])('%j → %j', (input, folded) => {
    expect(foldText(input)).toBe(folded);
  });
});
