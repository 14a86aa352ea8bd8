import type { Alert, AlertPost, StormSummary } from '../alert';
import { authorKeyOf, stormFingerprintOf } from '../fingerprint';
import { impactOf } from '../impact';
import type { BrandRef } from '../policy';
import { observe, topTerms, type StormTracker, type StormTransition, type TermCount } from '../storms';
import { DEFAULT_TERM_CLUSTER_SETTINGS, clusterOf, clusterTopic, observeTerms, type TermClusterTracker } from '../term-clusters';
import type { AlertBook } from './book';
import { ALL_TOPICS, clusterKey, stormKeyOf, type JudgedPost, type PageContext, type StormTopics } from './posts';

/** What the storm steps changed. */
export interface StormStepResult {
  book: AlertBook;
  /** Storms that started (a folded start is not a new storm). */
  stormsStarted: number;
}

export interface TrackerStepResult extends StormStepResult {
  /** Every tracker of the brand as it is now (read ones, moved on). */
  trackers: Map<string, StormTracker>;
  /** The trackers this page moved on: to write. */
  changedTrackers: Map<string, StormTracker>;
}

/**
 * Step: storms per topic tracker (the brand's and each configured topic's), on the posts' own
 * timeline; only posts stored for the first time are counted. Changes: the trackers, and storm
 * alerts started, grown or calmed down (or folded into the brand's open storm).
 */
export function observeStorms(ctx: PageContext, posts: readonly JudgedPost[], read: { trackers: ReadonlyMap<string, StormTracker>; stormTopics: StormTopics; book: AlertBook }): TrackerStepResult {
  const book = read.book.fork();
  const trackers = new Map(read.trackers);
  const changedTrackers = new Map<string, StormTracker>();
  let stormsStarted = 0;
  const fresh = posts.filter((p) => p.isNew);
  if (fresh.length === 0) return { book, trackers, changedTrackers, stormsStarted };
  for (const topic of [ALL_TOPICS, ...Object.keys(ctx.brand.topics)]) {
    const key = stormKeyOf(ctx.brand.id, topic);
    // Every tracker sees every post, so its clock and baseline move on even when its topic is
    // quiet; only its topic's negative posts count as negative for it.
    const inTopic = (p: JudgedPost) => topic === ALL_TOPICS || p.topic === topic;
    const { tracker, transitions } = observe(
      trackers.get(key),
      fresh.map((p) => ({ at: p.at, negative: p.threat && inTopic(p), terms: p.threat && inTopic(p) ? ctx.termsOf(p) : [] })),
      ctx.storms,
    );
    trackers.set(key, tracker);
    changedTrackers.set(key, tracker);
    const negatives = fresh.filter((p) => p.threat && inTopic(p));
    for (const t of transitions) stormsStarted += applyStorm(ctx, book, read.stormTopics, topic, topic, t, tracker.storm ? topTerms(tracker, 8) : [], negatives);
  }
  return { book, trackers, changedTrackers, stormsStarted };
}

export interface ClusterStepResult extends StormStepResult {
  /** The brand's term clusters as they are now (read, or moved on by this page). */
  clusters?: TermClusterTracker;
  /** Set when this page moved the clusters on: to write. */
  observed?: TermClusterTracker;
  /** Storm topics with the clusters this page started. */
  stormTopics: StormTopics;
}

/**
 * Step: term clusters, a pile-on about something no configured topic names ('app', 'storing').
 * An open cluster is a storm topic of its own. Changes: the cluster tracker, and the clusters'
 * storm alerts (or the brand's open storm they fold into).
 */
export function observeTermClusters(ctx: PageContext, posts: readonly JudgedPost[], read: { clusters?: TermClusterTracker; stormTopics: StormTopics; book: AlertBook }): ClusterStepResult {
  const book = read.book.fork();
  const stormTopics = new Map(read.stormTopics);
  const stored = read.clusters;
  const fresh = posts.filter((p) => p.isNew);
  const threats = fresh.filter((p) => p.threat);
  const observed = threats.length
    ? observeTerms(stored, threats.map((p) => ({ at: p.at, terms: ctx.termsOf(p) })), { ...DEFAULT_TERM_CLUSTER_SETTINGS, bucketMs: ctx.storms.bucketMs, cooldownMs: ctx.storms.cooldownMs })
    : undefined;
  const clusters = observed?.tracker ?? stored;
  let stormsStarted = 0;
  for (const t of observed?.transitions ?? []) {
    const cluster = t.type === 'started' ? t.cluster : [...clusters!.clusters, ...(stored?.clusters ?? [])].find((c) => c.id === t.clusterId);
    if (!cluster) continue;
    const key = clusterKey(cluster);
    if (!stormTopics.has(key)) stormTopics.set(key, stormFingerprintOf(ctx.brand.id, key));
    const inCluster = threats.filter((p) => clusterOf(clusters, ctx.termsOf(p))?.id === cluster.id);
    const live = t.type === 'ended' ? [] : cluster.terms.map((term) => ({ term, count: clusters!.terms.find((x) => x.term === term)?.count ?? 0 }));
    const transition: StormTransition =
      t.type === 'started'
        ? { type: 'started', at: t.at, trigger: 'spike', because: cluster.because, figures: { negative: cluster.posts, total: fresh.length, share: threats.length / fresh.length, baselineMean: 0, baselineShare: 0, threshold: 0 } }
        : t.type === 'grew'
          ? { type: 'continued', at: t.at, negative: inCluster.length }
          : { type: 'ended', at: t.at, because: t.because };
    // (A term cluster's posts are negatives the brand's own tracker has counted already.)
    stormsStarted += applyStorm(ctx, book, stormTopics, key, clusterTopic(cluster), transition, live, inCluster, true);
  }
  return { book, clusters, observed: observed?.tracker, stormTopics, stormsStarted };
}

