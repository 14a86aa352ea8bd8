import { RepwatchError } from './errors';

/**
 * Storm detection for one brand (or brand + topic): many negative posts against a baseline learned
 * from that tracker's own history. Posts are counted in fixed windows ("buckets"); each completed
 * bucket folds into an exponentially weighted baseline of the negative count (mean, variance) and
 * the negative share. Three rules start a storm:
 *
 *  - spike: the current bucket's negative count passes mean + k·σ (and minCount, and minShare).
 *    Checked on every negative post of the still-open bucket, because a count only rises: the
 *    alert goes out minutes before the bucket closes, and checking early adds no false alarms.
 *  - share jump: the negative share of a closed bucket is shareJump above the usual share (and
 *    minCount). Checked on closed buckets only: the share of a partly filled bucket swings wildly.
 *  - climb: the last climbBuckets closed buckets add up to more than climbFactor × their usual
 *    total (and minCount), and mostly went up.
 *
 * Each rule also asks that the count be one that chance (Poisson counts, binomial shares around the
 * baseline) reaches at most once in 100,000 buckets: without that, pure noise around a mean of 2
 * to 5 started a storm every few days in simulation.
 *
 * A storm ends after quietBucketsToEnd closed buckets in a row that would not start one; a
 * cooldown then holds off the next. Pure: time comes in as arguments (ms since epoch). The
 * tracker is plain JSON and a valid MongoDB document (no nested arrays, terms are values, not keys).
 */

export interface StormSettings {
  /** Width of one counting window. */
  bucketMs: number;
  /** EWMA weight of each completed bucket in the baseline. */
  alpha: number;
  /** Spike: negative count > mean + k·σ. */
  k: number;
  /** Never a storm below this many negative posts in the bucket (spike, share) or the climb window. */
  minCount: number;
  /** A spike also needs at least this share of the bucket's posts to be negative. */
  minShare: number;
  /** Or the negative share of a closed bucket exceeds the baseline share by this much (with minCount met). */
  shareJump: number;
  /** Slow climb: look at the last N completed buckets... */
  climbBuckets: number;
  /** ...whose negative total exceeds climbFactor × N × baseline mean (and minCount), and which mostly rose. */
  climbFactor: number;
  /** Until this many buckets were seen, judge only against minCount × 2 (a new brand has no baseline). */
  warmupBuckets: number;
  /** After a storm ends, no new storm for this long. */
  cooldownMs: number;
  /** A storm ends after this many closed buckets in a row that would not start one. */
  quietBucketsToEnd: number;
}

const MINUTE = 60_000;

/**
 * alpha is 0.02 rather than 0.1: with 10-minute buckets 0.1 forgets within ~1.5 h, so a climb over
 * a few hours is absorbed into the baseline as it happens and the climb rule never fires. 0.02
 * remembers ~8 h (half-life ~6 h): "the brand's own history", and still learns a lasting change
 * within a day. The first buckets are averaged equally (see fold), so a young baseline is not biased.
 */
export const DEFAULT_STORM_SETTINGS: StormSettings = {
  bucketMs: 10 * MINUTE,
  alpha: 0.02,
  k: 3,
  minCount: 8,
  minShare: 0.3,
  shareJump: 0.35,
  climbBuckets: 6,
  climbFactor: 2,
  warmupBuckets: 6,
  cooldownMs: 30 * MINUTE,
  quietBucketsToEnd: 3,
};

export interface StormObservation {
  at: number;
  negative: boolean;
  /** Content words of the post (lower-cased, stop words removed by the caller). */
  terms: string[];
}

export interface TermCount {
  term: string;
  count: number;
}

