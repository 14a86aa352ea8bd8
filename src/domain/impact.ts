import type { Judgement } from '../analysis/judgement';
import type { Author } from './mention';
import type { ImpactBreakdown } from './alert';

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** Followers on a log scale: 1 follower ≈ 0, 1,000 ≈ 0.5, 1,000,000 = 1; verified accounts get a little more. */
export function reachOf(author: Pick<Author, 'followers' | 'verified'>): number {
  return round3(clamp01(Math.log10(author.followers + 1) / 6 + (author.verified ? 0.05 : 0)));
}

/** How negative a post is, 0..1. A complaint counts at least as much as its complaint score. */
export function negativityOf(j: Judgement, complaintsAreNegative: boolean): number {
  const fromSentiment = j.sentiment.label === 'negative' ? Math.max(0.5, -j.sentiment.score) : Math.max(0, -j.sentiment.score);
  const fromComplaint = complaintsAreNegative && j.complaint.label ? j.complaint.score : 0;
  return round3(clamp01(Math.max(fromSentiment, fromComplaint)));
}

/** First impact score: negativity × reach, each term kept as the explanation. */
export function impactOf(j: Judgement, author: Pick<Author, 'followers' | 'verified'>, complaintsAreNegative: boolean): ImpactBreakdown {
  const negativity = negativityOf(j, complaintsAreNegative);
  const reach = reachOf(author);
  return { negativity, reach, score: round3(negativity * reach) };
}
