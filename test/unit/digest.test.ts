import type { Alert } from '../../src/domain/alert';
import type { Case } from '../../src/domain/cases';
import {
  TOP_COMPLAINTS,
  buildDigest,
  cronOf,
  digestPeriod,
  latestRunAt,
  previousPeriods,
  shareTrend,
  volumeTrend,
  type DigestInput,
  type DigestTiming,
  type Trend,
} from '../../src/domain/digest';
import { digestMessage } from '../../src/notifiers/slack-digest';
import { fixtureEvent } from '../fixtures/alert-event';

const H = 3_600_000;
const FROM = Date.parse('2026-03-10T08:00:00Z');
const TO = FROM + 24 * H;
const at = (ms: number) => new Date(ms).toISOString();

let n = 0;
function alert(o: Partial<Alert> & { score?: number; handle?: string } = {}): Alert {
  const base = fixtureEvent().alert;
  const { score, handle, ...rest } = o;
  const id = rest.id ?? `hotel-zeezicht/a${++n}`;
  return {
    ...base,
    id,
    fingerprint: id,
    kind: 'complaint',
    createdAt: at(FROM + H),
    updatedAt: at(FROM + H),
    ...rest,
    impact: { ...base.impact, score: score ?? base.impact.score },
    post: { ...(rest.post ?? base.post), author: { ...(rest.post ?? base.post).author, handle: handle ?? (rest.post ?? base.post).author.handle } },
  };
}
function recoveredCase(id: string, state: 'recovered' | 'not-recovered' | 'watching', decidedAt?: number): Case {
  return {
    id,
    brandId: 'hotel-zeezicht',
    authorKeys: [],
    conversationKeys: [],
    handles: [`${id}-handle`],
    platforms: ['x'],
    state: 'resolved',
    openedAt: FROM - 48 * H,
    lastPostAt: FROM - 24 * H,
    posts: 2,
    recovery: { state, until: TO + 7 * 24 * H, ...(decidedAt !== undefined ? { decidedAt, because: 'a positive post afterwards' } : {}) },
    timeline: [],
  };
}
const daily: DigestTiming = { schedule: 'daily', at: '09:00', timeZone: 'Europe/Amsterdam' };
function input(o: Partial<DigestInput> = {}): DigestInput {
  return {
    brand: { id: 'hotel-zeezicht', name: 'Hotel Zeezicht' },
    timing: daily,
    period: { from: FROM, to: TO },
    current: { posts: 100, negative: 20, complaints: 5 },
    previous: Array.from({ length: 7 }, () => ({ posts: 100, negative: 20, complaints: 5 })),
    alerts: [],
    cases: [],
    ...o,
  };
}

describe('digest: volume and negative share against the usual', () => {
  it.each<[string, number, number | undefined, Trend]>([
    ['no history', 10, undefined, 'no-history'],
    ['the same', 100, 100, 'usual'],
    ['half again, and at least 5 more', 150, 100, 'above'],
    ['a ratio that is only noise (3 against 1)', 3, 1, 'usual'],
    ['just under half again', 149, 100, 'usual'],
    ['a third of usual', 33, 100, 'below'],
    ['zero against a busy usual', 0, 40, 'below'],
    ['zero against a quiet usual', 0, 4, 'usual'],
    ['posts where there were none', 12, 0, 'above'],
  ])('volume: %s', (_what, posts, usual, trend) => {
    expect(volumeTrend(posts, usual)).toBe(trend);
  });

  it.each<[string, number, number | undefined, number | undefined, Trend]>([
    ['no posts now', 0, undefined, 0.2, 'no-history'],
    ['no history', 50, 0.3, undefined, 'no-history'],
    ['ten points up', 50, 0.3, 0.2, 'above'],
    ['nine points up', 50, 0.29, 0.2, 'usual'],
    ['ten points down', 50, 0.1, 0.2, 'below'],
    ['too few posts to tell', 9, 0.9, 0.1, 'usual'],
  ])('negative share: %s', (_what, posts, share, usual, trend) => {
    expect(shareTrend(posts, share, usual)).toBe(trend);
  });

  it.each<[string, Partial<DigestInput>, Record<string, unknown>]>([
    ['a usual day', {}, { posts: 100, usualPosts: 100, change: 0, trend: 'usual', negativeShare: 0.2, usualNegativeShare: 0.2, negativeTrend: 'usual', periodsCompared: 7 }],
    [
      'a busy, negative day against a varied week (median, pooled share)',
      { current: { posts: 300, negative: 150, complaints: 40 }, previous: [80, 90, 100, 110, 120, 1000, 95].map((p) => ({ posts: p, negative: p / 10, complaints: 0 })) },
      { posts: 300, usualPosts: 100, change: 2, trend: 'above', negativeShare: 0.5, usualNegativeShare: 0.1, negativeTrend: 'above', complaints: 40 },
    ],
    ['a new brand', { previous: [] }, { trend: 'no-history', negativeTrend: 'no-history', periodsCompared: 0 }],
  ])('%s', (_what, o, volume) => {
    expect(buildDigest(input(o)).volume).toMatchObject(volume);
  });
});

