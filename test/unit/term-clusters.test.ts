import { rng } from '../../scripts/demo-scenario'; // mulberry32: a "random" history is the same on every run
import { RepwatchError } from '../../src/domain/errors';
import { poisson } from '../helpers';
import {
  DEFAULT_TERM_CLUSTER_SETTINGS,
  clusterOf,
  clusterTopic,
  observeTerms,
  type ClusterTransition,
  type TermCluster,
  type TermClusterSettings,
  type TermClusterTracker,
} from '../../src/domain/term-clusters';

const MIN = 60_000;
const S = DEFAULT_TERM_CLUSTER_SETTINGS;
const B = S.bucketMs;
const DAY = 24 * 60 * MIN;
const T0 = Date.parse('2026-03-02T00:00:00Z');
const DAYS3 = (3 * DAY) / B;

interface Post {
  at: number;
  terms: string[];
}

/** Start of the i-th bucket after T0. */
const at = (i: number) => T0 + i * B;
const repeat = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

/** n negative posts with the same terms, spread evenly over bucket i. */
const burst = (i: number, n: number, terms: string[]): Post[] => repeat(n, (j) => ({ at: at(i) + Math.floor((j * B) / n), terms: [...terms] }));

/** Everyday complaints of a parcel brand; the first words are far more common than the last (Zipf). */
const VOCAB = (
  'bezorging wachten klantenservice app levering pakket factuur retour bestelling telefoon chat medewerker ' +
  'boete adres bezorger vertraging status fout website mail kosten terugbetaling account code brievenbus ' +
  'vandaag morgen week zaterdag afhalen punt buren schade doos verpakking label scanner depot route'
).split(' ');

