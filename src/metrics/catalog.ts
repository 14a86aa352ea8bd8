/**
 * Every counter and histogram repwatch keeps, with its labels. Names follow Prometheus practice:
 * `repwatch_<thing>_<unit>`, `_total` on counters. Labels are small, bounded sets (config ids,
 * enums, error codes): never post, author or user ids, which would grow without end.
 */

const JUDGEMENT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
// From the event to the receiver: grouping timers hold deliveries for minutes by design.
const LATENCY_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const JOB_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const COUNTERS = {
  repwatch_posts_ingested_total: { help: 'Posts stored for the first time (a post polled again is not counted twice)', labels: ['brand', 'platform'] },
  repwatch_alerts_raised_total: { help: 'Alerts triggered (storms included), by kind and severity at the time they were raised', labels: ['brand', 'kind', 'severity'] },
  repwatch_deliveries_total: { help: 'Delivery jobs finished, by receiver and outcome (sent, already-sent, superseded, receiver-disabled, retrying, failed, ...)', labels: ['receiver', 'outcome'] },
  repwatch_polls_total: { help: 'Polls of a source, by outcome (polled, waiting, backlogged, busy, failed)', labels: ['brand', 'source', 'outcome'] },
  repwatch_poll_errors_total: { help: 'Failed poll attempts, by source and error code', labels: ['brand', 'source', 'code'] },
  repwatch_poll_rate_limit_waits_total: { help: 'Times a platform rate limit made a source wait until its reset', labels: ['brand', 'source'] },
  repwatch_poll_rate_limit_wait_seconds_total: { help: 'Seconds sources were told to wait by platform rate limits', labels: ['brand', 'source'] },
  repwatch_jobs_total: { help: 'Queue jobs finished, by queue and outcome (completed, retrying, failed)', labels: ['queue', 'outcome'] },
  repwatch_webhook_requests_total: { help: 'Platform webhook POSTs, by platform and outcome (accepted, refused, malformed: signed but not understood, unowned: items for accounts no source watches, unqueued)', labels: ['platform', 'outcome'] },
  repwatch_full_sweeps_total: { help: 'Full sweeps run by the minute sweep of the sla role (lost SLA timers, events left marked, ended recovery windows), by reason (first, requested, backstop)', labels: ['reason'] },
  repwatch_digests_total: { help: 'Digest deliveries, by brand, receiver and outcome (sent, already-sent, failed, skipped)', labels: ['brand', 'receiver', 'outcome'] },
} as const satisfies Record<string, { help: string; labels: readonly string[] }>;

export const HISTOGRAMS = {
  repwatch_judgement_duration_seconds: { help: 'Time to judge one page of posts (language, sentiment, complaint)', labels: [], buckets: JUDGEMENT_BUCKETS },
  repwatch_delivery_latency_seconds: { help: 'From an alert event to its delivery to a receiver (reminders excluded)', labels: ['receiver'], buckets: LATENCY_BUCKETS },
  repwatch_job_duration_seconds: { help: 'Time a queue job ran, from start to finish', labels: ['queue'], buckets: JOB_BUCKETS },
} as const satisfies Record<string, { help: string; labels: readonly string[]; buckets: readonly number[] }>;

export type CounterName = keyof typeof COUNTERS;
export type HistogramName = keyof typeof HISTOGRAMS;
/** The labels a metric takes: exactly its label names, each a string. */
export type LabelsOf<L extends readonly string[]> = { [K in L[number]]: string };
export type CounterLabels<N extends CounterName> = LabelsOf<(typeof COUNTERS)[N]['labels']>;
export type HistogramLabels<N extends HistogramName> = LabelsOf<(typeof HISTOGRAMS)[N]['labels']>;