export interface StormTracker {
  /** Start of the current (open) bucket, ms since epoch. */
  bucketStart: number;
  total: number;
  negative: number;
  /** Term counts of the current bucket's negative posts (at most 50, Space-Saving counts). */
  terms: TermCount[];
  /** EWMA over completed buckets: negative count, its variance, negative share; buckets folded so far. */
  baseline: { mean: number; variance: number; share: number; buckets: number };
  /** Negative counts of the last climbBuckets completed buckets, oldest first. */
  recent: number[];
  storm?: {
    startedAt: number;
    trigger: 'spike' | 'climb';
    because: string;
    /** Closed buckets in a row that would not have started a storm. */
    quietBuckets: number;
    /** Negative posts counted in the storm so far (the trigger's count included). */
    negative: number;
    terms: TermCount[];
  };
  /** No storm starts before this time. */
  cooldownUntil?: number;
}

/**
 * figures: for a spike or share jump they describe the bucket (threshold = the negative count to
 * pass); for a climb, negative and threshold are over the climb window, total and share are the
 * last bucket's.
 */
export type StormTransition =
  | {
      type: 'started';
      at: number;
      trigger: 'spike' | 'climb';
      because: string;
      figures: { negative: number; total: number; share: number; baselineMean: number; baselineShare: number; threshold: number };
    }
  /** Negative posts observed while a storm is open, not counted in its 'started' figures. */
  | { type: 'continued'; at: number; negative: number }
  | { type: 'ended'; at: number; because: string };

/** Stored term counts per list; enough for any summary, small enough for every tracker document. */
const TERM_LIMIT = 50;
/** Empty buckets folded for one gap: after 500 the baseline has forgotten everything anyway. */
export const MAX_EMPTY_BUCKETS = 500;
/**
 * Buckets inside a storm fold into the baseline with a tenth of the usual weight and capped at the
 * storm threshold: a pile-on must not teach the baseline that pile-ons are normal, yet a lasting
 * change of level (the brand got bigger) is still learned in hours, so no storm stays open forever.
 */
export const STORM_WEIGHT = 0.1;
/** σ is at least 1, so a brand whose history never varied does not storm on 2 posts. */
export const SIGMA_FLOOR = 1;
/**
 * Counts are at least Poisson-noisy, and a Poisson tail is longer than mean + 3σ says for small
 * means: with mean 2, 8 or more in a bucket happens once in ~900 buckets, i.e. a false storm every
 * week. A spike (and a climb window) must also be a count that Poisson noise around the mean reaches
 * with at most this probability: ~one false storm in 20 months of 10-minute buckets per tracker.
 */
const POISSON_TAIL = 1e-5;
/** z of POISSON_TAIL, for the normal approximation of large means. */
const POISSON_Z = 4.265;

export function newTracker(at: number, settings: StormSettings = DEFAULT_STORM_SETTINGS): StormTracker {
  checkSettings(settings);
  if (!Number.isFinite(at)) throw new RepwatchError('RW_ERR_INPUT_INVALID', `storm tracker start time is not a number (${at})`);
  return {
    bucketStart: alignDown(at, settings.bucketMs),
    total: 0,
    negative: 0,
    terms: [],
    baseline: { mean: 0, variance: 0, share: 0, buckets: 0 },
    recent: [],
  };
}

/** The storm's terms while one is open, else the current bucket's; most frequent first. */
export function topTerms(tracker: StormTracker, n: number): TermCount[] {
  const list = tracker.storm ? tracker.storm.terms : tracker.terms;
  return [...list]
    .sort((a, b) => b.count - a.count || (a.term < b.term ? -1 : a.term > b.term ? 1 : 0))
    .slice(0, Math.max(0, Math.floor(n)))
    .map((t) => ({ term: t.term, count: t.count }));
}

/** Working copy: term lists as Maps (insertion order kept, so a JSON round trip changes nothing). */
interface State {
  bucketStart: number;
  total: number;
  negative: number;
  terms: Map<string, number>;
  baseline: { mean: number; variance: number; share: number; buckets: number };
  recent: number[];
  storm?: {
    startedAt: number;
    trigger: 'spike' | 'climb';
    because: string;
    quietBuckets: number;
    negative: number;
    terms: Map<string, number>;
  };
  cooldownUntil?: number;
  /** Poisson limits of the current baseline mean (not stored; recomputed when the mean changes). */
  limits?: { mean: number; bucket: number; window: number };
}

