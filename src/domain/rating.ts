import type { Judgement } from '../analysis/judgement';
import type { Mention } from './mention';

/** At or below this share of the stars (2 of 5), a review is negative and a complaint whatever its words. */
const LOW_SHARE = 0.4;

/**
 * A review's stars are the reviewer's own verdict: a one-star review is negative even when its
 * words are mild ("Jammer."), and it is a complaint about the brand. The evidence says so, so the
 * alert's reason quotes the stars beside the words.
 */
export function withRating(judgement: Judgement, rating: Mention['rating']): Judgement {
  if (!rating || !(rating.outOf > 0)) return judgement;
  const share = rating.stars / rating.outOf;
  if (share > LOW_SHARE) return judgement;
  const stars = `${rating.stars} of ${rating.outOf} stars`;
  return {
    ...judgement,
    sentiment: { label: 'negative', score: Math.min(judgement.sentiment.score, -0.6), confidence: Math.max(judgement.sentiment.confidence, 0.9) },
    complaint: { label: true, score: Math.max(judgement.complaint.score, 0.8) },
    evidence: { ...judgement.evidence, negative: [stars, ...judgement.evidence.negative], complaint: [stars, ...judgement.evidence.complaint] },
  };
}
