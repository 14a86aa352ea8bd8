/** Function words that steer the sentiment rules, per supported language. */

export type RuleLang = 'en' | 'nl';

export interface RuleWords {
  /** Flip or dampen the next few sentiment words of the same clause. */
  negators: ReadonlySet<string>;
  /** Start a new clause that counts more than what came before ("but", "maar"). */
  contrast: ReadonlySet<string>;
  /** Degree words: multiplier for the next sentiment word (> 1 boosts, < 1 dampens). */
  degree: ReadonlyMap<string, number>;
}

const EN_NEGATORS = [
  'not', 'no', 'never', 'neither', 'nor', 'nobody', 'nothing', 'none', 'nowhere', 'cannot', 'without',
  'dont', 'cant', 'wont', 'isnt', 'arent', 'wasnt', 'werent', 'didnt', 'doesnt', 'hasnt', 'havent',
  'hadnt', 'couldnt', 'shouldnt', 'wouldnt', 'aint', 'hardly', 'barely',
];
const NL_NEGATORS = ['niet', 'geen', 'nooit', 'niemand', 'niets', 'niks', 'nee', 'neen', 'noch', 'nergens'];

const EN_DEGREE: [string, number][] = [
  ['very', 1.3], ['so', 1.3], ['really', 1.3], ['too', 1.2], ['extremely', 1.5], ['incredibly', 1.4],
  ['absolutely', 1.4], ['totally', 1.3], ['completely', 1.3], ['super', 1.3], ['such', 1.2], ['most', 1.2],
  ['highly', 1.3], ['truly', 1.3], ['utterly', 1.4], ['seriously', 1.3], ['fucking', 1.5], ['freaking', 1.4],
  ['damn', 1.3], ['terribly', 1.3], ['awfully', 1.3], ['especially', 1.2], ['pretty', 1.1], ['quite', 1.1],
  // dampeners
  ['slightly', 0.6], ['somewhat', 0.7], ['kinda', 0.7], ['fairly', 0.8], ['barely', 0.5], ['little', 0.8], ['bit', 0.7],
];
const NL_DEGREE: [string, number][] = [
  ['zeer', 1.3], ['erg', 1.3], ['heel', 1.3], ['echt', 1.3], ['super', 1.4], ['ontzettend', 1.5], ['enorm', 1.5],
  ['hartstikke', 1.4], ['vreselijk', 1.4], ['verschrikkelijk', 1.4], ['bijzonder', 1.3], ['uiterst', 1.4],
  ['zo', 1.2], ['te', 1.1], ['totaal', 1.3], ['compleet', 1.3], ['mega', 1.4], ['best', 1.1], ['behoorlijk', 1.2],
  ['extreem', 1.5], ['nogal', 1.1], ['ongelofelijk', 1.4], ['ongelooflijk', 1.4],
  // dampeners
  ['beetje', 0.7], ['enigszins', 0.7], ['vrij', 0.9], ['wat', 0.9], ['iets', 0.8], ['redelijk', 0.8],
];

export const RULES: Readonly<Record<RuleLang, RuleWords>> = {
  en: {
    negators: new Set(EN_NEGATORS),
    contrast: new Set(['but', 'however']),
    degree: new Map(EN_DEGREE),
  },
  nl: {
    negators: new Set(NL_NEGATORS),
    contrast: new Set(['maar', 'echter', 'desondanks']),
    degree: new Map(NL_DEGREE),
  },
};

/** "didn't", "can't", "isn't": English contractions with n't negate too. */
export function isEnglishNegation(norm: string): boolean {
  return norm.endsWith("n't");
}

/** How many following words a negator reaches (stopped earlier by a clause boundary). */
export const NEGATION_SCOPE = 3;
