import { RepwatchError } from './errors';
import { MAX_EMPTY_BUCKETS, SIGMA_FLOOR, STORM_WEIGHT, alignDown, duration, num, poissonLimit } from './storms';

/**
 * Emergent topics of one brand: terms that pile up in its negative posts against each term's own
 * baseline ("app", "storing", "inloggen" when a bank's app is down), found without anyone having
 * configured them. Each tracked term keeps an EWMA baseline of its negative posts per bucket, as
 * storms.ts does for the brand. A term spikes when its count in the open bucket passes
 * mean + k·σ, minCount and the Poisson noise floor; spiking terms that occur in the same posts
 * form one cluster, and a cluster that is already open takes in newly spiking terms that occur in
 * its posts. A cluster ends after quietBucketsToEnd closed buckets in which none of its terms
 * would spike; its terms then cool down. Pure: time comes in as arguments (ms since epoch). The
 * tracker is plain JSON and a valid MongoDB document (no nested arrays, terms are values, not keys).
 */

export interface TermClusterSettings {
  /** Width of one counting window. */
  bucketMs: number;
  /** EWMA weight of each completed bucket in a term's baseline. */
  alpha: number;
  /** A term spikes when its count > mean + k·σ. */
  k: number;
  /** ...and reaches at least this many negative posts in the bucket. */
  minCount: number;
  /** Terms tracked per brand; when full, the term with the lowest baseline makes room. */
  maxTerms: number;
  /** Two spiking terms are one cluster when they share at least this share of the smaller term's posts. */
  minOverlap: number;
  /** A cluster ends after this many closed buckets in a row in which none of its terms would spike. */
  quietBucketsToEnd: number;
  /** After its cluster ended, a term starts or joins no cluster for this long. */
  cooldownMs: number;
  /** Until this many buckets were seen, a term needs minCount × 2 (a new brand has no baselines). */
  warmupBuckets: number;
}

const MINUTE = 60_000;

/** Same window and memory as storms, so a cluster's storm and the brand's storm see the same buckets. */
export const DEFAULT_TERM_CLUSTER_SETTINGS: TermClusterSettings = {
  bucketMs: 10 * MINUTE,
  alpha: 0.02,
  k: 3,
  minCount: 6,
  maxTerms: 200,
  minOverlap: 0.5,
  quietBucketsToEnd: 3,
  cooldownMs: 30 * MINUTE,
  warmupBuckets: 6,
};

export interface TermStat {
  term: string;
  /** EWMA of the term's negative posts per closed bucket, and its variance. */
  mean: number;
  variance: number;
  /** Negative posts with the term in the open bucket. */
  count: number;
  /** The term starts or joins no cluster before this time (its last cluster ended). */
  cooldownUntil?: number;
}

export interface TermCluster {
  /** `${startedAt}:${first term}`: the same posts give the same id on a retry. */
  id: string;
  /** Most frequent first when it started; terms taken in later are appended, so the order is stable. */
  terms: string[];
  startedAt: number;
  because: string;
  /** Negative posts counted in the cluster so far. */
  posts: number;
  /** Closed buckets in a row in which none of its terms would spike. */
  quietBuckets: number;
}

export interface TermClusterTracker {
  /** Start of the current (open) bucket, ms since epoch. */
  bucketStart: number;
  /** Closed buckets folded so far: the brand's, shared by its terms (a new term was 0 before). */
  buckets: number;
  /** Tracked terms, least recently seen first; at most maxTerms. */
  terms: TermStat[];
  /** The open bucket's last KEPT_POSTS negative posts, each its terms joined by single spaces. */
  posts: string[];
  /** Open clusters, oldest first. */
  clusters: TermCluster[];
}

export type ClusterTransition =
  | { type: 'started'; at: number; cluster: TermCluster }
  /** Posts (or a newly spiking term) joined an open cluster: at most one per cluster and call, with the new total. */
  | { type: 'grew'; at: number; clusterId: string; posts: number; terms: string[] }
  | { type: 'ended'; at: number; clusterId: string; because: string };

