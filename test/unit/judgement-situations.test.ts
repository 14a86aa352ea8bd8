/**
 * Table-driven tests of the situations issue #13 is about, in English and Dutch, with the shipped
 * models: sarcasm and irony, thanks after a solved problem (recovery), litotes and negated
 * negatives, Dutch complaints without angry words, a review's rating, and what the demo's
 * escalation policy makes of them. Each row asserts the label and the words quoted as evidence.
 */
import { analyzeOne, type Judgement } from '../../src/analysis';
import { isThreat } from '../../src/domain/policy';

type Lang = 'en' | 'nl';
type Label = Judgement['sentiment']['label'];

/** Every evidence entry quotes the post (a sarcasm marker's " (sarcasm)" and a rating aside). */
function expectQuoted(text: string, j: Judgement): void {
  for (const e of [...j.evidence.negative, ...j.evidence.positive, ...j.evidence.complaint, ...(j.situation?.evidence ?? [])]) {
    if (/^rating \d/.test(e)) continue;
    expect(text).toContain(e.replace(/ \(sarcasm\)$/, ''));
  }
}

const judge = (lang: Lang, text: string) => analyzeOne({ text, langHint: lang });

describe('sarcasm and irony: negative, a complaint when aimed at the brand, and the reason says sarcasm', () => {
  // [lang, text, complaint, first negative evidence (marked as sarcasm), another quoted word that must be in the evidence]
  const SARCASM: [Lang, string, boolean, string, string][] = [
    ['en', 'Oh great, @snelpost lost my parcel again 🙄', true, 'Oh great (sarcasm)', 'lost my'],
    ['en', 'Thanks @klm for the 4 hour delay, love spending my weekend at Schiphol', true, 'Thanks @klm for the 4 hour delay (sarcasm)', 'love'],
    ['en', 'Great, another delay. Thanks @united', true, 'Great (sarcasm)', 'delay'],
    ['en', 'Great service @united 🙄', true, 'Great (sarcasm)', '🙄'],
    ['en', 'Still not fixed, thanks for nothing @comcast', true, 'thanks for nothing (sarcasm)', 'Still not'],
    ['en', 'Oh great, my train is delayed again', true, 'Oh great (sarcasm)', 'delayed'],
    ['nl', 'Bedankt hoor @snelpost, weer geen pakket', true, 'Bedankt hoor (sarcasm)', 'geen pakket'],
    ['nl', 'Echt top @ns, trein weer uitgevallen', true, 'Echt top (sarcasm)', 'uitgevallen'],
    ['nl', 'Lekker bezig @ns, alweer vertraging', true, 'Lekker bezig (sarcasm)', 'vertraging'],
    ['nl', 'Super service weer van @kpn 🙄', true, 'Super service weer (sarcasm)', '🙄'],
    // A verdict of praise alone after the failure; "lekker dan", "super service weer", "goed geregeld weer".
    ['en', 'Parcel lost again @snelpost. Brilliant.', true, 'Brilliant (sarcasm)', 'Parcel lost'],
    ['en', 'Still no refund after six weeks @voltabank. Great.', true, 'Great (sarcasm)', 'Still no'],
    ['en', 'Thanks a lot @snelpost for leaving my package in the rain again. Brilliant.', true, 'Thanks a lot @snelpost for leaving my package in the rain (sarcasm)', 'Brilliant'],
    ['nl', '@snelpost pakket weer kwijt. Geweldig.', true, 'Geweldig (sarcasm)', 'kwijt'],
    ['nl', 'Lekker dan @hotelzeezicht, betaal je 200 euro per nacht en dan geen warm water. Geweldig.', true, 'Lekker dan (sarcasm)', 'geen warm water'],
    ['nl', 'Super service weer van @voltabank: drie keer doorverbonden en nog steeds niemand die me helpt', true, 'Super service weer (sarcasm)', 'nog steeds niemand'],
    ['nl', 'Goed geregeld weer @ns, trein uitgevallen en geen bus', true, 'Goed geregeld weer (sarcasm)', 'uitgevallen'],
    ['nl', 'Wat een service weer van @snelpost, pakket over het hek gegooid', true, 'Wat een service (sarcasm)', 'over het hek gegooid'],
    // Irony about the weather is negative, but aimed at no one and naming no service failure: no complaint.
    ['en', "Oh great, it's raining again 🙄", false, 'Oh great (sarcasm)', '🙄'],
  ];

  test.each(SARCASM)('%s: %j → negative, complaint %s, evidence %j', (lang, text, complaint, marker, word) => {
    const j = judge(lang, text);
    expect(j.sentiment.label).toBe('negative');
    expect(j.complaint.label).toBe(complaint);
    expect(j.situation?.kind).toBe('sarcasm');
    expect(j.evidence.negative[0]).toBe(marker);
    expect(j.evidence.negative.join(' | ')).toContain(word);
    expect(j.evidence.positive).toEqual([]);
    if (complaint) expect(j.evidence.complaint.length).toBeGreaterThan(0);
    expectQuoted(text, j);
  });

  test('an eye-roll on a plain complaint, with no praise in it, is a complaint, not sarcasm', () => {
    const j = judge('nl', '@snelpost pakket weer te laat 🙄');
    expect(j.situation?.kind).toBeUndefined();
    expect(j.complaint.label).toBe(true);
    expect(j.evidence.complaint.join(' | ')).toContain('te laat');
  });

  // Sincere thanks and praise, even with "hoor" or next to a problem word, are not sarcasm.
  test.each<[Lang, string, Label]>([
    ['nl', 'Super bedankt hoor voor de snelle hulp @bol', 'positive'],
    ['en', 'Quick and helpful support from Volta Bank today, thanks!', 'positive'],
    ['en', 'Wow, great service today @klm!', 'positive'],
    // The same closing verdict after good news is sincere.
    ['en', 'Delivered a day early @snelpost. Brilliant.', 'positive'],
    ['nl', 'Pakket een dag eerder bezorgd @snelpost. Geweldig.', 'positive'],
    // Praise of the service before a fix, and a booking that turned out better.
    ['nl', 'Super service weer van @snelpost, pakket was kwijt maar binnen een dag gevonden', 'positive'],
    ['en', 'Booked a standard room at @hotelzeezicht and got a free upgrade, amazing!', 'positive'],
  ])('%s: %j is not sarcasm (%s)', (lang, text, label) => {
    const j = judge(lang, text);
    expect(j.situation?.kind).toBeUndefined();
    expect(j.sentiment.label).toBe(label);
    expect(j.complaint.label).toBe(false);
  });
});