describe('digest: alerts, storms, complaints and recoveries', () => {
  const critical = alert({ severity: 'critical', status: 'triggered', score: 0.9, handle: 'athlete', escalatedAt: at(FROM + 2 * H) });
  const acked = alert({ severity: 'high', status: 'acknowledged', score: 0.7, handle: 'acked' });
  const old = alert({ severity: 'medium', status: 'triggered', score: 0.4, createdAt: at(FROM - 30 * H), handle: 'old' });
  const resolved = alert({ severity: 'high', status: 'resolved', score: 0.95, handle: 'resolved' });
  const afterPeriod = alert({ severity: 'critical', status: 'triggered', score: 0.99, createdAt: at(TO + H), handle: 'later' });
  const negativePost = alert({ kind: 'negative-post', severity: 'low', status: 'triggered', score: 0.99, handle: 'notacomplaint' });
  const otherBrand = alert({ brandId: 'snelpost', severity: 'critical', status: 'triggered' });
  const storm = (o: Partial<Alert>) => alert({ kind: 'storm', severity: 'high', status: 'triggered', title: 'Storm', storm: { trigger: 'spike', because: 'x', topTerms: [{ term: 'vies', count: 9 }], topPosts: [], topAuthors: [], negativePosts: 12, joinedAlerts: 3 }, ...o });
  const ongoing = storm({ id: 'storm-ongoing', createdAt: at(FROM - 2 * H) });
  const endedInside = storm({ id: 'storm-ended', createdAt: at(FROM - 3 * H), storm: { ...ongoing.storm!, endedAt: at(FROM + H) } });
  const endedBefore = storm({ id: 'storm-before', status: 'resolved', createdAt: at(FROM - 30 * H), resolvedAt: at(FROM - 20 * H) });
  const startsAfter = storm({ id: 'storm-after', createdAt: at(TO + 1) });
  const digest = buildDigest(
    input({
      alerts: [critical, acked, old, resolved, afterPeriod, negativePost, otherBrand, ongoing, endedInside, endedBefore, startsAfter, critical],
      cases: [recoveredCase('c1', 'recovered', FROM + 5 * H), recoveredCase('c2', 'recovered', FROM + 9 * H), recoveredCase('c3', 'not-recovered', FROM + 1), recoveredCase('c4', 'recovered', FROM - 1), recoveredCase('c5', 'watching')],
    }),
  );

  it.each<[string, () => unknown, unknown]>([
    ['open alerts by severity: this brand, open at the end of the period, each once', () => digest.openAlerts, { total: 6, unacknowledged: 5, escalated: 1, bySeverity: { critical: 1, high: 3, medium: 1, low: 1, info: 0 } }],
    ['new alerts in the period by kind', () => digest.newAlerts.total, 4],
    ['storms that overlap the period, newest first', () => digest.storms.map((s) => s.alertId), ['storm-ongoing', 'storm-ended']],
    ['a storm that ended says when', () => digest.storms[1].endedAt, at(FROM + H)],
    ['storm terms', () => digest.storms[0].topTerms, ['vies']],
    ['open complaints, highest impact first', () => digest.unansweredComplaints.top.map((c) => c.handle), ['athlete', 'acked', 'old']],
    ['how long the oldest complaint has been open', () => digest.unansweredComplaints.top[2].openForMs, 54 * H],
    ['recoveries decided in the period', () => [digest.recoveries.recovered, digest.recoveries.notRecovered, digest.recoveries.watching], [2, 1, 1]],
    ['recovered customers, latest first', () => digest.recoveries.recoveredCases.map((c) => c.caseId), ['c2', 'c1']],
    ['a deterministic id per brand and period', () => digest.id, `digest/hotel-zeezicht/daily/${at(TO)}`],
    ['not quiet', () => digest.quiet, false],
  ])('%s', (_what, get, expected) => {
    expect(get()).toEqual(expected);
  });

  it('lists at most the top complaints and counts the rest', () => {
    const many = Array.from({ length: TOP_COMPLAINTS + 3 }, (_, i) => alert({ status: 'triggered', score: i / 10, handle: `h${i}` }));
    const d = buildDigest(input({ alerts: many }));
    expect(d.unansweredComplaints.top.map((c) => c.handle)).toEqual(['h7', 'h6', 'h5', 'h4', 'h3']);
    expect(d.unansweredComplaints.more).toBe(3);
  });

  it('is quiet when nothing happened, and says so in Slack', () => {
    const d = buildDigest(input({ current: { posts: 0, negative: 0, complaints: 0 }, previous: [] }));
    expect(d.quiet).toBe(true);
    expect(JSON.stringify(digestMessage(d).blocks)).toContain('A quiet period');
  });

  it('reads as a Slack summary: figures, the complaints with links, and no markup from posts', () => {
    const sneaky = alert({ status: 'triggered', score: 0.99, handle: 'sneaky', post: { ...fixtureEvent().alert.post, text: 'Hey <!channel> look *here*', author: { ...fixtureEvent().alert.post.author, handle: 'sneaky' } } });
    const message = digestMessage(buildDigest(input({ alerts: [sneaky, ongoing] })));
    const text = JSON.stringify(message.blocks);
    expect(message.text).toMatch(/^📊 Daily digest: Hotel Zeezicht: 100 posts, 20% negative, 2 open alerts, 1 open complaints/);
    expect(text).toContain('100 posts (usual 100, +0%)');
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('<https://x.com/sanne_sprint/status/1859732001234567890|@sneaky>');
    expect(text).toContain('Tue 10 Mar, 09:00 – Wed 11 Mar, 09:00 (Europe/Amsterdam)');
    expect(message.blocks.length).toBeLessThanOrEqual(50);
  });
});

