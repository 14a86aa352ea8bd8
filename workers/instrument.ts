import type { Job } from 'bullmq';
import type { Config } from '../src/config/load';
import type { Logger } from '../src/logger';
import type { Metrics } from '../src/metrics';
import type { Store } from '../src/store/store';
import { failedForGood, failureCodeOf } from './adapters';
import { REMINDER_JOB } from './queues';

/** What instrumentWorkers needs of a BullMQ Worker: its queue's name and its job events. */
export interface InstrumentedWorker {
  readonly name: string;
  on(event: 'completed', listener: (job: Job, result: any) => void): unknown;
  on(event: 'failed', listener: (job: Job | undefined, err: Error) => void): unknown;
  off(event: 'completed' | 'failed', listener: (...args: any[]) => void): unknown;
}

export interface InstrumentOptions {
  /**
   * Where a sent delivery's event time is looked up (one `_id` read) when the delivery outcome
   * does not carry `eventAt`; without either, delivery latency is not observed.
   */
  store?: Pick<Store, 'getEvent'>;
  /** The service clock (the demo runs a day in minutes): latency is measured on it. Default Date.now. */
  now?: () => number;
  logger?: Logger;
}

type MetricsSink = Pick<Metrics, 'inc' | 'observe'>;
const UNKNOWN = 'unknown';
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * Counts what the workers do from their job events, so services need no metrics code: posts
 * stored per brand and platform, judgement time, alerts raised, deliveries and their latency,
 * polls, poll errors and rate-limit waits, and every queue's finished jobs and job times.
 * Label values come from the configuration (unknown ids from a stray job become "unknown"), so
 * label sets stay bounded. A metric that cannot be written is logged and never fails a job.
 * Returns a function that removes the listeners.
 */