describe('thanks after a solved problem (recovery): positive and not a complaint', () => {
  // [lang, text, words of the fix that must be quoted as positive evidence]
  const RECOVERY: [Lang, string, string[]][] = [
    ['en', 'Shout-out to @voltabank: lost my card abroad and support had a new one sorted within the hour. Brilliant service!', ['Brilliant', 'within the hour']],
    ['en', 'Thanks @KLM for rebooking me so quickly after the cancellation, great service', ['rebooking me so quickly']],
    ['en', 'My card stopped working but @voltabank had it fixed within the hour. Great service!', ['fixed', 'within the hour']],
    ['nl', '@snelpost mijn pakket was kwijt, maar het is toch nog netjes bezorgd. Top service, dank!', ['toch nog netjes bezorgd']],
    ['nl', '@voltabank mijn pas werkte niet, binnen een uur opgelost. Chapeau!', ['Chapeau', 'opgelost']],
    ['nl', '@snelpost mijn pakket was beschadigd, maar ze hebben meteen een nieuwe gestuurd. Top!', ['meteen een nieuwe gestuurd']],
    ['en', 'Had some trouble with my account but @voltabank support walked me through it patiently. Much appreciated!', ['walked me through']],
    ['en', '@voltabank my card was blocked after fraud, you caught it in time. Great job!', ['caught it in time']],
    // The problem named as the fix's object ("fixed my issue") does not take the fix back.
    ['en', 'Great service from @voltabank, fixed my issue in minutes', ['fixed']],
    ['en', 'Package went missing but @snelpost tracked it down and delivered it the next day. Thanks guys!', ['tracked it down']],
    ['nl', 'Mijn pinpas werd geweigerd, maar na één telefoontje met @voltabank was het geregeld. Dank!', ['was het geregeld']],
    ['nl', 'Kamer was bij aankomst niet schoon, maar binnen tien minuten hadden we een nieuwe kamer. Top @hotelzeezicht!', ['binnen tien minuten']],
  ];

  test.each(RECOVERY)('%s: %j → positive, no complaint, quoting %j', (lang, text, words) => {
    const j = judge(lang, text);
    expect(j.sentiment.label).toBe('positive');
    expect(j.complaint.label).toBe(false);
    expect(j.situation?.kind).toBe('recovery');
    expect(j.evidence.negative).toEqual([]);
    expect(j.evidence.complaint).toEqual([]);
    for (const w of words) expect(j.evidence.positive.join(' | ')).toContain(w);
    expectQuoted(text, j);
  });

  // A fix that is denied, asked for or taken back is no recovery.
  test.each<[Lang, string]>([
    ['en', "They said it was fixed but it still doesn't work @voltabank"],
    ['nl', '@ziggo storing is nog steeds niet opgelost'],
    ['en', '@delta when will my bag be fixed? great service so far'],
  ])('%s: %j stays a complaint', (lang, text) => {
    const j = judge(lang, text);
    expect(j.situation?.kind).not.toBe('recovery');
    expect(j.complaint.label).toBe(true);
    expect(j.sentiment.label).not.toBe('positive');
  });

  test("the demo's Volta Bank shout-out is an opportunity, not a threat that pages on-call", () => {
    const j = judge('en', 'Shout-out to @voltabank: lost my card abroad and support had a new one sorted within the hour. Brilliant service!');
    expect(isThreat(j, { complaintsAreNegative: true })).toBe(false);
    expect(j.sentiment.label).toBe('positive');
  });
});