interface Trigger {
  trigger: 'spike' | 'climb';
  because: string;
  negative: number;
  threshold: number;
}

export function observe(
  tracker: StormTracker | undefined,
  posts: StormObservation[],
  settings: StormSettings,
): { tracker: StormTracker; transitions: StormTransition[] } {
  checkSettings(settings);
  const s = settings;
  // Sorted copy; posts without a usable time cannot be placed in a bucket and are left out.
  const sorted = posts.filter((p) => p && Number.isFinite(p.at)).sort((a, b) => a.at - b.at);
  const st = (tracker && load(tracker, s)) ?? toState(newTracker(sorted.length ? sorted[0].at : 0, s));
  const out: StormTransition[] = [];
  let pending = 0;
  let pendingAt = 0;
  const flush = () => {
    if (pending > 0) out.push({ type: 'continued', at: pendingAt, negative: pending });
    pending = 0;
  };

  const start = (hit: Trigger, at: number, total: number, negative: number) => {
    const base = st.baseline;
    st.storm = { startedAt: at, trigger: hit.trigger, because: hit.because, quietBuckets: 0, negative: hit.negative, terms: new Map(st.terms) };
    out.push({
      type: 'started',
      at,
      trigger: hit.trigger,
      because: hit.because,
      figures: { negative: hit.negative, total, share: shareOf(negative, total), baselineMean: base.mean, baselineShare: base.share, threshold: hit.threshold },
    });
  };

  // A young baseline has no normal to protect yet: storm buckets fold at full weight while it warms up.
  const foldStorm = (neg: number, total: number, limit: number) =>
    warmingUp(st, s) ? fold(st, s, neg, total, neg, 1) : fold(st, s, Math.min(neg, limit), total, neg, STORM_WEIGHT);

  /** Judges the current bucket as complete, folds it into the baseline, and opens the next one. */
  const close = (end: number) => {
    const neg = st.negative;
    const total = st.total;
    st.recent.push(neg);
    if (st.recent.length > s.climbBuckets) st.recent.splice(0, st.recent.length - s.climbBuckets);
    // Judged against the baseline as it was: the bucket must not vouch for itself.
    const limit = countLimit(st, s);
    if (st.storm) {
      const storm = st.storm;
      const quiet = !countRule(st, s, neg, total) && !shareRule(st, s, neg, total) && (storm.trigger !== 'climb' || neg <= climbLevel(st, s));
      storm.quietBuckets = quiet ? storm.quietBuckets + 1 : 0;
      const shown = storm.trigger === 'climb' ? Math.min(limit, climbLevel(st, s)) : limit;
      foldStorm(neg, total, limit);
      if (storm.quietBuckets >= s.quietBucketsToEnd) {
        flush();
        out.push({
          type: 'ended',
          at: end,
          because:
            `calm again for ${storm.quietBuckets} buckets (${duration(storm.quietBuckets * s.bucketMs)}): ${neg} negative posts in the last ${duration(s.bucketMs)}, ` +
            `within the threshold of ${num(shown)}; ${storm.negative} negative posts over ${duration(end - storm.startedAt)}`,
        });
        st.storm = undefined;
        st.cooldownUntil = end + s.cooldownMs;
      }
    } else {
      const hit = coolingDown(st, end) ? undefined : spikeAt(st, s, neg, total, true) ?? climbAt(st, s);
      if (hit) {
        start(hit, end, total, neg);
        foldStorm(neg, total, limit);
      } else {
        fold(st, s, neg, total, neg, 1);
      }
    }
    st.bucketStart = end;
    st.total = 0;
    st.negative = 0;
    st.terms = new Map();
  };

  const advance = (at: number) => {
    const next = alignDown(at, s.bucketMs);
    const end = st.bucketStart + s.bucketMs;
    const empty = Math.max(0, Math.floor((next - end) / s.bucketMs));
    close(end);
    for (let i = 0; i < Math.min(empty, MAX_EMPTY_BUCKETS); i++) close(st.bucketStart + s.bucketMs);
    st.bucketStart = next;
  };

  for (const p of sorted) {
    // A tracker that never saw a post has no history to keep: start counting where the posts are.
    if (st.baseline.buckets === 0 && st.total === 0 && !st.storm) st.bucketStart = alignDown(p.at, s.bucketMs);
    else if (p.at >= st.bucketStart + s.bucketMs) advance(p.at);
    // A late post counts in the current bucket, at the current bucket's time.
    const clock = Math.max(p.at, st.bucketStart);
    st.total++;
    if (!p.negative) continue;
    st.negative++;
    const terms = Array.isArray(p.terms) ? p.terms : [];
    addTerms(st.terms, terms);
    if (st.storm) {
      st.storm.negative++;
      addTerms(st.storm.terms, terms);
      pending++;
      pendingAt = clock;
    } else if (!coolingDown(st, clock)) {
      const hit = spikeAt(st, s, st.negative, st.total, false);
      if (hit) start(hit, clock, st.total, st.negative);
    }
  }
  flush();
  if (st.cooldownUntil !== undefined && st.cooldownUntil <= st.bucketStart) st.cooldownUntil = undefined;
  return { tracker: toTracker(st), transitions: out };
}