/** Background negatives: ~perBucket posts per bucket at random times, each 1 to 4 Zipf-drawn words of vocab. */
function noise(from: number, buckets: number, seed: number, perBucket = 8, vocab = VOCAB): Post[] {
  const random = rng(seed);
  const weights = vocab.map((_, r) => 1 / (r + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const word = () => {
    let x = random() * total;
    for (let r = 0; r < vocab.length; r++) if ((x -= weights[r]) <= 0) return vocab[r];
    return vocab[vocab.length - 1];
  };
  return repeat(buckets, (i) =>
    repeat(poisson(random, perBucket), () => ({ at: at(from + i) + Math.floor(random() * B), terms: repeat(1 + Math.floor(random() * 4), word) })),
  ).flat();
}

interface Run {
  tracker: TermClusterTracker;
  transitions: ClusterTransition[];
  calls: ClusterTransition[][];
}

/** Feeds posts one bucket per call (as a poller would), storing the tracker as JSON in between as the worker does. */
function feed(posts: Post[], opts: { tracker?: TermClusterTracker; settings?: TermClusterSettings } = {}): Run {
  const settings = opts.settings ?? S;
  const byBucket = new Map<number, Post[]>();
  for (const p of [...posts].sort((a, b) => a.at - b.at)) {
    const k = Math.floor(p.at / settings.bucketMs);
    byBucket.set(k, [...(byBucket.get(k) ?? []), p]);
  }
  let tracker = opts.tracker;
  const calls: ClusterTransition[][] = [];
  for (const page of byBucket.values()) {
    const r = observeTerms(tracker && JSON.parse(JSON.stringify(tracker)), page, settings);
    tracker = r.tracker;
    calls.push(r.transitions);
  }
  return { tracker: tracker!, transitions: calls.flat(), calls };
}

type Of<T extends ClusterTransition['type']> = Extract<ClusterTransition, { type: T }>;
const started = (ts: ClusterTransition[]) => ts.filter((t): t is Of<'started'> => t.type === 'started');
const ended = (ts: ClusterTransition[]) => ts.filter((t): t is Of<'ended'> => t.type === 'ended');
const grew = (ts: ClusterTransition[]) => ts.filter((t): t is Of<'grew'> => t.type === 'grew');
const sortedTerms = (c: { terms: string[] }) => [...c.terms].sort();

/** Every value of a stored document, for the MongoDB-compatibility checks. */
function walk(value: unknown, visit: (v: unknown, key: string | undefined, parentIsArray: boolean) => void, key?: string, parentIsArray = false): void {
  visit(value, key, parentIsArray);
  if (Array.isArray(value)) value.forEach((v) => walk(v, visit, undefined, true));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, visit, k, false);
}

/** The tracker's keys are only its own field names (never a term), so the whole key set is known. */
const TRACKER_KEYS = new Set(['bucketStart', 'buckets', 'terms', 'posts', 'clusters', 'term', 'mean', 'variance', 'count', 'cooldownUntil', 'id', 'startedAt', 'because', 'quietBuckets']);

function expectStorable(t: TermClusterTracker): void {
  walk(t, (v, key, parentIsArray) => {
    if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
    if (Array.isArray(v)) expect(parentIsArray).toBe(false);
    if (key !== undefined) expect(TRACKER_KEYS.has(key)).toBe(true);
    expect(v).not.toBeUndefined();
  });
  expect(JSON.parse(JSON.stringify(t))).toEqual(t);
}

/** Three days of background noise, the tracker a brand would have at bucket DAYS3. */
const history = feed(noise(0, DAYS3, 7)).tracker;

describe('term clusters', () => {
  test('the nested-array check itself catches a nested array and a term used as a key', () => {
    expect(() => expectStorable({ ...history, posts: [['app', 'storing']] } as unknown as TermClusterTracker)).toThrow();
    expect(() => expectStorable({ ...history, counts: { storing: 3 } } as unknown as TermClusterTracker)).toThrow();
    expectStorable(history);
  });

  test.each([
    [7, 8],
    [11, 3],
    [13, 15],
  ])('three days of everyday complaints (seed %i, ~%i posts per bucket) never start a cluster', (seed, perBucket) => {
    const run = feed(noise(0, DAYS3, seed, perBucket));
    expect(run.transitions).toEqual([]);
    expect(run.tracker.clusters).toEqual([]);
    expect(run.tracker.buckets).toBeGreaterThan(DAYS3 - 3);
    // The most common word is learned near its true rate (well over 1 per bucket), not left at 0.
    const top = run.tracker.terms.find((t) => t.term === VOCAB[0])!;
    expect(top.mean).toBeGreaterThan(0.1 * perBucket);
    expectStorable(run.tracker);
  });

  test('a busy new brand (~25 per bucket) may cluster in its very first bucket only: no baseline yet, as in storms', () => {
    const run = feed(noise(0, DAYS3, 12, 25));
    const s = started(run.transitions);
    expect(s.length).toBeGreaterThan(0); // its most common word passes minCount × 2 before any bucket closed
    expect(s.every((t) => t.at < at(1) && t.cluster.because.includes('while its baseline is still being learned (0 of 6 buckets seen'))).toBe(true);
    expect(ended(run.transitions)).toHaveLength(s.length);
    expect(Math.max(...ended(run.transitions).map((t) => t.at))).toBeLessThanOrEqual(at(6));
    expect(run.tracker.clusters).toEqual([]);
  });

  describe("a sudden pile-on: 15 posts 'app storing inloggen' among the usual complaints", () => {
    // Two buckets: the cluster is still open at the end (one quiet bucket so far).
    const run = feed([...noise(DAYS3, 2, 99), ...burst(DAYS3, 15, ['app', 'storing', 'inloggen'])], { tracker: history });
    const s = started(run.transitions);

    test('starts ONE cluster, inside the bucket, holding the co-occurring terms', () => {
      expect(s).toHaveLength(1);
      expect(s[0].at).toBeGreaterThanOrEqual(at(DAYS3));
      expect(s[0].at).toBeLessThan(at(DAYS3 + 1));
      const c = s[0].cluster;
      expect(c.id).toBe(`${c.startedAt}:${c.terms[0]}`);
      expect(c.terms).toEqual(expect.arrayContaining(['inloggen', 'storing']));
      expect(c.because).toMatch(/^'(inloggen|storing)' in 6 negative posts in 10 min against a usual 0\.0 ± 0\.0 \(threshold 6\.0\); with '(inloggen|storing)' \(6\)/);
    });

    test("'app', common anyway, joins when it too passes its own threshold: a 'grew', not a second start", () => {
      const app = history.terms.find((t) => t.term === 'app')!;
      expect(app.mean).toBeGreaterThan(0.5); // so it spikes later than the two new words
      const g = grew(run.transitions).find((t) => t.terms.includes('app'));
      expect(g?.clusterId).toBe(s[0].cluster.id);
      expect(sortedTerms(run.tracker.clusters[0] ?? { terms: [] })).toEqual(['app', 'inloggen', 'storing']);
    });

    test('every later post of the pile-on counts toward the cluster, reported once per call with the total', () => {
      expect(s[0].cluster.posts).toBe(6);
      expect(run.calls.every((c) => grew(c).filter((g) => g.clusterId === s[0].cluster.id).length <= 1)).toBe(true);
      const last = grew(run.transitions).filter((g) => g.clusterId === s[0].cluster.id).pop()!;
      // 15 pile-on posts, plus the everyday posts about the app once 'app' joined.
      expect(last.posts).toBeGreaterThanOrEqual(15);
      expect(run.tracker.clusters[0].posts).toBe(last.posts);
    });
  });

  test("two unrelated bursts in one bucket ('app storing' and 'pakket kwijt', never in one post) give TWO clusters", () => {
    const a = burst(DAYS3, 15, ['app', 'storing']);
    const b = burst(DAYS3, 15, ['pakket', 'kwijt']).map((p) => ({ ...p, at: p.at + 7_000 }));
    const run = feed([...a, ...b, ...noise(DAYS3 + 1, 1, 5)], { tracker: history });
    expect(started(run.transitions)).toHaveLength(2);
    expect(run.tracker.clusters.map(sortedTerms).sort()).toEqual([
      ['app', 'storing'],
      ['kwijt', 'pakket'],
    ]);
  });

  describe("a word that is always frequent: 'service' in ~10 negative posts per bucket for three days", () => {
    const random = rng(3);
    const usual = repeat(DAYS3, (i) => burst(i, poisson(random, 10), ['service'])).flat();
    const busy = feed([...usual, ...noise(0, DAYS3, 8)]).tracker;

    test.each([
      [10, false],
      [16, false],
      [22, false],
      [28, false],
      [36, true],
    ])('%i posts with it in a bucket: cluster %s', (n, clusters) => {
      const run = feed([...burst(DAYS3, n, ['service']), ...noise(DAYS3, 2, 9)], { tracker: busy });
      expect(busy.clusters).toEqual([]);
      expect(started(run.transitions).map((t) => t.cluster.terms)).toEqual(clusters ? [['service']] : []);
      if (clusters) expect(started(run.transitions)[0].cluster.because).toMatch(/^'service' in 3\d negative posts in 10 min against a usual (9|10)\.\d ± [23]\.\d \(threshold [23]\d\.0\)$/);
    });
  });

  describe('clusterOf', () => {
    const two = feed([...burst(DAYS3, 15, ['app', 'storing']), ...burst(DAYS3, 15, ['pakket', 'kwijt']).map((p) => ({ ...p, at: p.at + 7_000 }))], {
      tracker: history,
    }).tracker;
    const idOf = (term: string) => two.clusters.find((c) => c.terms.includes(term))!.id;

    test.each([
      ['a post about the outage', ['storing', 'weer', 'boos'], 'storing'],
      ['a post with both outage words', ['app', 'storing'], 'storing'],
      ['a post about the lost parcel', ['kwijt', 'pakket', 'app'], 'pakket'], // two shared terms beat one
      ['one term of each: the earlier cluster', ['kwijt', 'app'], 'first'],
      ['unrelated words', ['weer', 'mooi'], undefined],
      ['no terms', [], undefined],
    ])('%s', (_, terms, expected) => {
      const c = clusterOf(two, terms);
      if (expected === undefined) return expect(c).toBeUndefined();
      const first = [...two.clusters].sort((x, y) => x.startedAt - y.startedAt)[0].id;
      expect(c?.id).toBe(expected === 'first' ? first : idOf(expected));
    });

    test('an undefined tracker has no clusters, and the returned cluster is a copy', () => {
      expect(clusterOf(undefined, ['storing'])).toBeUndefined();
      clusterOf(two, ['storing'])!.terms.push('mutated');
      expect(two.clusters.some((c) => c.terms.includes('mutated'))).toBe(false);
    });
  });

  describe('end, cooldown, restart', () => {
    const first = DAYS3;
    // The pile-on bucket, then everyday complaints: the cluster ends at the end of the third quiet bucket.
    const run = feed([...burst(first, 15, ['storing', 'inloggen']), ...noise(first, 5, 21)], { tracker: history });

    test('it ends after three quiet buckets, and its terms cool down for 30 minutes', () => {
      expect(run.transitions.map((t) => t.type).filter((t) => t !== 'grew')).toEqual(['started', 'ended']);
      const e = ended(run.transitions)[0];
      expect(e.at).toBe(at(first + 4));
      expect(e.clusterId).toBe(started(run.transitions)[0].cluster.id);
      expect(e.because).toMatch(/^calm again for 3 buckets \(30 min\): '(storing|inloggen)' 0, '(storing|inloggen)' 0 negative posts in the last 10 min; 15 negative posts over 3\d min$/);
      expect(run.tracker.clusters).toEqual([]);
      expect(run.tracker.terms.find((t) => t.term === 'storing')?.cooldownUntil).toBe(at(first + 4) + S.cooldownMs);
    });

    test('the pile-on does not teach the baseline that pile-ons are normal', () => {
      // As an ordinary bucket, 15 would add 0.3 to the mean; at a tenth of the weight, capped at the threshold, ~0.01.
      const storing = run.tracker.terms.find((t) => t.term === 'storing')!;
      expect(storing.mean).toBeLessThan(0.02);
    });

    test.each([
      ['within the cooldown: no restart', 1, 0],
      ['after the cooldown: a new cluster with a new id', 4, 1],
    ])('a second burst %s', (_, bucketsAfterEnd, starts) => {
      const again = first + 4 + bucketsAfterEnd;
      const more = feed([...noise(first + 5, again - first - 5 + 2, 22), ...burst(again, 15, ['storing', 'inloggen'])], { tracker: run.tracker });
      const s = started(more.transitions);
      expect(s).toHaveLength(starts);
      if (starts) expect(s[0].cluster.id).not.toBe(started(run.transitions)[0].cluster.id);
    });
  });

  test('late posts count in the open bucket, at its start time, and the input is left alone', () => {
    const open = feed(noise(DAYS3, 1, 31), { tracker: history }).tracker;
    const late = repeat(8, (i) => ({ at: at(DAYS3 - 2) - i * B, terms: ['storing', 'app'] })).reverse();
    const copy = JSON.parse(JSON.stringify(late));
    const run = observeTerms(open, late);
    expect(late).toEqual(copy);
    expect(run.tracker.bucketStart).toBe(at(DAYS3));
    expect(run.tracker.buckets).toBe(open.buckets);
    const s = started(run.transitions);
    expect(s).toHaveLength(1);
    expect(s[0].at).toBe(at(DAYS3)); // never before the open bucket
    expect(s[0].cluster.terms).toEqual(['storing']);
  });

  test.each([
    ['11 posts in the first bucket', 11, false],
    ['12 posts in the first bucket (minCount × 2)', 12, true],
  ])('warm-up: a new brand, %s', (_, n, clusters) => {
    const run = feed(burst(0, n, ['storing']));
    expect(started(run.transitions)).toHaveLength(clusters ? 1 : 0);
    if (clusters) expect(started(run.transitions)[0].cluster.because).toBe("'storing' in 12 negative posts in 10 min while its baseline is still being learned (0 of 6 buckets seen, threshold 12.0)");
  });

  test('size: thousands of posts of random words stay within maxTerms, 300 kept posts and 100 KB, and store in MongoDB', () => {
    const random = rng(4242);
    const word = () => repeat(5 + Math.floor(random() * 8), () => String.fromCharCode(97 + Math.floor(random() * 26))).join('');
    const words = repeat(5000, word);
    const posts = repeat(24, (i) => repeat(250, () => ({ at: at(i) + Math.floor(random() * B), terms: repeat(4 + Math.floor(random() * 30), () => words[Math.floor(random() * words.length)]) }))).flat();
    const run = feed(posts);
    const t = run.tracker;
    expect(t.terms.length).toBe(S.maxTerms);
    expect(t.posts.length).toBeLessThanOrEqual(300);
    expect(Math.max(...t.posts.map((p) => p.split(' ').length))).toBeLessThanOrEqual(20);
    expect(JSON.stringify(t).length).toBeLessThan(100_000);
    expectStorable(t);
    // A 300-post bucket of 33-word posts keeps its newest 300 posts only.
    const big = observeTerms(undefined, repeat(400, (i) => ({ at: T0 + i, terms: repeat(33, (j) => words[(i * 33 + j) % words.length]) }))).tracker;
    expect(big.posts).toHaveLength(300);
    expect(JSON.stringify(big).length).toBeLessThan(100_000);
    expectStorable(big);
  });

  test('determinism: a shuffled page at once, or in two halves with a JSON round trip, gives the same clusters and tracker', () => {
    // Some posts share a timestamp: their order in the page must not matter either.
    const same = repeat(12, (j) => ({ at: at(DAYS3 + 2), terms: j % 2 ? ['pakket', 'kwijt'] : ['levering', 'mis'] }));
    const page = [...noise(DAYS3, 4, 41), ...burst(DAYS3 + 1, 15, ['app', 'storing', 'inloggen']), ...burst(DAYS3 + 1, 9, ['pakket', 'kwijt']), ...same];
    const random = rng(5);
    const shuffled = page.map((p) => ({ p, r: random() })).sort((a, b) => a.r - b.r).map((x) => x.p);
    const once = observeTerms(history, shuffled);
    const byTime = [...page].sort((a, b) => a.at - b.at);
    const half = Math.floor(byTime.length / 2);
    const one = observeTerms(history, byTime.slice(0, half));
    const two = observeTerms(JSON.parse(JSON.stringify(one.tracker)), byTime.slice(half));
    const halves = [...one.transitions, ...two.transitions];
    expect(started(once.transitions).length).toBeGreaterThan(0);
    expect(started(halves)).toEqual(started(once.transitions));
    expect(ended(halves)).toEqual(ended(once.transitions));
    expect(two.tracker).toEqual(once.tracker);
    expect(observeTerms(history, [...shuffled].reverse())).toEqual(once); // a retry in another order gives the same ids
  });

  describe('clusterTopic', () => {
    const cluster = (terms: string[]): TermCluster => ({ id: `1:${terms[0]}`, terms, startedAt: 1, because: '', posts: 1, quietBuckets: 0 });
    test.each([
      [['storing', 'app'], 'terms:storing+app'],
      [['storing', 'app', 'inloggen', 'mislukt'], 'terms:storing+app+inloggen'], // the first three: stable when a term joins later
      [['café', 'überweisung'], 'terms:cafe+uberweisung'],
      [['co.uk', 'a+b', 'x:y'], 'terms:co_2euk+a_2bb+x_3ay'],
      [['заказ'], 'terms:_437_430_43a_430_437'],
      [['🙂', 'ß'], 'terms:_1f642+_df'],
      [[], 'terms:none'],
    ])('%j → %s', (terms, topic) => {
      expect(clusterTopic(cluster(terms))).toBe(topic);
      expect(clusterTopic(cluster(terms))).toMatch(/^[a-z0-9+:_-]+$/);
    });
  });

  test.each([
    ['minOverlap 0', { minOverlap: 0 }],
    ['maxTerms 0', { maxTerms: 0 }],
    ['alpha 2', { alpha: 2 }],
    ['quietBucketsToEnd 0.5', { quietBucketsToEnd: 0.5 }],
  ])('settings out of range are refused: %s', (_, over) => {
    expect(() => observeTerms(undefined, [], { ...S, ...over })).toThrow(RepwatchError);
  });
});
