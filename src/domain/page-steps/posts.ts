import type { Judgement } from '../../analysis/judgement';
import type { PolicyConfig } from '../../config/schema';
import { fingerprintOf, stormFingerprintOf } from '../fingerprint';
import type { EngagementSample } from '../impact';
import { mentionKey, type Mention } from '../mention';
import { evaluatePost, isThreat, type BrandRef, type PostSignal } from '../policy';
import { DEFAULT_STORM_SETTINGS, type StormSettings } from '../storms';
import type { TermCluster } from '../term-clusters';
import { brandWords, contentTerms, topicOf } from '../terms';
import type { AlertBook } from './book';

/** A post of the page as it comes in (stored and judged). */
export interface PagePost {
  mention: Mention;
  judgement: Judgement;
  /** Stored for the first time by this page (storm counts only count a post once). */
  isNew: boolean;
  ingestedAt: number;
  /** Engagement measured again since the post was first seen. */
  samples?: EngagementSample[];
  /** A recheck of a post seen before: it updates the post's open alert and never starts one. */
  recheck?: boolean;
}

/** A post with what the policy says of it. */
export interface JudgedPost extends PagePost {
  postKey: string;
  topic: string;
  threat: boolean;
  signal: PostSignal | null;
  /**
   * Every fingerprint the post's signal may go to: its own, then (an author's post on no
   * particular topic) the author's topic fingerprints it may join. Empty without a signal.
   */
  fingerprints: string[];
  /** Post time (ms): storms are counted on the posts' own timeline. */
  at: number;
}

/** The brand as the steps see it. */
export interface PageBrand extends BrandRef {
  topics: Readonly<Record<string, readonly string[]>>;
  keywords: readonly string[];
  handles: readonly string[];
}

/** The brand-wide storm tracker's topic; configured topics have their own trackers. */
export const ALL_TOPICS = 'all';

/** A term cluster's storm topic key: one per cluster, so a later cluster of the same terms is a new storm. */
export const clusterKey = (c: Pick<TermCluster, 'id'>) => `cluster/${c.id}`;

export const stormKeyOf = (brandId: string, topic: string) => `${brandId}/${topic}`;

/** Storm topics (configured ones, then term clusters) in order, each with its storm fingerprint. */
export type StormTopics = ReadonlyMap<string, string>;

export function stormTopicsOf(brand: Pick<PageBrand, 'id' | 'topics'>, clusters: readonly Pick<TermCluster, 'id'>[]): StormTopics {
  const keys = [ALL_TOPICS, ...Object.keys(brand.topics), ...clusters.map(clusterKey)];
  return new Map(keys.map((k) => [k, stormFingerprintOf(brand.id, k)]));
}

/** What every step of a page shares: the brand, the clock and the terms of posts (computed once each). */
export interface PageContext {
  brand: PageBrand;
  now: number;
  /** `now` as ISO 8601. */
  at: string;
  storms: StormSettings;
  termsOf: (p: JudgedPost) => string[];
}

export function stormSettingsOf(policy: PolicyConfig): StormSettings {
  const s = policy.storms;
  return {
    ...DEFAULT_STORM_SETTINGS,
    ...(s.bucket !== undefined ? { bucketMs: s.bucket } : {}),
    ...(s.k !== undefined ? { k: s.k } : {}),
    ...(s.minCount !== undefined ? { minCount: s.minCount } : {}),
    ...(s.minShare !== undefined ? { minShare: s.minShare } : {}),
    ...(s.cooldown !== undefined ? { cooldownMs: s.cooldown } : {}),
    ...(s.climbBuckets !== undefined ? { climbBuckets: s.climbBuckets } : {}),
  };
}

export function pageContext(brand: PageBrand, now: number): PageContext {
  const excluded = brandWords(brand.keywords, brand.handles);
  const cache = new Map<string, string[]>();
  const termsOf = (p: JudgedPost) => {
    let terms = cache.get(p.postKey);
    if (!terms) cache.set(p.postKey, (terms = contentTerms(p.mention.text, excluded)));
    return terms;
  };
  return { brand, now, at: new Date(now).toISOString(), storms: stormSettingsOf(brand.policy), termsOf };
}

/** Step: each post's topic, whether it is a threat, its signal (fingerprint, severity, impact) and the fingerprints it may go to. */
export function judgePosts(brand: PageBrand, items: readonly PagePost[]): JudgedPost[] {
  const { policy } = brand;
  return items.map((item) => {
    const topic = topicOf(item.mention.text, brand.topics);
    const created = Date.parse(item.mention.createdAt);
    const signal = evaluatePost(brand, item.mention, item.judgement, { topic, ingestedAt: item.ingestedAt, samples: item.samples });
    // A post on no particular topic by an author with an open alert on a topic may join that alert
    // ("Update: still no answer" belongs with the complaint it follows).
    const joinable =
      signal && signal.scope === 'author' && topic === 'general'
        ? Object.keys(brand.topics).map((t) => fingerprintOf(brand.id, item.mention, t, signal.kind === 'opportunity' ? 'opportunity' : 'threat').value)
        : [];
    return {
      ...item,
      postKey: mentionKey(item.mention),
      topic,
      threat: isThreat(item.judgement, policy),
      signal,
      fingerprints: signal ? [signal.fingerprint, ...joinable] : [],
      // A post dated in the future (a skewed clock) would hold a storm tracker's clock back: clamp it.
      at: Number.isFinite(created) ? Math.min(created, item.ingestedAt + 60_000) : item.ingestedAt,
    };
  });
}

/**
 * Step: a post on no particular topic whose own fingerprint has no open alert joins the author's
 * open alert on a topic, when there is one. Changes: the signal's fingerprint and topic.
 */
export function joinOpenTopicAlerts(brand: PageBrand, posts: readonly JudgedPost[], book: AlertBook): JudgedPost[] {
  const isOpen = (fp: string) => !!book.target(fp).alert;
  return posts.map((p) => {
    if (!p.signal || isOpen(p.signal.fingerprint)) return p;
    const joined = p.fingerprints.slice(1).find(isOpen);
    if (!joined) return p;
    const topic = Object.keys(brand.topics)[p.fingerprints.indexOf(joined) - 1];
    return { ...p, signal: { ...p.signal, fingerprint: joined, topic } };
  });
}
