/**
 * Complaint detection, separate from sentiment: a post can complain politely ("my order still
 * hasn't arrived, can you check?") and a negative post need not complain about a service ("you
 * are all idiots lol"). A logistic combination of cue phrases, negative sentiment and a question
 * put to an @handle; the weights are the first thing a learned model will replace.
 */
import type { RuleLang } from './rules';
import type { SentimentResult } from './sentiment';
import type { Token } from './tokenize';

/** [regex source over lowercased text, weight]. Sources must not contain capturing groups. */
type Cue = readonly [string, number];

const EN_CUES: Cue[] = [
  // something did not happen / does not work
  [`still (?:not|no|nothing|waiting|hasn't|haven't|hasnt|havent|isn't|isnt|don't|dont|doesn't|doesnt|can't|cant|cannot|won't|wont|didn't|didnt|have not|has not|unable|without|broken|missing|stuck|on hold)`, 2.2],
  [`(?:hasn't|hasnt|has not|haven't|havent|have not|hadn't|never|didn't|didnt|did not|not yet) (?:been )?(?:arrived?|received?|delivered|shipped|got|gotten|came|come|heard|refunded|credited|processed|responded|replied|answered|called|fixed|resolved|sent|showed up|turned up)`, 2.2],
  [`never (?:again|received|arrived|got|came|showed)`, 2],
  [`no (?:response|reply|replies|answer|one|help|update|updates|word|callback|call back|refund|service|signal|internet|power|wifi|connection|email|confirmation|compensation|info|information|explanation|apology)`, 1.6],
  [`(?:not|isn't|isnt|aren't|arent|wasn't|wasnt) (?:working|received|arrived|delivered|happy|helpful|acceptable|good enough|resolved|fixed|responding|loading|available|right|ok|okay)`, 1.8],
  [`(?:doesn't|doesnt|does not|don't|dont|do not|didn't|didnt|won't|wont|will not|can't|cant|cannot|couldn't|couldnt|unable to) (?:work|load|connect|log ?in|login|sign in|access|open|get through|reach|find|print|charge|respond|help|let me|play|stream|send|receive|update|download|install)`, 1.8],
  [`stopped working|keeps? (?:crashing|freezing|dropping|failing|breaking)|out of (?:order|service|stock)`, 1.8],
  [`(?:been )?waiting (?:for|on|since)|been waiting|wait(?:ed|ing)? (?:over |for )?(?:\\d+|an|a|two|three|several|many) (?:hours?|hrs?|days?|weeks?|months?|mins?|minutes)|on hold`, 1.6],
  [`(?:\\d+|two|three|several|many) (?:hours?|hrs|days|weeks|months) (?:later|now|and still|on hold|late|delay)`, 1.4],
  [`(?:can|could|would|will) (?:you|u|someone|somebody|anyone|anybody|y'all|you guys) (?:please )?(?:check|help|look|fix|explain|tell|sort|assist|advise|respond|reply|get back|call|dm|contact|refund|resolve|find out|let me know)`, 1.4],
  [`please (?:help|fix|respond|reply|check|advise|dm|look|sort|refund|call|contact|get back|explain|assist|resolve)`, 1.4],
  [`refund|reimburse|compensat|money back|chargeback`, 1.4],
  [`cancel+(?:ed|ing|ation|ations)?|delay(?:ed|s)?|late (?:flight|delivery|again)|missed (?:my |our |the )?(?:connection|flight|delivery)|misconnect|overbooked|stranded|diverted`, 1.4],
  [`customer (?:service|care|support|experience)|support team|call cent(?:er|re)|helpline|help desk|helpdesk`, 0.9],
  [`worst|terrible|horrible|awful|pathetic|appalling|disgraceful|shameful|unacceptable|ridiculous|useless|incompetent|unprofessional|rude|lousy|joke|rip ?off|ripped off|scam|fraud`, 1.2],
  [`disappoint(?:ed|ing|ment)|frustrat(?:ed|ing|ion)|annoy(?:ed|ing)|fed up|sick of|tired of|not happy|unhappy|upset|angry|furious|outrag`, 1.3],
  [`why (?:is|are|do|does|did|can't|cant|won't|wont|isn't|isnt|would|has|have|am|was|were|should|the hell|on earth)|what(?:'s| is| the hell is) (?:going on|happening|wrong)|how (?:long|many times|hard|is it possible|come)|where (?:is|are) (?:my|our|the)|when (?:will|can|do|does) (?:i|we|my|our|you|it)`, 1.1],
  [`fix (?:this|it|your|the|my)|sort (?:this|it) out|get (?:this|it) fixed|do (?:something|better)|step up|sort out`, 1.2],
  [`broken|damaged|defective|faulty|missing|lost (?:my|our|the)|wrong (?:order|item|size|address|charge)|charged (?:me |us )?(?:twice|again|for)|overcharg|double charged|hidden fee|error|glitch|outage|bug|crash(?:ed|es|ing)?|down again|is down|went down`, 1.3],
  [`complain(?:t|ts|ed|ing)?|escalate|ombudsman|report(?:ed|ing)? you|lawsuit|sue you|never (?:fly|flying|use|using|buy|buying|shop|shopping|order|ordering) (?:with )?(?:you|again|here)|switching to|lost a customer|cancel(?:led|ing)? my (?:account|subscription|order|contract)`, 1.6],
  [`again\\?|again!|(?:\\d+|2nd|3rd|4th|5th|second|third|fourth|fifth) time|every (?:time|single time)|yet again|once again`, 0.9],
  [`(?:i|we) (?:need|want|demand|expect|deserve) (?:a |an |my |our )?(?:refund|answer|response|explanation|help|replacement|compensation|apology)`, 1.6],
  [`nobody|no one (?:is |has |will |can )|(?:can't|cant|cannot) get (?:through|hold|a response|an answer)`, 1.2],
  // a negated action ("won't turn on", "can't activate"), except the happy idioms
  [`(?:can't|cant|cannot|won't|wont|doesn't|doesnt|didn't|didnt|isn't|isnt|hasn't|hasnt|haven't|havent|wasn't|wasnt|aren't|arent|couldn't|couldnt|unable to) (?!wait|stop|believe|thank|complain|miss|beat|go wrong|get enough|recommend)[a-z]+`, 0.8],
  [`(?:an?|the|same|this|my|massive|huge|big|major|technical|billing|bill|payment|login|account|delivery|network|connection|serious|ongoing|an ongoing) (?:issue|issues|problem|problems)|(?:having|have|had|got|facing|experiencing) (?:an? |some |the same |these |this |many |major |serious )?(?:issue|issues|problem|problems|trouble)`, 1.3],
  [`any (?:update|news|progress|word)|update me|awaiting|still (?:says|shows|only|charging|getting|have|has|haven't)|keeps? (?:on )?[a-z]+ing|(?:pls|plz|please) help|help me|help!|help\\?`, 1.1],
  [`let (?:me|us) down|ruin(?:ed|ing|s)?|thanks for (?:nothing|ruining|wasting|making me|charging|the (?:delay|wait))|waste of (?:time|money)|wasted|last time i (?:buy|use|fly|order|shop|book)|shock|price (?:increase|hike)|worse|worthless|dirty|unsafe|not cool|shit|crap|sucks?`, 1.2],
];

