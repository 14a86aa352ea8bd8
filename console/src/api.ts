/**
 * The console's view of the HTTP API (/openapi.json): the fields it shows, and one fetch wrapper.
 * The API key lives in the HttpOnly cookie rw_key; page scripts never see it. Requests that change
 * something carry X-Repwatch-Console: 1 (the server's guard against other sites' forms).
 */

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';
export type AlertStatus = 'triggered' | 'acknowledged' | 'resolved';
export type AlertKind = 'complaint' | 'negative-post' | 'storm' | 'opportunity' | 'coverage';

export const SEVERITY_ORDER: Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

export interface Author {
  id?: string;
  handle: string;
  name?: string;
  followers: number;
  verified?: boolean;
}

export interface AlertPost {
  platform: string;
  postId: string;
  url: string;
  text: string;
  lang: string;
  createdAt: string;
  author: Author;
  sentiment?: { label: string; score: number };
  complaint?: { label: boolean; score: number };
}

export interface StormSummary {
  trigger: 'spike' | 'climb';
  because: string;
  topTerms: { term: string; count: number }[];
  topPosts: { platform: string; postId: string; url: string; text: string; handle: string; followers: number; impact: number }[];
  topAuthors: { handle: string; followers: number; posts: number }[];
  negativePosts: number;
  joinedAlerts: number;
  endedAt?: string;
}

export interface Alert {
  id: string;
  brandId: string;
  brandName: string;
  kind: AlertKind;
  severity: Severity;
  status: AlertStatus;
  topic: string;
  title: string;
  reason: string;
  count: number;
  version: number;
  createdAt: string;
  updatedAt: string;
  post: AlertPost;
  caseId?: string | null;
  stormId?: string | null;
  storm?: StormSummary;
  slaDeadline?: string | null;
  escalatedAt?: string | null;
  acknowledgedAt?: string | null;
  acknowledgedBy?: string | null;
  resolvedAt?: string | null;
  resolvedBy?: string | null;
}

export type AlertEventType = 'alert.triggered' | 'alert.updated' | 'alert.escalated' | 'alert.acknowledged' | 'alert.resolved' | 'storm.started';
export const ALERT_EVENT_TYPES: AlertEventType[] = ['alert.triggered', 'alert.updated', 'alert.escalated', 'alert.acknowledged', 'alert.resolved', 'storm.started'];

export interface AlertEvent {
  id: string;
  seq: number;
  type: AlertEventType;
  alertId: string;
  brandId: string;
  severity: Severity;
  at: string;
  by?: string | null;
  comment?: string | null;
  alert: Alert;
}

export interface StoredMention {
  _id: string;
  platform: string;
  postId: string;
  url: string;
  author: Author;
  text: string;
  createdAt: string;
  judgement: { lang: string; sentiment: { label: string; score: number }; complaint: { label: boolean; score: number } };
}

export interface CaseTimelineEntry {
  at: number;
  type: 'post' | 'alert' | 'acknowledged' | 'resolved' | 'recovered' | 'not-recovered' | 'follow-up';
  platform?: string;
  postId?: string;
  handle?: string;
  sentiment?: string;
  alertId?: string;
  by?: string;
  note?: string;
}

export interface Case {
  id: string;
  brandId: string;
  state: 'open' | 'acknowledged' | 'resolved';
  handles: string[];
  platforms: string[];
  openedAt: number;
  lastPostAt: number;
  posts: number;
  timeline?: CaseTimelineEntry[];
  recovery?: { state: 'watching' | 'recovered' | 'not-recovered'; until: number; because?: string };
}

export interface PagerDutyState {
  state: 'none' | 'triggered' | 'acknowledged' | 'resolved';
  deliveries: { eventId: string; type: string; receiverId: string; status: string; at?: string }[];
}

export interface AlertDetail {
  alert: Alert;
  events: AlertEvent[];
  posts: StoredMention[];
  case?: Case;
  storm?: Alert;
  grouped?: Alert[];
  pagerduty?: PagerDutyState;
}

export interface Brand {
  id: string;
  name: string;
  languages: string[];
  topics: string[];
}

export interface Matcher {
  brand?: string[];
  kind?: AlertKind[];
  severity?: Severity[];
  minSeverity?: Severity;
  lang?: string[];
  platform?: string[];
  topic?: string[];
  author?: string[];
}

export interface Silence {
  id: string;
  match: Matcher;
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment?: string;
  createdAt: number;
  expiredAt?: number;
  expiredBy?: string;
  state?: 'active' | 'pending' | 'expired';
}