// --- rules -------------------------------------------------------------------------------------

function warmingUp(st: State, s: StormSettings): boolean {
  return st.baseline.buckets < s.warmupBuckets;
}

function sigma(st: State): number {
  return Math.max(Math.sqrt(Math.max(st.baseline.variance, 0)), SIGMA_FLOOR);
}

/** Smallest count c with P(X >= c) <= POISSON_TAIL for X ~ Poisson(mean). */
export function poissonLimit(mean: number, tail = POISSON_TAIL): number {
  if (!(mean > 0)) return 1;
  // Past a few hundred, exp(-mean) heads for underflow and the walk gets long; Cornish-Fisher is exact
  // enough there (z scaled from the default tail's: within a few percent for tails down to 1e-9).
  const z = tail === POISSON_TAIL ? POISSON_Z : POISSON_Z * Math.sqrt(Math.log(tail) / Math.log(POISSON_TAIL));
  if (mean > 400) return Math.ceil(mean + z * Math.sqrt(mean) + (z * z - 1) / 6);
  let pmf = Math.exp(-mean);
  let cdf = pmf;
  let c = 0;
  while (1 - cdf > tail) {
    c++;
    pmf *= mean / c;
    cdf += pmf;
  }
  return c + 1;
}

/** Poisson limits for one bucket and for the climb window, cached per baseline mean (checked on every negative post). */
function limits(st: State, s: StormSettings): { bucket: number; window: number } {
  const mean = st.baseline.mean;
  if (!st.limits || st.limits.mean !== mean) st.limits = { mean, bucket: poissonLimit(mean), window: poissonLimit(mean * s.climbBuckets) };
  return st.limits;
}

/**
 * Without a baseline, minCount × 2. Once a bucket or two were seen, their Poisson limit too: a new
 * brand with 20 negative posts every 10 minutes would otherwise storm in each of its first buckets.
 * (Their variance says too little yet to use.)
 */
function warmupLimit(st: State, s: StormSettings): number {
  return st.baseline.buckets > 0 ? Math.max(2 * s.minCount, limits(st, s).bucket) : 2 * s.minCount;
}

/** The negative count a spike has to reach (shown in messages; see countRule for the exact test). */
function countLimit(st: State, s: StormSettings): number {
  if (warmingUp(st, s)) return warmupLimit(st, s);
  return Math.max(st.baseline.mean + s.k * sigma(st), limits(st, s).bucket, s.minCount);
}

function countRule(st: State, s: StormSettings, neg: number, total: number): boolean {
  if (shareOf(neg, total) < s.minShare) return false;
  if (warmingUp(st, s)) return neg >= warmupLimit(st, s);
  return neg > st.baseline.mean + s.k * sigma(st) && neg >= limits(st, s).bucket && neg >= s.minCount;
}

