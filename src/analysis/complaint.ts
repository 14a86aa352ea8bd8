/**
 * Complaint detection, separate from sentiment: a post can complain politely ("my order still
 * hasn't arrived, can you check?") and a negative post need not complain about a service ("you
 * are all idiots lol"). Cue phrases in both languages, negative sentiment and a question put to an
 * @handle; the learned layer (model/) weighs them with the post's words.
 *
 * Cue phrases belong to categories that mean the same in English and Dutch (cue 4 is "waiting
 * time" in both), so what the English complaint set teaches about a category carries over to
 * Dutch posts (the Dutch complaint model is trained on both, see scripts/recipe.ts). The same
 * single regex pass also finds the situation markers the sarcasm, recovery and litotes rules
 * read (situation.ts): they carry no complaint weight.
 */
import type { RuleLang } from './rules';
import type { SentimentResult } from './sentiment';
import type { Token } from './tokenize';

/** Cue categories, shared by both languages. The index is the bit in `ComplaintCues.mask`. */
export const CUE_CATEGORIES = [
  'still', // 0  something is still not right: "still not", "nog steeds niet"
  'notReceived', // 1  "hasn't arrived", "niet ontvangen", "al vijf dagen onderweg"
  'noResponse', // 2  "no response", "geen reactie", "niemand reageert"
  'notWorking', // 3  "not working", "can't log in", "werkt niet", "kapot", "storing"
  'waiting', // 4  "been waiting", "on hold", "wacht al", "in de wacht"
  'duration', // 5  "3 days later", "for two weeks now", "al een week"
  'request', // 6  "can you check", "please help", "kunnen jullie kijken", "graag hulp"
  'money', // 7  "refund", "compensation", "terugbetaling", "geld terug"
  'delay', // 8  "cancelled", "delayed", "missed my connection", "vertraging", "te laat"
  'service', // 9  "customer service", "klantenservice"
  'judgement', // 10 "worst", "useless", "waardeloos", "schandalig"
  'emotion', // 11 "disappointed", "fed up", "teleurgesteld", "spuugzat"
  'question', // 12 "why is", "how long", "waarom duurt", "waar blijft"
  'fixIt', // 13 "fix this", "sort it out", "los dit op"
  'wrongMissing', // 14 "wrong item", "lost my", "charged twice", "verkeerde", "kwijt", "beschadigd"
  'escalate', // 15 "complaint", "ombudsman", "never again", "switching to", "klacht", "nooit meer"
  'repetition', // 16 "again?", "third time", "alweer", "voor de derde keer"
  'demand', // 17 "I want a refund", "ik wil mijn geld terug"
  'nobody', // 18 "nobody", "can't get through", "niemand", "kom er niet doorheen"
  'negatedAction', // 19 "won't turn on", "lukt niet"
  'problem', // 20 "an issue", "having problems", "probleem met"
  'update', // 21 "any update", "awaiting", "stand van zaken"
  'letDown', // 22 "let me down", "waste of money", "zonde van het geld", "in de steek gelaten"
  'expectation', // 23 "nothing like the photos", "not as described", "leek in niets op", "beloofd"
  'retell', // 24 "explain it all again", "mijn verhaal opnieuw doen", "via chat, mail en telefoon"
  // Situation markers (weight 0): read by situation.ts, features of the learned layer.
  'litotes', // 25 "not bad", "can't complain", "niet slecht", "geen klagen", "zo hoort het"
  'resolution', // 26 "sorted within the hour", "fixed", "toch nog", "opgelost", "binnen een uur"
  'thanksFor', // 27 "thanks for", "love how", "bedankt voor": praise aimed at a situation
  'ironyMarker', // 28 🙄, "#not", "yeah right", "oh great", "bedankt hoor", "echt top", "lekker bezig"
] as const;
export type CueCategory = (typeof CUE_CATEGORIES)[number];
const CAT = Object.fromEntries(CUE_CATEGORIES.map((c, i) => [c, i])) as Record<CueCategory, number>;

