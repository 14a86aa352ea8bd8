/**
 * Writes config/demo/scenario.jsonl: one simulated day (06:00 to 24:00) of about 2,000 posts in
 * Dutch and English about three fictional brands, deterministic for a seed. Run it with
 * `node dist/scripts/demo-scenario.js` after `npm run build`; the file is committed.
 * Also generates synthetic posts for the benchmark.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Mention } from '../src/domain/mention';
import { PROJECT_ROOT } from '../src/paths';

export type ReplayPost = Mention & { scenario: string };

/** mulberry32: a small seeded PRNG, so the scenario is the same on every machine. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Brand {
  id: string;
  name: string;
  handle: string;
  tag: string;
}
const BRANDS: Record<string, Brand> = {
  hotel: { id: 'hotel-zeezicht', name: 'Hotel Zeezicht', handle: 'hotelzeezicht', tag: '#zeezicht' },
  post: { id: 'snelpost', name: 'SnelPost', handle: 'snelpost', tag: '#snelpost' },
  bank: { id: 'voltabank', name: 'Volta Bank', handle: 'voltabank', tag: '#voltabank' },
};

// Slot-filled templates: {B} brand name, {H} @handle, {T} hashtag.
const TEMPLATES: Record<string, Record<'nl' | 'en', Record<string, string[]>>> = {
  hotel: {
    nl: {
      praise: ['Fantastisch weekend gehad in {B}, het ontbijt was top!', 'Wat een mooie kamer met uitzicht op zee bij {B} {T}', 'Personeel van {B} is zo vriendelijk, echt een aanrader', 'Heerlijk geslapen in {B}. Wij komen zeker terug! 😍'],
      chatter: ['Morgen een congres in {B} in Scheveningen', 'Iemand al eens gegeten in het restaurant van {B}?', 'Het is druk op de boulevard bij {B} vandaag', 'Foto van de zonsondergang vanaf het terras van {B} {T}'],
      question: ['Weet iemand of {B} honden toestaat?', '{H} hebben jullie nog een kamer vrij voor zaterdag?', 'Is er parkeergelegenheid bij {B}?'],
      complaint: ['{H} onze kamer was niet schoon en de douche was kapot. Jammer.', 'Al twee dagen geen warm water in {B}, en niemand reageert', 'Twee uur wachten op de check-in bij {B}. Slechte service.', '{H} ik heb nog steeds geen terugbetaling ontvangen voor mijn geannuleerde boeking'],
    },
    en: {
      praise: ['Lovely stay at {B}, the breakfast was amazing!', 'The staff at {B} were so friendly and helpful {T}', 'Great sea view from our room at {B} ❤️'],
      chatter: ['Heading to a conference at {B} tomorrow', 'Anyone tried the restaurant at {B}?', 'Sunset from the terrace of {B} {T}'],
      question: ['{H} do you allow dogs?', 'Does {B} have parking for guests?', '{H} is the spa open on Sundays?'],
      complaint: ['{H} our room was dirty and the shower was broken. Disappointed.', 'Waited two hours to check in at {B}. Terrible service.', '{H} still no refund for my cancelled booking, can you check?'],
    },
  },
  post: {
    nl: {
      praise: ['Pakket van {B} binnen een dag bezorgd, top!', 'Bezorger van {B} was super vriendelijk vandaag 👍'],
      chatter: ['{B} gaat ook op zondag bezorgen volgens het nieuws', 'Weer een busje van {B} in de straat', 'Nieuwe pakketautomaat van {B} bij de supermarkt'],
      question: ['Weet iemand of {B} op zondag bezorgt?', '{H} hoe laat komt de bezorger ongeveer?', 'Kan ik bij {B} een pakket op een ander adres laten bezorgen?'],
      complaint: ['{H} mijn pakket is nog steeds niet bezorgd, kunnen jullie kijken?', 'Track & trace van {B} zegt bezorgd, maar ik heb niks ontvangen.', '{H} al drie dagen vertraging en geen reactie van de klantenservice'],
    },
    en: {
      praise: ['{B} delivered my parcel the next day, great job', 'Friendly courier from {B} today 👍'],
      chatter: ['{B} vans everywhere in Antwerp today', '{B} opens new parcel lockers'],
      question: ['{H} do you deliver on Sundays?', 'Does {B} deliver to Germany?'],
      complaint: ['{H} my parcel still has not arrived, can you check?', '{B} tracking says delivered but nothing here.', '{H} waiting for a week now, no response from customer service'],
    },
  },
  bank: {
    nl: {
      praise: ['De app van {B} werkt echt heel fijn', 'Snel geholpen door de klantenservice van {B}, dank!'],
      chatter: ['{B} lanceert een spaarrekening in Belgie', 'Artikel over {B} in het FD vandaag', 'Overgestapt naar {B}, eens kijken hoe het bevalt'],
      question: ['Ondersteunt {B} Apple Pay?', '{H} kan ik ook een gezamenlijke rekening openen?'],
      complaint: ['{H} mijn betaling is al twee dagen niet verwerkt, graag hulp', 'App van {B} werkt weer niet, kan niet inloggen. Waardeloos.'],
    },
    en: {
      praise: ["{B}'s app is so smooth, love it", 'Quick and helpful support from {B} today, thanks!', '{B} made moving money abroad so easy {T}'],
      chatter: ['{B} launches savings accounts in Belgium', 'Reading about {B} expanding to Germany', 'Just switched to {B}, let us see'],
      question: ['Does {B} support Apple Pay?', '{H} can I open a joint account?', 'Is {B} covered by deposit insurance?'],
      complaint: ['{H} my transfer has been pending for two days, please help', "Can't log in to the {B} app again. Useless.", '{H} card blocked for no reason and no response from support'],
    },
  },
};

const PILE_ON = {
  nl: [
    '{H} mijn pakket is kwijt. Track & trace zegt bezorgd maar ik heb niks ontvangen. Schandalig!',
    'Ook bij mij: {B} zegt bezorgd, maar geen pakket. Wat een chaos #pakketkwijt',
    '{H} nog steeds niet bezorgd en de klantenservice neemt niet op. Waardeloos.',
    'Alweer een pakket kwijt bij {B}. Nooit meer! #pakketkwijt',
    '{H} drie pakketten kwijt deze week. Wanneer lossen jullie dit op?',
    'Hoeveel mensen zijn er vandaag een pakket kwijt bij {B}? Hier ook #pakketkwijt',
  ],
  en: [
    '{H} tracking says delivered, but no parcel. Where is it?? #parcelgate',
    'Same here, {B} lost my package too. Terrible. #parcelgate',
    '{H} my parcel is missing and customer service is not answering. Unacceptable.',
    'Never using {B} again, third lost parcel this month.',
  ],
};

const FIRST_NAMES = ['sanne', 'daan', 'lotte', 'bram', 'emma', 'thijs', 'noor', 'ruben', 'fleur', 'jeroen', 'anouk', 'pieter', 'kim', 'lars', 'ines', 'wout', 'marie', 'tom', 'julie', 'sven'];

function fill(t: string, b: Brand): string {
  return t.replace(/\{B\}/g, b.name).replace(/\{H\}/g, `@${b.handle}`).replace(/\{T\}/g, b.tag);
}

export interface ScenarioOptions {
  seed: number;
  posts: number;
  start: string;
  hours: number;
}

/** The demo's ordinary traffic by platform: X first, the rest as a Dutch brand hears it. */
const PLATFORM_SHARE: [string, number][] = [['x', 0.5], ['bluesky', 0.14], ['mastodon', 0.08], ['reddit', 0.1], ['instagram', 0.12], ['facebook', 0.06]];