describe('litotes and negated negatives: not negative, no complaint', () => {
  // [lang, text, the litotes quoted as positive evidence]
  const LITOTES: [Lang, string, string][] = [
    ['en', 'Not bad at all @voltabank, the new app works fine', 'Not bad at all'],
    ['en', "Can't complain about @snelpost, parcel came on time", "Can't complain"],
    ['en', "Parcel arrived on time, that's how it should be", "that's how it should be"],
    ['en', 'No complaints about the new app @voltabank', 'No complaints'],
    ['nl', 'Niet slecht, die nieuwe app van @voltabank', 'Niet slecht'],
    ['nl', 'Geen klagen over de service van @snelpost', 'Geen klagen'],
    ['nl', 'Pakket op tijd bezorgd, zo hoort het @snelpost', 'zo hoort het'],
    ['nl', 'Ik kan niet klagen over @ziggo', 'kan niet klagen'],
  ];

  test.each(LITOTES)('%s: %j → not negative, no complaint, quoting %j', (lang, text, phrase) => {
    const j = judge(lang, text);
    expect(j.sentiment.label).not.toBe('negative');
    expect(j.complaint.label).toBe(false);
    expect(j.situation?.kind).toBe('litotes');
    expect(j.evidence.positive).toContain(phrase);
    expect(j.evidence.negative).toEqual([]);
    expectQuoted(text, j);
  });

  test('a litotes next to a real problem is left to the model ("not bad, but ... late again")', () => {
    const j = judge('en', 'Not bad, but the delivery was late again');
    expect(j.situation?.kind).toBeUndefined();
  });
});