/** Categories that name a failure of the service itself (not a request, question or feeling). */
export const FAILURE_MASK = [
  'still', 'notReceived', 'noResponse', 'notWorking', 'waiting', 'duration', 'money', 'delay', 'wrongMissing', 'repetition',
  'nobody', 'negatedAction', 'problem', 'letDown', 'expectation', 'retell',
].reduce((m, c) => m | (1 << CAT[c as CueCategory]), 0);
/** Categories that carry no complaint weight (situation markers). */
export const SITUATION_MASK = ['litotes', 'resolution', 'thanksFor', 'ironyMarker'].reduce((m, c) => m | (1 << CAT[c as CueCategory]), 0);
export const cueBit = (c: CueCategory) => 1 << CAT[c];

/** [category, regex source over lowercased text, weight]. Sources must not contain capturing groups. */
type Cue = readonly [CueCategory, string, number];

// Litotes and situation markers come first: at one position the first alternative wins, so
// "can't complain" is a litotes, not the complaint cue "complain" or a negated action.
const EN_CUES: Cue[] = [
  ['litotes', `not (?:too |that |so |half )?(?:bad|shabby|terrible|awful|disappointed|unhappy)(?: at all)?|(?:can't|cant|cannot|couldn't|couldnt) (?:complain|fault (?:it|them|you)|ask for (?:more|better))|no (?:complaints?|issues|problems) (?:at all|here|whatsoever|from me)|nothing to complain about|no complaints|(?:that's|thats|that is) (?:how|what) it should be|as it should be|the way it should be`, 0],
  ['resolution', `sorted(?: (?:it|this|that|everything|things|me))?(?: out)?|fixed|resolved|replaced|refunded|solved|(?:rebooked|rebooking) (?:me |us )?(?:so |really |very )?(?:quickly|fast|straight away|right away|immediately)|reinstated|restored|(?:a|the) (?:new|replacement) (?:one|card|phone|bag|part)|within the hour|within (?:\\d+|an|a|one|two|ten|twenty|thirty) (?:minutes|mins|hours?|days?)|in no time|(?:working|back (?:up|online)) again(?!\\?)|(?:arrived|came|turned up|showed up) (?:after all|in the end|the next day|today)|finally (?:arrived|came|got|received|sorted|fixed|here)|got (?:it|my (?:money|refund|card|bag|luggage|parcel|package|account)) back|walked (?:me|us) through|caught (?:it|the fraud|them) (?:in time|early|straight away|immediately)|tracked (?:it|them|my [a-z]+) down|helped (?:me|us) (?:out|sort|fix|get)|got (?:me|us|it) sorted|delivered (?:it )?the (?:next|following) day|all good now|back to normal`, 0],
  ['thanksFor', `(?:thanks|thank you|thank u|thx|ty|cheers) (?:so much |a lot )?(?:@[a-z0-9_]+ )?for(?! (?:nothing|ruining|wasting|making me|charging)(?![a-z]))|(?:i |gotta |got to |just |really )?(?:love|loving|adore|enjoy|enjoying) (?:how|it when|that|when|being|waiting|spending|sitting|getting|paying|standing)|(?:nothing|nothin) (?:like|beats)|just what i (?:needed|wanted)|my favou?rite (?:thing|part)`, 0],
  ['ironyMarker', `🙄|🙃|#not|#sarcasm|yeah,? right|(?:oh|ah),? (?:great|good|joy|wonderful|fantastic|perfect|brilliant|lovely|nice|super|awesome|fun)|(?:great|nice|good|brilliant|fantastic|well done|fab) job,? (?:guys|again|as usual)|thanks a (?:lot|bunch|million)(?= for (?:nothing|the delay|ruining|wasting|making))|just (?:great|perfect|brilliant|wonderful|fantastic|lovely)`, 0],
  ['still', `still (?:not|no|nothing|waiting|hasn't|haven't|hasnt|havent|isn't|isnt|don't|dont|doesn't|doesnt|can't|cant|cannot|won't|wont|didn't|didnt|have not|has not|unable|without|broken|missing|stuck|on hold)`, 2.2],
  ['notReceived', `(?:hasn't|hasnt|has not|haven't|havent|have not|hadn't|never|didn't|didnt|did not|not yet) (?:been )?(?:arrived?|received?|delivered|shipped|got|gotten|came|come|heard|refunded|credited|processed|responded|replied|answered|called|fixed|resolved|sent|showed up|turned up|updated|moved)|still (?:on (?:its|the) way|in transit|not here)|never (?:received|arrived|got|came|showed)`, 2.2],
  ['escalate', `never again|complain(?:t|ts|ed|ing)?|escalate|ombudsman|report(?:ed|ing)? you|lawsuit|sue you|never (?:fly|flying|use|using|buy|buying|shop|shopping|order|ordering) (?:with )?(?:you|again|here)|switching to|lost a customer|cancel(?:led|ing)? my (?:account|subscription|order|contract)`, 1.6],
  ['noResponse', `no (?:response|reply|replies|answer|one|help|update|updates|word|callback|call back|refund|service|signal|internet|power|wifi|connection|email|confirmation|compensation|info|information|explanation|apology|hot water|heating|air ?con|aircon|air conditioning)`, 1.6],
  ['notWorking', `(?:not|isn't|isnt|aren't|arent|wasn't|wasnt) (?:working|received|arrived|delivered|helpful|acceptable|good enough|resolved|fixed|responding|loading|available|right|ok|okay)|(?:doesn't|doesnt|does not|don't|dont|do not|didn't|didnt|won't|wont|will not|can't|cant|cannot|couldn't|couldnt|unable to) (?:work|load|connect|log ?in|login|sign in|access|open|get through|reach|find|print|charge|respond|help|let me|play|stream|send|receive|update|download|install)|stopped working|keeps? (?:crashing|freezing|dropping|failing|breaking)|out of (?:order|service|stock)|broken|damaged|defective|faulty|error|glitch|outage|bug|crash(?:ed|es|ing)?|down again|is down|went down|(?:card|payment|transaction|transfer) (?:was |got |keeps getting |is being |is |has been )?(?:declined|rejected|refused|blocked)`, 1.8],
  ['waiting', `(?:been )?waiting (?:for|on|since)|been waiting|wait(?:ed|ing)? (?:over |for )?(?:\\d+|an|a|two|three|several|many) (?:hours?|hrs?|days?|weeks?|months?|mins?|minutes)|on hold`, 1.6],
  ['duration', `(?:\\d+|two|three|four|five|several|many) (?:hours?|hrs|days|weeks|months) (?:later|now|and still|on hold|late|delay)|for (?:\\d+|two|three|four|five|several|many) (?:days|weeks|months) now`, 1.4],
  ['request', `(?:can|could|would|will) (?:you|u|someone|somebody|anyone|anybody|y'all|you guys) (?:please )?(?:check|help|look|fix|explain|tell|sort|assist|advise|respond|reply|get back|call|dm|contact|refund|resolve|find out|let me know)|please (?:help|fix|respond|reply|check|advise|dm|look|sort|refund|call|contact|get back|explain|assist|resolve)`, 1.4],
  ['money', `refund|reimburse|compensat|money back|chargeback`, 1.4],
  ['delay', `cancel+(?:ed|ing|ation|ations)?|delay(?:ed|s)?|late (?:flight|delivery|again)|missed (?:my |our |the )?(?:connection|flight|delivery)|misconnect|overbooked|stranded|diverted`, 1.4],
  ['service', `customer (?:service|care|support|experience)|support team|call cent(?:er|re)|helpline|help desk|helpdesk`, 0.9],
  ['judgement', `worst|terrible|horrible|awful|pathetic|appalling|disgraceful|shameful|unacceptable|ridiculous|useless|incompetent|unprofessional|rude|lousy|joke|rip ?off|ripped off|scam|fraud`, 1.2],
  ['emotion', `disappoint(?:ed|ing|ment)|frustrat(?:ed|ing|ion)|annoy(?:ed|ing)|fed up|sick of|tired of|not happy|unhappy|upset|angry|furious|outrag`, 1.3],
  ['question', `why (?:is|are|do|does|did|can't|cant|won't|wont|isn't|isnt|would|has|have|am|was|were|should|the hell|on earth)|what(?:'s| is| the hell is) (?:going on|happening|wrong)|how (?:long|many times|hard|is it possible|come)|where (?:is|are) (?:my|our|the)|when (?:will|can|do|does) (?:i|we|my|our|you|it)`, 1.1],
  ['fixIt', `fix (?:this|it|your|the|my)|sort (?:this|it) out|get (?:this|it) fixed|do (?:something|better)|step up|sort out`, 1.2],
  ['wrongMissing', `missing|lost (?:my|our|the)|(?:parcel|package|bag|suitcase|luggage|order|card|delivery) (?:was |is |got |has been |have been )?lost|wrong (?:order|item|size|address|charge)|charged (?:me |us )?(?:twice|again|for)|overcharg|double charged|hidden fee`, 1.3],
  ['repetition', `again\\?|again!|(?:\\d+|2nd|3rd|4th|5th|second|third|fourth|fifth) time|every (?:time|single time)|yet again|once again|as usual`, 0.9],
  ['demand', `(?:i|we) (?:need|want|demand|expect|deserve) (?:a |an |my |our )?(?:refund|answer|response|explanation|help|replacement|compensation|apology)`, 1.6],
  ['nobody', `nobody|no one (?:is |has |will |can )|(?:can't|cant|cannot) get (?:through|hold|a response|an answer)`, 1.2],
  ['expectation', `nothing like (?:the |in the |on the )?(?:photos?|pictures?|pics|description|advert|ad|website)|not (?:as|what (?:was|is|they|you)) (?:described|advertised|pictured|promised|shown|ordered)|(?:looks?|looked) nothing like|(?:was|were) (?:supposed|meant) to|(?:you |they )?promised (?:me |us )?|(?:paid for|booked|ordered) (?:a|an|the) (?:[a-z-]+ ){0,3}?[a-z-]+(?: (?:at|from|with) @?[a-z0-9_]+)?(?:,? but|,? and (?:only|instead)|,) (?:we |i )?(?:got|get|received|ended up)|should have (?:been )?(?:arrived|delivered|here|fixed|refunded)|(?:was|were) due (?:to arrive )?(?:on|by|yesterday|today|last)|(?:tracking|the app|the status|the website|the email) says (?:it was |it's |it is |it has been )?delivered`, 1.5],
  ['retell', `(?:explain|tell|repeat|give) (?:it |my story |the story |everything |the same (?:thing|story|details) |myself )?(?:all )?(?:again|over again|every time|to (?:every|each) (?:agent|person|department))|repeat myself|every (?:channel|agent|department)|(?:chat|phone|email),? (?:and |then )?(?:phone|email|chat|twitter|dm)`, 1.5],
  // a negated action ("won't turn on", "can't activate"), except the happy idioms
  ['negatedAction', `(?:can't|cant|cannot|won't|wont|doesn't|doesnt|didn't|didnt|isn't|isnt|hasn't|hasnt|haven't|havent|wasn't|wasnt|aren't|arent|couldn't|couldnt|unable to) (?!wait|stop|believe|thank|complain|miss|beat|go wrong|get enough|recommend|fault)[a-z]+`, 0.8],
  ['problem', `(?:an?|the|same|this|my|massive|huge|big|major|technical|billing|bill|payment|login|account|delivery|network|connection|serious|ongoing|an ongoing) (?:issue|issues|problem|problems)|(?:having|have|had|got|facing|experiencing) (?:an? |some |the same |these |this |many |major |serious )?(?:issue|issues|problem|problems|trouble)`, 1.3],
  ['update', `any (?:update|news|progress|word)|update me|awaiting|still (?:says|shows|only|charging|getting|have|has|haven't)|keeps? (?:on )?[a-z]+ing|(?:pls|plz|please) help|help me|help!|help\\?`, 1.1],
  ['letDown', `let (?:me|us) down|ruin(?:ed|ing|s)?|thanks for (?:nothing|ruining|wasting|making me|charging|the (?:delay|wait))|waste of (?:time|money)|wasted|last time i (?:buy|use|fly|order|shop|book)|shock|price (?:increase|hike)|worse|worthless|dirty|filthy|stained|mou?ldy|smelly|stinks|unsafe|not cool|shit|crap|sucks?|(?:not|never|wasn't|weren't) (?:clean|cleaned|changed|made up|serviced)|(?:left|leaving|leave|dumped|thrown|threw|throwing) (?:it |my [a-z]+ |the [a-z]+ |our [a-z]+ )?(?:outside )?(?:in the rain|over the (?:fence|gate|hedge))`, 1.2],
];

