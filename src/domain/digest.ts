import { SEVERITIES } from '../config/schema';
import { ALERT_KINDS, type Alert, type AlertStatus, type Severity } from './alert';
import type { Case } from './cases';

/**
 * The digest: a brand's quiet summary for a period (an hour, or a day up to a time of day in a
 * time zone) beside the loud alerts: volume and negative share against the brand's usual, open
 * alerts by severity, storms, the complaints still open, and customers who recovered.
 * Pure: counts, alerts and cases come in, a digest comes out; time is passed in.
 */

export type DigestSchedule = 'hourly' | 'daily';
export interface DigestTiming {
  schedule: DigestSchedule;
  /** "HH:MM": the time of day for daily digests; hourly digests use its minutes. */
  at: string;
  /** IANA time zone the time of day is read in. */
  timeZone: string;
}

/** Posts of a brand in one period, by judgement. */
export interface PeriodCounts {
  posts: number;
  negative: number;
  complaints: number;
}

export interface DigestInput {
  brand: { id: string; name: string };
  timing: DigestTiming;
  /** [from, to) in ms. */
  period: { from: number; to: number };
  current: PeriodCounts;
  /** The same figures for the brand's previous periods (see previousPeriods): what is usual. */
  previous: PeriodCounts[];
  /** Open alerts and alerts created in the period, in any order; the rest are ignored. */
  alerts: Alert[];
  /** Cases whose recovery was decided in the period, and those still watched; the rest are ignored. */
  cases: Case[];
}

export type Trend = 'above' | 'usual' | 'below' | 'no-history';

export interface DigestComplaint {
  alertId: string;
  title: string;
  severity: Severity;
  status: AlertStatus;
  handle: string;
  followers: number;
  platform: string;
  url: string;
  text: string;
  impact: number;
  openedAt: string;
  /** From the alert to the end of the period. */
  openForMs: number;
}

export interface DigestStorm {
  alertId: string;
  title: string;
  severity: Severity;
  status: AlertStatus;
  startedAt: string;
  endedAt?: string;
  negativePosts: number;
  topTerms: string[];
}

export interface Digest {
  /** Deterministic per brand and period: the webhook-id, so a retry is never a new message. */
  id: string;
  brandId: string;
  brandName: string;
  schedule: DigestSchedule;
  timeZone: string;
  period: { from: string; to: string };
  volume: {
    posts: number;
    /** Median of the previous periods; absent without history. */
    usualPosts?: number;
    /** posts / usualPosts − 1 (0.5 = half again as many). */
    change?: number;
    trend: Trend;
    negative: number;
    negativeShare?: number;
    usualNegativeShare?: number;
    negativeTrend: Trend;
    complaints: number;
    /** How many previous periods the usual is taken from. */
    periodsCompared: number;
  };
  openAlerts: { total: number; unacknowledged: number; escalated: number; bySeverity: Record<Severity, number> };
  newAlerts: { total: number; byKind: Record<string, number> };
  storms: DigestStorm[];
  /** Open complaint alerts, highest impact first (at most TOP_COMPLAINTS); `more` counts the rest. */
  unansweredComplaints: { top: DigestComplaint[]; more: number };
  recoveries: { recovered: number; notRecovered: number; watching: number; recoveredCases: { caseId: string; handles: string[]; decidedAt: string; because?: string }[] };
  /** Nothing happened worth reading: no posts, nothing open, no storm, no recovery decided. */
  quiet: boolean;
}

/** "Unusual" needs both: a ratio against the usual and an absolute difference (3 posts against 1 is noise). */
export const VOLUME_RATIO = 1.5;
export const VOLUME_MIN_DIFFERENCE = 5;
/** Negative share is compared in percentage points, and only on enough posts to mean something. */
export const SHARE_POINTS = 0.1;
export const SHARE_MIN_POSTS = 10;
export const TOP_COMPLAINTS = 5;
export const TOP_RECOVERIES = 5;
/** Previous periods the usual is taken from (a week of days, or the same hour on the last 7 days). */
export const HISTORY_PERIODS = 7;
const TEXT_MAX = 280;