/**
 * The share must jump, and by more than sampling noise: 9 negative of 11 posts against 28% usually
 * is a 0.3-in-10,000 event that a week of buckets produces anyway, so the count of negatives must
 * also be one the usual share reaches with at most POISSON_TAIL (binomial tail).
 */
function shareRule(st: State, s: StormSettings, neg: number, total: number): boolean {
  if (warmingUp(st, s) || neg < s.minCount) return false;
  const share = shareOf(neg, total);
  return share >= s.minShare && share >= st.baseline.share + s.shareJump && binomialTail(total, st.baseline.share, neg) <= POISSON_TAIL;
}

/** P(X >= k) for X ~ Binomial(n, p), from the log of the first term so large n does not underflow. */
function binomialTail(n: number, p: number, k: number): number {
  if (k <= 0) return 1;
  if (k > n || p <= 0) return 0;
  if (p >= 1) return 1;
  let log = k * Math.log(p) + (n - k) * Math.log(1 - p);
  for (let i = 1; i <= k; i++) log += Math.log((n - k + i) / i);
  let term = Math.exp(log);
  let sum = term;
  for (let j = k; j < n && term > sum * 1e-12; j++) {
    term *= ((n - j) / (j + 1)) * (p / (1 - p));
    sum += term;
  }
  return Math.min(sum, 1);
}

/** Per-bucket level a climb storm must fall back under: the climb rule spread over its window. */
function climbLevel(st: State, s: StormSettings): number {
  return Math.max(s.climbFactor * st.baseline.mean, s.minCount / s.climbBuckets);
}

function spikeAt(st: State, s: StormSettings, neg: number, total: number, closed: boolean): Trigger | undefined {
  const base = st.baseline;
  const share = shareOf(neg, total);
  const within = `within ${duration(s.bucketMs)}`;
  if (countRule(st, s, neg, total)) {
    const threshold = countLimit(st, s);
    const because = warmingUp(st, s)
      ? `${neg} negative posts ${within} while the baseline is still being learned (${base.buckets} of ${s.warmupBuckets} buckets seen, threshold ${num(threshold)}), ${pct(share)} negative`
      : `${neg} negative posts ${within} against a baseline of ${num(base.mean)} ± ${num(Math.sqrt(Math.max(base.variance, 0)))} (threshold ${num(threshold)}), ${pct(share)} negative against ${pct(base.share)} usually`;
    return { trigger: 'spike', because, negative: neg, threshold };
  }
  if (closed && shareRule(st, s, neg, total)) {
    const because =
      `${pct(share)} of posts negative ${within} (${neg} of ${total}) against ${pct(base.share)} usually (jump threshold ${pct(base.share + s.shareJump)}); ` +
      `${neg} negative posts against a baseline of ${num(base.mean)} ± ${num(Math.sqrt(Math.max(base.variance, 0)))}`;
    return { trigger: 'spike', because, negative: neg, threshold: countLimit(st, s) };
  }
  return undefined;
}

function climbAt(st: State, s: StormSettings): Trigger | undefined {
  const r = st.recent;
  const n = s.climbBuckets;
  if (warmingUp(st, s) || r.length < n) return undefined;
  const sum = r.reduce((a, b) => a + b, 0);
  const window = limits(st, s).window;
  const threshold = Math.max(s.climbFactor * n * st.baseline.mean, window, s.minCount);
  if (sum < s.minCount || sum < window || sum <= s.climbFactor * n * st.baseline.mean) return undefined;
  // "Mostly rose": more steps up than down, and the later half above the earlier half. Counts of a
  // slow climb often repeat (4, 4, 5), so steps that hold are neither for nor against.
  let ups = 0;
  let downs = 0;
  for (let i = 1; i < n; i++) {
    if (r[i] > r[i - 1]) ups++;
    else if (r[i] < r[i - 1]) downs++;
  }
  const half = Math.floor(n / 2);
  const early = r.slice(0, half).reduce((a, b) => a + b, 0);
  const late = r.slice(n - half).reduce((a, b) => a + b, 0);
  if (ups <= downs || late <= early) return undefined;
  const because =
    `${sum} negative posts over the last ${duration(n * s.bucketMs)} (${r.join(', ')}), up in ${ups} of ${n - 1} steps, ` +
    `against a baseline of ${num(st.baseline.mean)} per ${duration(s.bucketMs)} (threshold ${num(threshold)})`;
  return { trigger: 'climb', because, negative: sum, threshold };
}