const NL_CUES: Cue[] = [
  ['litotes', `niet (?:zo |eens |echt |helemaal |half )?(?:slecht|verkeerd|gek|mis|beroerd|teleurgesteld|ontevreden)|(?:geen|niks|niets|nooit) (?:klagen|te klagen|klachten|problemen|gedoe|last)|(?:kan|kon|mag|mocht|kunnen|mogen) (?:echt |eigenlijk )?niet (?:klagen|mopperen)|zo hoort het|(?:zoals|hoe) het (?:hoort|moet|hoorde)|niets? (?:op )?aan te merken|niks mis mee|nergens last van|zonder (?:problemen|gedoe|poespas)`, 0],
  ['resolution', `opgelost|(?:toch|alsnog|uiteindelijk) (?:nog )?(?:netjes |keurig |gewoon |op tijd )?(?:aangekomen|bezorgd|geleverd|gekomen|binnen|gelukt|opgelost|gevonden|teruggestort|terugbetaald)|(?:binnen|in) (?:een|het|één|1|twee|2|tien|\\d+) (?:uur|kwartier|minuten|minuut|dag)|(?:meteen|direct|snel|gelijk|vlot|keurig|netjes|prima|goed) (?:geholpen|opgelost|geregeld|vervangen|teruggebeld|verstuurd|teruggestort|terugbetaald|nagestuurd|omgeruild|afgehandeld|opgepakt)(?! weer| hoor| zeg)|(?:meteen|direct|snel|gelijk|dezelfde dag|de volgende dag) (?:een )?(?:nieuwe?|vervangende?) (?:[a-z]+ )?(?:gestuurd|opgestuurd|toegestuurd|gekregen|bezorgd)|teruggebeld|vervangen|teruggestort|terugbetaald|werkt (?:alles )?weer(?! niet| eens niet| niks| eens)|(?:toch|alsnog|uiteindelijk|eindelijk) (?:nog )?(?:netjes )?(?:gekomen|aangekomen|bezorgd|geleverd|binnen)|weer (?:in orde|bereikbaar)|(?:was|waren) (?:het|alles) (?:weer )?(?:geregeld|opgelost|in orde)`, 0],
  ['thanksFor', `(?:bedankt|dank(?:jewel|uwel)?|dank (?:je|jullie|u) ?(?:wel)?|merci|thanks) (?:@[a-z0-9_]+ )?(?:hoor )?voor(?! (?:niks|niets|helemaal niks|helemaal niets)(?![a-z]))|(?:ik )?(?:hou|houd) (?:er )?van (?:als|hoe|wachten)|lekker (?:wachten|staan|in de kou)|(?:leuk|fijn|heerlijk|geweldig) (?:hoor )?(?:om |als |dat )`, 0],
  ['ironyMarker', `🙄|🙃|#not|#sarcasme|(?:bedankt|dank je wel|dankjewel|dank u wel|dankuwel|merci|top|fijn|super|geweldig|knap|prima|lekker|leuk|mooi|chapeau) (?:hoor|zeg)|echt top|(?:lekker|goed) bezig|(?:goed|mooi|knap) (?:geregeld|gedaan) (?:weer|hoor)|nou,? (?:lekker|top|fijn|mooi|geweldig)|(?:lekker|fijn) dan|mooi is dat|wat een (?:service|klantenservice|bezorging|organisatie|communicatie)|(?:super|top|geweldige|fantastische|uitstekende|prima) (?:service|klantenservice|bezorging|communicatie) (?:weer|alweer)`, 0],
  ['still', `nog steeds (?:niet|geen|niks|niets|niemand|wachten|aan het wachten|kapot|stuk|storing|onderweg)|nog (?:altijd|steeds) niet`, 2.2],
  ['notReceived', `(?:niet|nooit|nog niet) (?:ontvangen|bezorgd|geleverd|aangekomen|teruggebeld|beantwoord|opgelost|verwerkt|teruggestort|gekregen|binnen)|(?:al|nu al|inmiddels) (?:\\d+|twee|drie|vier|vijf|zes|zeven|acht|tien|een|ruim een|bijna een) (?:dagen|dag|weken|week) (?:onderweg|niet|zoek|kwijt)|nog (?:steeds |altijd )?onderweg|niks ontvangen|niets ontvangen|(?:en|maar) nog (?:steeds |altijd )?(?:niks|niets)(?! mis| aan de hand| te klagen)`, 2.2],
  ['escalate', `nooit meer|klacht|klachten|klagen|geklaagd|ombudsman|geschillencommissie|consumentenbond|overstappen|ik stap over|opzeggen|zeg (?:mijn|het) (?:abonnement|contract) op`, 1.6],
  ['noResponse', `geen (?:reactie|antwoord|bericht|pakket|levering|internet|bereik|verbinding|service|hulp|terugbetaling|geld|excuses|contact|signaal|stroom|tv|wifi|idee wanneer|warm water|water|verwarming|airco)|niemand (?:reageert|neemt op|belt terug)|(?:reageert|reageren) niet|neemt niet op|(?:word|wordt|worden) niet teruggebeld`, 1.6],
  ['notWorking', `kapot|stuk gegaan|beschadigd|defect|storing|(?:werkt|werkte|werkten) (?:\\w+ )?niet|werken niet|doet het niet|doen het niet|ligt (?:er )?(?:weer )?(?:plat|eruit)|kan niet (?:inloggen|bellen|betalen|bestellen)|foutmelding|fout gegaan|gecrasht|loopt vast|(?:pas|pinpas|betaling|overboeking|kaart) (?:werd |wordt |is |was )?(?:geweigerd|geblokkeerd|afgewezen)`, 1.8],
  ['waiting', `(?:wacht(?:en)?|wachtend|gewacht) (?:al |nu |ruim |inmiddels )?(?:op|sinds|\\d+|twee|drie|een|weken|dagen|uren)|sta(?:an)? al (?:\\d+|een|twee|drie|uren|een uur)|in de wacht`, 1.6],
  ['duration', `(?:al|nu al|inmiddels|ruim|bijna) (?:\\d+|twee|drie|vier|vijf|zes|zeven|acht|tien|een|ruim een) (?:dagen|weken|maanden|uur|uren|week|maand)(?! geleden)`, 1.4],
  ['request', `(?:kunnen|kun|kunt|willen|wil|zouden|zou) (?:jullie|je|u) (?:dit |het |dat |even |alsjeblieft |aub |a\\.u\\.b\\. |eens |er |ernaar |hier |naar )*(?:nakijken|checken|controleren|helpen|oplossen|uitzoeken|reageren|terugbellen|terugbetalen|kijken|contact|regelen|navragen)|graag (?:een )?(?:reactie|antwoord|contact|hulp)|help(?:en)? (?:me|ons)|(?:wil|wilt) (?:je|u|jullie)? ?(?:dit )?(?:alsjeblieft |aub )?(?:uitzoeken|nakijken)`, 1.4],
  ['money', `terugbetal|geld terug|restitutie|compensatie|schadevergoeding|vergoeding`, 1.4],
  ['delay', `vertraging|vertraagd|geannuleerd|annulering|te laat|(?:trein|treinen|bus|vlucht|rit|levering|bezorging) (?:is |was |weer |alweer )*uitgevallen|uitgevallen (?:trein|treinen|bus|vlucht)|(?:trein|vlucht|aansluiting|overstap|bus|afspraak) (?:\\w+ )?gemist`, 1.4],
  ['service', `klantenservice|klantendienst|servicedesk|helpdesk|klantcontact`, 0.9],
  ['judgement', `waardeloos|waardeloze|slechte (?:service|klantenservice|ervaring|kwaliteit)|schandalig|belachelijk|bizar|onacceptabel|oplicht|oplichters|oplichterij|flut|prutser|prutswerk|onbeschoft|onvriendelijk|slecht geholpen`, 1.3],
  ['emotion', `teleurgesteld|teleurstellend|teleurstelling|ontevreden|niet tevreden|boos|woedend|klaar mee|spuugzat|zat van|genoeg van|frustrerend|gefrustreerd|irritant|geïrriteerd|geergerd|geërgerd`, 1.4],
  ['question', `waarom (?:is|zijn|duurt|krijg|krijgen|kan|kunnen|werkt|doet|wordt|worden|heb|hebben|moet|moeten|staat|komt|gaat)|hoe (?:lang|vaak|kan het)|wanneer (?:wordt|komt|krijg|kan|kunnen|gaat)|waar (?:is|blijft) (?:mijn|ons|onze|het|de)`, 1.1],
  ['fixIt', `los (?:dit|het) (?:nou |toch |eens )?op|zorg (?:dat|ervoor)|regel (?:dit|het) (?:nou |toch |eens )?|doe (?:er )?(?:iets|wat) aan`, 1.2],
  ['wrongMissing', `verkeerd(?:e)? (?:pakket|bestelling|product|adres|bedrag|maat|artikel)|dubbel (?:betaald|afgeschreven)|te veel (?:betaald|afgeschreven|gerekend)|kwijt|zoek(?:geraakt)?|niet compleet|ontbreekt|ontbreken`, 1.4],
  ['repetition', `alweer|opnieuw|voor de (?:\\d+e|tweede|derde|vierde|vijfde|zoveelste) keer|(?:\\d+e|tweede|derde|vierde|vijfde|zoveelste) keer (?:deze|dit|in|binnen|vandaag|al)|elke keer|iedere keer|weer(?= (?:eens )?(?:niet|geen|kapot|stuk|storing|vertraging|te laat|uitgevallen|plat|mis))`, 0.9],
  ['demand', `(?:ik|wij|we) (?:wil|willen|eis|eisen|verwacht|verwachten) (?:mijn |ons |onze |een |het )?(?:geld|terugbetaling|antwoord|reactie|excuses|vergoeding|oplossing)`, 1.6],
  ['nobody', `niemand|kom (?:er )?niet (?:door|doorheen)|krijg (?:niemand|geen mens)`, 1.2],
  ['negatedAction', `lukt niet|lukt (?:het |me |mij )?niet|kan (?:ik |je )?(?:nergens|niet) (?:terecht|bereiken)`, 0.8],
  ['problem', `(?:een|het|dit|hetzelfde|grote|groot|technisch|technische) (?:probleem|problemen)|problemen met|probleem met|gedoe met`, 1.3],
  ['update', `stand van zaken|nog (?:nieuws|iets gehoord)|enig idee wanneer|hoe staat het met`, 1.1],
  ['letDown', `(?:bedankt|dank je wel|dankjewel|merci) (?:hoor )?voor (?:niks|niets|helemaal niks|helemaal niets)|in de steek gelaten|laat (?:ons|me|mij|klanten|reizigers) (?:in de steek|staan|zitten)|zonde van (?:het|mijn|ons) (?:geld|tijd)|weggegooid geld|verspilde tijd|verspilling|nep|troep|rommel|klote|vies|vieze|smerig|smerige|vuil|vuile|stinkt|schimmel|(?:niet|nooit) (?:schoon|schoongemaakt|verschoond|gepoetst|opgeruimd|gestofzuigd)|in de regen (?:laten )?(?:gezet|gelegd|staan|liggen|neergezet|achtergelaten)|over (?:het|de) (?:hek|schutting|heg) (?:heen )?gegooid`, 1.2],
  ['expectation', `(?:leek|lijkt|leken|lijken) (?:in )?(?:niets|niks|totaal niet|helemaal niet|in geen enkel opzicht) op|niet (?:zoals|wat) (?:op de foto|beschreven|beloofd|aangegeven|afgesproken|besteld|geadverteerd|verwacht)|(?:anders|kleiner|vuiler|slechter|ouder) dan (?:op de (?:foto|foto's|website|site)|beschreven|beloofd|verwacht)|(?:was|werd|is|wordt) (?:ons |mij |me )?(?:toch )?beloofd|(?:geboekt|besteld|betaald)(?:,? maar|,) (?:we |wij |ik )?(?:kregen|kreeg|krijgen|krijg|kijken|keken|zitten|zaten|slapen|sliepen)|(?:zou|zouden) (?:(?:vandaag|gisteren|morgen|al|toch|tussen|voor|na|om|rond|uiterlijk|en|[0-9:.]+) ){0,6}(?:komen|bezorgd worden|geleverd worden|terugbellen|terugbetalen|bezorgen|leveren|worden (?:bezorgd|geleverd|teruggebeld|opgelost|teruggestort))(?![^.!?]{0,40}(?:op tijd|keurig|netjes) (?:gekomen|bezorgd|geleverd|aangekomen|binnen))|had (?:al )?(?:gisteren |vorige week |lang )?(?:bezorgd|geleverd|binnen|opgelost|terugbetaald) (?:moeten|horen) (?:te )?(?:zijn|worden)|volgens (?:de|het) (?:track|website|site|app|bevestiging|mail)|(?:track ?(?:&|en) ?trace|de app|de site|de website|de status|de mail) (?:van [a-z]+ )?zegt (?:dat het )?(?:is )?(?:bezorgd|geleverd|afgeleverd)`, 1.5],
  ['retell', `(?:mijn|ons|m'n|het hele|hetzelfde) verhaal (?:(?:nu|dan|weer|opnieuw|steeds|telkens|nog een keer|nog eens|elke keer|voor de [a-z0-9]+ keer) )+(?:doen|vertellen|uitleggen|uit te leggen|te vertellen|te doen)|hetzelfde verhaal (?:[a-z]+ ){0,3}(?:gedaan|verteld|vertellen|doen|uitleggen|uitgelegd)|(?:weer|opnieuw|steeds|telkens|nog een keer|elke keer|iedere keer) (?:alles |hetzelfde |het hele verhaal |mijn verhaal )?(?:uitleggen|uit te leggen|te vertellen)|(?:chat|telefoon|mail|e-mail|twitter|dm),? (?:en |of )?(?:telefoon|mail|e-mail|chat|twitter|dm)(?:,? (?:en |of )?(?:telefoon|mail|e-mail|chat|twitter|dm))?`, 1.5],
];