describe('digest periods in a time zone', () => {
  const t = (s: string) => Date.parse(s);
  it.each<[string, DigestTiming, string, string, string]>([
    ['daily 09:00 Amsterdam in winter (UTC+1)', daily, '2026-03-10T08:00:30Z', '2026-03-09T08:00:00.000Z', '2026-03-10T08:00:00.000Z'],
    ['a job that starts a few seconds early belongs to its own time', daily, '2026-03-10T07:59:50Z', '2026-03-09T08:00:00.000Z', '2026-03-10T08:00:00.000Z'],
    ['late in the day: the period that ended at 09:00', daily, '2026-03-10T20:00:00Z', '2026-03-09T08:00:00.000Z', '2026-03-10T08:00:00.000Z'],
    ['across the spring DST change: a 23-hour day', daily, '2026-03-29T07:00:10Z', '2026-03-28T08:00:00.000Z', '2026-03-29T07:00:00.000Z'],
    ['across the autumn DST change: a 25-hour day', daily, '2026-10-25T08:00:10Z', '2026-10-24T07:00:00.000Z', '2026-10-25T08:00:00.000Z'],
    ['hourly on the hour in UTC', { schedule: 'hourly', at: '00:00', timeZone: 'UTC' }, '2026-03-10T14:00:02Z', '2026-03-10T13:00:00.000Z', '2026-03-10T14:00:00.000Z'],
    ['hourly at :15 mid-hour', { schedule: 'hourly', at: '09:15', timeZone: 'UTC' }, '2026-03-10T14:40:00Z', '2026-03-10T13:15:00.000Z', '2026-03-10T14:15:00.000Z'],
    ['hourly on the local hour in a half-hour zone', { schedule: 'hourly', at: '00:00', timeZone: 'Asia/Kolkata' }, '2026-03-10T14:31:00Z', '2026-03-10T13:30:00.000Z', '2026-03-10T14:30:00.000Z'],
  ])('%s', (_what, timing, now, from, to) => {
    const period = digestPeriod(timing, latestRunAt(timing, t(now)));
    expect([at(period.from), at(period.to)]).toEqual([from, to]);
  });

  it.each<[string, DigestTiming, { from: string; to: string }, string[]]>([
    ['daily: the 7 days before, wall-clock (the DST day is 23 hours)', daily, { from: '2026-03-29T07:00:00Z', to: '2026-03-30T07:00:00Z' }, ['2026-03-28T08:00:00.000Z', '2026-03-27T08:00:00.000Z', '2026-03-22T08:00:00.000Z']],
    ['hourly: the same hour on the 7 days before', { schedule: 'hourly', at: '00:00', timeZone: 'UTC' }, { from: '2026-03-10T13:00:00Z', to: '2026-03-10T14:00:00Z' }, ['2026-03-09T13:00:00.000Z', '2026-03-08T13:00:00.000Z', '2026-03-03T13:00:00.000Z']],
  ])('previous periods, %s', (_what, timing, period, fromsFirstSecondLast) => {
    const previous = previousPeriods(timing, { from: t(period.from), to: t(period.to) });
    expect(previous).toHaveLength(7);
    expect([previous[0], previous[1], previous[6]].map((p) => at(p.from))).toEqual(fromsFirstSecondLast);
    for (const p of previous) expect(p.to).toBeGreaterThan(p.from);
  });

  it.each<[DigestTiming['schedule'], string, string]>([
    ['daily', '09:00', '0 9 * * *'],
    ['daily', '17:45', '45 17 * * *'],
    ['hourly', '09:05', '5 * * * *'],
  ])('cron for %s at %s', (schedule, when, cron) => {
    expect(cronOf({ schedule, at: when })).toBe(cron);
  });
});