/** The storm a post joins: its term cluster's, its topic's, else the brand's, else any open one of the brand. */
export function openStormFor(
  ctx: PageContext,
  p: JudgedPost,
  topic: string,
  storms: { book: AlertBook; trackers: ReadonlyMap<string, StormTracker>; clusters?: TermClusterTracker; stormTopics: StormTopics },
): Alert | undefined {
  const cluster = storms.clusters?.clusters.length ? clusterOf(storms.clusters, ctx.termsOf(p)) : undefined;
  const candidates = [...(cluster ? [clusterKey(cluster)] : []), ...(topic === 'general' ? [ALL_TOPICS] : [topic, ALL_TOPICS])];
  if (!cluster && !candidates.some((t) => storms.trackers.get(stormKeyOf(ctx.brand.id, t))?.storm)) return undefined;
  for (const t of [...candidates, ...storms.stormTopics.keys()]) {
    const fp = storms.stormTopics.get(t);
    const found = fp ? storms.book.target(fp).alert : undefined;
    if (found?.kind === 'storm' && !found.storm?.endedAt) return found;
  }
  return undefined;
}

/** The storm alert already open for this brand under another topic, if any. */
function otherOpenStorm(book: AlertBook, stormTopics: StormTopics, topic: string): { alert: Alert; topic: string } | undefined {
  for (const [t, fp] of stormTopics) {
    if (t === topic) continue;
    const found = book.target(fp).alert;
    if (found?.kind === 'storm' && !found.storm?.endedAt) return { alert: found, topic: found.topic ?? t };
  }
  return undefined;
}

/**
 * A tracker's transition to the storm alert of its topic, or folded into the brand's open storm:
 * one pile-on is one storm, whether the brand-wide tracker or a topic's tracker noticed it first.
 * Changes `book`; returns 1 when a storm started.
 */
function applyStorm(
  ctx: PageContext,
  book: AlertBook,
  stormTopics: StormTopics,
  topicKey: string,
  label: string,
  t: StormTransition,
  liveTerms: TermCount[],
  negatives: JudgedPost[],
  foldedCountsNothing = false,
): number {
  let fp = stormTopics.get(topicKey)!;
  let { alert, id, generation } = book.target(fp);
  let transition = t;
  let alertTopic = label;
  let terms = liveTerms;
  if (!alert || alert.storm?.endedAt) {
    const other = otherOpenStorm(book, stormTopics, topicKey);
    if (other) {
      // Fold into the open storm: a start becomes more posts for it; an end of this tracker is not its end.
      if (t.type === 'ended') return 0;
      transition = { type: 'continued', at: t.at, negative: foldedCountsNothing ? 0 : t.type === 'started' ? t.figures.negative : t.negative };
      alert = other.alert;
      fp = other.alert.fingerprint;
      id = other.alert.id;
      generation = book.target(fp).generation;
      alertTopic = other.topic;
      // The open storm keeps its terms and takes in this tracker's.
      terms = mergeTerms(other.alert.storm?.topTerms ?? [], liveTerms);
    }
  }
  const next = stormAlert(ctx.brand, alertTopic, alert, id, fp, transition, terms, negatives, ctx.now);
  if (!next) return 0;
  book.change(next, transition.type === 'started' && !alert ? 'storm' : 'updated', fp, generation);
  return transition.type === 'started' && (!alert || alert.storm?.endedAt) ? 1 : 0;
}

/** Two term lists as one: counts added per term, the 8 largest kept. */
function mergeTerms(a: TermCount[], b: TermCount[]): TermCount[] {
  const sum = new Map<string, number>();
  for (const { term, count } of [...a, ...b]) sum.set(term, (sum.get(term) ?? 0) + count);
  return [...sum].map(([term, count]) => ({ term, count })).sort((x, y) => y.count - x.count || (x.term < y.term ? -1 : 1)).slice(0, 8);
}

const STORM_TOP_POSTS = 5;
const STORM_TOP_AUTHORS = 5;

function impactFor(p: JudgedPost, policy: BrandRef['policy']): number {
  if (p.signal) return p.signal.impact.score;
  return impactOf({
    judgement: p.judgement,
    author: p.mention.author,
    engagement: p.mention.engagement,
    createdAt: p.at,
    platformWeight: policy.platformWeights[p.mention.platform] ?? 1,
    complaintsAreNegative: policy.complaintsAreNegative,
  }).score;
}