/** Cue sets compiled once: one regex per language, one capture group per cue. */
interface CompiledCues {
  re: RegExp;
  weights: number[];
  categories: number[];
}
function compile(cues: Cue[]): CompiledCues {
  const body = cues.map(([, src]) => `(${src})`).join('|');
  // Not inside a word or a handle (@FC_Help); hashtags (#refund) do count. The emoji markers
  // have no word boundary of their own, so the boundaries only apply to letters and digits.
  // Without the u flag (noticeably faster): letters are the ASCII and Latin-1/Latin Extended ones
  // of lowercased Dutch and English text; emoji markers match as their UTF-16 pairs.
  return {
    re: new RegExp(`(?<![a-z0-9_@\\u00c0-\\u024f])(?:${body})(?![a-z0-9_\\u00c0-\\u024f])`, 'g'),
    weights: cues.map(([, , w]) => w),
    categories: cues.map(([c]) => CAT[c]),
  };
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

/** One cue phrase found in a post: [start, end, weight, category], offsets into the text. */
export type CueSpan = [number, number, number, number];

export interface ComplaintCues {
  /** Sum of complaint cue weights (a repeated category adds a quarter of its weight). */
  sum: number;
  /** The complaint cue phrases as written, strongest first, at most 5. */
  evidence: string[];
  /** Bit i set when a phrase of category i (CUE_CATEGORIES) matched. */
  mask: number;
  /** Where each match is in the text, situation markers included, for explanations and situation.ts. */
  spans: CueSpan[];
}

/** Finds complaint cue phrases and situation markers in a post. */
export function findComplaintCues(text: string, lang: RuleLang): ComplaintCues {
  if (text.length === 0) return { sum: 0, evidence: [], mask: 0, spans: [] };
  const { re, weights, categories } = cuesFor(lang);
  let lower = text.toLowerCase();
  if (lower.includes('’')) lower = lower.replace(/’/g, "'");
  const sameOffsets = lower.length === text.length;

  let sum = 0;
  let found: { surface: string; weight: number }[] | undefined;
  const spans: CueSpan[] = [];
  let used = 0;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  while ((m = re.exec(lower)) !== null) {
    let g = 1;
    while (m[g] === undefined) g++;
    const w = weights[g - 1];
    const cat = categories[g - 1];
    const bit = 1 << cat;
    if (w > 0) sum += used & bit ? w * 0.25 : w;
    used |= bit;
    // Offsets into the original text; when lowercasing changed the length (rare letters), the
    // match is still counted but cannot be placed.
    if (sameOffsets) spans.push([m.index, m.index + m[0].length, w, cat]);
    if (w > 0) (found ??= []).push({ surface: sameOffsets ? text.slice(m.index, m.index + m[0].length) : m[0], weight: w });
  }
  if (used === 0) return { sum: 0, evidence: [], mask: 0, spans };
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
  /** Cue weight and which categories matched, as found by findComplaintCues. */
  cueSum: number;
  cueMask: number;
  cueSpans: CueSpan[];
  /** Addressed to an @handle, and asking something. */
  directed: boolean;
  question: boolean;
}

/** No complaint (a language without rules), in the same shape scoreComplaint returns. */
export function noComplaint(): ComplaintResult {
  return { label: false, score: 0, cues: [], cueSum: 0, cueMask: 0, cueSpans: [], directed: false, question: false };
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
