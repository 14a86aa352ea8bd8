/**
 * Words that say what a post is about: used to put posts in a brand's configured topics and to
 * name a storm's top terms. Pure, and cheap enough to run on every negative post.
 */

// Function words of Dutch and English that would otherwise top every storm's term list.
const STOP_WORDS = new Set(
  (
    'the and for are but not you your yours with this that they them their there what when where which who why how ' +
    'was were been have has had does did doing from into onto about again just very really still also only than then ' +
    'some such more most much many any all can could would should will shall may might must its it\'s our ours out over ' +
    'under here dont don\'t cant can\'t wont won\'t isnt isn\'t didnt didn\'t been being because while after before ' +
    'het een van voor niet met die dat deze dit zijn was waren heeft hebben had ook maar nog wel naar door over onder ' +
    'bij als dan wat wie waar waarom hoe echt heel veel meer geen niks niets iets alles weer even gewoon toch want omdat ' +
    'jullie julie mijn mij jij jou jouw hun hen zij wij ons onze wordt worden werd kan kunnen zou zouden moet moeten ' +
    'gaat gaan ging komt komen kwam zit zitten heb hebt deze daar hier tot om aan uit bent ben wordt nou zo al'
  ).split(/\s+/),
);

/** Lower-cased words of four or more letters, without mentions, links, numbers and function words. */
export function contentTerms(text: string, exclude: ReadonlySet<string> = new Set()): string[] {
  const words = text
    .toLowerCase()
    .replace(/https?:\/\/\S+/g, ' ')
    .replace(/@\w+/g, ' ')
    .split(/[^\p{L}\p{M}'-]+/u)
    .map((w) => w.replace(/^['-]+|['-]+$/g, ''));
  const out: string[] = [];
  const seen = new Set<string>();
  for (const w of words) {
    if (w.length < 4 || STOP_WORDS.has(w) || exclude.has(w) || seen.has(w)) continue;
    seen.add(w);
    out.push(w);
  }
  return out;
}

/** The brand's words (keywords, handles) that every post about it contains, so never a "top term". */
export function brandWords(keywords: readonly string[], handles: readonly string[]): Set<string> {
  return new Set([...keywords, ...handles].flatMap((k) => k.toLowerCase().replace(/^[@#]/, '').split(/[^\p{L}\p{M}]+/u)).filter(Boolean));
}

/**
 * The first configured topic one of whose terms occurs in the text as whole words (hashtags
 * count), else 'general'. Topics are tried in the order they are configured.
 */
export function topicOf(text: string, topics: Readonly<Record<string, readonly string[]>>): string {
  const padded = ` ${text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}]+/gu, ' ')} `;
  for (const [name, terms] of Object.entries(topics)) {
    if (terms.some((t) => padded.includes(` ${t.toLowerCase().replace(/[^\p{L}\p{M}\p{N}]+/gu, ' ').trim()} `))) return name;
  }
  return 'general';
}