function leadPost(p: JudgedPost): AlertPost {
  const { mention: m, judgement: j } = p;
  return {
    platform: m.platform,
    postId: m.postId,
    url: m.url,
    text: m.text,
    lang: j.lang,
    createdAt: m.createdAt,
    ingestedAt: new Date(p.ingestedAt).toISOString(),
    author: { id: m.author.id, handle: m.author.handle, name: m.author.name, followers: m.author.followers, verified: m.author.verified },
    sentiment: { label: j.sentiment.label, score: j.sentiment.score },
    complaint: { label: j.complaint.label, score: j.complaint.score },
    evidence: j.evidence,
    engagement: { ...m.engagement },
  };
}

/** The storm alert after a transition: its summary (top terms, posts, authors) grows with each page. */
export function stormAlert(
  brand: BrandRef,
  topic: string,
  existing: Alert | undefined,
  id: string,
  fingerprint: string,
  t: StormTransition,
  /** The storm's terms while it is open (empty once it ended: the alert keeps its last ones). */
  liveTerms: TermCount[],
  negatives: JudgedPost[],
  now: number,
): Alert | null {
  const at = new Date(now).toISOString();
  if (!existing && t.type !== 'started') return null;
  const prior: StormSummary = existing?.storm ?? { trigger: 'spike', because: '', topTerms: [], topPosts: [], topAuthors: [], negativePosts: 0, joinedAlerts: 0 };
  const scored = negatives.map((p) => ({ p, impact: impactFor(p, brand.policy) }));
  const topPosts = [
    ...prior.topPosts.filter((tp) => !negatives.some((n) => n.mention.platform === tp.platform && n.mention.postId === tp.postId)),
    ...scored.map(({ p, impact }) => ({ platform: p.mention.platform, postId: p.mention.postId, url: p.mention.url, text: p.mention.text.slice(0, 280), handle: p.mention.author.handle, followers: p.mention.author.followers, impact })),
  ]
    .sort((a, b) => b.impact - a.impact)
    .slice(0, STORM_TOP_POSTS);
  const authors = new Map(prior.topAuthors.map((a) => [authorKeyOf(a.handle), { ...a }]));
  for (const { mention } of negatives) {
    const key = authorKeyOf(mention.author.handle);
    const a = authors.get(key) ?? { handle: mention.author.handle, followers: mention.author.followers, posts: 0 };
    a.posts++;
    authors.set(key, a);
  }
  const topAuthors = [...authors.values()].sort((a, b) => b.posts - a.posts || b.followers - a.followers).slice(0, STORM_TOP_AUTHORS);
  const summary: StormSummary = {
    ...prior,
    topTerms: liveTerms.length ? liveTerms : prior.topTerms,
    topPosts,
    topAuthors,
    negativePosts: prior.negativePosts + (t.type === 'continued' ? t.negative : 0),
  };
  if (t.type === 'started') {
    summary.trigger = t.trigger;
    summary.because = t.because;
    summary.negativePosts = prior.negativePosts + t.figures.negative;
    delete summary.endedAt;
  }
  if (t.type === 'ended') summary.endedAt = at;

  const best = scored.sort((a, b) => b.impact - a.impact)[0]?.p;
  const post = best && (!existing || (topPosts[0] && topPosts[0].postId === best.mention.postId)) ? leadPost(best) : existing?.post;
  if (!post) return null;
  const where = topic === ALL_TOPICS ? brand.name : `${brand.name} (${topic})`;
  const terms = summary.topTerms.slice(0, 5).map((x) => `'${x.term}'`).join(', ');
  const title = `Storm: ${summary.negativePosts} negative posts about ${where}${summary.endedAt ? ' (calmed down)' : ''}`;
  const reason =
    `Storm (${summary.trigger === 'climb' ? 'slow climb' : 'sudden spike'}) about ${where}: ${summary.because}` +
    (terms ? `; top terms ${terms}` : '') +
    (topAuthors.length ? `; most active ${topAuthors.slice(0, 3).map((a) => `@${a.handle} (${a.posts})`).join(', ')}` : '') +
    (summary.joinedAlerts ? `; ${summary.joinedAlerts} single-post alerts grouped into it` : '') +
    '.';
  const leadImpact = topPosts[0]?.impact ?? 0;
  const base = existing ?? {
    id,
    fingerprint,
    brandId: brand.id,
    brandName: brand.name,
    kind: 'storm' as const,
    severity: 'high' as const,
    status: 'triggered' as const,
    topic,
    count: 0,
    createdAt: at,
    version: 0,
  };
  return {
    ...base,
    title,
    reason,
    post,
    impact: { negativity: 1, complaint: 0, reach: 0, engagement: 0, velocity: 0, projectedReach: topPosts.reduce((n, tp) => n + tp.followers, 0), score: leadImpact },
    count: summary.negativePosts,
    storm: summary,
    updatedAt: at,
    version: base.version + 1,
  };
}
