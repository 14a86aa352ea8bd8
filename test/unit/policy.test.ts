import type { Judgement } from '../../src/analysis/judgement';
import type { PolicyConfig } from '../../src/config/schema';
import { policySchema } from '../../src/config/schema';
import { authorKeyOf, fingerprintOf, isReply, stormFingerprintOf } from '../../src/domain/fingerprint';
import { engagementOf, engagementRate, impactOf, negativityOf, projectReach, reachOf, velocityOf } from '../../src/domain/impact';
import { acknowledge, escalate, isOverdue, resolve } from '../../src/domain/lifecycle';
import type { Mention } from '../../src/domain/mention';
import { applySignal, atLeast, evaluatePost, severityFor } from '../../src/domain/policy';
import { brandWords, contentTerms, topicOf } from '../../src/domain/terms';
import { thrown } from '../helpers';

const policy: PolicyConfig = policySchema.parse({
  criticalFollowers: 100_000,
  tiers: [
    { minFollowers: 1_000, severity: 'medium' },
    { minFollowers: 10_000, severity: 'high' },
    { minFollowers: 250, severity: 'low' },
  ],
  complaintsAreNegative: true,
});

function judgement(label: 'negative' | 'neutral' | 'positive', score: number, complaint = false, complaintScore = 0): Judgement {
  return {
    lang: 'nl',
    langConfidence: 0.9,
    sentiment: { label, score, confidence: 0.8 },
    complaint: { label: complaint, score: complaintScore },
    evidence: { negative: label === 'negative' ? ['vies', 'nooit meer'] : [], positive: [], complaint: complaint ? ['geen zeezicht'] : [] },
  };
}

function mention(followers: number, verified = false, extra: Partial<Mention> = {}): Mention {
  return {
    platform: 'x',
    postId: '1890000000000000003',
    url: 'https://x.com/femkesprint/status/1890000000000000003',
    brandId: 'hotel-zeezicht',
    author: { id: 'u1', handle: 'femkesprint', followers, verified },
    text: 'De kamer was vies en er was geen zeezicht. Nooit meer!',
    createdAt: '2026-03-10T10:12:00Z',
    engagement: { likes: 10, reposts: 2, replies: 1, quotes: 0 },
    ...extra,
  };
}

const brand = { id: 'hotel-zeezicht', name: 'Hotel Zeezicht', policy };
const NOW = Date.parse('2026-03-10T10:12:30Z');

const ctx = { topic: 'general', ingestedAt: NOW - 5_000 };
const NO_ENGAGEMENT = { likes: 0, reposts: 0, replies: 0, quotes: 0 };

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

