import { SEVERITY_ORDER, type Alert, type Matcher, type Silence } from './api';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "just now", "4m", "2h 5m", "3d": how long ago, short enough for a phone's list row. */
export function age(iso: string | number, now: number): string {
  const ms = now - (typeof iso === 'number' ? iso : Date.parse(iso));
  if (!Number.isFinite(ms)) return '';
  if (ms < MINUTE) return 'just now';
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)}m`;
  if (ms < DAY) {
    const m = Math.floor((ms % HOUR) / MINUTE);
    return `${Math.floor(ms / HOUR)}h${m ? ` ${m}m` : ''}`;
  }
  return `${Math.floor(ms / DAY)}d`;
}

/** "just now" or "4m ago". */
export function ago(iso: string | number, now: number): string {
  const a = age(iso, now);
  return a === 'just now' || a === '' ? a : `${a} ago`;
}

/** A duration in words: "3m 20s", "1h 4m". */
export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < MINUTE) return `${Math.round(ms / 1000)}s`;
  if (ms < HOUR) {
    const s = Math.round((ms % MINUTE) / 1000);
    return `${Math.floor(ms / MINUTE)}m${s ? ` ${s}s` : ''}`;
  }
  if (ms < DAY) {
    const m = Math.round((ms % HOUR) / MINUTE);
    return `${Math.floor(ms / HOUR)}h${m ? ` ${m}m` : ''}`;
  }
  return `${(ms / DAY).toFixed(1)}d`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/** A clock time today, a date and time otherwise (the viewer's time zone). */
export function when(iso: string | number, now: number): string {
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const sameDay = new Date(t).toDateString() === new Date(now).toDateString();
  return (sameDay ? timeFormat : dateTimeFormat).format(t);
}

export function compact(n: number): string {
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(n >= 10_000_000 ? 0 : 1)}M`;
  if (n >= 10_000) return `${Math.round(n / 1000)}k`;
  return n.toLocaleString('en-US');
}

export const severityRank = (s: string) => {
  const i = SEVERITY_ORDER.indexOf(s as never);
  return i < 0 ? SEVERITY_ORDER.length : i;
};

/** The on-call order: most severe first, then newest. */
export function byUrgency(a: Alert, b: Alert): number {
  return severityRank(a.severity) - severityRank(b.severity) || Date.parse(b.createdAt) - Date.parse(a.createdAt);
}

export const KIND_LABEL: Record<string, string> = {
  complaint: 'complaint',
  'negative-post': 'negative post',
  storm: 'storm',
  opportunity: 'opportunity',
  coverage: 'coverage gap',
};

export const STATUS_LABEL: Record<string, string> = { triggered: 'triggered', acknowledged: 'acknowledged', resolved: 'resolved' };

/** What a silence set on this alert holds back; the same choice the Slack Silence menu makes. */
export function silenceMatcherFor(alert: Alert): Matcher {
  if (alert.kind === 'storm') return { brand: [alert.brandId], kind: ['storm'], topic: [alert.topic] };
  const handle = alert.post.author.handle.replace(/^@/, '');
  if (/^\w{1,50}$/.test(handle)) return { brand: [alert.brandId], author: [handle] };
  return { brand: [alert.brandId], kind: [alert.kind], topic: [alert.topic] };
}

/** 09:00 tomorrow on the viewer's clock. */
export function tomorrowMorning(now: number): number {
  const d = new Date(now);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1, 9, 0, 0, 0).getTime();
}

/** Whether a silence's matcher holds this alert back (as routing compares: every given field must match). */
export function silenceMatches(match: Matcher, alert: Alert): boolean {
  const has = (list: string[] | undefined, value: string) => !list || list.some((v) => v.toLowerCase() === value.toLowerCase());
  const handle = alert.post.author.handle.replace(/^@/, '');
  return (
    has(match.brand, alert.brandId) &&
    has(match.kind, alert.kind) &&
    has(match.severity, alert.severity) &&
    (!match.minSeverity || severityRank(alert.severity) <= severityRank(match.minSeverity)) &&
    has(match.lang, alert.post.lang) &&
    has(match.platform, alert.post.platform) &&
    has(match.topic, alert.topic) &&
    (!match.author || match.author.some((a) => a.replace(/^@/, '').toLowerCase() === handle.toLowerCase()))
  );
}

export function describeMatcher(match: Matcher): string {
  const parts: string[] = [];
  if (match.brand) parts.push(`brand ${match.brand.join(' or ')}`);
  if (match.author) parts.push(`author ${match.author.map((a) => `@${a.replace(/^@/, '')}`).join(' or ')}`);
  if (match.kind) parts.push(`kind ${match.kind.join(' or ')}`);
  if (match.topic) parts.push(`topic ${match.topic.join(' or ')}`);
  if (match.severity) parts.push(`severity ${match.severity.join(' or ')}`);
  if (match.minSeverity) parts.push(`severity ${match.minSeverity} or above`);
  if (match.lang) parts.push(`language ${match.lang.join(' or ')}`);
  if (match.platform) parts.push(`platform ${match.platform.join(' or ')}`);
  return parts.join(', ') || 'everything';
}

/**
 * A silence in force on this alert. The server said which silences are active when it listed them
 * (its clock, not the viewer's, decides when one starts); one just created here starts at once.
 */
export function activeSilenceFor(silences: Silence[], alert: Alert, now: number): Silence | undefined {
  return silences.find((s) => (s.state === undefined || s.state === 'active') && s.expiredAt == null && now < s.endsAt && silenceMatches(s.match, alert));
}