function coolingDown(st: State, at: number): boolean {
  return st.cooldownUntil !== undefined && at < st.cooldownUntil;
}

/**
 * EWMA of the negative count (value, possibly capped), its variance, and the share. The first
 * buckets are averaged equally (weight 1/n until that falls below alpha), so a young baseline is
 * the plain average of what was seen instead of being pulled towards zero.
 */
function fold(st: State, s: StormSettings, value: number, total: number, neg: number, factor: number): void {
  const b = st.baseline;
  const w = Math.max(s.alpha, 1 / (b.buckets + 1)) * factor;
  const d = value - b.mean;
  const mean = b.mean + w * d;
  const variance = (1 - w) * (b.variance + w * d * d);
  // An empty bucket says nothing about the share.
  const share = total > 0 ? b.share + w * (neg / total - b.share) : b.share;
  st.baseline = {
    mean: finiteOr(Math.max(mean, 0), 0),
    variance: finiteOr(Math.max(variance, 0), 0),
    share: finiteOr(Math.min(Math.max(share, 0), 1), 0),
    buckets: b.buckets + 1,
  };
}

/**
 * Space-Saving counts: when the list is full, a new term replaces the least counted one and takes
 * its count + 1. A term that keeps coming therefore rises to the top even when the list filled up
 * with one-off words before it appeared; a term is counted once per post.
 */
function addTerms(map: Map<string, number>, terms: readonly unknown[]): void {
  for (const term of new Set(terms)) {
    if (typeof term !== 'string' || term.length === 0) continue;
    const count = map.get(term);
    if (count !== undefined) {
      map.set(term, count + 1);
      continue;
    }
    if (map.size < TERM_LIMIT) {
      map.set(term, 1);
      continue;
    }
    let least: string | undefined;
    let leastCount = Infinity;
    for (const [t, c] of map) {
      if (c < leastCount) {
        least = t;
        leastCount = c;
      }
    }
    map.delete(least!);
    map.set(term, leastCount + 1);
  }
}

// --- (de)serialisation ---------------------------------------------------------------------------

function toState(t: StormTracker): State {
  return {
    bucketStart: t.bucketStart,
    total: t.total,
    negative: t.negative,
    terms: termMap(t.terms),
    baseline: { ...t.baseline },
    recent: [...t.recent],
    ...(t.storm ? { storm: { ...t.storm, terms: termMap(t.storm.terms) } } : {}),
    ...(t.cooldownUntil !== undefined ? { cooldownUntil: t.cooldownUntil } : {}),
  };
}

/**
 * A stored tracker, checked field by field: a damaged or foreign document (e.g. with the store's
 * `_id`) never carries NaN into the baseline. Returns undefined when not even the bucket is usable.
 */
function load(raw: StormTracker, s: StormSettings): State | undefined {
  if (!raw || typeof raw !== 'object' || !Number.isFinite(raw.bucketStart)) return undefined;
  const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
  const b = raw.baseline as Partial<StormTracker['baseline']> | undefined;
  const baselineOk = !!b && [b.mean, b.variance, b.share, b.buckets].every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0);
  const st: State = {
    bucketStart: raw.bucketStart,
    total: count(raw.total),
    negative: count(raw.negative),
    terms: termMap(raw.terms),
    baseline: baselineOk ? { mean: b!.mean!, variance: b!.variance!, share: Math.min(b!.share!, 1), buckets: b!.buckets! } : { mean: 0, variance: 0, share: 0, buckets: 0 },
    recent: Array.isArray(raw.recent) ? raw.recent.map(count).slice(-s.climbBuckets) : [],
  };
  const storm = raw.storm;
  if (storm && typeof storm === 'object' && Number.isFinite(storm.startedAt) && (storm.trigger === 'spike' || storm.trigger === 'climb')) {
    st.storm = {
      startedAt: storm.startedAt,
      trigger: storm.trigger,
      because: typeof storm.because === 'string' ? storm.because : '',
      quietBuckets: count(storm.quietBuckets),
      negative: count(storm.negative),
      terms: termMap(storm.terms),
    };
  }
  if (typeof raw.cooldownUntil === 'number' && Number.isFinite(raw.cooldownUntil)) st.cooldownUntil = raw.cooldownUntil;
  return st;
}

