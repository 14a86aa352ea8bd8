/**
 * repwatch's own additions to the published lexicons, on the AFINN scale (-5..5). They override
 * the published value for the same entry. Kept small and separate so each one is visible and
 * can be questioned; written by hand from customer-service vocabulary, not copied from any data.
 * Entries with a space are phrases (matched as consecutive words).
 */

/** English: customer-service negatives AFINN misses or under-rates, and words it rates as sentiment that mostly are not. */
export const REPWATCH_EN: Readonly<Record<string, number>> = {
  // service problems
  still: -1,
  delayed: -2,
  delay: -2,
  delays: -2,
  cancelled: -2,
  canceled: -2,
  cancellation: -2,
  cancellations: -2,
  refund: -1,
  waiting: -1,
  worst: -4,
  rude: -3,
  lost: -2,
  broken: -2,
  stuck: -2,
  stranded: -3,
  overbooked: -2,
  overcharged: -3,
  unhelpful: -2,
  unprofessional: -3,
  nightmare: -3,
  glitch: -2,
  outage: -2,
  crashed: -2,
  late: -1,
  'on hold': -2,
  'no one': -1,
  nobody: -1,
  smh: -2,
  fml: -3,
  ridiculous: -3,
  // informal positives
  thx: 2,
  thankyou: 2,
  luv: 3,
  fab: 3,
  // AFINN values that mislead on posts to brands
  please: 0, // "please help" is a request, not praise
  help: 0, // "help!" / "can you help" asks for help
  want: 0,
  joke: -1, // "what a joke"
  lol: 1,
  lmao: 1,
  pretty: 0, // mostly a degree word ("pretty bad")
  true: 0,
  no: 0, // a negator, handled by the rules
  kind: 0, // "kind of"
  support: 0, // "customer support"
  dear: 0, // a salutation ("Dear @brand, why ...")
  leave: 0, // "the flight leaves at 9"
  sorry: -1,
  // litotes and negated negatives: mild praise, not negation of a complaint
  'not bad': 2,
  'not too bad': 1.5,
  'not that bad': 1,
  'not so bad': 1,
  'not bad at all': 2.5,
  "can't complain": 2,
  'cant complain': 2,
  'cannot complain': 2,
  "couldn't complain": 2,
  "can't fault": 2.5,
  "couldn't fault": 2.5,
  'no complaints': 2,
  'nothing to complain about': 2,
  'not disappointed': 1.5,
  "that's how it should be": 2,
  'thats how it should be': 2,
  'as it should be': 1.5,
};

/** Dutch: the same idea; on the AFINN scale. */
export const REPWATCH_NL: Readonly<Record<string, number>> = {
  waardeloos: -4,
  waardeloze: -4,
  teleurgesteld: -3,
  teleurstellend: -3,
  teleurstelling: -3,
  vertraging: -2,
  vertraagd: -2,
  geannuleerd: -2,
  kapot: -2,
  klantenservice: -0.5, // mentioned mostly when something went wrong
  schandalig: -4,
  schande: -3,
  oplichters: -4,
  oplichting: -4,
  oplichterij: -4,
  'nog steeds': -1,
  'nooit meer': -3,
  storing: -2,
  ontevreden: -3,
  belachelijk: -3,
  klacht: -2,
  woedend: -4,
  helaas: -2,
  jammer: -2,
  aanrader: 3,
  dankjewel: 3,
  dankuwel: 3,
  bedankt: 3,
  chapeau: 3,
  'petje af': 3,
  // litotes and negated negatives: mild praise ("niet slecht", "geen klagen", "zo hoort het")
  'niet slecht': 2,
  'niet zo slecht': 1,
  'helemaal niet slecht': 2.5,
  'niet verkeerd': 2,
  'geen klagen': 2,
  'niet klagen': 1.5,
  'niets te klagen': 2,
  'niks te klagen': 2,
  'geen klachten': 2,
  'zo hoort het': 2,
  'zoals het hoort': 2,
  'niks mis mee': 2,
  'niets mis mee': 2,
  'niet teleurgesteld': 1.5,
  'zonder problemen': 1.5,
  'geen problemen': 1,
  'nergens last van': 1,
  // degree words the Dutch lexicons give a (wrong-sense) valence: handled as intensifiers
  zeer: 0,
  heel: 0,
  zo: 0,
  echt: 0,
  // closed-class words LUPJE rates by association (from tweets), not by meaning
  naar: 0, // "to"; only rarely the adjective "nasty"
  houden: 0,
  boven: 0,
  net: 0,
  waar: 0,
  altijd: 0,
  gewoon: 0,
  alleen: 0,
  buiten: 0,
  enige: 0,
  eens: 0, // "once" / particle far more often than "agreed"
  bezorgd: 0, // "delivered" in posts to shops, not only "worried"
  service: 0,
  geïrriteerd: -3,
  geergerd: -3,
  geërgerd: -3,
};