const NL_CUES: Cue[] = [
  [`nog steeds (?:niet|geen|niks|niets|wachten|aan het wachten|kapot|stuk|storing)|nog (?:altijd|steeds) niet`, 2.2],
  [`(?:niet|nooit|nog niet) (?:ontvangen|bezorgd|geleverd|aangekomen|teruggebeld|beantwoord|opgelost|verwerkt|teruggestort|gekregen)`, 2.2],
  [`geen (?:reactie|antwoord|bericht|pakket|levering|internet|bereik|verbinding|service|hulp|terugbetaling|geld|excuses|contact|signaal|stroom|tv|wifi|idee wanneer)`, 1.6],
  [`(?:wacht(?:en)?|wachtend|gewacht) (?:al |nu |ruim |inmiddels )?(?:op|sinds|\\d+|twee|drie|een|weken|dagen|uren)|sta(?:an)? al (?:\\d+|een|twee|drie|uren|een uur)|in de wacht`, 1.6],
  [`terugbetal|geld terug|restitutie|compensatie|schadevergoeding|vergoeding`, 1.4],
  [`klantenservice|klantendienst|servicedesk|helpdesk|klantcontact`, 0.9],
  [`kapot|stuk gegaan|beschadigd|defect|storing|werkt niet|werken niet|doet het niet|doen het niet|ligt (?:er )?(?:weer )?(?:plat|eruit)|kan niet (?:inloggen|bellen|betalen|bestellen)|lukt niet|foutmelding|fout gegaan`, 1.8],
  [`teleurgesteld|teleurstellend|teleurstelling|ontevreden|niet tevreden|boos|woedend|klaar mee|spuugzat|zat van|genoeg van|frustrerend|gefrustreerd|irritant|geïrriteerd|geergerd|geërgerd`, 1.4],
  [`waarom (?:is|zijn|duurt|krijg|krijgen|kan|kunnen|werkt|doet|wordt|worden|heb|hebben|moet|moeten|staat|komt|gaat)|hoe (?:lang|vaak|kan het)|wanneer (?:wordt|komt|krijg|kan|kunnen|gaat)|waar (?:is|blijft) (?:mijn|ons|onze|het|de)`, 1.1],
  [`klacht|klachten|klagen|geklaagd|ombudsman|geschillencommissie|consumentenbond`, 1.6],
  [`vertraging|vertraagd|geannuleerd|annulering|te laat|uitgevallen|gemist`, 1.4],
  [`waardeloos|waardeloze|slechte (?:service|klantenservice|ervaring|kwaliteit)|schandalig|belachelijk|bizar|onacceptabel|oplicht|oplichters|oplichterij|flut|prutser|prutswerk|onbeschoft|onvriendelijk|slecht geholpen|nooit meer`, 1.3],
  [`(?:kunnen|kun|kunt|willen|wil) (?:jullie|je|u) (?:dit |het |even |alsjeblieft |aub |a\\.u\\.b\\. )*(?:nakijken|checken|controleren|helpen|oplossen|uitzoeken|reageren|terugbellen|terugbetalen|kijken|contact)|graag (?:een )?(?:reactie|antwoord|contact|hulp)|help(?:en)? (?:me|ons)`, 1.4],
  [`alweer|opnieuw|weer (?:eens|niet|geen|kapot|storing|vertraging)|voor de (?:\\d+e|tweede|derde|vierde) keer|elke keer`, 0.9],
  [`verkeerd(?:e)? (?:pakket|bestelling|product|adres|bedrag)|dubbel (?:betaald|afgeschreven)|te veel (?:betaald|afgeschreven|gerekend)|kwijt|zoek(?:geraakt)?|niet compleet|ontbreekt`, 1.4],
];

