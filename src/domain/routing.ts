import {
  DEFAULT_GROUP_INTERVAL,
  DEFAULT_GROUP_WAIT,
  DEFAULT_REPEAT_INTERVAL,
  WEEKDAYS,
  type Matcher,
  type QuietHours,
  type RouteConfig,
  type Silence,
} from '../config/routing-schema';
import { SEVERITIES } from '../config/schema';
import type { AlertKind, Severity } from './alert';

export type { Matcher, QuietHours, RouteConfig, Silence } from '../config/routing-schema';

/** What routing and silences look at. */
export interface RoutableAlert {
  brandId: string;
  kind: AlertKind;
  severity: Severity;
  lang: string;
  platform: string;
  topic: string;
  authorHandle?: string;
}

export interface ResolvedRoute {
  receivers: string[];
  groupWait: number;
  groupInterval: number;
  repeatInterval: number;
  quietHours?: string;
  /** Where in the tree it came from, e.g. "route.routes.0". */
  path: string;
}

const rank = (s: Severity): number => SEVERITIES.indexOf(s);
const handle = (h: string): string => h.replace(/^@/, '').toLowerCase();

export function matches(m: Matcher | undefined, a: RoutableAlert): boolean {
  if (!m) return true;
  if (m.brand && !m.brand.includes(a.brandId)) return false;
  if (m.kind && !m.kind.includes(a.kind)) return false;
  if (m.severity && !m.severity.includes(a.severity)) return false;
  if (m.minSeverity && rank(a.severity) > rank(m.minSeverity)) return false;
  if (m.lang && !m.lang.includes(a.lang)) return false;
  if (m.platform && !m.platform.includes(a.platform)) return false;
  if (m.topic && !m.topic.includes(a.topic)) return false;
  if (m.author) {
    if (!a.authorHandle) return false;
    const h = handle(a.authorHandle);
    if (!m.author.some((x) => handle(x) === h)) return false;
  }
  return true;
}

type Inherited = Omit<ResolvedRoute, 'path'>;

function inherit(parent: Inherited, node: RouteConfig): Inherited {
  const quiet = node.quietHours === undefined ? parent.quietHours : (node.quietHours ?? undefined);
  const out: Inherited = {
    receivers: node.receivers ? [...node.receivers] : [...parent.receivers],
    groupWait: node.groupWait ?? parent.groupWait,
    groupInterval: node.groupInterval ?? parent.groupInterval,
    repeatInterval: node.repeatInterval ?? parent.repeatInterval,
  };
  if (quiet !== undefined) out.quietHours = quiet;
  return out;
}

function walk(node: RouteConfig, own: Inherited, path: string, alert: RoutableAlert): ResolvedRoute[] {
  const results: ResolvedRoute[] = [];
  const children = node.routes ?? [];
  for (let i = 0; i < children.length; i++) {
    const child = children[i];
    if (!matches(child.match, alert)) continue;
    results.push(...walk(child, inherit(own, child), `${path}.routes.${i}`, alert));
    if (!child.continue) break;
  }
  // As in Alertmanager, a node's own receivers are only used when none of its children took the alert.
  if (results.length === 0) results.push({ ...own, path });
  return results;
}

/** The routes an alert ends up on, in tree order. The root always matches, whatever its `match`. */
export function routeAlert(route: RouteConfig, alert: RoutableAlert): ResolvedRoute[] {
  const base: Inherited = { receivers: [], groupWait: DEFAULT_GROUP_WAIT, groupInterval: DEFAULT_GROUP_INTERVAL, repeatInterval: DEFAULT_REPEAT_INTERVAL };
  return walk(route, inherit(base, route), 'route', alert);
}

/**
 * One entry per receiver, so the caller delivers once per receiver even when several routes
 * reach it. Each value holds just that receiver, the first route's path, the shortest of each
 * timer, and quiet hours only when every route reaching it has some (the most urgent route wins).
 */
export function receiversFor(route: RouteConfig, alert: RoutableAlert): Map<string, ResolvedRoute> {
  const out = new Map<string, ResolvedRoute>();
  for (const r of routeAlert(route, alert)) {
    for (const id of r.receivers) {
      const prev = out.get(id);
      if (!prev) {
        const entry: ResolvedRoute = { receivers: [id], groupWait: r.groupWait, groupInterval: r.groupInterval, repeatInterval: r.repeatInterval, path: r.path };
        if (r.quietHours !== undefined) entry.quietHours = r.quietHours;
        out.set(id, entry);
        continue;
      }
      prev.groupWait = Math.min(prev.groupWait, r.groupWait);
      prev.groupInterval = Math.min(prev.groupInterval, r.groupInterval);
      prev.repeatInterval = Math.min(prev.repeatInterval, r.repeatInterval);
      if (r.quietHours === undefined) delete prev.quietHours;
    }
  }
  return out;
}