describe('English complaints without angry words: a complaint, quoting what went wrong', () => {
  // [text, a phrase the complaint evidence must quote]
  test.each<[string, string]>([
    ["@snelpost the tracking hasn't updated since Monday", "hasn't updated"],
    ["@voltabank my card was declined at the supermarket even though there's money in my account", 'declined'],
    ["@snelpost the driver marked my parcel as delivered but it isn't here. Can you look into this?", "isn't here"],
    ['@voltabank this is the third time I have to explain my situation to a different agent', 'third time'],
    ['Ordered a king room at @hotelzeezicht, got two single beds pushed together', 'got'],
  ])('en: %j → complaint, quoting %j', (text, phrase) => {
    const j = judge('en', text);
    expect(j.complaint.label).toBe(true);
    expect(j.evidence.complaint.join(' | ')).toContain(phrase);
    expect(isThreat(j, { complaintsAreNegative: true })).toBe(true);
    expectQuoted(text, j);
  });
});

describe('Dutch complaints are decided by the learned Dutch complaint model', () => {
  // [text, complaint, a word the complaint evidence must quote (when a complaint)]
  const DUTCH: [string, boolean, string][] = [
    ['Mijn pakket is al vijf dagen onderweg. Willen jullie dit even uitzoeken? @snelpost', true, 'onderweg'],
    ['Moet ik mijn verhaal nu voor de derde keer vertellen? Via de chat, telefoon en mail hetzelfde verhaal gedaan.', true, 'verhaal'],
    ["De kamer leek in niets op de foto's op de website @hotelzeezicht", true, 'leek'],
    ['@snelpost mijn pakket is nog steeds niet bezorgd, kunnen jullie kijken?', true, 'nog steeds niet'],
    ['Track & trace van SnelPost zegt bezorgd, maar ik heb niks ontvangen.', true, 'ontvangen'],
    ['@voltabank mijn betaling is al twee dagen niet verwerkt, graag hulp', true, 'verwerkt'],
    ['Ik heb twee keer gebeld en drie mails gestuurd, nog steeds geen antwoord @bol', true, 'nog steeds geen'],
    // A promised slot that passed, a booking that was not what came, a room not cleaned.
    ['@snelpost er zou vandaag tussen 9 en 12 bezorgd worden, het is nu half vier en nog niks.', true, 'nog niks'],
    ['Het pakket zou gisteren komen, vandaag nog steeds niks. @snelpost', true, 'zou gisteren komen'],
    ['@hotelzeezicht we hadden een kamer met zeezicht geboekt, we kijken uit op de parkeerplaats', true, 'geboekt'],
    ['Kamer bij @hotelzeezicht rook naar rook en het bed was niet verschoond', true, 'niet verschoond'],
    // The promise kept: no complaint.
    ['@snelpost zou vandaag bezorgd worden en is keurig op tijd gekomen', false, ''],
    ['Weet iemand of SnelPost op zondag bezorgt?', false, ''],
    ['Pakket van SnelPost binnen een dag bezorgd, top!', false, ''],
    ['@voltabank kan ik ook een gezamenlijke rekening openen?', false, ''],
    ['Het kabinet moet meer doen voor de zorg', false, ''],
    ['Heerlijk geslapen in Hotel Zeezicht. Wij komen zeker terug!', false, ''],
  ];

  test.each(DUTCH)('nl: %j → complaint %s', (text, complaint, word) => {
    const j = judge('nl', text);
    expect(j.complaint.label).toBe(complaint);
    if (complaint) {
      expect(j.evidence.complaint.length).toBeGreaterThan(0);
      expect(j.evidence.complaint.join(' | ')).toContain(word);
      expect(isThreat(j, { complaintsAreNegative: true })).toBe(true);
    } else expect(j.evidence.complaint).toEqual([]);
    expectQuoted(text, j);
  });
});

