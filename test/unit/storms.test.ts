import { rng } from '../../scripts/demo-scenario'; // mulberry32: a "random" history is the same on every run
import { RepwatchError } from '../../src/domain/errors';
import { poisson } from '../helpers';
import {
  DEFAULT_STORM_SETTINGS,
  newTracker,
  observe,
  topTerms,
  type StormObservation,
  type StormSettings,
  type StormTracker,
  type StormTransition,
} from '../../src/domain/storms';

const MIN = 60_000;
const B = DEFAULT_STORM_SETTINGS.bucketMs;
const H = 60 * MIN;
const DAY = 24 * H;
const T0 = Date.parse('2026-03-02T00:00:00Z');
const S = DEFAULT_STORM_SETTINGS;

/** Start of the i-th bucket after T0. */
const at = (i: number) => T0 + i * B;

/** `neg` negative and `pos` other posts spread evenly over one bucket, negatives and others interleaved. */
function bucket(start: number, neg: number, pos = 0, terms: string[] = ['parcel', 'late']): StormObservation[] {
  const n = neg + pos;
  const kinds = Array.from({ length: n }, (_, i) => Math.floor(((i + 1) * neg) / n) > Math.floor((i * neg) / n));
  return kinds.map((negative, i) => ({ at: start + Math.floor((i * B) / Math.max(n, 1)), negative, terms: negative ? terms : [] }));
}

/** One bucket per entry from bucket index `from`: a negative count, or [negative, other]. */
function series(from: number, counts: (number | [number, number])[], terms?: string[]): StormObservation[] {
  return counts.flatMap((c, i) => (Array.isArray(c) ? bucket(at(from + i), c[0], c[1], terms) : bucket(at(from + i), c, 0, terms)));
}

const repeat = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

interface Run {
  tracker: StormTracker;
  transitions: StormTransition[];
  calls: StormTransition[][];
}

/**
 * Feeds posts to observe in calls: one per bucket (as a poller would), or `batch` posts at a time.
 * `roundTrip` stores the tracker as JSON between calls, as the worker does.
 */
function feed(posts: StormObservation[], opts: { tracker?: StormTracker; settings?: StormSettings; batch?: number; roundTrip?: boolean } = {}): Run {
  const settings = opts.settings ?? S;
  const groups: StormObservation[][] = [];
  if (opts.batch) {
    for (let i = 0; i < posts.length; i += opts.batch) groups.push(posts.slice(i, i + opts.batch));
  } else {
    const byBucket = new Map<number, StormObservation[]>();
    for (const p of posts) {
      const k = Math.floor(p.at / settings.bucketMs);
      byBucket.set(k, [...(byBucket.get(k) ?? []), p]);
    }
    groups.push(...byBucket.values());
  }
  let tracker = opts.tracker;
  const calls: StormTransition[][] = [];
  for (const g of groups) {
    const r = observe(opts.roundTrip && tracker ? JSON.parse(JSON.stringify(tracker)) : tracker, g, settings);
    tracker = r.tracker;
    calls.push(r.transitions);
  }
  return { tracker: tracker!, transitions: calls.flat(), calls };
}

const started = (ts: StormTransition[]) => ts.filter((t): t is Extract<StormTransition, { type: 'started' }> => t.type === 'started');
const ended = (ts: StormTransition[]) => ts.filter((t): t is Extract<StormTransition, { type: 'ended' }> => t.type === 'ended');
const continued = (ts: StormTransition[]) => ts.filter((t): t is Extract<StormTransition, { type: 'continued' }> => t.type === 'continued');

/** A brand with ~2 negative posts (and ~6 others) per bucket for `days`, from bucket 0. */
function calmHistory(days: number, seed = 1): StormObservation[] {
  const random = rng(seed);
  return series(0, repeat((days * DAY) / B, () => [poisson(random, 2), poisson(random, 6)] as [number, number]));
}
const bucketsIn = (days: number) => (days * DAY) / B;

/** Tracker after a steady history: `pattern` repeated for `buckets` buckets. */
function trained(buckets: number, pattern: (number | [number, number])[]): StormTracker {
  return feed(series(0, repeat(buckets, (i) => pattern[i % pattern.length]))).tracker;
}