/** The first silence covering the alert at `now` (startsAt inclusive, endsAt exclusive). */
export function activeSilence(silences: readonly Silence[], alert: RoutableAlert, now: number): Silence | undefined {
  return silences.find((s) => s.startsAt <= now && now < s.endsAt && matches(s.match, alert));
}

// ---- quiet hours ----

// Building a DateTimeFormat is slow; caching one per zone keeps quietUntil cheap (no observable state).
const formats = new Map<string, Intl.DateTimeFormat>();
function formatFor(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formats.set(timeZone, f);
  }
  return f;
}

/** Local wall time at `t`, written as if it were UTC (so Date.UTC arithmetic works on it). */
function wallOf(timeZone: string, t: number): number {
  const p: Record<string, number> = {};
  for (const part of formatFor(timeZone).formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
}

/** UTC offset in ms at instant t (whole seconds: zone offsets have no sub-second part). */
function offsetAt(timeZone: string, t: number): number {
  const s = Math.floor(t / 1000) * 1000;
  return wallOf(timeZone, s) - s;
}

/**
 * The first instant after `after` at which the local clock shows `wall` or later: the later of two
 * occurrences when clocks go back and we are between them, the moment of the jump when `wall` is skipped.
 */
function instantOfWall(timeZone: string, wall: number, after: number): number {
  const before = offsetAt(timeZone, wall - 86_400_000);
  const later = offsetAt(timeZone, wall + 86_400_000);
  const candidates = [...new Set([wall - before, wall - later])]
    .filter((t) => t + offsetAt(timeZone, t) === wall && t > after)
    .sort((a, b) => a - b);
  if (candidates.length > 0) return candidates[0];
  // Skipped by a forward jump: find the jump between the two guesses (to the second).
  let lo = Math.min(wall - before, wall - later);
  let hi = Math.max(wall - before, wall - later);
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (mid + offsetAt(timeZone, mid) >= wall) hi = mid;
    else lo = mid;
  }
  return Math.max(hi, after + 1);
}

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * When quiet hours hold a notification of this severity at `now`, the instant they end; undefined
 * when they do not (outside the window, or severity at or above `except`). The days list names the
 * day a quiet period starts on, so a night over midnight belongs to the evening it began.
 */
export function quietUntil(q: QuietHours, severity: Severity, now: number): number | undefined {
  if (rank(severity) <= rank(q.except)) return undefined;
  const start = minutesOf(q.start);
  const end = minutesOf(q.end);
  if (start === end) return undefined;
  const wall = wallOf(q.timezone, now);
  const day = Math.floor(wall / 86_400_000) * 86_400_000;
  const minute = Math.floor((wall - day) / 60_000);
  const on = (d: number): boolean => q.days.includes(WEEKDAYS[new Date(d).getUTCDay()]);
  let endDay: number | undefined;
  if (start < end) {
    if (minute >= start && minute < end && on(day)) endDay = day;
  } else if (minute >= start) {
    if (on(day)) endDay = day + 86_400_000;
  } else if (minute < end) {
    if (on(day - 86_400_000)) endDay = day;
  }
  if (endDay === undefined) return undefined;
  return instantOfWall(q.timezone, endDay + end * 60_000, now);
}

// ---- grouping timers ----

/** Per alert and receiver: what has been sent so far. */
export interface NotificationLog {
  firstEventAt?: number;
  lastSentAt?: number;
  lastSentVersion?: number;
}

/** Changes of state are told at once; grouping only delays triggers and updates. */
const LIFECYCLE_EVENTS = new Set(['alert.escalated', 'alert.acknowledged', 'alert.resolved']);

/** When this event should go out: groupWait after the first event, then at most once per groupInterval. */
export function nextNotificationAt(timers: { groupWait: number; groupInterval: number }, log: NotificationLog, eventType: string, now: number): number {
  if (LIFECYCLE_EVENTS.has(eventType)) return now;
  if (log.lastSentAt === undefined) return Math.max(now, (log.firstEventAt ?? now) + timers.groupWait);
  return Math.max(now, log.lastSentAt + timers.groupInterval);
}

/**
 * Reminders (repeatInterval) are for what someone must act on: high and critical alerts and
 * storms. A low alert nobody acknowledges would otherwise come back every few hours for good.
 */
export const REMINDER_MIN_SEVERITY = 'high';
/** At the default 4 h, a day of reminders; after that the alert waits in `repwatch alerts list`. */
export const MAX_REMINDERS = 6;

/** Whether an alert as it is now gets its n-th reminder: still triggered, not inside a storm, high enough. */
export function reminderDue(alert: { status: string; severity: string; stormId?: string }, n: number): boolean {
  return n >= 1 && n <= MAX_REMINDERS && alert.status === 'triggered' && !alert.stormId && (alert.severity === 'high' || alert.severity === 'critical');
}

/** When an unchanged, still open alert is due to be sent again; undefined when nothing was sent yet. */
export function repeatDueAt(repeatInterval: number, log: NotificationLog): number | undefined {
  return log.lastSentAt === undefined ? undefined : log.lastSentAt + repeatInterval;
}