function platformOf(r: number): string {
  for (const [platform, share] of PLATFORM_SHARE) if ((r -= share) < 0) return platform;
  return 'x';
}

/** A link in each platform's own form (the demo's posts are made up; the shapes are real). */
function urlOf(p: Pick<Mention, 'platform' | 'postId' | 'author'>): string {
  switch (p.platform) {
    case 'bluesky':
      return `https://bsky.app/profile/${p.author.handle}.bsky.social/post/${p.postId.slice(-13)}`;
    case 'mastodon':
      return `https://mastodon.social/@${p.author.handle}/${p.postId.slice(-18)}`;
    case 'reddit':
      return `https://www.reddit.com/r/thenetherlands/comments/${p.postId.slice(-7)}/`;
    case 'instagram':
      return `https://www.instagram.com/p/${p.postId.slice(-11)}/`;
    case 'facebook':
      return `https://www.facebook.com/${p.postId.slice(-15)}`;
    case 'trustpilot':
      return `https://www.trustpilot.com/reviews/${p.postId.slice(-24)}`;
    case 'rss':
      return `https://www.nu.nl/economie/${p.postId.slice(-7)}/snelpost.html`;
    default:
      return `https://x.com/${p.author.handle}/status/${p.postId}`;
  }
}

export function generateScenario({ seed, posts, start, hours }: ScenarioOptions): ReplayPost[] {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const t0 = Date.parse(start);
  const span = hours * 3_600_000;
  const out: ReplayPost[] = [];
  let userSeq = 0;
  const user = (followers?: number) => {
    const n = ++userSeq;
    const handle = `${pick(FIRST_NAMES)}_${(n * 7919) % 100000}`;
    // Mostly small accounts: log-normal-ish between ~20 and ~3,000 followers.
    const f = followers ?? Math.round(Math.exp(3 + rand() * 5 + (rand() - 0.5)));
    return { id: `u${n}`, handle, followers: f, verified: false };
  };
  const add = (at: number, text: string, brand: Brand, lang: 'nl' | 'en', scenario: string, author = user(), extra: Partial<Mention> = {}) => {
    out.push({
      platform: 'x',
      postId: '',
      url: '',
      brandId: brand.id,
      author,
      text,
      langHint: lang,
      createdAt: new Date(at).toISOString(),
      engagement: { likes: Math.floor(rand() * 10), reposts: Math.floor(rand() * 3), replies: Math.floor(rand() * 3), quotes: 0 },
      scenario,
      ...extra,
    });
  };
  // Ordinary traffic with a daytime peak.
  const kinds: [string, number][] = [['chatter', 0.38], ['praise', 0.22], ['question', 0.2], ['complaint', 0.2]];
  const ordinary = Math.max(0, posts - 260);
  for (let i = 0; i < ordinary; i++) {
    const key = pick(['hotel', 'hotel', 'post', 'bank', 'bank']);
    const lang = rand() < 0.55 ? 'nl' : 'en';
    let r = rand();
    const kind = kinds.find(([, w]) => (r -= w) < 0)?.[0] ?? 'chatter';
    const hourBias = Math.sin(rand() * Math.PI);
    const at = t0 + Math.floor((0.15 + 0.7 * hourBias * rand() + 0.15 * rand()) * span) % span;
    const author = kind === 'complaint' && rand() < 0.05 ? user(5_000 + Math.floor(rand() * 45_000)) : user();
    add(at, fill(pick(TEMPLATES[key][lang][kind]), BRANDS[key]), BRANDS[key], lang, kind, author, { platform: platformOf(rand()) });
  }
  // Reviews of the hotel: stars with the words (a one-star review can be mild and still hurt).
  const REVIEWS: [number, string][] = [
    [1, 'Kamer was anders dan op de foto\'s en het zeezicht bleek een parkeerplaats. Jammer.'],
    [1, 'Not what was advertised. Tiny room, no sea view at all.'],
    [2, 'Ontbijt was prima, maar de kamer rook muf en niemand deed er iets aan.'],
    [4, 'Mooie ligging, vriendelijk personeel. Kamer wat klein.'],
    [5, 'Prachtig uitzicht en heerlijk ontbijt, we komen zeker terug!'],
    [5, 'Lovely stay, friendly staff and a great breakfast.'],
  ];
  for (let i = 0; i < 12; i++) {
    const [stars, text] = REVIEWS[i % REVIEWS.length];
    add(t0 + Math.floor(rand() * span), text, BRANDS.hotel, /[àáâ]|\b(de|het|een|was|en)\b/.test(text) ? 'nl' : 'en', stars <= 2 ? 'review-negative' : 'review-positive', user(0), {
      platform: 'trustpilot',
      rating: { stars, outOf: 5 },
      engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
    });
  }
  // The athlete: a sprinter with 312,400 followers, late morning, and her followers piling in.
  const athlete = { id: 'u-femke', handle: 'femkesprint', name: 'Femke de Vries', followers: 312_400, verified: true, verifiedType: 'blue' };
  const hotel = BRANDS.hotel;
  const athleteAt = t0 + 5 * 3_600_000 + 12 * 60_000;
  add(athleteAt, 'Wat een teleurstelling, @hotelzeezicht. Kamer was vies, veel kleiner dan op de foto\'s en geen zeezicht. Personeel onbeschoft toen ik klaagde. Nooit meer Hotel Zeezicht. 😡', hotel, 'nl', 'athlete', athlete, {
    engagement: { likes: 4_210, reposts: 880, replies: 312, quotes: 95 },
  });
  for (let i = 0; i < 40; i++) {
    const lang = rand() < 0.7 ? 'nl' : 'en';
    const text = lang === 'nl'
      ? pick(['Echt schandalig hoe Hotel Zeezicht met gasten omgaat', '@hotelzeezicht schaam je! Sterkte Femke', 'Dus niet boeken bij Hotel Zeezicht, genoteerd', 'Zelfde ervaring gehad bij Hotel Zeezicht, vies en duur'])
      : pick(['Wow, Hotel Zeezicht, that is terrible. Never booking there', '@hotelzeezicht this is awful, fix it', 'Same experience at Hotel Zeezicht last year, dirty rooms']);
    add(athleteAt + (2 + i * 3) * 60_000, text, hotel, lang, 'athlete-pile-on');
  }
  add(athleteAt + 5 * 3_600_000, 'Update: @hotelzeezicht heeft nog steeds niet gereageerd. Geen excuses, niks. Hotel Zeezicht, echt?', hotel, 'nl', 'athlete-followup', athlete, {
    engagement: { likes: 2_105, reposts: 340, replies: 150, quotes: 22 },
  });
  // The pile-on: SnelPost losing parcels, rising over two hours in the afternoon, then tailing off.
  const pileStart = t0 + 8 * 3_600_000;
  for (let i = 0; i < 200; i++) {
    const lang = rand() < 0.65 ? 'nl' : 'en';
    const offset = Math.floor(Math.sqrt(rand()) * 2 * 3_600_000 + (rand() < 0.2 ? rand() * 3 * 3_600_000 : 0));
    add(pileStart + offset, fill(pick(PILE_ON[lang]), BRANDS.post), BRANDS.post, lang, 'pile-on');
  }
  // The news picks the pile-on up.
  const outlet = { id: 'nu.nl', handle: 'nu.nl', name: 'NU.nl', followers: 0, verified: false };
  add(pileStart + 100 * 60_000, 'Klachten over kwijtgeraakte pakketten bij SnelPost stapelen zich op\nKlanten melden op sociale media dat hun pakket al dagen zoek is.', BRANDS.post, 'nl', 'news', outlet, {
    platform: 'rss',
    engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
  });
  // An opportunity: a presenter with 150,000 followers praising Volta Bank.
  add(t0 + 11 * 3_600_000, 'Shout-out to @voltabank: lost my card abroad and support had a new one sorted within the hour. Brilliant service!', BRANDS.bank, 'en', 'opportunity',
    { id: 'u-mila', handle: 'milapresents', followers: 151_800, verified: true }, { engagement: { likes: 1_900, reposts: 210, replies: 75, quotes: 12 } });
  // The complaint paradox: a customer whose lost parcel was handled thanks SnelPost in the evening.
  const jan = { id: 'u-jan', handle: 'jan_devries', name: 'Jan de Vries', followers: 2_400, verified: false };
  add(t0 + 3 * 3_600_000 + 20 * 60_000, '@snelpost mijn pakket is al een week kwijt en niemand reageert. Waardeloos!', BRANDS.post, 'nl', 'recovery', jan);
  // The same customer on another platform an hour later: it joins the same case (same handle).
  add(t0 + 4 * 3_600_000 + 25 * 60_000, 'Nog steeds niks van @snelpost gehoord over mijn kwijtgeraakte pakket. Echt waardeloos.', BRANDS.post, 'nl', 'recovery', jan, { platform: 'instagram' });
  add(t0 + 15 * 3_600_000, 'Bedankt @snelpost, pakket is toch nog netjes aangekomen en jullie belden zelf even. Top service!', BRANDS.post, 'nl', 'recovery', jan);
  // Short emoji-only posts carry X's 'und'.
  for (let i = 0; i < 10; i++) add(t0 + Math.floor(rand() * span), `${pick(['👍', '😍', '🙄', '😂'])} @${pick(Object.values(BRANDS)).handle}`, pick(Object.values(BRANDS)), 'nl', 'chatter', user(), { langHint: 'und' });

  out.sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
  // Snowflake-like ids that grow with time, and the URLs that go with them.
  out.forEach((p, i) => {
    p.postId = String(1_898_000_000_000_000_000n + BigInt(Date.parse(p.createdAt) - t0) * 4_194_304n + BigInt(i));
    p.url = urlOf(p);
  });
  return out;
}

