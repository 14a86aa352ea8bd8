import type { Severity } from '../config/schema';
import type { SentimentLabel } from '../analysis/judgement';

export type { Severity } from '../config/schema';

/**
 * complaint and negative-post: one post (or one thread, or one author on one topic) that can hurt
 * the brand; storm: many negative posts against the brand's baseline; opportunity: a high-reach
 * positive post worth answering; coverage: repwatch itself could not judge some of a source's
 * posts (pages that failed for good), so the brand is partly unwatched until they are retried.
 */
export const ALERT_KINDS = ['complaint', 'negative-post', 'storm', 'opportunity', 'coverage'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];
export type AlertStatus = 'triggered' | 'acknowledged' | 'resolved';

/** Each term of the impact score, kept with the alert as the explanation of why it fired. */
export interface ImpactBreakdown {
  /** 0..1: how negative the post is (complaints count in full); for opportunities, how positive. */
  negativity: number;
  /** 0..1: the complaint model's score when the post is a complaint, else 0. */
  complaint: number;
  /** 0..1: author influence: followers on a log scale (1 at a million), verification, platform weight. */
  reach: number;
  /** 0..1: likes, reposts, replies and quotes so far, on a log scale. */
  engagement: number;
  /** 0..1: engagement gained per minute at the last measurement, on a log scale. */
  velocity: number;
  /** People the post is expected to reach within a day, from followers and the engagement curve. */
  projectedReach: number;
  /** 0..1: the combination the severity is read from. */
  score: number;
}

/** The post an alert is about, as the alert keeps it (a snapshot: the mention may change later). */
export interface AlertPost {
  platform: string;
  postId: string;
  url: string;
  text: string;
  lang: string;
  createdAt: string;
  /** When repwatch fetched the post from the platform (alert latency is measured from here). */
  ingestedAt: string;
  author: { id: string; handle: string; name?: string; followers: number; verified: boolean };
  sentiment: { label: SentimentLabel; score: number };
  complaint: { label: boolean; score: number };
  evidence: { negative: string[]; positive: string[]; complaint: string[] };
  engagement?: { likes: number; reposts: number; replies: number; quotes: number };
}

/** What a storm alert shows: why it started and what it is about. */
export interface StormSummary {
  /** 'spike' (one window far above the baseline) or 'climb' (a sustained rise). */
  trigger: 'spike' | 'climb';
  /** The figures that crossed the threshold, in words. */
  because: string;
  topTerms: { term: string; count: number }[];
  topPosts: { platform: string; postId: string; url: string; text: string; handle: string; followers: number; impact: number }[];
  topAuthors: { handle: string; followers: number; posts: number }[];
  negativePosts: number;
  /** Single-post alerts that joined the storm instead of paging on their own. */
  joinedAlerts: number;
  /** When the volume fell back within the baseline (the alert stays open until someone resolves it). */
  endedAt?: string;
}

export interface Alert {
  /** The alert's id: its fingerprint, with `~N` appended for the Nth alert after earlier ones were resolved. */
  id: string;
  /** Same post, same thread, or same author and topic: the same fingerprint (see domain/fingerprint.ts). */
  fingerprint: string;
  brandId: string;
  brandName: string;
  kind: AlertKind;
  severity: Severity;
  status: AlertStatus;
  /** The brand topic the posts are about ('general' when no configured topic matches). */
  topic: string;
  /** The case (one customer's story across channels) this alert belongs to. */
  caseId?: string;
  /** The storm alert this one joined, when a storm was open for its brand and topic. */
  stormId?: string;
  /** One line for a notification title. */
  title: string;
  /** Why it fired, in words a comms team reads (the score breakdown and the words that drove it). */
  reason: string;
  impact: ImpactBreakdown;
  /** The leading post (for storms: the one with the highest impact). */
  post: AlertPost;
  /** Posts grouped into this alert so far. */
  count: number;
  storm?: StormSummary;
  /** ISO 8601, from the clock passed in. */
  createdAt: string;
  updatedAt: string;
  /** Critical alerts: when an unacknowledged alert escalates to on-call. */
  slaDeadline?: string;
  escalatedAt?: string;
  acknowledgedAt?: string;
  acknowledgedBy?: string;
  resolvedAt?: string;
  resolvedBy?: string;
  /** Grows with every change; events carry the alert as it was at that version. */
  version: number;
  /** The id of the alert-stream event that recorded this version (what a grouped delivery sends). */
  lastEventId?: string;
}

export const ALERT_EVENT_TYPES = [
  'alert.triggered',
  'alert.updated',
  'alert.escalated',
  'alert.acknowledged',
  'alert.resolved',
  'storm.started',
] as const;
export type AlertEventType = (typeof ALERT_EVENT_TYPES)[number];

/** One entry of the append-only alert stream. */
export interface AlertEvent {
  /** Deterministic, so a retried job cannot append the same event twice (also the webhook-id). */
  id: string;
  /** Grows with every event appended; consumers resume after the last one they saw. */
  seq: number;
  type: AlertEventType;
  alertId: string;
  brandId: string;
  severity: Severity;
  /** When the event happened (ISO 8601). */
  at: string;
  /** Who caused it, for acknowledgements and resolutions ('sla' for escalations, 'repwatch' otherwise). */
  by?: string;
  /** What the person who acknowledged or resolved it said (API, console), when they said something. */
  comment?: string;
  /** The alert as it was at this event. */
  alert: Alert;
  /**
   * Set only on a reminder: the n-th time this event is sent again because the alert is still
   * not acknowledged (repeatInterval). A reminder is a message, not a change: it is never on the
   * stream, and its id is the event's id with `/reminder-n` added.
   */
  reminder?: number;
}