function termMap(list: unknown): Map<string, number> {
  const map = new Map<string, number>();
  if (!Array.isArray(list)) return map;
  for (const e of list) {
    if (map.size >= TERM_LIMIT) break;
    if (e && typeof e.term === 'string' && e.term && Number.isFinite(e.count) && e.count > 0) map.set(e.term, e.count);
  }
  return map;
}

function termList(map: Map<string, number>): TermCount[] {
  return [...map].map(([term, count]) => ({ term, count }));
}

/** Plain JSON with no undefined values: what is stored is exactly what the next call reads. */
function toTracker(st: State): StormTracker {
  const t: StormTracker = {
    bucketStart: st.bucketStart,
    total: st.total,
    negative: st.negative,
    terms: termList(st.terms),
    baseline: { ...st.baseline },
    recent: [...st.recent],
  };
  if (st.storm) t.storm = { ...st.storm, terms: termList(st.storm.terms) };
  if (st.cooldownUntil !== undefined) t.cooldownUntil = st.cooldownUntil;
  return t;
}

// --- helpers -------------------------------------------------------------------------------------

function checkSettings(s: StormSettings): void {
  const bad: string[] = [];
  const need = (ok: boolean, what: string) => {
    if (!ok) bad.push(what);
  };
  const fin = (v: number) => typeof v === 'number' && Number.isFinite(v);
  need(fin(s.bucketMs) && s.bucketMs > 0, 'bucketMs > 0');
  need(fin(s.alpha) && s.alpha > 0 && s.alpha <= 1, '0 < alpha <= 1');
  need(fin(s.k) && s.k >= 0, 'k >= 0');
  need(fin(s.minCount) && s.minCount >= 1, 'minCount >= 1');
  need(fin(s.minShare) && s.minShare >= 0 && s.minShare <= 1, '0 <= minShare <= 1');
  need(fin(s.shareJump) && s.shareJump >= 0, 'shareJump >= 0');
  need(Number.isInteger(s.climbBuckets) && s.climbBuckets >= 2, 'climbBuckets an integer >= 2');
  need(fin(s.climbFactor) && s.climbFactor > 0, 'climbFactor > 0');
  need(fin(s.warmupBuckets) && s.warmupBuckets >= 0, 'warmupBuckets >= 0');
  need(fin(s.cooldownMs) && s.cooldownMs >= 0, 'cooldownMs >= 0');
  need(Number.isInteger(s.quietBucketsToEnd) && s.quietBucketsToEnd >= 1, 'quietBucketsToEnd an integer >= 1');
  if (bad.length) throw new RepwatchError('RW_ERR_CONFIG_INVALID', `storm settings out of range: ${bad.join(', ')}`, { details: { settings: s } });
}

export function alignDown(at: number, bucketMs: number): number {
  return Math.floor(at / bucketMs) * bucketMs;
}

function shareOf(neg: number, total: number): number {
  return total > 0 ? neg / total : 0;
}

function finiteOr(v: number, fallback: number): number {
  return Number.isFinite(v) ? v : fallback;
}

export function num(v: number): string {
  return Math.abs(v) >= 100 ? String(Math.round(v)) : v.toFixed(1);
}

function pct(v: number): string {
  return `${Math.round(v * 100)}%`;
}

export function duration(ms: number): string {
  if (ms < MINUTE) return `${Math.round(ms / 1000)} s`;
  const minutes = Math.round(ms / MINUTE);
  if (minutes < 120) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m ? `${h} h ${m} min` : `${h} h`;
}