/** Cue sets compiled once: one regex per language, one capture group per cue (its weight by index). */
interface CompiledCues {
  re: RegExp;
  weights: number[];
}
function compile(cues: Cue[]): CompiledCues {
  if (cues.length > 31) throw new Error('complaint cues are tracked in a 31-bit mask: merge some');
  const body = cues.map(([src]) => `(${src})`).join('|');
  // Not inside a word or a handle (@FC_Help); hashtags (#refund) do count.
  return { re: new RegExp(`(?<![\\p{L}\\p{N}_@])(?:${body})(?![\\p{L}\\p{N}_])`, 'gu'), weights: cues.map(([, w]) => w) };
}
let compiled: Partial<Record<RuleLang, CompiledCues>> = {};
const cuesFor = (lang: RuleLang) => (compiled[lang] ??= compile(lang === 'en' ? EN_CUES : NL_CUES));

/** Logistic weights, set on en-complaints (5-fold CV macro-F1 0.75, see the analysis report). */
export const COMPLAINT_PARAMS = {
  bias: -2,
  /** Sum of cue weights is capped here so one long rant does not dominate. */
  maxCues: 3,
  /** × max(0, -sentiment score) */
  negative: 1.5,
  /** × max(0, sentiment score): praise is rarely a complaint. */
  positive: -1.5,
  /** Addressed to an @handle at all (replies to brands). */
  directed: 0.8,
  /** ... and asking it something. */
  directedQuestion: 0.6,
  threshold: 0.5,
};