/** Every value of a stored document, for the MongoDB-compatibility checks. */
function walk(value: unknown, visit: (v: unknown, key: string | undefined, parentIsArray: boolean) => void, key?: string, parentIsArray = false): void {
  visit(value, key, parentIsArray);
  if (Array.isArray(value)) value.forEach((v) => walk(v, visit, undefined, true));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, visit, k, false);
}

function expectStorable(t: StormTracker): void {
  walk(t, (v, key, parentIsArray) => {
    if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
    if (Array.isArray(v)) expect(parentIsArray).toBe(false);
    if (key !== undefined) expect(key).not.toMatch(/^\$|\./);
    expect(v).not.toBeUndefined();
  });
  expect(JSON.parse(JSON.stringify(t))).toEqual(t);
}

describe('storm detection', () => {
  test.each([0.5, 2, 5])('a quiet brand never storms: 30 days of Poisson noise around %f negative posts per bucket', (lambda) => {
    // Without the noise limits, these histories start 5 to 20 false storms a month.
    const random = rng(12345);
    const posts = series(0, repeat(bucketsIn(30), () => [poisson(random, lambda), poisson(random, 3 * lambda)] as [number, number]));
    const { tracker, transitions } = feed(posts);
    expect(transitions).toEqual([]);
    expect(tracker.baseline.buckets).toBeGreaterThan(bucketsIn(30) - 3);
    expect(Math.abs(tracker.baseline.mean - lambda)).toBeLessThan(0.25 * lambda);
    expect(Math.abs(tracker.baseline.share - 0.25)).toBeLessThan(0.1);
    expectStorable(tracker);
  });

  describe('a pile-on after days of ~2 per bucket', () => {
    const days = 3;
    const first = bucketsIn(days); // first bucket of the pile-on
    const history = feed(calmHistory(days)).tracker;
    // 200 negative posts in 30 min (a few others), then calm again, fed 10 posts per call.
    const pile = series(first, [[70, 3], [70, 3], [60, 3]], ['refund', 'outage', 'scam']);
    const calm = series(first + 3, repeat(6, () => [2, 6] as [number, number]));
    const run = feed([...pile, ...calm], { tracker: history, batch: 10 });

    test('one start (a spike, in its first bucket), then continued updates, then one end', () => {
      const types = run.transitions.map((t) => t.type);
      expect(started(run.transitions)).toHaveLength(1);
      expect(ended(run.transitions)).toHaveLength(1);
      expect(types[0]).toBe('started');
      expect(types[types.length - 1]).toBe('ended');
      expect(new Set(types.slice(1, -1))).toEqual(new Set(['continued']));
      const s = started(run.transitions)[0];
      expect(s.trigger).toBe('spike');
      expect(s.at).toBeGreaterThanOrEqual(at(first));
      expect(s.at).toBeLessThan(at(first + 1));
      // At the post that reached the threshold: the count Poisson noise around ~2 reaches once in 100,000 buckets.
      expect(s.figures.negative).toBe(s.figures.threshold);
      expect(s.figures.threshold).toBeGreaterThanOrEqual(10);
      expect(s.figures.threshold).toBeLessThanOrEqual(12);
      expect(s.because).toMatch(/^1\d negative posts within 10 min against a baseline of \d\.\d ± \d\.\d \(threshold 1\d\.0\), \d+% negative against \d+% usually$/);
    });

    test('every negative post is counted once: started figures plus continued', () => {
      // Storm negatives: the pile-on plus the calm buckets' negatives until it ended (3 buckets).
      const counted = started(run.transitions)[0].figures.negative + continued(run.transitions).reduce((n, t) => n + t.negative, 0);
      expect(counted).toBe(200 + 3 * 2);
      expect(run.calls.every((c) => continued(c).length <= 1)).toBe(true);
    });

    test('it ends after three quiet buckets, at the end of the third', () => {
      const e = ended(run.transitions)[0];
      expect(e.at).toBe(at(first + 6));
      expect(e.because).toMatch(/^calm again for 3 buckets \(30 min\): 2 negative posts in the last 10 min/);
      expect(run.tracker.storm).toBeUndefined();
      expect(run.tracker.cooldownUntil).toBe(at(first + 6) + S.cooldownMs);
    });

    test('the pile-on does not become the new normal', () => {
      // As ordinary buckets, three of ~67 would add ~3.9 to the mean and ~10 to σ; capped at the
      // threshold but at full weight still ~0.5 to the mean.
      expect(run.tracker.baseline.mean - history.baseline.mean).toBeLessThan(0.1);
      expect(Math.sqrt(run.tracker.baseline.variance) - Math.sqrt(history.baseline.variance)).toBeLessThan(0.5);
    });

    test.each([
      ['within the cooldown: no second start', 1, 0],
      ['after the cooldown: a new storm', 4, 1],
    ])('a second burst %s', (_, bucketsAfterEnd, starts) => {
      const gap = first + 6 + bucketsAfterEnd;
      const more = feed([...series(first + 6, repeat(bucketsAfterEnd, () => [2, 6] as [number, number])), ...series(gap, [[40, 3]])], { tracker: run.tracker });
      expect(started(more.transitions)).toHaveLength(starts);
    });
  });

  test.each([
    ['one post per call', 1],
    ['all in one call', 100],
  ])('a spike is caught inside the open bucket, at the post that crosses the threshold (%s)', (_, batch) => {
    const history = trained(300, [[1, 5], [3, 5]]);
    // Baseline 2 ± 1: mean + 3σ is 5, minCount 8, but only 11 is past Poisson noise around 2.
    const burst = repeat(14, (i) => ({ at: at(300) + i * 20_000, negative: true, terms: ['leak'] }));
    const run = feed(burst, { tracker: history, batch });
    const s = started(run.transitions);
    expect(s).toHaveLength(1);
    expect(s[0].at).toBe(burst[10].at); // the 11th negative post, over six minutes before the bucket closes
    expect(s[0].figures).toMatchObject({ negative: 11, total: 11, share: 1, threshold: 11 });
    expect(s[0].because).toBe('11 negative posts within 10 min against a baseline of 2.0 ± 1.0 (threshold 11.0), 100% negative against 27% usually');
    expect(run.tracker.bucketStart).toBe(at(300));
    expect(run.tracker.storm?.negative).toBe(14);
    expect(continued(run.transitions).reduce((n, t) => n + t.negative, 0)).toBe(3);
  });

  describe('slow climb', () => {
    // Days of 1, 3, 1, 3 (mean 2, spike threshold 11), then three and a half hours of gently rising counts.
    const history = trained(2 * bucketsIn(1), [[1, 6], [3, 6]]);
    const ramp = [2, 3, 3, 4, 3, 4, 4, 5, 5, 6, 5, 6, 6, 7, 7, 8, 7, 8, 9, 8, 9];

    /** The counts as buckets after the history, and one more post to close the last of them. */
    const after = (counts: number[]) => [...series(bucketsIn(2), counts.map((n) => [n, 6] as [number, number])), ...bucket(at(bucketsIn(2) + counts.length), 0, 1)];

    test.each([
      ['a gentle rise over three hours', ramp],
      // Noisy counts cannot tell a climb from a step that holds; both are sustained excess that no bucket shows.
      ['a jump to 3.5 times the usual that holds for an hour', [7, 7, 7, 7, 7, 7]],
    ])('%s, no bucket a spike, starts a climb storm', (_, counts) => {
      const run = feed(after(counts), { tracker: history });
      expect(Math.max(...counts)).toBeLessThan(11);
      const s = started(run.transitions);
      expect(s).toHaveLength(1);
      expect(s[0].trigger).toBe('climb');
      expect(s[0].because).toMatch(/negative posts over the last 60 min \([\d, ]+\), up in \d of 5 steps, against a baseline of \d\.\d per 10 min \(threshold \d+\.\d\)$/);
      expect(s[0].figures.negative).toBeGreaterThanOrEqual(s[0].figures.threshold);
      expect(s[0].figures.negative).toBeGreaterThan(2 * 6 * s[0].figures.baselineMean);
    });

    test.each([
      ['a rise that stays under twice the baseline', [2, 3, 2, 3, 3, 3, 3, 4, 3, 4, 3, 4]],
      ['a level of 4 (twice the usual, not more)', [4, 4, 4, 4, 4, 4, 4, 4, 4, 4]],
    ])('no storm for %s', (_, counts) => {
      expect(feed(after(counts), { tracker: history }).transitions).toEqual([]);
    });

    test('the tail of a pile-on is high but falling: no climb once the cooldown is over', () => {
      // After the spike (20) ends and cools down, the last hour still holds 7+6+6+5+5+4 = 33 > 2·6·2.
      const run = feed(after([20, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2]), { tracker: history });
      expect(run.transitions.map((t) => t.type).filter((t) => t !== 'continued')).toEqual(['started', 'ended']);
      expect(run.tracker.cooldownUntil).toBeUndefined();
    });

    test('a climb storm stays open while the level stays up, and ends once it is back down', () => {
      const up = series(bucketsIn(2), ramp.map((n) => [n, 6] as [number, number]));
      const plateau = series(bucketsIn(2) + ramp.length, repeat(6, () => [7, 6] as [number, number]));
      const down = series(bucketsIn(2) + ramp.length + 6, repeat(4, () => [2, 6] as [number, number]));
      const run = feed([...up, ...plateau, ...down], { tracker: history });
      expect(run.transitions.map((t) => t.type).filter((t) => t !== 'continued')).toEqual(['started', 'ended']);
      expect(ended(run.transitions)[0].at).toBe(at(bucketsIn(2) + ramp.length + 6 + 3));
    });
  });

  describe('a busy brand, 17..23 negative posts per bucket (mean 20)', () => {
    const history = trained(600, [17, 18, 19, 20, 21, 22, 23, 20].map((n) => [n, 20] as [number, number]));
    test.each([
      [25, false],
      [42, false],
      [43, true],
      [80, true],
    ])('%i negative posts in a bucket: storm %s', (neg, storms) => {
      const run = feed([...bucket(at(600), neg, 20), ...bucket(at(601), 20, 20)], { tracker: history });
      expect(started(run.transitions)).toHaveLength(storms ? 1 : 0);
      if (storms) expect(started(run.transitions)[0].because).toMatch(/against a baseline of 20\.\d ± \d\.\d \(threshold 43\.0\)/);
    });
  });

  test.each([
    // A brand with one negative post every tenth bucket: mean + 3σ is ~3, so minCount decides.
    ['7 negative posts, default minCount 8', 7, {}, false],
    ['8 negative posts, default minCount 8', 8, {}, true],
    ['11 negative posts, minCount 12', 11, { minCount: 12 }, false],
    ['12 negative posts, minCount 12', 12, { minCount: 12 }, true],
  ])('minCount: %s', (_, neg, over, storms) => {
    const settings = { ...S, ...over };
    const history = feed(series(0, repeat(300, (i) => (i % 10 === 0 ? 1 : 0))), { settings }).tracker;
    const run = feed([...bucket(at(300), neg, 0), ...bucket(at(301), 0, 1)], { tracker: history, settings });
    expect(started(run.transitions)).toHaveLength(storms ? 1 : 0);
  });

  test('minCount also holds for a climb: a tiny brand rising 0, 1, 1, 2, 3 (7 posts) does not storm', () => {
    const history = feed(series(0, repeat(300, (i) => (i % 10 === 0 ? 1 : 0)))).tracker;
    const run = feed([...series(300, [0, 1, 0, 1, 2, 3]), ...bucket(at(306), 0, 1)], { tracker: history });
    expect(run.transitions).toEqual([]);
    const more = feed([...series(300, [0, 1, 1, 2, 3, 3]), ...bucket(at(306), 0, 1)], { tracker: history }); // 10 posts: it does
    expect(started(more.transitions).map((t) => t.trigger)).toEqual(['climb']);
  });

  test('σ has a floor: a brand that never had a negative post does not storm on 2 (minCount 1)', () => {
    const settings = { ...S, minCount: 1 };
    const history = feed(series(0, repeat(300, () => [0, 5] as [number, number])), { settings }).tracker;
    expect(history.baseline.variance).toBe(0);
    expect(started(feed(bucket(at(300), 2, 5), { tracker: history, settings }).transitions)).toHaveLength(0);
    expect(started(feed(bucket(at(300), 3, 5), { tracker: history, settings }).transitions)).toHaveLength(0);
    expect(started(feed(bucket(at(300), 4, 5), { tracker: history, settings }).transitions)).toHaveLength(1);
  });

  describe('share rule: steady volume of 40 posts, negatives 2 or 14 (20% on average, count threshold ~26)', () => {
    const history = trained(400, [[2, 38], [14, 26]]);
    test.each([
      ['24 of 40 negative (60%): starts when the bucket closes', 24, 16, true],
      ['20 of 40 negative (50%): under the jump', 20, 20, false],
      ['9 of 11 negative (82%): a quiet bucket can do that by chance (p ≈ 2e-5)', 9, 2, false],
      ['10 of 12 negative (83%): it hardly can (p ≈ 5e-6)', 10, 2, true],
    ])('%s', (_, neg, other, storms) => {
      const run = feed([...bucket(at(400), neg, other), ...bucket(at(401), 2, 38)], { tracker: history, batch: 5 });
      const s = started(run.transitions);
      expect(s).toHaveLength(storms ? 1 : 0);
      if (storms) {
        expect(s[0].trigger).toBe('spike');
        expect(s[0].at).toBe(at(401)); // not inside the bucket: the count never passed its threshold
        expect(s[0].figures.negative).toBeLessThan(s[0].figures.threshold);
        expect(s[0].because).toMatch(new RegExp(`^\\d+% of posts negative within 10 min \\(${neg} of ${neg + other}\\) against 20% usually \\(jump threshold 55%\\)`));
      }
    });
    test('a small bucket needs minCount too: 7 of 8 negative is no storm', () => {
      const run = feed([...bucket(at(400), 7, 1), ...bucket(at(401), 2, 38)], { tracker: history });
      expect(run.transitions).toEqual([]);
    });
  });

  describe('warm-up: a new brand is judged against minCount × 2 only', () => {
    test.each([
      ['15 negative posts in its first bucket', [15], false],
      ['16 negative posts in its first bucket', [16], true],
      ['12 after two buckets of 1 (a storm for a grown baseline, not yet)', [1, 1, 12], false],
    ])('%s', (_, counts, storms) => {
      const run = feed([...series(0, counts), ...bucket(at(counts.length), 0, 1)], { tracker: undefined });
      const s = started(run.transitions);
      expect(s).toHaveLength(storms ? 1 : 0);
      if (storms) expect(s[0].because).toMatch(/while the baseline is still being learned \(0 of 6 buckets seen, threshold 16\.0\)/);
    });
    test('a busy new brand storms at most in its very first bucket: after that, noise around what was seen is not a storm', () => {
      const run = feed([...series(0, [10, 20, 22, 19, 21, 20, 23, 18, 20]), ...bucket(at(9), 0, 1)]);
      expect(run.transitions).toEqual([]);
      expect(run.tracker.baseline.mean).toBeCloseTo(19.2, 1);
    });
    test("a storm in a new brand's first bucket ends once the brand turns out to be that busy, and the baseline learns it", () => {
      const run = feed([...series(0, [20, 20, 22, 19, 21, 20, 23, 18, 20]), ...bucket(at(9), 0, 1)]);
      expect(run.transitions.map((t) => t.type).filter((t) => t !== 'continued')).toEqual(['started', 'ended']);
      expect(started(run.transitions)[0].figures.negative).toBe(16);
      expect(ended(run.transitions)[0].at).toBe(at(4));
      expect(run.tracker.baseline.mean).toBeCloseTo(20.3, 1); // no storm discount while there is no normal to protect
    });
    test('once warmed up, 12 against a baseline of 1 is a storm', () => {
      const run = feed([...series(0, [1, 1, 1, 1, 1, 1, 12]), ...bucket(at(7), 0, 1)]);
      expect(started(run.transitions)).toHaveLength(1);
      expect(started(run.transitions)[0].figures.baselineMean).toBe(1); // the plain average of the first buckets
    });
  });

  test('late arrivals count in the current bucket, in any input order, and the input is left alone', () => {
    const history = trained(300, [[1, 5], [3, 5]]);
    const current = observe(history, [{ at: at(300) + 5 * MIN, negative: false, terms: [] }], S).tracker;
    // Eleven negative posts from earlier buckets arrive, newest first, while bucket 300 is open.
    const late = repeat(11, (i) => ({ at: at(297) - i * B, negative: true, terms: ['lost'] }));
    const copy = JSON.parse(JSON.stringify(late));
    const run = observe(current, late, S);
    expect(late).toEqual(copy);
    expect(run.tracker.bucketStart).toBe(at(300));
    expect(run.tracker.baseline.buckets).toBe(current.baseline.buckets);
    expect(run.tracker.total).toBe(12);
    const s = started(run.transitions);
    expect(s).toHaveLength(1);
    expect(s[0].at).toBe(at(300)); // the storm starts in the open bucket, never before it
    expect(s[0].figures).toMatchObject({ negative: 11, total: 12 });
  });

  describe('a long gap', () => {
    const history = trained(300, [[1, 5], [3, 5]]);
    const open = feed(bucket(at(300), 20, 0), { tracker: history }).tracker;

    test('ends an open storm at the end of the third empty bucket, and folds at most 500 empty buckets', () => {
      expect(open.storm).toBeDefined();
      const run = feed(bucket(at(300) + 30 * DAY, 1, 1), { tracker: open });
      expect(run.transitions).toEqual([{ type: 'ended', at: at(304), because: expect.stringMatching(/^calm again for 3 buckets/) }]);
      expect(run.tracker.baseline.buckets).toBe(open.baseline.buckets + 1 + 500);
      expect(run.tracker.bucketStart).toBe(at(300) + 30 * DAY);
      expect(run.tracker.recent).toEqual([0, 0, 0, 0, 0, 0]);
      expect(run.tracker.baseline.mean).toBeLessThan(0.01);
      expect(run.tracker.cooldownUntil).toBeUndefined(); // long over
      expectStorable(run.tracker);
    });

    test('a gap of years costs no more than one of days', () => {
      const run = feed(bucket(at(300) + 20 * 365 * DAY, 1, 1), { tracker: history });
      expect(run.tracker.baseline.buckets).toBe(history.baseline.buckets + 1 + 500);
      expect(run.transitions).toEqual([]);
    });
  });

  test('continued: one per call with negative posts while open, none for a call without', () => {
    const history = trained(300, [[1, 5], [3, 5]]);
    const open = feed(bucket(at(300), 12, 0), { tracker: history }).tracker;
    expect(open.storm?.negative).toBe(12);
    const a = observe(open, bucket(at(300) + 9 * MIN, 3, 2), S);
    expect(a.transitions).toEqual([{ type: 'continued', at: at(300) + 9 * MIN + Math.floor((4 * B) / 5), negative: 3 }]);
    const b = observe(a.tracker, bucket(at(301), 0, 4), S);
    expect(b.transitions).toEqual([]);
    expect(b.tracker.storm?.negative).toBe(15);
  });

  test('the tracker survives a JSON round trip between calls with identical results', () => {
    const posts = [
      ...calmHistory(2, 7),
      ...series(bucketsIn(2), [[70, 3], [70, 3], [60, 3]], ['refund', 'outage']),
      ...series(bucketsIn(2) + 3, repeat(12, () => [2, 6] as [number, number])),
    ];
    const kept = feed(posts, { batch: 7 });
    const stored = feed(posts, { batch: 7, roundTrip: true });
    expect(stored.transitions).toEqual(kept.transitions);
    expect(stored.tracker).toEqual(kept.tracker);
    expect(kept.transitions.map((t) => t.type).filter((t) => t !== 'continued')).toEqual(['started', 'ended']);
    expectStorable(kept.tracker);
    // And mid-storm, with the storm's own terms in the document.
    const mid = feed(posts.slice(0, posts.length - 11 * 8), { batch: 7 }).tracker;
    expect(mid.storm).toBeDefined();
    expectStorable(mid);
  });

  test("a stored document's extra fields and damage are not carried on", () => {
    const history = trained(50, [[1, 5], [3, 5]]);
    const damaged = { ...history, _id: 'acme/all', total: null, baseline: { ...history.baseline, mean: null } } as unknown as StormTracker;
    const run = observe(damaged, [{ at: Number.NaN, negative: true, terms: [] }, ...bucket(at(50), 1, 1)], S);
    expect(run.tracker).not.toHaveProperty('_id');
    expect(run.tracker.total).toBe(2);
    expect(run.tracker.baseline.buckets).toBe(0); // a broken baseline starts over instead of storing NaN
    expectStorable(run.tracker);
  });

  describe('top terms', () => {
    test("the open storm's terms, most frequent first; the current bucket's when no storm is open", () => {
      const history = trained(300, [[1, 5], [3, 5]]);
      const quiet = feed(bucket(at(300), 3, 0, ['delay', 'driver']), { tracker: history }).tracker;
      expect(topTerms(quiet, 5)).toEqual([
        { term: 'delay', count: 3 },
        { term: 'driver', count: 3 },
      ]);
      const posts = [
        ...bucket(at(300), 10, 0, ['outage', 'refund']),
        ...bucket(at(301), 6, 0, ['outage', 'app']),
        ...bucket(at(302), 1, 0, ['outage', 'outage', 'statement']), // a term counts once per post
      ];
      const run = feed(posts, { tracker: history });
      expect(run.tracker.storm).toBeDefined();
      expect(topTerms(run.tracker, 3)).toEqual([
        { term: 'outage', count: 17 },
        { term: 'refund', count: 10 },
        { term: 'app', count: 6 },
      ]);
      expect(topTerms(run.tracker, 0)).toEqual([]);
      // The current bucket alone knows only its own post.
      expect(run.tracker.terms).toEqual([
        { term: 'outage', count: 1 },
        { term: 'statement', count: 1 },
      ]);
    });

    test('at most 50 terms are kept, and a term that keeps coming still rises to the top', () => {
      let tracker = newTracker(at(0));
      for (let i = 0; i < 60; i++) tracker = observe(tracker, [{ at: at(0) + i * 1000, negative: true, terms: [`noise${i}`] }], S).tracker;
      for (let i = 0; i < 5; i++) tracker = observe(tracker, [{ at: at(0) + (60 + i) * 1000, negative: true, terms: ['recall'] }], S).tracker;
      expect(tracker.terms).toHaveLength(50);
      expect(topTerms(tracker, 1)[0].term).toBe('recall');
    });
  });

  test.each([
    ['bucketMs 0', { bucketMs: 0 }],
    ['alpha NaN', { alpha: Number.NaN }],
    ['climbBuckets 1', { climbBuckets: 1 }],
    ['quietBucketsToEnd 0', { quietBucketsToEnd: 0 }],
  ])('settings out of range are refused (%s)', (_, over) => {
    expect(() => observe(undefined, bucket(at(0), 1), { ...S, ...over } as StormSettings)).toThrow(RepwatchError);
  });

  test('a new tracker starts at its bucket and an empty first call stores nothing odd', () => {
    expect(newTracker(at(3) + 7 * MIN)).toEqual({ bucketStart: at(3), total: 0, negative: 0, terms: [], baseline: { mean: 0, variance: 0, share: 0, buckets: 0 }, recent: [] });
    const empty = observe(undefined, [], S);
    expect(empty.transitions).toEqual([]);
    // The first real post starts counting where it is, without folding decades of empty buckets.
    const next = observe(empty.tracker, bucket(at(5), 1), S).tracker;
    expect(next.bucketStart).toBe(at(5));
    expect(next.baseline.buckets).toBe(0);
    // Nor does an unused tracker made ahead of the first post count it as late.
    expect(observe(newTracker(at(9)), bucket(at(5), 1), S).tracker.bucketStart).toBe(at(5));
  });
});