/** Synthetic posts for the benchmark: cheap, realistic mix, ~1% negative from accounts above 1,000 followers. */
export function generateBenchPosts(count: number, seed: number): ReplayPost[] {
  const rand = rng(seed);
  const b = BRANDS.post;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const t0 = Date.parse('2026-03-10T06:00:00Z');
  const out: ReplayPost[] = [];
  for (let i = 0; i < count; i++) {
    const lang = rand() < 0.55 ? 'nl' : 'en';
    const alerting = rand() < 0.01;
    const kind = alerting ? 'complaint' : pick(['chatter', 'praise', 'question', 'complaint', 'chatter']);
    const text = `${fill(pick(TEMPLATES.post[lang][kind]), b)} benchbrand #${i % 97}`;
    const followers = alerting ? 1_000 + Math.floor(rand() * 200_000) : Math.floor(rand() * 240);
    const postId = String(1_898_000_000_000_000_000n + BigInt(i));
    out.push({
      platform: 'x',
      postId,
      url: `https://x.com/u${i}/status/${postId}`,
      brandId: 'benchbrand',
      author: { id: `u${i % 5000}`, handle: `user${i % 5000}`, followers, verified: false },
      text,
      langHint: lang,
      createdAt: new Date(t0 + i * 100).toISOString(),
      engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
      scenario: kind,
    });
  }
  return out;
}

if (require.main === module) {
  const posts = generateScenario({ seed: 20260310, posts: 2000, start: '2026-03-10T06:00:00Z', hours: 18 });
  const file = path.join(PROJECT_ROOT, 'config', 'demo', 'scenario.jsonl');
  writeFileSync(file, posts.map((p) => JSON.stringify(p)).join('\n') + '\n');
  const tags = new Map<string, number>();
  for (const p of posts) tags.set(p.scenario, (tags.get(p.scenario) ?? 0) + 1);
  process.stdout.write(`wrote ${posts.length} posts to ${file}: ${[...tags].map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
}