function median(values: number[]): number | undefined {
  if (!values.length) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function volumeTrend(posts: number, usual: number | undefined): Trend {
  if (usual === undefined) return 'no-history';
  const diff = posts - usual;
  if (posts >= usual * VOLUME_RATIO && diff >= VOLUME_MIN_DIFFERENCE) return 'above';
  if (posts * VOLUME_RATIO <= usual && -diff >= VOLUME_MIN_DIFFERENCE) return 'below';
  return 'usual';
}

export function shareTrend(posts: number, share: number | undefined, usual: number | undefined): Trend {
  if (share === undefined || usual === undefined) return 'no-history';
  if (posts < SHARE_MIN_POSTS) return 'usual';
  // A small epsilon: shares like 0.3 − 0.2 are not exactly 0.1 in floating point.
  if (share - usual >= SHARE_POINTS - 1e-9) return 'above';
  if (usual - share >= SHARE_POINTS - 1e-9) return 'below';
  return 'usual';
}

export function digestId(brandId: string, schedule: DigestSchedule, periodTo: number): string {
  return `digest/${brandId}/${schedule}/${new Date(periodTo).toISOString()}`;
}

const iso = (ms: number) => new Date(ms).toISOString();
const within = (t: number, from: number, to: number) => t >= from && t < to;
const cut = (text: string, max: number) => (Array.from(text).length <= max ? text : `${Array.from(text).slice(0, max - 1).join('')}…`);

export function buildDigest(input: DigestInput): Digest {
  const { from, to } = input.period;
  const byId = new Map<string, Alert>();
  for (const a of input.alerts) if (a.brandId === input.brand.id) byId.set(a.id, a);
  const alerts = [...byId.values()];
  // Open as of the end of the period (an alert created after it is not in this digest).
  const open = alerts.filter((a) => a.status !== 'resolved' && Date.parse(a.createdAt) < to);

  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const a of open) bySeverity[a.severity]++;
  const created = alerts.filter((a) => within(Date.parse(a.createdAt), from, to));
  const byKind = Object.fromEntries(ALERT_KINDS.map((k) => [k, 0])) as Record<string, number>;
  for (const a of created) byKind[a.kind] = (byKind[a.kind] ?? 0) + 1;

  const storms: DigestStorm[] = alerts
    .filter((a) => a.kind === 'storm' && Date.parse(a.createdAt) < to)
    .filter((a) => {
      const ended = a.storm?.endedAt ?? a.resolvedAt;
      return !ended || Date.parse(ended) >= from;
    })
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))
    .map((a) => ({
      alertId: a.id,
      title: a.title,
      severity: a.severity,
      status: a.status,
      startedAt: a.createdAt,
      ...(a.storm?.endedAt ? { endedAt: a.storm.endedAt } : {}),
      negativePosts: a.storm?.negativePosts ?? a.count,
      topTerms: (a.storm?.topTerms ?? []).slice(0, 5).map((t) => t.term),
    }));

  const complaints = open
    .filter((a) => a.kind === 'complaint')
    .sort((a, b) => b.impact.score - a.impact.score || Date.parse(a.createdAt) - Date.parse(b.createdAt) || (a.id < b.id ? -1 : 1));
  const top: DigestComplaint[] = complaints.slice(0, TOP_COMPLAINTS).map((a) => ({
    alertId: a.id,
    title: a.title,
    severity: a.severity,
    status: a.status,
    handle: a.post.author.handle,
    followers: a.post.author.followers,
    platform: a.post.platform,
    url: a.post.url,
    text: cut(a.post.text, TEXT_MAX),
    impact: a.impact.score,
    openedAt: a.createdAt,
    openForMs: Math.max(0, to - Date.parse(a.createdAt)),
  }));

  const cases = input.cases.filter((c) => c.brandId === input.brand.id);
  const decided = cases.filter((c) => c.recovery?.decidedAt !== undefined && within(c.recovery.decidedAt, from, to));
  const recovered = decided.filter((c) => c.recovery?.state === 'recovered').sort((a, b) => b.recovery!.decidedAt! - a.recovery!.decidedAt!);

  const { current, previous } = input;
  const usualPosts = median(previous.map((p) => p.posts));
  const prevPosts = previous.reduce((n, p) => n + p.posts, 0);
  const prevNegative = previous.reduce((n, p) => n + p.negative, 0);
  const negativeShare = current.posts > 0 ? current.negative / current.posts : undefined;
  const usualNegativeShare = prevPosts > 0 ? prevNegative / prevPosts : undefined;

  const digest: Digest = {
    id: digestId(input.brand.id, input.timing.schedule, to),
    brandId: input.brand.id,
    brandName: input.brand.name,
    schedule: input.timing.schedule,
    timeZone: input.timing.timeZone,
    period: { from: iso(from), to: iso(to) },
    volume: {
      posts: current.posts,
      ...(usualPosts !== undefined ? { usualPosts } : {}),
      ...(usualPosts ? { change: current.posts / usualPosts - 1 } : {}),
      trend: volumeTrend(current.posts, usualPosts),
      negative: current.negative,
      ...(negativeShare !== undefined ? { negativeShare } : {}),
      ...(usualNegativeShare !== undefined ? { usualNegativeShare } : {}),
      negativeTrend: shareTrend(current.posts, negativeShare, usualNegativeShare),
      complaints: current.complaints,
      periodsCompared: previous.length,
    },
    openAlerts: { total: open.length, unacknowledged: open.filter((a) => a.status === 'triggered').length, escalated: open.filter((a) => !!a.escalatedAt).length, bySeverity },
    newAlerts: { total: created.length, byKind },
    storms,
    unansweredComplaints: { top, more: complaints.length - top.length },
    recoveries: {
      recovered: recovered.length,
      notRecovered: decided.filter((c) => c.recovery?.state === 'not-recovered').length,
      watching: cases.filter((c) => c.recovery?.state === 'watching').length,
      recoveredCases: recovered.slice(0, TOP_RECOVERIES).map((c) => ({ caseId: c.id, handles: c.handles, decidedAt: iso(c.recovery!.decidedAt!), ...(c.recovery?.because ? { because: c.recovery.because } : {}) })),
    },
    quiet: false,
  };
  digest.quiet = current.posts === 0 && open.length === 0 && storms.length === 0 && decided.length === 0;
  return digest;
}