/**
 * A brand tests a hundred terms or so in every bucket, so each term's noise floor is a hundred
 * times stricter than a storm's (chance once in 100,000 buckets per brand, not per term): with the
 * storm's floor, busy brands (25-60 negatives per bucket) saw a false cluster every few weeks.
 */
const TERM_TAIL = 1e-7;
/** Enough posts to measure co-occurrence in a pile-on's first minutes; bounds the document (~60 KB worst case). */
const KEPT_POSTS = 300;
/** A post's first terms only: keeps a kept post short; a tweet rarely has more content words. */
const MAX_POST_TERMS = 20;
/** Longer "terms" are not words (glued hashtags, base64); they would only bloat the document. */
const MAX_TERM_LENGTH = 40;
/** Terms in a cluster's topic name: enough to tell pile-ons apart, short enough to read. */
const TOPIC_TERMS = 3;

type TermState = Omit<TermStat, 'term'>;

/** Working copy: terms as a Map whose insertion order is recency (a JSON round trip changes nothing). */
interface State {
  bucketStart: number;
  buckets: number;
  terms: Map<string, TermState>;
  posts: string[][];
  clusters: TermCluster[];
}

/** Observations are the brand's negative posts only, in any order within a page; `terms` are already content words (lower-case, stop words and the brand's own name removed by the caller). */
export function observeTerms(
  tracker: TermClusterTracker | undefined,
  negatives: { at: number; terms: string[] }[],
  settings: TermClusterSettings = DEFAULT_TERM_CLUSTER_SETTINGS,
): { tracker: TermClusterTracker; transitions: ClusterTransition[] } {
  checkSettings(settings);
  const s = settings;
  // Sorted by time, then by terms: the result does not depend on the order of the page.
  const sorted = (Array.isArray(negatives) ? negatives : [])
    .filter((p) => p && Number.isFinite(p.at))
    .map((p) => ({ at: p.at, terms: cleanTerms(p.terms) }))
    .map((p) => ({ ...p, key: p.terms.join(' ') }))
    .sort((a, b) => a.at - b.at || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const st = (tracker && load(tracker, s)) ?? empty(sorted.length ? alignDown(sorted[0].at, s.bucketMs) : 0);
  const out: ClusterTransition[] = [];
  /** Cluster id → time of the last post that grew it in this call; reported once, at the end or before it ends. */
  const grown = new Map<string, number>();
  const flush = (c: TermCluster) => {
    const at = grown.get(c.id);
    if (at !== undefined) out.push({ type: 'grew', at, clusterId: c.id, posts: c.posts, terms: [...c.terms] });
    grown.delete(c.id);
  };

  /** Judges the open bucket as complete, folds it into the baselines, and opens the next one. */
  const close = (end: number) => {
    const warm = warmingUp(st, s);
    const inCluster = new Set(st.clusters.flatMap((c) => c.terms));
    const ended: TermCluster[] = [];
    // Judged against the baselines as they were: the bucket must not vouch for itself.
    for (const c of st.clusters) {
      c.quietBuckets = c.terms.some((t) => spikes(st, s, st.terms.get(t))) ? 0 : c.quietBuckets + 1;
      if (c.quietBuckets >= s.quietBucketsToEnd) ended.push(c);
    }
    const because = new Map(ended.map((c) => [c.id, endReason(st, s, c, end)]));
    const w = Math.max(s.alpha, 1 / (st.buckets + 1));
    for (const [term, t] of st.terms) {
      // A pile-on must not teach the baseline that pile-ons are normal (a young baseline has no normal yet).
      if (inCluster.has(term) && !warm) fold(t, w * STORM_WEIGHT, Math.min(t.count, countLimit(st, s, t)));
      else fold(t, w, t.count);
      t.count = 0;
    }
    st.buckets++;
    for (const c of ended) {
      flush(c);
      out.push({ type: 'ended', at: end, clusterId: c.id, because: because.get(c.id)! });
      for (const term of c.terms) {
        const t = st.terms.get(term);
        if (t) t.cooldownUntil = end + s.cooldownMs;
      }
    }
    st.clusters = st.clusters.filter((c) => !ended.includes(c));
    st.posts = [];
    st.bucketStart = end;
  };

  const advance = (at: number) => {
    const next = alignDown(at, s.bucketMs);
    const end = st.bucketStart + s.bucketMs;
    const emptyBuckets = Math.max(0, Math.floor((next - end) / s.bucketMs));
    close(end);
    for (let i = 0; i < Math.min(emptyBuckets, MAX_EMPTY_BUCKETS); i++) close(st.bucketStart + s.bucketMs);
    st.bucketStart = next;
  };

  for (const p of sorted) {
    // A tracker that never saw a post has no history to keep: start counting where the posts are.
    if (st.buckets === 0 && st.posts.length === 0 && st.clusters.length === 0) st.bucketStart = alignDown(p.at, s.bucketMs);
    else if (p.at >= st.bucketStart + s.bucketMs) advance(p.at);
    if (!p.terms.length) continue;
    // A late post counts in the current bucket, at the current bucket's time.
    const clock = Math.max(p.at, st.bucketStart);
    countTerms(st, s, p.terms);
    st.posts.push(p.terms);
    if (st.posts.length > KEPT_POSTS) st.posts.splice(0, st.posts.length - KEPT_POSTS);
    const home = pick(st.clusters, p.terms);
    if (home) {
      home.posts++;
      grown.set(home.id, clock);
    }
    detect(st, s, p.terms, clock, out, grown);
  }
  for (const c of st.clusters) flush(c);
  for (const t of st.terms.values()) if (t.cooldownUntil !== undefined && t.cooldownUntil <= st.bucketStart) delete t.cooldownUntil;
  return { tracker: toTracker(st), transitions: out };
}

/** The open cluster whose terms a post's terms hit (most shared terms wins; ties by earliest start); undefined when none. */
export function clusterOf(tracker: TermClusterTracker | undefined, terms: string[]): TermCluster | undefined {
  const clusters = tracker && Array.isArray(tracker.clusters) ? tracker.clusters.filter((c) => c && Array.isArray(c.terms)) : [];
  const c = pick(clusters, cleanTerms(terms));
  return c && { ...c, terms: [...c.terms] };
}

/**
 * Topic name for a cluster, stable while it is open: its first TOPIC_TERMS terms (most frequent at
 * the start first; later ones are appended, so the name never changes), e.g. 'terms:app+storing'.
 * Only [a-z0-9+:_-]: accents are dropped, any other character becomes _ and its hex code point.
 */
export function clusterTopic(cluster: TermCluster): string {
  const escape = (ch: string) => `_${ch.codePointAt(0)!.toString(16)}`;
  const part = (t: string) => String(t).normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().replace(/[^a-z0-9_-]/gu, escape);
  const parts = (Array.isArray(cluster?.terms) ? cluster.terms : []).slice(0, TOPIC_TERMS).map(part).filter(Boolean);
  return `terms:${parts.length ? parts.join('+') : 'none'}`;
}

// --- rules -------------------------------------------------------------------------------------

function warmingUp(st: State, s: TermClusterSettings): boolean {
  return st.buckets < s.warmupBuckets;
}

function sigma(t: TermState): number {
  return Math.max(Math.sqrt(t.variance), SIGMA_FLOOR);
}

/** Without a baseline, minCount × 2; once a bucket was seen, its Poisson limit too (as in storms). */
function warmupLimit(st: State, s: TermClusterSettings, t: TermState): number {
  return st.buckets > 0 ? Math.max(2 * s.minCount, poissonLimit(t.mean, TERM_TAIL)) : 2 * s.minCount;
}

/** The count a spike has to reach (shown in messages; see spikes for the exact test). */
function countLimit(st: State, s: TermClusterSettings, t: TermState): number {
  if (warmingUp(st, s)) return warmupLimit(st, s, t);
  return Math.max(t.mean + s.k * sigma(t), poissonLimit(t.mean, TERM_TAIL), s.minCount);
}

/**
 * Counts only rise within a bucket, so this is checked on every post: the cluster starts minutes
 * before the bucket closes. The Poisson floor keeps a term around a mean of 2 to 5 from
 * "spiking" on noise every few days, as in storms.
 */
function spikes(st: State, s: TermClusterSettings, t: TermState | undefined): boolean {
  if (!t) return false;
  if (warmingUp(st, s)) return t.count >= warmupLimit(st, s, t);
  return t.count >= s.minCount && t.count > t.mean + s.k * sigma(t) && t.count >= poissonLimit(t.mean, TERM_TAIL);
}

function coolingDown(t: TermState | undefined, at: number): boolean {
  return t?.cooldownUntil !== undefined && at < t.cooldownUntil;
}

/** The post's terms that spike now: they join an open cluster they occur with, else start clusters of their own. */
function detect(st: State, s: TermClusterSettings, terms: string[], clock: number, out: ClusterTransition[], grown: Map<string, number>): void {
  const claimed = new Set(st.clusters.flatMap((c) => c.terms));
  const fresh = terms.filter((term) => !claimed.has(term) && !coolingDown(st.terms.get(term), clock) && spikes(st, s, st.terms.get(term)));
  if (!fresh.length) return;
  const byCount = (a: string, b: string) => (st.terms.get(b)?.count ?? 0) - (st.terms.get(a)?.count ?? 0) || (a < b ? -1 : a > b ? 1 : 0);
  fresh.sort(byCount);
  const opened = [...st.clusters];
  // A pile-on that spreads to one more word is the same pile-on: repeat, since a joined term can bring in the next.
  for (let joined = true; joined; ) {
    joined = false;
    for (const term of [...fresh]) {
      const c = opened.find((c) => c.terms.some((u) => cooccur(st.posts, term, u, s.minOverlap)));
      if (!c) continue;
      c.posts += postsHitting(st.posts, [term], opened.flatMap((o) => o.terms));
      c.terms.push(term);
      grown.set(c.id, clock);
      fresh.splice(fresh.indexOf(term), 1);
      joined = true;
    }
  }
  // The rest group by co-occurrence; a term linking two groups merges them.
  let groups: string[][] = [];
  for (const term of fresh) {
    const hit = groups.filter((g) => g.some((u) => cooccur(st.posts, term, u, s.minOverlap)));
    groups = [...groups.filter((g) => !hit.includes(g)), [...hit.flat(), term]];
  }
  const before = opened.flatMap((c) => c.terms);
  for (const g of groups) {
    const gt = g.sort(byCount);
    const cluster: TermCluster = {
      id: `${clock}:${gt[0]}`,
      terms: gt,
      startedAt: clock,
      because: startReason(st, s, gt),
      posts: postsHitting(st.posts, gt, before),
      quietBuckets: 0,
    };
    st.clusters.push(cluster);
    out.push({ type: 'started', at: clock, cluster: { ...cluster, terms: [...gt] } });
  }
}

/** Whether a and b share at least `min` of the smaller term's kept posts. */
function cooccur(posts: string[][], a: string, b: string, min: number): boolean {
  const smaller = Math.min(posts.filter((p) => p.includes(a)).length, posts.filter((p) => p.includes(b)).length);
  return smaller > 0 && posts.filter((p) => p.includes(a) && p.includes(b)).length >= min * smaller;
}

/** Kept posts with one of `terms` and none of `except` (those were counted elsewhere already). */
function postsHitting(posts: string[][], terms: string[], except: string[]): number {
  return posts.filter((p) => p.some((t) => terms.includes(t)) && !p.some((t) => except.includes(t))).length;
}

/** The cluster sharing most terms with a post; ties go to the earliest start. */
function pick(clusters: TermCluster[], terms: string[]): TermCluster | undefined {
  const shared = (c: TermCluster) => terms.filter((t) => c.terms.includes(t)).length;
  return clusters.filter((c) => shared(c) > 0).sort((a, b) => shared(b) - shared(a) || a.startedAt - b.startedAt)[0];
}

function startReason(st: State, s: TermClusterSettings, terms: string[]): string {
  const lead = st.terms.get(terms[0])!;
  const limit = num(countLimit(st, s, lead));
  const against = warmingUp(st, s)
    ? `while its baseline is still being learned (${st.buckets} of ${s.warmupBuckets} buckets seen, threshold ${limit})`
    : `against a usual ${num(lead.mean)} ± ${num(Math.sqrt(lead.variance))} (threshold ${limit})`;
  const others = terms.slice(1).map((t) => `'${t}' (${st.terms.get(t)?.count ?? 0})`);
  return `'${terms[0]}' in ${lead.count} negative posts in ${duration(s.bucketMs)} ${against}` + (others.length ? `; with ${others.join(', ')}` : '');
}

function endReason(st: State, s: TermClusterSettings, c: TermCluster, end: number): string {
  const counts = c.terms.map((t) => `'${t}' ${st.terms.get(t)?.count ?? 0}`).join(', ');
  return (
    `calm again for ${c.quietBuckets} buckets (${duration(c.quietBuckets * s.bucketMs)}): ${counts} negative posts in the last ${duration(s.bucketMs)}; ` +
    `${c.posts} negative posts over ${duration(end - c.startedAt)}`
  );
}

// --- counting ------------------------------------------------------------------------------------

/** EWMA of a term's count and its variance; w already includes the young-baseline and storm weights. */
function fold(t: TermState, w: number, value: number): void {
  const d = value - t.mean;
  t.mean = finiteOr(Math.max(t.mean + w * d, 0), 0);
  t.variance = finiteOr(Math.max((1 - w) * (t.variance + w * d * d), 0), 0);
}

/**
 * Counts a post's terms and moves them to the recent end. When the list is full, the term whose
 * baseline would be lowest if the bucket closed now makes room (ties: fewest posts now, then
 * least recently seen), never one in an open cluster or cooling down while another can go. This is
 * "lowest mean", except that a term rising in the open bucket outranks a word last seen days ago:
 * otherwise the next new word would evict a brand-new pile-on term before it could reach minCount.
 * A new term starts at 1, not at the evicted count + 1 as Space-Saving would: here an overcount is a false alarm.
 */
function countTerms(st: State, s: TermClusterSettings, terms: string[]): void {
  for (const term of terms) {
    const t = st.terms.get(term) ?? { mean: 0, variance: 0, count: 0 };
    // Deleted and set again: the Map's order is recency.
    if (!st.terms.delete(term) && st.terms.size >= s.maxTerms) evict(st, s);
    t.count++;
    st.terms.set(term, t);
  }
}

function evict(st: State, s: TermClusterSettings): void {
  const w = Math.max(s.alpha, 1 / (st.buckets + 1));
  const kept = new Set(st.clusters.flatMap((c) => c.terms));
  const rank = (term: string, t: TermState) => [kept.has(term) || coolingDown(t, st.bucketStart) ? 1 : 0, t.mean + w * (t.count - t.mean), t.count];
  const lower = (a: number[], b: number[]) => {
    const i = a.findIndex((v, j) => v !== b[j]);
    return i >= 0 && a[i] < b[i];
  };
  let victim: [string, number[]] | undefined;
  // Strictly lower only: among equals the least recently seen (first in the Map) goes.
  for (const [term, t] of st.terms) {
    const r = rank(term, t);
    if (!victim || lower(r, victim[1])) victim = [term, r];
  }
  if (victim) st.terms.delete(victim[0]);
}

/** Strings, trimmed, whitespace inside joined by _ (a kept post is space-separated), once each, at most MAX_POST_TERMS. */
function cleanTerms(raw: unknown): string[] {
  const out: string[] = [];
  for (const v of Array.isArray(raw) ? raw : []) {
    if (typeof v !== 'string') continue;
    const term = v.trim().replace(/\s+/g, '_');
    if (!term || term.length > MAX_TERM_LENGTH || out.includes(term)) continue;
    out.push(term);
    if (out.length >= MAX_POST_TERMS) break;
  }
  return out;
}

// --- (de)serialisation ---------------------------------------------------------------------------

function empty(bucketStart: number): State {
  return { bucketStart, buckets: 0, terms: new Map(), posts: [], clusters: [] };
}

/** A stored tracker, checked field by field: a damaged or foreign document never carries NaN into a baseline. */
function load(raw: TermClusterTracker, s: TermClusterSettings): State | undefined {
  if (!raw || typeof raw !== 'object' || !Number.isFinite(raw.bucketStart)) return undefined;
  const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
  const st = empty(raw.bucketStart);
  st.buckets = count(raw.buckets);
  for (const e of Array.isArray(raw.terms) ? raw.terms.slice(-s.maxTerms) : []) {
    if (!e || typeof e.term !== 'string' || !e.term) continue;
    const t: TermState = { mean: count(e.mean), variance: count(e.variance), count: count(e.count) };
    if (typeof e.cooldownUntil === 'number' && Number.isFinite(e.cooldownUntil)) t.cooldownUntil = e.cooldownUntil;
    st.terms.set(e.term, t);
  }
  st.posts = (Array.isArray(raw.posts) ? raw.posts : [])
    .filter((p): p is string => typeof p === 'string')
    .slice(-KEPT_POSTS)
    .map((p) => cleanTerms(p.split(' ')));
  for (const c of Array.isArray(raw.clusters) ? raw.clusters : []) {
    if (!c || typeof c.id !== 'string' || !Number.isFinite(c.startedAt) || !Array.isArray(c.terms)) continue;
    const terms = c.terms.filter((t): t is string => typeof t === 'string' && t.length > 0);
    if (!terms.length) continue;
    st.clusters.push({ id: c.id, terms, startedAt: c.startedAt, because: typeof c.because === 'string' ? c.because : '', posts: count(c.posts), quietBuckets: count(c.quietBuckets) });
  }
  return st;
}

/** Plain JSON with no undefined values: what is stored is exactly what the next call reads. */
function toTracker(st: State): TermClusterTracker {
  return {
    bucketStart: st.bucketStart,
    buckets: st.buckets,
    terms: [...st.terms].map(([term, t]) => ({ term, mean: t.mean, variance: t.variance, count: t.count, ...(t.cooldownUntil !== undefined ? { cooldownUntil: t.cooldownUntil } : {}) })),
    posts: st.posts.map((p) => p.join(' ')),
    clusters: st.clusters.map((c) => ({ ...c, terms: [...c.terms] })),
  };
}

function checkSettings(s: TermClusterSettings): void {
  const bad: string[] = [];
  const need = (ok: boolean, what: string) => {
    if (!ok) bad.push(what);
  };
  const fin = (v: number) => typeof v === 'number' && Number.isFinite(v);
  need(fin(s.bucketMs) && s.bucketMs > 0, 'bucketMs > 0');
  need(fin(s.alpha) && s.alpha > 0 && s.alpha <= 1, '0 < alpha <= 1');
  need(fin(s.k) && s.k >= 0, 'k >= 0');
  need(fin(s.minCount) && s.minCount >= 1, 'minCount >= 1');
  need(Number.isInteger(s.maxTerms) && s.maxTerms >= 1, 'maxTerms an integer >= 1');
  need(fin(s.minOverlap) && s.minOverlap > 0 && s.minOverlap <= 1, '0 < minOverlap <= 1');
  need(Number.isInteger(s.quietBucketsToEnd) && s.quietBucketsToEnd >= 1, 'quietBucketsToEnd an integer >= 1');
  need(fin(s.cooldownMs) && s.cooldownMs >= 0, 'cooldownMs >= 0');
  need(fin(s.warmupBuckets) && s.warmupBuckets >= 0, 'warmupBuckets >= 0');
  if (bad.length) throw new RepwatchError('RW_ERR_CONFIG_INVALID', `term cluster settings out of range: ${bad.join(', ')}`, { details: { settings: s } });
}

function finiteOr(v: number, fallback: number): number {
  return Number.isFinite(v) ? v : fallback;
}
