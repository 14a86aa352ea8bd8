/**
 * The chaos run's input: a replay file and a config folder, both a pure function of the seed, so a
 * failing run can be repeated exactly (`npm run chaos -- --seed N`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';

/** mulberry32: a small seeded generator; the same seed gives the same run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the generator meant a post to be; the checks judge posts the way repwatch does (see checks.ts). */
export type Design = 'neutral' | 'positive' | 'negative' | 'complaint' | 'critical' | 'pile-on';

export interface ReplayPost {
  platform: 'x';
  postId: string;
  url: string;
  brandId: string;
  author: { id: string; handle: string; followers: number; verified: boolean };
  text: string;
  langHint: string;
  createdAt: string;
  engagement: { likes: number; reposts: number; replies: number; quotes: number };
  design: Design;
}

export const BRANDS = [
  {
    id: 'chaos-air',
    name: 'Chaos Air',
    keywords: ['Chaos Air'],
    handles: ['@chaosair'],
    languages: ['en'],
    topics: { baggage: ['bag', 'luggage', 'suitcase'], refund: ['refund', 'money'], app: ['app', 'login', 'log'] },
  },
  {
    id: 'chaos-post',
    name: 'ChaosPost',
    keywords: ['ChaosPost'],
    handles: ['@chaospost'],
    languages: ['nl'],
    topics: { delivery: ['pakket', 'pakketten', 'bezorgd', 'bezorger'], app: ['app', 'inloggen'] },
  },
] as const;

const CITIES = ['Lisbon', 'Madrid', 'Oslo', 'Rome', 'Athens', 'Dublin', 'Vienna', 'Prague', 'Porto', 'Nice', 'Split', 'Malaga'];
const STEDEN = ['Utrecht', 'Zwolle', 'Breda', 'Leiden', 'Delft', 'Haarlem', 'Tilburg', 'Arnhem', 'Gouda', 'Assen', 'Venlo', 'Emmen'];

const TEMPLATES: Record<'chaos-air' | 'chaos-post', Record<Exclude<Design, 'critical'>, ((p: string, n: number) => string)[]>> = {
  'chaos-air': {
    neutral: [
      (c) => `Does Chaos Air fly to ${c} in May?`,
      (c) => `Flying Chaos Air to ${c} tomorrow morning`,
      (c) => `Chaos Air adds a new route to ${c}`,
      (c, n) => `Anyone know the Chaos Air baggage allowance for ${c}? Flight ${n}`,
    ],
    positive: [
      (c) => `Great flight to ${c} with Chaos Air, friendly crew and right on time!`,
      (c) => `Thank you Chaos Air, the best service I have had in years. Love ${c}!`,
      (c) => `Wonderful trip to ${c}, Chaos Air was excellent and the staff were amazing`,
    ],
    negative: [
      (c, n) => `Chaos Air is terrible, ${n} hours delay to ${c} and no information at all`,
      (c) => `Worst airline ever, Chaos Air lost my bag on the way to ${c}. Awful.`,
      (c) => `Awful service from Chaos Air today, rude staff at ${c} and a useless app`,
      (c) => `Never flying Chaos Air again, disgusting seats and horrible food to ${c}`,
    ],
    complaint: [
      (c) => `@chaosair my refund for the ${c} flight still hasn't arrived, can you check?`,
      (c) => `@chaosair my suitcase still hasn't arrived from ${c}, please help, nobody answers`,
      (c, n) => `@chaosair I have been waiting ${n} weeks for my refund from ${c}, still nothing. Can you look into it?`,
    ],
    'pile-on': [
      (c) => `Chaos Air app down again, cannot log in, useless #chaosairdown ${c}`,
      () => `The Chaos Air app is broken AGAIN, login fails every time. Pathetic #chaosairdown`,
      (c, n) => `Stuck at ${c} because the Chaos Air app will not let me log in. ${n} tries. Terrible #chaosairdown`,
    ],
  },
  'chaos-post': {
    neutral: [
      (c) => `Weer een busje van ChaosPost in de straat in ${c}`,
      (c) => `Bezorgt ChaosPost ook op zondag in ${c}?`,
      (c, n) => `ChaosPost opent ${n} nieuwe pakketpunten in ${c}`,
    ],
    positive: [
      (c) => `Top service van ChaosPost, pakket dezelfde dag bezorgd in ${c}! Super blij`,
      (c) => `Wat een vriendelijke bezorger van ChaosPost vandaag in ${c}, dank jullie wel!`,
    ],
    negative: [
      (c) => `ChaosPost is waardeloos, mijn pakket is weer kwijt in ${c}`,
      (c) => `Slechtste bezorger ooit, ChaosPost gooit pakketten gewoon over het hek in ${c}`,
      (c, n) => `ChaosPost is echt een drama, ${n} dagen vertraging en niemand reageert. Belachelijk`,
    ],
    complaint: [
      (c) => `@chaospost mijn pakket is nog steeds niet bezorgd in ${c}, kunnen jullie kijken?`,
      (c, n) => `@chaospost ik wacht al ${n} dagen op mijn pakket naar ${c}, nog steeds niks. Graag actie`,
    ],
    'pile-on': [
      (c) => `ChaosPost app ligt er weer uit, inloggen lukt niet, waardeloos #chaospostplat ${c}`,
      () => `Kan weer niet inloggen in de ChaosPost app. Belachelijk slecht #chaospostplat`,
    ],
  },
};

