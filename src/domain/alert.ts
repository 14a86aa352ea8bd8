import type { Severity } from '../config/schema';
import type { SentimentLabel } from '../analysis/judgement';

export type { Severity } from '../config/schema';

export type AlertKind = 'negative-post';
export type AlertStatus = 'triggered' | 'acknowledged' | 'resolved';

/** Each term of the impact score, kept with the alert as the explanation of why it fired. */
export interface ImpactBreakdown {
  /** 0..1: how negative the post is (complaints count in full). */
  negativity: number;
  /** 0..1: followers on a log scale (1 at a million), plus a bonus for verified accounts. */
  reach: number;
  /** negativity × reach, 0..1. */
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
}

export interface Alert {
  /** The fingerprint: the same post (later: thread, author and topic) always gives the same id. */
  id: string;
  brandId: string;
  brandName: string;
  kind: AlertKind;
  severity: Severity;
  status: AlertStatus;
  /** One line for a notification title. */
  title: string;
  /** Why it fired, in words a comms team reads (the score breakdown and the words that drove it). */
  reason: string;
  impact: ImpactBreakdown;
  post: AlertPost;
  /** ISO 8601, from the clock passed in. */
  createdAt: string;
}

export type AlertEventType = 'alert.triggered';

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
  /** The alert as it was at this event. */
  alert: Alert;
}