export interface Timeline {
  from: string;
  to: string;
  bucketMs: number;
  buckets: { start: string; posts: number; negative: number; negativeShare: number }[];
  storms: { id: string; title: string; start: string; end?: string }[];
}

export interface DurationStats {
  count: number;
  medianMs?: number;
  p90Ms?: number;
}

export interface BrandReport {
  brandId: string;
  brandName: string;
  alerts: number;
  byKind: Record<string, number>;
  bySeverity: Record<string, number>;
  open: number;
  escalated: number;
  timeToAcknowledge: DurationStats;
  timeToResolve: DurationStats;
  cases: number;
  recovery: { recovered: number; notRecovered: number; watching: number; rate?: number };
}

/** A refusal or failure as the API words it: `RW_ERR_…` and a message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  override toString(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** Called when the server says the session is gone (401), so the app can show the sign-in page. */
let onSignedOut: () => void = () => undefined;
export function whenSignedOut(fn: () => void): void {
  onSignedOut = fn;
}

const BASE = '/api/v1';

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-Repwatch-Console'] = '1';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(BASE + path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'NETWORK', 'the repwatch server could not be reached; check the connection and try again');
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    const err = new ApiError(res.status, error?.code ?? `HTTP_${res.status}`, error?.message ?? (res.statusText || 'request failed'));
    // A sign-in attempt with a wrong key is answered on the sign-in page itself.
    if (res.status === 401 && path !== '/session') onSignedOut();
    throw err;
  }
  return parsed as T;
}

const enc = encodeURIComponent;

export const api = {
  session: () => request<{ name: string }>('GET', '/session'),
  signIn: (key: string) => request<void>('POST', '/session', { key }),
  signOut: () => request<void>('DELETE', '/session'),
  brands: () => request<{ items: Brand[] }>('GET', '/brands'),
  /** Every open alert (pages of 200, newest first, up to 1,000): the list sorts them by severity itself. */
  openAlerts: async (brand?: string) => {
    const items: Alert[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 5; page++) {
      const res = await request<{ items: Alert[]; nextCursor?: string }>('GET', `/alerts?status=open&limit=200${brand ? `&brand=${enc(brand)}` : ''}${cursor ? `&cursor=${enc(cursor)}` : ''}`);
      items.push(...res.items);
      cursor = res.nextCursor;
      if (!cursor) break;
    }
    return { items, more: !!cursor };
  },
  alert: (id: string) => request<AlertDetail>('GET', `/alerts/${enc(id)}`),
  act: (id: string, verb: 'acknowledge' | 'resolve', comment?: string) => request<{ alert: Alert }>('POST', `/alerts/${enc(id)}/${verb}`, comment ? { comment } : {}),
  silences: (state?: Silence['state']) => request<{ items: Silence[] }>('GET', `/silences${state ? `?state=${state}` : ''}`),
  createSilence: (input: { match: Matcher; startsAt?: number; endsAt: number; comment?: string }) => request<{ silence: Silence }>('POST', '/silences', input),
  expireSilence: (id: string) => request<{ silence: Silence }>('DELETE', `/silences/${enc(id)}`),
  report: (since: string, brand?: string) => request<{ from: string; to: string; brands: BrandReport[] }>('GET', `/report?since=${enc(since)}${brand ? `&brand=${enc(brand)}` : ''}`),
  timeline: (brand: string, since: string, bucket: string) => request<Timeline>('GET', `/brands/${enc(brand)}/timeline?since=${enc(since)}&bucket=${enc(bucket)}`),
  sources: () => request<{ items: SourceOverview[] }>('GET', '/sources'),
  receivers: () => request<{ items: ReceiverState[] }>('GET', '/receivers'),
  enableReceiver: (id: string) => request<{ receiver: ReceiverState }>('POST', `/receivers/${enc(id)}/enable`),
};

/** GET /api/v1/sources: whether each source hears (src/services/sources.ts). */
export interface SourceOverview {
  brandId: string;
  sourceId: string;
  platform: string;
  state: 'ok' | 'refused' | 'failing' | 'stale' | 'silent' | 'disconnected';
  reason?: string;
  health: { lastAttemptAt?: number; lastSuccessAt?: number; consecutiveFailures: number; lastError?: { code: string; message: string; at: number }; postsRecent: number; historyHours: number; usualPerHour: number; stream?: { connected: boolean; since: number } };
  coverageAlertId?: string;
  quota?: { used: number; limit: number; unit: string };
}

/** GET /api/v1/receivers: a webhook endpoint that answered 410 Gone is disabled until enabled again. */
export interface ReceiverState {
  id: string;
  type: string;
  state: 'enabled' | 'disabled';
  since: number;
  reason: string;
  code?: string;
  by?: string;
}