describe("a review's rating", () => {
  const text = 'Het was oké, bezorging duurde wat lang';
  test.each<[number, number, Label, boolean]>([
    [1, 5, 'negative', true],
    [2, 5, 'negative', false],
    [3, 5, 'neutral', false],
  ])('%d of %d stars → %s, complaint %s, and the reason names the rating', (stars, outOf, label, complaint) => {
    const j = analyzeOne({ text, langHint: 'nl', rating: { stars, outOf } });
    expect(j.sentiment.label).toBe(label);
    expect(j.complaint.label).toBe(complaint);
    if (label === 'negative') {
      expect(j.evidence.negative).toContain(`rating ${stars}/${outOf}`);
      expect(j.situation).toEqual({ kind: 'rating', evidence: [`rating ${stars}/${outOf}`] });
    }
  });

  test('a five-star review with a grumble in it is not negative', () => {
    const j = analyzeOne({ text: 'Slecht weer, maar het hotel was prima', langHint: 'nl', rating: { stars: 5, outOf: 5 } });
    expect(j.sentiment.label).not.toBe('negative');
  });

  test('a rating that makes no sense is ignored', () => {
    const plain = analyzeOne({ text, langHint: 'nl' });
    expect(analyzeOne({ text, langHint: 'nl', rating: { stars: 7, outOf: 5 } })).toEqual(plain);
    expect(analyzeOne({ text, langHint: 'nl', rating: { stars: 1, outOf: 0 } })).toEqual(plain);
  });
});

describe("language without a tag: the brand's languages as a prior", () => {
  // [text, brand languages, expected language]
  test.each<[string, string[] | undefined, string]>([
    ['Pakket nog niet ontvangen', ['nl'], 'nl'],
    ['Tegenvaller, slecht boek', ['nl', 'en'], 'nl'],
    ['Tegenvaller, slecht boek', undefined, 'nl'],
    ['Top service vandaag', ['nl', 'en'], 'nl'],
    ['worst experience ever!!!!', ['en', 'nl'], 'en'],
    ['Great service today', ['nl'], 'en'],
    // clear French function words still win over a Dutch-only brand's prior
    ['Le service client est nul', ['nl'], 'fr'],
    // one or two words stay undetermined, with a low confidence
    ['Thanks!', ['nl'], 'und'],
    ['Mooi zo', ['nl'], 'und'],
  ])('%j with languages %j → %s', (text, languages, lang) => {
    const j = analyzeOne({ text, languages });
    expect(j.lang).toBe(lang);
    if (lang === 'und') expect(j.langConfidence).toBeLessThanOrEqual(0.2);
  });

  test("a Dutch-only brand's prior decides a close call the text alone leaves open", () => {
    const text = 'Echt super idee';
    const withPrior = analyzeOne({ text, languages: ['nl'] });
    expect(withPrior.lang).toBe('nl');
  });

  test('a platform tag still wins over the prior', () => {
    expect(analyzeOne({ text: 'Pakket nog niet ontvangen', langHint: 'en', languages: ['nl'] }).lang).toBe('en');
  });
});

describe('Dutch outrage on a strong word stays negative where the model would call it neutral', () => {
  // [text, the strong word the reason must quote]
  const OUTRAGE: [string, string][] = [
    ['Walgelijk hoe SnelPost met een sollicitant omgaat. Schaam je, nooit meer SnelPost', 'Walgelijk'],
    ['Walgelijk hoe jullie met klanten omgaan', 'Walgelijk'],
  ];
  test.each(OUTRAGE)('%s', (text, word) => {
    const j = judge('nl', text);
    expect(j.sentiment.label).toBe('negative');
    expect(j.evidence.negative).toContain(word);
    expectQuoted(text, j);
  });

  test('a neutral Dutch post with no strong word is left neutral', () => {
    expect(judge('nl', 'Pakket gevolgd via de app, komt morgen').sentiment.label).toBe('neutral');
  });
});