const pick = <T>(random: () => number, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];

/** Followers on a log scale between lo and hi. */
const followersBetween = (random: () => number, lo: number, hi: number) => Math.round(Math.exp(Math.log(lo) + random() * (Math.log(hi) - Math.log(lo))));

/**
 * `count` posts for the two brands: about half neutral, the rest positive, negative and complaints
 * from a pool of repeat authors across the severity tiers, a few large accounts whose negative
 * posts must alert critical, and a pile-on (many negative posts on one topic in a short window)
 * for each brand. Timestamps spread over `spanMs` of simulated time.
 */
export function generatePosts(seed: number, count: number, spanMs: number): ReplayPost[] {
  const random = seededRandom(seed);
  const start = Date.parse('2026-03-10T07:00:00.000Z');
  const authors = Array.from({ length: Math.max(20, Math.round(count / 4)) }, (_, i) => ({
    id: `ca${seed}-${i}`,
    handle: `chaos_user_${i}`,
    // Mostly small accounts, some in every tier below critical.
    followers: random() < 0.7 ? followersBetween(random, 10, 2000) : followersBetween(random, 2000, 60_000),
    verified: false,
  }));
  const criticals = Math.max(4, Math.round(count / 150));
  const pileOn = Math.round(count * 0.08);
  const regular = count - criticals - pileOn;
  const posts: Omit<ReplayPost, 'postId' | 'url'>[] = [];
  const at = (fraction: number) => new Date(start + Math.round(fraction * spanMs)).toISOString();
  for (let i = 0; i < regular; i++) {
    const brandId = random() < 0.6 ? 'chaos-air' : 'chaos-post';
    const r = random();
    const design: Design = r < 0.5 ? 'neutral' : r < 0.62 ? 'positive' : r < 0.84 ? 'negative' : 'complaint';
    const author = pick(random, authors);
    posts.push(postOf(random, brandId, design, author, at(random())));
  }
  for (let i = 0; i < criticals; i++) {
    const brandId = i % 2 === 0 ? 'chaos-air' : 'chaos-post';
    const author = { id: `cbig${seed}-${i}`, handle: `chaos_celebrity_${i}`, followers: followersBetween(random, 150_000, 900_000), verified: true };
    // Spread over the run so the faults find escalations in flight.
    posts.push({ ...postOf(random, brandId, i % 3 === 0 ? 'complaint' : 'negative', author, at(0.05 + (0.8 * i) / criticals + random() * 0.05)), design: 'critical' });
  }
  // Each brand's pile-on: a burst of negative posts from distinct accounts within 3% of the span.
  for (let i = 0; i < pileOn; i++) {
    const brandId = i % 3 === 2 ? 'chaos-post' : 'chaos-air';
    const centre = brandId === 'chaos-air' ? 0.45 : 0.6;
    const author = { id: `cpile${seed}-${i}`, handle: `chaos_angry_${i}`, followers: followersBetween(random, 50, 5000), verified: false };
    posts.push(postOf(random, brandId, 'pile-on', author, at(centre + random() * 0.03)));
  }
  posts.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  // Ids in time order, as a platform gives them; unique per seed.
  return posts.map((p, i) => {
    const postId = `${seed}${String(i).padStart(7, '0')}`;
    return { ...p, postId, url: `https://x.com/${p.author.handle}/status/${postId}` };
  });
}