/**
 * Emoji polarity (AFINN scale). Keys are emoji without variation selector or skin tone.
 * 😂 and 🤣 are only mildly positive: on posts to brands they are often mocking.
 */
export const EMOJI_VALENCE: Readonly<Record<string, number>> = {
  // negative
  '😡': -4,
  '😠': -3,
  '🤬': -4,
  '👎': -3,
  '😞': -2,
  '😢': -2,
  '😭': -2,
  '💩': -3,
  '🙄': -2,
  '😤': -2,
  '😒': -2,
  '😔': -2,
  '😩': -2,
  '😫': -2,
  '🤮': -3,
  '🤢': -2,
  '😕': -1,
  '🙁': -2,
  '☹': -2,
  '💔': -2,
  '😑': -1,
  '🤦': -2,
  '😱': -1,
  '😖': -2,
  '😣': -2,
  '😾': -2,
  '🖕': -4,
  // positive
  '😍': 3,
  '😊': 2,
  '🙂': 1,
  '👍': 2,
  '❤': 3,
  '♥': 3,
  '💕': 3,
  '💖': 3,
  '💙': 2,
  '💚': 2,
  '💜': 2,
  '🧡': 2,
  '💛': 2,
  '🥰': 3,
  '😘': 2,
  '🎉': 2,
  '🥳': 3,
  '🙏': 1,
  '😀': 2,
  '😃': 2,
  '😄': 2,
  '😁': 2,
  '😆': 2,
  '😎': 1,
  '🤩': 3,
  '👏': 2,
  '💯': 2,
  '😂': 1,
  '🤣': 1,
  '😉': 1,
  '🤗': 2,
  '✨': 1,
  '🌟': 2,
  '⭐': 1,
  '💪': 1,
  '👌': 2,
  '🙌': 2,
  '✅': 1,
};

/** Polarity of an ASCII emoticon from its shape (eyes-nose-mouth, reversed, hearts, kaomoji). */
export function emoticonValence(e: string): number {
  switch (e) {
    case '</3':
      return -3;
    case '-_-':
      return -1;
    case 'T_T':
    case 't_t':
    case ';_;':
      return -2;
  }
  if (e.startsWith('<3')) return 3;
  if (e.startsWith('^')) return 2;
  if (e[0] === 'x' || e[0] === 'X') return 2; // xD
  const first = e[0];
  if (first === '(') return 2; // (:
  if (first === ')') return -2; // ):
  const mouth = e[e.length - 1];
  switch (mouth) {
    case ')':
    case ']':
    case 'D':
    case '3':
    case '*':
      return e.startsWith('>') ? -2 : 2; // >:) is devilish, rarely kind
    case 'p':
    case 'P':
    case 'b':
      return 1;
    case '(':
    case '[':
    case '/':
    case '\\':
    case '@':
      return -2;
    case '|':
      return -1;
  }
  return 0;
}