export function instrumentWorkers(
  workers: Readonly<Record<string, InstrumentedWorker | undefined>>,
  metrics: MetricsSink,
  config: Pick<Config, 'brands' | 'receivers'>,
  options: InstrumentOptions = {},
): () => void {
  const now = options.now ?? Date.now;
  const brands = new Set(config.brands.map((b) => b.id));
  const sources = new Set(config.brands.flatMap((b) => b.sources.map((s) => `${b.id}/${s.id}`)));
  const receivers = new Set(config.receivers.map((r) => r.id));
  const brandOf = (v: unknown) => (brands.has(str(v) ?? '') ? (v as string) : UNKNOWN);
  const sourceOf = (brand: string, v: unknown) => (sources.has(`${brand}/${str(v)}`) ? (v as string) : UNKNOWN);
  const receiverOf = (v: unknown) => (receivers.has(str(v) ?? '') ? (v as string) : UNKNOWN);

  const record = (what: string, work: () => Promise<unknown>) => {
    work().catch((err: Error) => options.logger?.warn({ metric: what, err: err.message }, 'could not record a metric'));
  };
  const jobSeconds = (job: Job) => (job.finishedOn && job.processedOn ? (job.finishedOn - job.processedOn) / 1000 : undefined);

  const onCompleted: Record<string, (job: Job, result: any) => Promise<unknown>> = {
    async poll(job, result) {
      const brand = brandOf(job.data?.brandId);
      const source = sourceOf(brand, job.data?.sourceId);
      const status = str(result?.status) ?? UNKNOWN;
      const work: Promise<unknown>[] = [metrics.inc('repwatch_polls_total', { brand, source, outcome: status })];
      // A new wait only: 'waiting' outcomes are polls skipped during a wait already counted.
      const resumeAt = num(result?.resumeAt);
      if (status === 'polled' && resumeAt !== undefined) work.push(rateLimitWait(brand, source, resumeAt - now()));
      return Promise.all(work);
    },
    async ingest(job, result) {
      const brand = brandOf(job.data?.brandId);
      const work: Promise<unknown>[] = [];
      for (const [platform, n] of storedByPlatform(job.data?.mentions, num(result?.stored) ?? 0)) work.push(metrics.inc('repwatch_posts_ingested_total', { brand, platform }, n));
      const judgeMs = num(result?.judgeMs);
      if (judgeMs !== undefined) work.push(metrics.observe('repwatch_judgement_duration_seconds', {}, judgeMs / 1000));
      for (const r of Array.isArray(result?.raised) ? (result.raised as unknown[]) : []) {
        const raised = r as { kind?: unknown; severity?: unknown };
        work.push(metrics.inc('repwatch_alerts_raised_total', { brand, kind: str(raised.kind) ?? UNKNOWN, severity: str(raised.severity) ?? UNKNOWN }));
      }
      return Promise.all(work);
    },
    async deliver(job, result) {
      const receiver = receiverOf(job.data?.receiverId);
      const status = str(result?.status) ?? UNKNOWN;
      await metrics.inc('repwatch_deliveries_total', { receiver, outcome: status });
      // Reminders wait hours by design: they are not latency.
      if (status !== 'sent' || job.name === REMINDER_JOB) return;
      const eventAt = await eventTime(result?.eventAt, str(job.data?.eventId));
      if (eventAt !== undefined) await metrics.observe('repwatch_delivery_latency_seconds', { receiver }, Math.max(0, now() - eventAt) / 1000);
    },
  };
  const onFailed: Record<string, (job: Job, err: Error, final: boolean) => Promise<unknown>> = {
    async poll(job, err) {
      const brand = brandOf(job.data?.brandId);
      const source = sourceOf(brand, job.data?.sourceId);
      const code = failureCodeOf(err);
      const work: Promise<unknown>[] = [metrics.inc('repwatch_polls_total', { brand, source, outcome: 'failed' }), metrics.inc('repwatch_poll_errors_total', { brand, source, code })];
      const retryAfterMs = num((err as { retryAfterMs?: unknown }).retryAfterMs);
      if (code === 'RW_ERR_PLATFORM_RATE_LIMITED') work.push(rateLimitWait(brand, source, retryAfterMs ?? 0));
      return Promise.all(work);
    },
    async deliver(job, _err, final) {
      return metrics.inc('repwatch_deliveries_total', { receiver: receiverOf(job.data?.receiverId), outcome: final ? 'failed' : 'retrying' });
    },
  };

  async function rateLimitWait(brand: string, source: string, waitMs: number) {
    await metrics.inc('repwatch_poll_rate_limit_waits_total', { brand, source });
    if (waitMs > 0) await metrics.inc('repwatch_poll_rate_limit_wait_seconds_total', { brand, source }, waitMs / 1000);
  }
  async function eventTime(given: unknown, eventId: string | undefined): Promise<number | undefined> {
    const at = num(given) ?? (typeof given === 'string' ? Date.parse(given) : undefined);
    if (at !== undefined && Number.isFinite(at)) return at;
    if (!eventId || !options.store) return undefined;
    const event = await options.store.getEvent(eventId);
    const parsed = event ? Date.parse(event.at) : NaN;
    return Number.isFinite(parsed) ? parsed : undefined;
  }

  const detach: (() => void)[] = [];
  for (const worker of Object.values(workers)) {
    if (!worker) continue;
    const queue = worker.name;
    const completed = (job: Job, result: unknown) => {
      record(`${queue} completed`, async () => {
        const seconds = jobSeconds(job);
        await Promise.all([
          metrics.inc('repwatch_jobs_total', { queue, outcome: 'completed' }),
          seconds !== undefined ? metrics.observe('repwatch_job_duration_seconds', { queue }, seconds) : undefined,
          onCompleted[queue]?.(job, result),
        ]);
      });
    };
    const failed = (job: Job | undefined, err: Error) => {
      if (!job) return;
      const final = failedForGood(job, err);
      record(`${queue} failed`, async () => {
        const seconds = jobSeconds(job);
        await Promise.all([
          metrics.inc('repwatch_jobs_total', { queue, outcome: final ? 'failed' : 'retrying' }),
          seconds !== undefined ? metrics.observe('repwatch_job_duration_seconds', { queue }, seconds) : undefined,
          onFailed[queue]?.(job, err, final),
        ]);
      });
    };
    worker.on('completed', completed);
    worker.on('failed', failed);
    detach.push(() => {
      worker.off('completed', completed);
      worker.off('failed', failed);
    });
  }
  return () => detach.forEach((d) => d());
}

/**
 * A page's newly stored posts per platform. A page comes from one source, so nearly always one
 * platform; a mixed page shares `stored` out in proportion (the outcome does not say which were new).
 */
export function storedByPlatform(mentions: unknown, stored: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of Array.isArray(mentions) ? mentions : []) {
    const platform = str((m as { platform?: unknown })?.platform) ?? UNKNOWN;
    counts.set(platform, (counts.get(platform) ?? 0) + 1);
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const out = new Map<string, number>();
  if (total === 0 || stored <= 0) return out;
  let left = stored;
  const ordered = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  ordered.forEach(([platform, n], i) => {
    const share = i === ordered.length - 1 ? left : Math.min(left, Math.round((stored * n) / total));
    left -= share;
    if (share > 0) out.set(platform, share);
  });
  return out;
}