export interface ComplaintCues {
  /** Sum of cue weights (a repeated cue adds a quarter of its weight). */
  sum: number;
  /** The cue phrases as written, strongest first, at most 5. */
  evidence: string[];
  /** Bit i set when cue i of the language's list matched (features for the learned layer). */
  mask: number;
  /** Where each match is in the text: [start, end, weight], for explanations. */
  spans: [number, number, number][];
}

/** Finds complaint cue phrases in a post. */
export function findComplaintCues(text: string, lang: RuleLang): ComplaintCues {
  const { re, weights } = cuesFor(lang);
  let lower = text.toLowerCase();
  if (lower.includes('’')) lower = lower.replace(/’/g, "'");
  const sameOffsets = lower.length === text.length;

  let sum = 0;
  let found: { surface: string; weight: number }[] | undefined;
  const spans: [number, number, number][] = [];
  let used = 0; // bitmask of cue indexes seen (there are fewer than 32 per language)
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(lower)) !== null) {
    let g = 1;
    while (m[g] === undefined) g++;
    const w = weights[g - 1];
    const bit = 1 << (g - 1);
    sum += used & bit ? w * 0.25 : w;
    used |= bit;
    if (sameOffsets) spans.push([m.index, m.index + m[0].length, w]);
    (found ??= []).push({ surface: sameOffsets ? text.slice(m.index, m.index + m[0].length) : m[0], weight: w });
  }
  const evidence: string[] = [];
  if (found) {
    for (const c of found.sort((a, b) => b.weight - a.weight)) {
      if (evidence.length >= 5) break;
      if (!evidence.some((e) => e.toLowerCase() === c.surface.toLowerCase())) evidence.push(c.surface);
    }
  }
  return { sum, evidence, mask: used, spans };
}

export interface ComplaintResult {
  label: boolean;
  score: number;
  cues: string[];
  /** Cue weight and which cues matched, as found by findComplaintCues. */
  cueSum: number;
  cueMask: number;
  cueSpans: [number, number, number][];
  /** Addressed to an @handle, and asking something. */
  directed: boolean;
  question: boolean;
}

/** Combines cues, sentiment and addressing into the complaint score. */
export function scoreComplaint(cues: ComplaintCues, tokens: readonly Token[], sentiment: SentimentResult): ComplaintResult {
  const P = COMPLAINT_PARAMS;
  let mentioned = false;
  let question = false;
  for (const t of tokens) {
    if (t.kind === 'mention') mentioned = true;
    else if (t.kind === 'punct' && t.text.includes('?')) question = true;
  }
  const s = sentiment.score;
  const z =
    P.bias +
    Math.min(P.maxCues, cues.sum) +
    P.negative * Math.max(0, -s) +
    P.positive * Math.max(0, s) +
    (mentioned ? P.directed + (question ? P.directedQuestion : 0) : 0);
  const score = 1 / (1 + Math.exp(-z));
  return {
    label: score >= P.threshold,
    score: Math.round(score * 1000) / 1000,
    cues: cues.evidence,
    cueSum: cues.sum,
    cueMask: cues.mask,
    cueSpans: cues.spans,
    directed: mentioned,
    question,
  };
}

/** For tests: recompile the cue sets (after changing them). */
export function resetComplaintCues(): void {
  compiled = {};
}
