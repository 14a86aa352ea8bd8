import type { Alert } from '../../src/domain/alert';
import type { Case } from '../../src/domain/cases';
import { buildReport, formatDuration, formatReport, percentile } from '../../src/domain/report';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const T0 = Date.parse('2026-03-10T08:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

let seq = 0;
/** An alert with every required field filled; `createdAt` and the lifecycle times as ms offsets from T0. */
function alert(over: Partial<Alert> & { at?: number; ackAfter?: number; resolveAfter?: number; escalateAfter?: number } = {}): Alert {
  seq += 1;
  const { at = 0, ackAfter, resolveAfter, escalateAfter, ...rest } = over;
  const created = T0 + at;
  const status: Alert['status'] = resolveAfter !== undefined ? 'resolved' : ackAfter !== undefined ? 'acknowledged' : 'triggered';
  const a: Alert = {
    id: `snelpost/threat/author/jan${seq}/general`,
    fingerprint: `snelpost/threat/author/jan${seq}/general`,
    brandId: 'snelpost',
    brandName: 'SnelPost',
    kind: 'complaint',
    severity: 'medium',
    status,
    topic: 'general',
    title: `Complaint about SnelPost by @jan${seq}`,
    reason: 'complaint by @jan (800 followers)',
    impact: { negativity: 0.8, complaint: 0.7, reach: 0.2, engagement: 0.1, velocity: 0, projectedReach: 900, score: 0.4 },
    post: {
      platform: 'x',
      postId: `p${seq}`,
      url: `https://x.com/jan${seq}/status/p${seq}`,
      text: 'Mijn pakket van SnelPost is kwijt',
      lang: 'nl',
      createdAt: iso(created - 30 * S),
      ingestedAt: iso(created - 5 * S),
      author: { id: `u${seq}`, handle: `jan${seq}`, followers: 800, verified: false },
      sentiment: { label: 'negative', score: -0.8 },
      complaint: { label: true, score: 0.7 },
      evidence: { negative: ['kwijt'], positive: [], complaint: ['pakket kwijt'] },
    },
    count: 1,
    createdAt: iso(created),
    updatedAt: iso(created),
    version: 1,
    ...rest,
  };
  if (ackAfter !== undefined) Object.assign(a, { acknowledgedAt: iso(created + ackAfter), acknowledgedBy: 'anna' });
  if (resolveAfter !== undefined) Object.assign(a, { resolvedAt: iso(created + resolveAfter), resolvedBy: 'anna' });
  if (escalateAfter !== undefined) Object.assign(a, { escalatedAt: iso(created + escalateAfter) });
  return a;
}

function kase(over: Partial<Case> = {}): Case {
  seq += 1;
  return {
    id: `snelpost/case/jan${seq}/${T0}`,
    brandId: 'snelpost',
    authorKeys: [`jan${seq}`],
    conversationKeys: [`x/p${seq}`],
    handles: [`jan${seq}`],
    platforms: ['x'],
    state: 'open',
    openedAt: T0,
    lastPostAt: T0,
    posts: 1,
    timeline: [],
    ...over,
  };
}

const resolvedCase = (recovery: NonNullable<Case['recovery']>['state'], over: Partial<Case> = {}) =>
  kase({ state: 'resolved', resolvedAt: T0 + H, resolvedBy: 'anna', recovery: { state: recovery, until: T0 + H + 7 * D }, ...over });

describe('percentile (nearest rank)', () => {
  test.each<[number[], number, number | undefined]>([
    [[], 50, undefined],
    [[], 90, undefined],
    [[7], 0, 7],
    [[7], 50, 7],
    [[7], 90, 7],
    [[7], 100, 7],
    [[1, 2], 50, 1],
    [[1, 2], 90, 2],
    [[3, 1, 2], 50, 2],
    [[1, 2, 3, 4], 50, 2],
    [[1, 2, 3, 4], 75, 3],
    [[1, 2, 3, 4], 76, 4],
    [[10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90, 90],
    [[10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 91, 100],
    [[10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0, 10],
    [[5, 1, 4, 2, 3], 100, 5],
    [[5, 1, 4, 2, 3], 150, 5],
    [[5, 1, 4, 2, 3], -10, 1],
  ])('%j p%d → %s', (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });

  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe('formatDuration', () => {
  test.each([
    [0, '0s'],
    [999, '0s'],
    [45 * S, '45s'],
    [59 * S + 999, '59s'],
    [M, '1m 00s'],
    [2 * M + 30 * S, '2m 30s'],
    [2 * M + 5 * S, '2m 05s'],
    [H - 1, '59m 59s'],
    [H, '1h 00m'],
    [3 * H + 5 * M + 40 * S, '3h 05m'],
    [23 * H + 59 * M, '23h 59m'],
    [D, '1d 0h'],
    [2 * D + 4 * H + 30 * M, '2d 4h'],
    [45 * D, '45d 0h'],
    [-(2 * M + 30 * S), '-2m 30s'],
  ])('%d ms → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('buildReport', () => {
  // SnelPost: five alerts, acknowledged after 1, 2, 3 and 10 minutes, resolved after 1 and 3 hours.
  const snelpost = [
    alert({ at: 0, kind: 'complaint', severity: 'medium', ackAfter: 1 * M, resolveAfter: 1 * H }),
    alert({ at: 10 * M, kind: 'negative-post', severity: 'high', ackAfter: 2 * M, resolveAfter: 3 * H }),
    alert({ at: 20 * M, kind: 'negative-post', severity: 'critical', ackAfter: 10 * M, escalateAfter: 3 * M }),
    alert({ at: 30 * M, kind: 'storm', severity: 'high', ackAfter: 3 * M }),
    alert({ at: 40 * M, kind: 'opportunity', severity: 'low' }),
  ];
  const hotel = [alert({ brandId: 'hotel-zeezicht', brandName: 'Hotel Zeezicht', severity: 'critical', kind: 'negative-post', at: H, escalateAfter: 2 * M + 30 * S })];
  const cases = [
    resolvedCase('recovered'),
    resolvedCase('recovered'),
    resolvedCase('not-recovered'),
    resolvedCase('watching'),
    kase(),
    kase({ state: 'acknowledged', acknowledgedAt: T0 + M, acknowledgedBy: 'anna' }),
    kase({ brandId: 'hotel-zeezicht' }),
  ];
  const reports = buildReport([...hotel, ...snelpost], cases);
  const sp = reports.find((r) => r.brandId === 'snelpost')!;
  const hz = reports.find((r) => r.brandId === 'hotel-zeezicht')!;

  it('has one report per brand, sorted by brand id', () => {
    expect(reports.map((r) => r.brandId)).toEqual(['hotel-zeezicht', 'snelpost']);
    expect(reports.map((r) => r.brandName)).toEqual(['Hotel Zeezicht', 'SnelPost']);
  });

  it('counts alerts by kind and severity (every kind and severity present)', () => {
    expect(sp.alerts).toBe(5);
    expect(sp.byKind).toEqual({ complaint: 1, 'negative-post': 2, storm: 1, opportunity: 1, coverage: 0 });
    expect(sp.bySeverity).toEqual({ critical: 1, high: 2, medium: 1, low: 1, info: 0 });
  });

  it('counts the alerts still open and the escalations', () => {
    expect(sp.open).toBe(3);
    expect(sp.escalated).toBe(1);
    expect(hz).toMatchObject({ alerts: 1, open: 1, escalated: 1 });
  });

  it('measures time to acknowledge and resolve over the alerts that have them', () => {
    expect(sp.timeToAcknowledge).toEqual({ count: 4, medianMs: 2 * M, p90Ms: 10 * M });
    expect(sp.timeToResolve).toEqual({ count: 2, medianMs: 1 * H, p90Ms: 3 * H });
    expect(hz.timeToAcknowledge).toEqual({ count: 0 });
    expect(hz.timeToResolve).toEqual({ count: 0 });
  });

  it('reports the recovery rate over decided cases, and the watching ones apart', () => {
    expect(sp.cases).toBe(6);
    expect(sp.recovery).toEqual({ recovered: 2, notRecovered: 1, watching: 1, rate: 2 / 3 });
    expect(hz.cases).toBe(1);
    expect(hz.recovery).toEqual({ recovered: 0, notRecovered: 0, watching: 0 });
  });

  it('reports a brand that has cases but no alerts, named by its id', () => {
    const [r] = buildReport([], [resolvedCase('not-recovered', { brandId: 'fietsfabriek' })]);
    expect(r).toMatchObject({ brandId: 'fietsfabriek', brandName: 'fietsfabriek', alerts: 0, cases: 1, recovery: { notRecovered: 1, rate: 0 } });
  });

  it('returns nothing for no alerts and no cases', () => {
    expect(buildReport([], [])).toEqual([]);
  });

  test.each<[string, { from?: number; to?: number }, number, number]>([
    ['no bounds', {}, 5, 3],
    ['from (inclusive)', { from: T0 + 20 * M }, 3, 1],
    ['to (exclusive)', { to: T0 + 20 * M }, 2, 2],
    ['from and to', { from: T0 + 10 * M, to: T0 + 31 * M }, 3, 2],
    ['a range with nothing', { from: T0 + D }, 0, 0],
  ])('range %s filters alerts by createdAt and cases by openedAt', (_label, range, alerts, caseCount) => {
    const rangedCases = [kase({ openedAt: T0 }), kase({ openedAt: T0 + 10 * M }), kase({ openedAt: T0 + 30 * M })];
    const out = buildReport(snelpost, rangedCases, range);
    expect(out[0]?.alerts ?? 0).toBe(alerts);
    expect(out[0]?.cases ?? 0).toBe(caseCount);
  });

  it('does not count the time of alerts outside the range', () => {
    const [r] = buildReport(snelpost, [], { from: T0 + 5 * M });
    expect(r.timeToAcknowledge).toEqual({ count: 3, medianMs: 3 * M, p90Ms: 10 * M });
    expect(r.timeToResolve).toEqual({ count: 1, medianMs: 3 * H, p90Ms: 3 * H });
  });
});

describe('formatReport', () => {
  const reports = buildReport(
    [
      alert({ at: 0, ackAfter: 2 * M + 30 * S, resolveAfter: 3 * H + 5 * M, escalateAfter: M }),
      alert({ at: M, kind: 'storm', severity: 'high' }),
      alert({ brandId: 'hotel-zeezicht', brandName: 'Hotel Zeezicht', severity: 'critical' }),
    ],
    [resolvedCase('recovered'), resolvedCase('not-recovered'), resolvedCase('watching'), kase({ brandId: 'hotel-zeezicht' })],
  );
  const text = formatReport(reports);
  const lineOf = (label: string) => text.split('\n').find((l) => l.trimStart().startsWith(label)) ?? '';

  it('shows each brand and its figures', () => {
    expect(text).toContain('SnelPost');
    expect(text).toContain('Hotel Zeezicht');
    expect(lineOf('Alerts')).toMatch(/Alerts\s+1\s+2$/);
    expect(lineOf('complaint')).toMatch(/complaint\s+1\s+1$/);
    expect(lineOf('storm')).toMatch(/storm\s+0\s+1$/);
    expect(lineOf('critical')).toMatch(/critical\s+1\s+0$/);
    expect(lineOf('Still open')).toMatch(/Still open\s+1\s+1$/);
    expect(lineOf('Escalated')).toMatch(/Escalated\s+0\s+1$/);
    expect(text).toContain('2m 30s');
    expect(text).toContain('3h 05m');
    expect(lineOf('recovery rate')).toMatch(/recovery rate\s+—\s+50%$/);
    expect(lineOf('still watching')).toMatch(/still watching\s+0\s+1$/);
  });

  it('marks missing figures with —', () => {
    const [hotelMedian] = text.split('\n').filter((l) => l.trimStart().startsWith('median'));
    expect(hotelMedian).toMatch(/median\s+—\s+2m 30s$/);
  });

  it('lines the columns up', () => {
    const lines = text.split('\n');
    const width = Math.max(...lines.map((l) => l.length));
    const withFigures = lines.filter((l) => !['By kind', 'By severity'].includes(l));
    expect(withFigures.length).toBe(lines.length - 2);
    expect(withFigures.every((l) => l.length === width)).toBe(true);
  });

  it('says so when there is nothing to report', () => {
    expect(formatReport([])).toBe('No alerts or cases in this period.');
  });
});
