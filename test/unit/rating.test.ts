import type { Judgement } from '../../src/analysis/judgement';
import { withRating } from '../../src/domain/rating';

const mild: Judgement = {
  lang: 'nl',
  langConfidence: 0.9,
  sentiment: { label: 'neutral', score: 0.05, confidence: 0.6 },
  complaint: { label: false, score: 0.2 },
  evidence: { negative: [], positive: [], complaint: [] },
};

describe('a review\'s stars in the judgement', () => {
  test.each([
    [1, 5, true],
    [2, 5, true],
    [3, 5, false],
    [5, 5, false],
    [1, 10, true],
  ] as const)('%i of %i stars: negative complaint = %s', (stars, outOf, low) => {
    const j = withRating(mild, { stars, outOf });
    if (low) {
      expect(j.sentiment.label).toBe('negative');
      expect(j.sentiment.score).toBeLessThanOrEqual(-0.6);
      expect(j.complaint.label).toBe(true);
      // The reason quotes the stars beside the words.
      expect(j.evidence.negative[0]).toBe(`${stars} of ${outOf} stars`);
      expect(j.evidence.complaint[0]).toBe(`${stars} of ${outOf} stars`);
    } else {
      expect(j).toEqual(mild);
    }
  });

  it('leaves posts without a rating as judged', () => {
    expect(withRating(mild, undefined)).toBe(mild);
    expect(withRating(mild, { stars: 1, outOf: 0 })).toBe(mild);
  });
});
