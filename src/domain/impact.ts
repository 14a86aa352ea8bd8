import type { Judgement } from '../analysis/judgement';
import type { ImpactBreakdown } from './alert';
import type { Author, Engagement } from './mention';

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const clamp01 = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);

/** Engagement as one number: a repost or quote carries a post further than a like. */
export function weightedEngagement(e: Engagement): number {
  return e.likes + 2 * e.reposts + 1.5 * e.replies + 3 * e.quotes;
}

/** Author influence: followers on a log scale (1 follower ≈ 0, 1,000 ≈ 0.5, 1,000,000 = 1), verification, platform weight. */
export function reachOf(author: Pick<Author, 'followers' | 'verified'>, platformWeight = 1): number {
  return round3(clamp01((Math.log10(author.followers + 1) / 6 + (author.verified ? 0.05 : 0)) * platformWeight));
}

/** Engagement so far on a log scale: 10,000 weighted interactions = 1. */
export function engagementOf(e: Engagement): number {
  return round3(clamp01(Math.log10(1 + weightedEngagement(e)) / 4));
}

/** One measurement of a post's engagement. */
export interface EngagementSample {
  /** ms since epoch. */
  at: number;
  engagement: Engagement;
}

/**
 * Engagement gained per minute, from the last two samples (or from the post's creation when there
 * is one sample: it started at zero then).
 */
export function engagementRate(createdAt: number, samples: readonly EngagementSample[]): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a.at - b.at);
  const last = sorted[sorted.length - 1];
  const prev = sorted.length > 1 ? sorted[sorted.length - 2] : { at: createdAt, engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 } };
  const minutes = Math.max(1, (last.at - prev.at) / 60_000);
  return Math.max(0, weightedEngagement(last.engagement) - weightedEngagement(prev.engagement)) / minutes;
}

/** Velocity on a log scale: 1,000 weighted interactions a minute = 1. */
export function velocityOf(ratePerMinute: number): number {
  return round3(clamp01(Math.log10(1 + ratePerMinute) / 3));
}

/**
 * Attention on a post decays roughly exponentially; with a time constant of an hour, a post
 * gaining r interactions a minute now still gains about r × 60 more. Each interaction shows the
 * post to people beyond the author's followers; 50 is a deliberately modest multiplier.
 */
export const ATTENTION_TIME_CONSTANT_MIN = 60;
export const AUDIENCE_PER_INTERACTION = 50;

/** People the post is expected to reach: the author's followers plus the audience its engagement brings. */
export function projectReach(followers: number, current: Engagement, ratePerMinute: number): number {
  const projected = weightedEngagement(current) + ratePerMinute * ATTENTION_TIME_CONSTANT_MIN;
  return Math.round(followers + projected * AUDIENCE_PER_INTERACTION);
}

/** How negative a post is, 0..1. A complaint counts at least as much as its complaint score. */
export function negativityOf(j: Judgement, complaintsAreNegative: boolean): number {
  const fromSentiment = j.sentiment.label === 'negative' ? Math.max(0.5, -j.sentiment.score) : Math.max(0, -j.sentiment.score);
  const fromComplaint = complaintsAreNegative && j.complaint.label ? j.complaint.score : 0;
  return round3(clamp01(Math.max(fromSentiment, fromComplaint)));
}

/** How positive a post is, 0..1 (for opportunities). */
export function positivityOf(j: Judgement): number {
  return round3(clamp01(j.sentiment.label === 'positive' ? Math.max(0.5, j.sentiment.score) : Math.max(0, j.sentiment.score)));
}

export interface ImpactInput {
  judgement: Judgement;
  author: Pick<Author, 'followers' | 'verified'>;
  engagement: Engagement;
  createdAt: number;
  /** Later measurements of the post's engagement (from rechecks); the current one counts as a sample when `now` is given. */
  samples?: readonly EngagementSample[];
  platformWeight?: number;
  complaintsAreNegative: boolean;
  /** 'positive' scores an opportunity (how positive) instead of a threat (how negative). */
  polarity?: 'negative' | 'positive';
}

/**
 * The impact score and each of its terms. The sentiment term (negativity, or complaint score)
 * scales how far the post travels: 70% author reach and projected audience, 15% engagement so
 * far, 15% velocity. Every term is kept with the alert as its explanation.
 */
export function impactOf(input: ImpactInput): ImpactBreakdown {
  const { judgement: j, author } = input;
  const weight = input.platformWeight ?? 1;
  const negativity = input.polarity === 'positive' ? positivityOf(j) : negativityOf(j, input.complaintsAreNegative);
  const complaint = j.complaint.label ? round3(clamp01(j.complaint.score)) : 0;
  const reach = reachOf(author, weight);
  const samples = input.samples ?? [];
  const latest = samples.length ? [...samples].sort((a, b) => a.at - b.at)[samples.length - 1].engagement : input.engagement;
  const rate = engagementRate(input.createdAt, samples);
  const projectedReach = projectReach(Math.round(author.followers * weight), latest, rate);
  const audience = Math.max(reach, reachOf({ followers: projectedReach, verified: author.verified }, 1));
  const engagement = engagementOf(latest);
  const velocity = velocityOf(rate);
  const sentimentTerm = input.polarity === 'positive' ? negativity : Math.max(negativity, input.complaintsAreNegative ? complaint : 0);
  const score = round3(clamp01(sentimentTerm * (0.7 * audience + 0.15 * engagement + 0.15 * velocity)));
  return { negativity, complaint, reach, engagement, velocity, projectedReach, score };
}