// ---- Periods in a time zone ------------------------------------------------------------------

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function wallTimeOf(ms: number, timeZone: string): WallTime & { second: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day), hour: Number(parts.hour) % 24, minute: Number(parts.minute), second: Number(parts.second) };
}

/** The zone's offset from UTC at an instant, in ms. */
function offsetAt(ms: number, timeZone: string): number {
  const w = wallTimeOf(ms, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000;
}

/** The instant a wall-clock time happens in a zone (Date.UTC normalises day overflow, so day − 1 is the day before). */
export function instantOf(w: WallTime, timeZone: string): number {
  const guess = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
  const first = guess - offsetAt(guess, timeZone);
  const second = guess - offsetAt(first, timeZone);
  return second;
}

function parseAt(at: string): { hour: number; minute: number } {
  const [h, m] = at.split(':').map(Number);
  return { hour: h, minute: m };
}

/** The same wall-clock time `days` days later (negative: earlier) in the zone: 24 hours, or 23/25 across a DST change. */
export function shiftDays(ms: number, days: number, timeZone: string): number {
  const w = wallTimeOf(ms, timeZone);
  return instantOf({ ...w, day: w.day + days }, timeZone);
}

/**
 * The latest scheduled time at or before `now` (a job that starts a little early, by clock skew,
 * still belongs to its own time: `toleranceMs`). Daily: `at` in the zone; hourly: `at`'s minutes.
 */
export function latestRunAt(timing: DigestTiming, now: number, toleranceMs = 60_000): number {
  const t = now + toleranceMs;
  const w = wallTimeOf(t, timing.timeZone);
  const { hour, minute } = parseAt(timing.at);
  if (timing.schedule === 'hourly') {
    const candidate = instantOf({ ...w, minute }, timing.timeZone);
    return candidate <= t ? candidate : candidate - 3_600_000;
  }
  const candidate = instantOf({ ...w, hour, minute }, timing.timeZone);
  return candidate <= t ? candidate : shiftDays(candidate, -1, timing.timeZone);
}

/** The period a digest sent at `runAt` covers: the hour, or the day (wall-clock), before it. */
export function digestPeriod(timing: DigestTiming, runAt: number): { from: number; to: number } {
  return timing.schedule === 'hourly' ? { from: runAt - 3_600_000, to: runAt } : { from: shiftDays(runAt, -1, timing.timeZone), to: runAt };
}

/**
 * The periods a digest's figures are held against: the 7 days before (daily), or the same hour
 * on each of the 7 days before (hourly: an hour at night is not held against the morning).
 */
export function previousPeriods(timing: DigestTiming, period: { from: number; to: number }, n = HISTORY_PERIODS): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  for (let k = 1; k <= n; k++) out.push({ from: shiftDays(period.from, -k, timing.timeZone), to: shiftDays(period.to, -k, timing.timeZone) });
  return out;
}

/** The cron pattern of a digest schedule (BullMQ job scheduler `pattern`, read in `tz`). */
export function cronOf(timing: Pick<DigestTiming, 'schedule' | 'at'>): string {
  const { hour, minute } = parseAt(timing.at);
  return timing.schedule === 'hourly' ? `${minute} * * * *` : `${minute} ${hour} * * *`;
}

/** "Tue 10 Mar 09:00 – Wed 11 Mar 09:00 (Europe/Amsterdam)": the period as people there read it. */
export function formatPeriod(digest: Pick<Digest, 'period' | 'timeZone'>): string {
  const f = new Intl.DateTimeFormat('en-GB', { timeZone: digest.timeZone, weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return `${f.format(new Date(digest.period.from))} – ${f.format(new Date(digest.period.to))} (${digest.timeZone})`;
}
