import type { Judgement } from '../../src/analysis/judgement';
import type { PolicyConfig } from '../../src/config/schema';
import { impactOf, negativityOf, reachOf } from '../../src/domain/impact';
import type { Mention } from '../../src/domain/mention';
import { atLeast, evaluatePost, fingerprintOf, severityFor } from '../../src/domain/policy';

const policy: PolicyConfig = {
  criticalFollowers: 100_000,
  tiers: [
    { minFollowers: 1_000, severity: 'medium' },
    { minFollowers: 10_000, severity: 'high' },
    { minFollowers: 250, severity: 'low' },
  ],
  complaintsAreNegative: true,
};

function judgement(label: 'negative' | 'neutral' | 'positive', score: number, complaint = false, complaintScore = 0): Judgement {
  return {
    lang: 'nl',
    langConfidence: 0.9,
    sentiment: { label, score, confidence: 0.8 },
    complaint: { label: complaint, score: complaintScore },
    evidence: { negative: label === 'negative' ? ['vies', 'nooit meer'] : [], positive: [], complaint: complaint ? ['geen zeezicht'] : [] },
  };
}

function mention(followers: number, verified = false): Mention {
  return {
    platform: 'x',
    postId: '1890000000000000003',
    url: 'https://x.com/femkesprint/status/1890000000000000003',
    brandId: 'hotel-zeezicht',
    author: { id: 'u1', handle: 'femkesprint', followers, verified },
    text: 'De kamer was vies en er was geen zeezicht. Nooit meer!',
    createdAt: '2026-03-10T10:12:00Z',
    engagement: { likes: 10, reposts: 2, replies: 1, quotes: 0 },
  };
}

const brand = { id: 'hotel-zeezicht', name: 'Hotel Zeezicht', policy };
const NOW = Date.parse('2026-03-10T10:12:30Z');

describe('severityFor', () => {
  test.each([
    [312_400, 'critical'],
    [100_000, 'critical'],
    [99_999, 'high'],
    [10_000, 'high'],
    [9_999, 'medium'],
    [1_000, 'medium'],
    [999, 'low'],
    [250, 'low'],
    [249, null],
    [0, null],
  ])('%i followers → %s (tiers in any order)', (followers, expected) => {
    expect(severityFor(followers, policy)).toBe(expected);
  });
});

describe('atLeast', () => {
  test.each([
    ['critical', 'info', true],
    ['medium', 'medium', true],
    ['low', 'medium', false],
    ['info', 'critical', false],
  ] as const)('%s at least %s → %s', (s, min, expected) => expect(atLeast(s, min)).toBe(expected));
});

describe('impact', () => {
  test.each([
    [0, false, 0],
    [999, false, 0.5],
    [999_999, false, 1],
    [312_400, false, 0.916],
    [312_400, true, 0.966],
    [50_000_000, true, 1],
  ])('reach of %i followers (verified %s) = %f', (followers, verified, expected) => {
    expect(reachOf({ followers, verified })).toBeCloseTo(expected, 3);
  });

  test.each([
    [judgement('negative', -0.8), true, 0.8],
    [judgement('negative', -0.2), true, 0.5],
    [judgement('neutral', 0.1, true, 0.7), true, 0.7],
    [judgement('neutral', 0.1, true, 0.7), false, 0],
    [judgement('positive', 0.9), true, 0],
  ])('negativity of %j (complaints count: %s) = %f', (j, complaintsCount, expected) => {
    expect(negativityOf(j, complaintsCount)).toBeCloseTo(expected, 3);
  });

  it('is negativity × reach, every term kept', () => {
    const impact = impactOf(judgement('negative', -0.8), { followers: 312_400, verified: true }, true);
    expect(impact).toEqual({ negativity: 0.8, reach: 0.966, score: 0.773 });
  });
});

describe('evaluatePost', () => {
  it('makes a negative post from a large account a critical alert with a readable reason', () => {
    const alert = evaluatePost(brand, mention(312_400, true), judgement('negative', -0.8, true, 0.9), NOW, NOW - 5_000)!;
    expect(alert.severity).toBe('critical');
    expect(alert.id).toBe('hotel-zeezicht/x/1890000000000000003');
    expect(alert.reason).toContain('@femkesprint (312,400 followers, verified)');
    expect(alert.reason).toContain('critical threshold of 100,000 followers');
    expect(alert.reason).toContain("negative: 'vies', 'nooit meer'");
    expect(alert.reason).toContain("complaint: 'geen zeezicht'");
    expect(alert.impact.score).toBeCloseTo(alert.impact.negativity * alert.impact.reach, 2);
    expect(alert.createdAt).toBe(new Date(NOW).toISOString());
    expect(alert.post.ingestedAt).toBe(new Date(NOW - 5_000).toISOString());
  });

  test.each([
    ['positive post from a large account', judgement('positive', 0.8), 312_400, null],
    ['neutral post', judgement('neutral', 0), 312_400, null],
    ['negative post below every tier', judgement('negative', -0.9), 100, null],
    ['negative post from a mid-size account', judgement('negative', -0.6), 12_000, 'high'],
    ['polite complaint (neutral wording) from a 2k account', judgement('neutral', 0.05, true, 0.8), 2_000, 'medium'],
  ] as const)('%s → %s', (_name, j, followers, expected) => {
    expect(evaluatePost(brand, mention(followers), j, NOW, NOW)?.severity ?? null).toBe(expected);
  });

  it('gives the same fingerprint for the same post, whatever the clock says', () => {
    const a = evaluatePost(brand, mention(312_400), judgement('negative', -0.8), NOW, NOW)!;
    const b = evaluatePost(brand, mention(312_400), judgement('negative', -0.5), NOW + 60_000, NOW + 60_000)!;
    expect(a.id).toBe(b.id);
    expect(fingerprintOf('snelpost', mention(1))).not.toBe(a.id);
  });
});