function postOf(random: () => number, brandId: 'chaos-air' | 'chaos-post', design: Exclude<Design, 'critical'>, author: ReplayPost['author'], createdAt: string): Omit<ReplayPost, 'postId' | 'url'> {
  const place = pick(random, brandId === 'chaos-air' ? CITIES : STEDEN);
  const text = pick(random, TEMPLATES[brandId][design])(place, 2 + Math.floor(random() * 40));
  const reach = Math.log10(author.followers + 10);
  const engagement = { likes: Math.floor(random() * reach * 5), reposts: Math.floor(random() * reach), replies: Math.floor(random() * reach), quotes: 0 };
  return { platform: 'x', brandId, author, text, langHint: brandId === 'chaos-air' ? 'en' : 'nl', createdAt, engagement, design };
}

export interface ChaosConfigInput {
  dir: string;
  posts: ReplayPost[];
  /** Replay speed: simulated ms per real ms. */
  speed: number;
  slaMs: number;
}

/** Writes brands.yaml, receivers.yaml, routing.yaml, defaults.yaml and posts.jsonl into `dir`. */
export function writeChaosConfig({ dir, posts, speed, slaMs }: ChaosConfigInput): void {
  mkdirSync(dir, { recursive: true });
  // The design stays out of the file: repwatch sees only what a platform would give.
  writeFileSync(path.join(dir, 'posts.jsonl'), posts.map(({ design: _design, ...p }) => JSON.stringify(p)).join('\n') + '\n');
  const brands = BRANDS.map((b) => ({
    id: b.id,
    name: b.name,
    keywords: [...b.keywords],
    handles: [...b.handles],
    languages: [...b.languages],
    topics: Object.fromEntries(Object.entries(b.topics).map(([k, v]) => [k, [...v]])),
    sources: [{ id: 'replay', platform: 'replay', file: 'posts.jsonl', speed, pageSize: 50, pollEvery: '500ms' }],
  }));
  writeFileSync(path.join(dir, 'brands.yaml'), stringify({ brands }));
  writeFileSync(
    path.join(dir, 'receivers.yaml'),
    stringify({
      receivers: [
        // deliveryMode is left to its default (webhook: every) on purpose: the check holds the default to its promise.
        { id: 'chaos-webhook', type: 'webhook', urlEnv: 'CHAOS_WEBHOOK_URL', secretEnv: 'CHAOS_WEBHOOK_SECRET', timeout: '5s' },
        { id: 'chaos-oncall', type: 'pagerduty', routingKeyEnv: 'CHAOS_PAGERDUTY_KEY', urlEnv: 'CHAOS_PAGERDUTY_URL', timeout: '5s' },
      ],
    }),
  );
  // No reminders within a run (repeatInterval a day), grouping short so quiescence comes fast.
  writeFileSync(path.join(dir, 'routing.yaml'), stringify({ route: { receivers: ['chaos-webhook', 'chaos-oncall'], groupWait: '0s', groupInterval: '1s', repeatInterval: '24h' } }));
  writeFileSync(
    path.join(dir, 'defaults.yaml'),
    stringify({
      queuePrefix: '{chaos}',
      ingestConcurrency: 2,
      deliverConcurrency: 16,
      delivery: { attempts: 10, backoff: '1s' },
      policy: {
        criticalAckSla: `${Math.round(slaMs / 1000)}s`,
        // Rechecks are minutes away on a real clock: none within a run.
        engagementRechecks: ['30m'],
        recheckMinImpact: 1,
      },
    }),
  );
}