describe('reach and impact', () => {
  test.each([
    [0, false, 1, 0],
    [999, false, 1, 0.5],
    [999_999, false, 1, 1],
    [312_400, false, 1, 0.916],
    [312_400, true, 1, 0.966],
    [50_000_000, true, 1, 1],
    [999, false, 0.5, 0.25],
  ])('reach of %i followers (verified %s, platform weight %f) = %f', (followers, verified, weight, expected) => {
    expect(reachOf({ followers, verified }, weight)).toBeCloseTo(expected, 3);
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

  test.each([
    [NO_ENGAGEMENT, 0],
    [{ likes: 9, reposts: 0, replies: 0, quotes: 0 }, 0.25],
    [{ likes: 9_999, reposts: 0, replies: 0, quotes: 0 }, 1],
    [{ likes: 0, reposts: 0, replies: 0, quotes: 3 }, 0.25],
  ])('engagement of %j = %f (a quote weighs three likes)', (e, expected) => expect(engagementOf(e)).toBeCloseTo(expected, 2));

  it('measures velocity between the last two samples, or since the post was created', () => {
    const created = Date.parse('2026-03-10T10:00:00Z');
    const five = { at: created + 5 * 60_000, engagement: { likes: 50, reposts: 0, replies: 0, quotes: 0 } };
    const fifteen = { at: created + 15 * 60_000, engagement: { likes: 1050, reposts: 0, replies: 0, quotes: 0 } };
    expect(engagementRate(created, [five])).toBeCloseTo(10, 5);
    expect(engagementRate(created, [fifteen, five])).toBeCloseTo(100, 5);
    expect(engagementRate(created, [])).toBe(0);
    expect(velocityOf(0)).toBe(0);
    expect(velocityOf(999)).toBeCloseTo(1, 3);
    // Followers plus the audience of the engagement so far and the engagement still to come.
    expect(projectReach(1000, fifteen.engagement, 100)).toBe(1000 + (1050 + 100 * 60) * 50);
  });

  it('combines every term and keeps each one', () => {
    const base = { judgement: judgement('negative', -0.8), author: { followers: 312_400, verified: true }, engagement: NO_ENGAGEMENT, createdAt: NOW, complaintsAreNegative: true };
    const still = impactOf(base);
    expect(still).toMatchObject({ negativity: 0.8, complaint: 0, reach: 0.966, engagement: 0, velocity: 0, projectedReach: 312_400 });
    expect(still.score).toBeCloseTo(0.8 * 0.7 * 0.966, 2);
    const viral = impactOf({ ...base, samples: [{ at: NOW + 10 * 60_000, engagement: { likes: 20_000, reposts: 5_000, replies: 900, quotes: 400 } }] });
    expect(viral.engagement).toBe(1);
    expect(viral.velocity).toBeGreaterThan(0.5);
    expect(viral.projectedReach).toBeGreaterThan(still.projectedReach);
    expect(viral.score).toBeGreaterThan(still.score);
    expect(impactOf({ ...base, judgement: judgement('neutral', 0, true, 0.9) }).complaint).toBe(0.9);
  });
});

describe('fingerprints and topics', () => {
  test.each([
    ['Sanne_Sprint', 'sannesprint'],
    ['@sanne.sprint', 'sannesprint'],
    ['SANNE-SPRINT', 'sannesprint'],
  ])('author key of %s = %s', (handle, key) => expect(authorKeyOf(handle)).toBe(key));

  it('gives a thread reply the thread, and anything else its author and topic', () => {
    const root = mention(2_000);
    const again = mention(2_000, false, { postId: '1890000000000000099', text: 'Nog steeds vies.' });
    const reply = mention(50, false, { postId: '1890000000000000100', author: { id: 'u9', handle: 'other', followers: 50, verified: false }, replyToId: root.postId, conversationId: root.postId });
    expect(isReply(root)).toBe(false);
    expect(isReply(reply)).toBe(true);
    expect(fingerprintOf('b', root, 'rooms', 'threat').value).toBe(fingerprintOf('b', again, 'rooms', 'threat').value);
    expect(fingerprintOf('b', root, 'rooms', 'threat').value).not.toBe(fingerprintOf('b', root, 'breakfast', 'threat').value);
    expect(fingerprintOf('b', root, 'rooms', 'threat').value).not.toBe(fingerprintOf('b', root, 'rooms', 'opportunity').value);
    expect(fingerprintOf('b', reply, 'rooms', 'threat')).toEqual({ value: `b/threat/thread/x/${root.postId}`, scope: 'thread' });
    expect(stormFingerprintOf('b', 'all')).toBe('b/storm/all');
  });

  const topics = { delivery: ['pakket', 'bezorging', 'parcel'], staff: ['receptie', 'personeel'] };
  test.each([
    ['Mijn PAKKET is nog steeds niet bezorgd', 'delivery'],
    ['Waar blijft mijn #pakket?', 'delivery'],
    ['De receptie reageert niet', 'staff'],
    ['pakketdienst is prima', 'general'],
    ['Nothing to see', 'general'],
  ])('topic of "%s" = %s', (text, topic) => expect(topicOf(text, topics)).toBe(topic));

  it('keeps content words, without function words, links, mentions and the brand', () => {
    const exclude = brandWords(['SnelPost'], ['@snelpost']);
    expect(contentTerms('@snelpost Mijn pakket is NIET bezorgd, echt waardeloos https://t.co/x SnelPost pakket', exclude)).toEqual(['pakket', 'bezorgd', 'waardeloos']);
  });
});

describe('evaluatePost', () => {
  it('makes a negative post from a large account a critical complaint with a readable explanation', () => {
    const signal = evaluatePost(brand, mention(312_400, true), judgement('negative', -0.8, true, 0.9), ctx)!;
    expect(signal).toMatchObject({ kind: 'complaint', severity: 'critical', topic: 'general', scope: 'author' });
    expect(signal.because.join('; ')).toContain('critical threshold of 100,000 followers');
    expect(signal.because.join('; ')).toContain("negative: 'vies', 'nooit meer'");
    expect(signal.because.join('; ')).toContain("complaint: 'geen zeezicht'");
    expect(signal.because.join('; ')).toMatch(/impact [\d.]+ from negativity 0.9, complaint 0.9, reach 0.966/);
    expect(signal.post.ingestedAt).toBe(new Date(NOW - 5_000).toISOString());
  });

  test.each([
    ['neutral post', judgement('neutral', 0), 312_400, null],
    ['negative post below every tier', judgement('negative', -0.9), 100, null],
    ['negative post from a mid-size account', judgement('negative', -0.6), 12_000, 'high'],
    ['polite complaint (neutral wording) from a 2k account', judgement('neutral', 0.05, true, 0.8), 2_000, 'medium'],
    ['positive post from a large account', judgement('positive', 0.8), 312_400, 'medium'],
    ['positive post from a mid-size account', judgement('positive', 0.8), 12_000, 'low'],
    ['positive post from a small account', judgement('positive', 0.8), 900, null],
  ] as const)('%s → %s', (_name, j, followers, expected) => {
    expect(evaluatePost(brand, mention(followers), j, ctx)?.severity ?? null).toBe(expected);
  });

  it('gives a review and a news item the audience of their platform, not their author\'s zero followers', () => {
    const review = evaluatePost(brand, mention(0, false, { platform: 'trustpilot', rating: { stars: 1, outOf: 5 } }), judgement('negative', -0.7, true, 0.8), ctx);
    expect(review?.severity).toBe('medium');
    expect(review?.because.join('; ')).toContain('audience 1,000');
    expect(evaluatePost(brand, mention(0, false, { platform: 'rss' }), judgement('negative', -0.7), ctx)?.severity).toBe('high');
    // Elsewhere zero followers stays below every tier.
    expect(evaluatePost(brand, mention(0, false, { platform: 'reddit' }), judgement('negative', -0.7), ctx)).toBeNull();
  });

  it('routes a large positive post as an opportunity, not an alarm', () => {
    const signal = evaluatePost(brand, mention(312_400), { ...judgement('positive', 0.8), evidence: { negative: [], positive: ['geweldig'], complaint: [] } }, ctx)!;
    expect(signal.kind).toBe('opportunity');
    expect(signal.fingerprint).toContain('/opportunity/');
    expect(signal.because.join('; ')).toContain("positive: 'geweldig'");
  });

  it('raises a small account whose post goes viral by its projected reach', () => {
    const m = mention(300);
    const quiet = evaluatePost(brand, m, judgement('negative', -0.8), ctx)!;
    expect(quiet.severity).toBe('low');
    const created = Date.parse(m.createdAt);
    const samples = [
      { at: created + 5 * 60_000, engagement: { likes: 400, reposts: 150, replies: 60, quotes: 20 } },
      { at: created + 15 * 60_000, engagement: { likes: 2_400, reposts: 900, replies: 300, quotes: 120 } },
    ];
    const viral = evaluatePost(brand, m, judgement('negative', -0.8), { ...ctx, samples })!;
    expect(viral.severity).toBe('critical');
    expect(viral.because[0]).toContain('projected reach');
    expect(viral.fingerprint).toBe(quiet.fingerprint);
  });

  it('weighs followers by platform', () => {
    const weighted = { ...brand, policy: { ...policy, platformWeights: { x: 0.5 } } };
    expect(evaluatePost(weighted, mention(150_000), judgement('negative', -0.8), ctx)?.severity).toBe('high');
  });
});

describe('applySignal', () => {
  const signal = (followers: number, postId: string, j = judgement('negative', -0.8)) => evaluatePost(brand, mention(followers, false, { postId }), j, ctx)!;

  it('starts an alert with an SLA deadline when critical', () => {
    const { alert, change } = applySignal(brand, undefined, 'fp-1', signal(312_400, '1'), true, NOW);
    expect(change).toBe('triggered');
    expect(alert).toMatchObject({ id: 'fp-1', count: 1, version: 1, status: 'triggered', severity: 'critical', createdAt: new Date(NOW).toISOString() });
    expect(alert.slaDeadline).toBe(new Date(NOW + 150_000).toISOString());
    expect(alert.reason).toContain('@femkesprint (312,400 followers)');
  });

  it('updates one alert: counts new posts once, raises severity, never lowers it', () => {
    const first = applySignal(brand, undefined, 'fp', signal(2_000, '1'), true, NOW).alert;
    expect(first.severity).toBe('medium');
    expect(first.slaDeadline).toBeUndefined();
    const second = applySignal(brand, first, 'fp', signal(2_000, '2'), true, NOW + 1000);
    expect(second).toMatchObject({ change: 'updated', alert: { count: 2, version: 2, severity: 'medium' } });
    expect(second.alert.title).toContain('2 posts');
    // The same post again (a retried page): nothing changes.
    expect(applySignal(brand, second.alert, 'fp', signal(2_000, '2'), false, NOW + 2000).change).toBe('none');
    const bigger = applySignal(brand, second.alert, 'fp', signal(312_400, '3'), true, NOW + 3000).alert;
    expect(bigger).toMatchObject({ severity: 'critical', count: 3 });
    expect(bigger.slaDeadline).toBe(new Date(NOW + 3000 + 150_000).toISOString());
    const smaller = applySignal(brand, bigger, 'fp', signal(300, '4'), true, NOW + 4000).alert;
    expect(smaller.severity).toBe('critical');
    expect(smaller.post.author.followers).toBe(312_400);
  });
});

describe('lifecycle', () => {
  const start = applySignal(brand, undefined, 'fp', evaluatePost(brand, mention(312_400), judgement('negative', -0.8), ctx)!, true, NOW).alert;

  it('goes triggered → acknowledged → resolved, with who and when', () => {
    const acked = acknowledge(start, 'anna', NOW + 60_000);
    expect(acked).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'anna', version: 2 });
    const done = resolve(acked, 'ben', NOW + 120_000);
    expect(done).toMatchObject({ status: 'resolved', resolvedBy: 'ben', resolvedAt: new Date(NOW + 120_000).toISOString(), version: 3 });
    expect(thrown(() => resolve(done, 'anna', NOW)).code).toBe('RW_ERR_ALERT_STATE');
    expect(thrown(() => acknowledge(done, 'anna', NOW)).code).toBe('RW_ERR_ALERT_STATE');
    expect(thrown(() => acknowledge(acked, 'anna', NOW)).code).toBe('RW_ERR_ALERT_STATE');
  });

  test.each([
    ['before the deadline', 149_999, 'triggered', false],
    ['at the deadline', 150_000, 'triggered', true],
    ['after, but acknowledged', 200_000, 'acknowledged', false],
  ] as const)('is overdue %s → %s', (_name, after, status, expected) => {
    expect(isOverdue({ ...start, status }, NOW + after)).toBe(expected);
  });

  it('escalates once', () => {
    const escalated = escalate(start, NOW + 150_000);
    expect(escalated.escalatedAt).toBe(new Date(NOW + 150_000).toISOString());
    expect(isOverdue(escalated, NOW + 300_000)).toBe(false);
  });
});
