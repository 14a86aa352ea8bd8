import { Queue, Worker, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { shippedAnalyzer } from '../src/analysis';
import type { Config, Secrets } from '../src/config/load';
import type { Logger } from '../src/logger';
import { createNotifiers } from '../src/notifiers';
import { deliverEvent, type DeliverOutcome } from '../src/services/deliver';
import { ingestPage, type IngestOutcome } from '../src/services/ingest';
import { pollSource, type PollOutcome } from '../src/services/poll';
import type { Dispatch } from '../src/services/ports';
import type { Alert } from '../src/domain/alert';
import { acknowledgeAlert, escalateIfOverdue, escalateOverdue, resolveAlert, sweep } from '../src/services/lifecycle';
import { recheckEngagement, type RecheckOutcome } from '../src/services/recheck';
import { CaseIndex } from '../src/store/case-index';
import { Locks } from '../src/store/lock';
import { SourceState } from '../src/store/source-state';
import { redisSequence } from '../src/store/sequence';
import { Store } from '../src/store/store';
import { backoffFor, parseJob, runJob } from './adapters';
import { QUEUES, REMINDER_JOB, deliverJobSchema, deliveryJobOf, ingestJobSchema, jobIds, pollJobSchema, recheckJobSchema, slaJobSchema } from './queues';

export type Role = 'schedule' | 'poll' | 'ingest' | 'deliver' | 'sla';
export const ALL_ROLES: readonly Role[] = ['schedule', 'poll', 'ingest', 'deliver', 'sla'];

export interface StartOptions {
  config: Config;
  secrets: Secrets;
  logger: Logger;
  redisUrl: string;
  mongoUri: string;
  /** Database name when the URI names none. */
  dbName?: string;
  /** Overrides config.settings.queuePrefix (tests use one per run). */
  queuePrefix?: string;
  /** Which parts run in this process; default all. `schedule` must run in one process only. */
  roles?: readonly Role[];
  now?: () => number;
  /**
   * How fast the clock runs against real time (a replayed day at 1440× in the demo): SLA and
   * grouping delays on the service clock are divided by it before they become queue delays.
   */
  clockRate?: number;
}

export interface Repwatch {
  store: Store;
  queues: { poll: Queue; ingest: Queue; deliver: Queue; sla: Queue; recheck: Queue };
  workers: {
    poll?: Worker<unknown, PollOutcome>;
    ingest?: Worker<unknown, IngestOutcome>;
    deliver?: Worker<unknown, DeliverOutcome>;
    sla?: Worker<unknown, boolean>;
    recheck?: Worker<unknown, RecheckOutcome>;
  };
  /** Acknowledge and resolve alerts (the CLI and, later, the HTTP API and Slack buttons use these). */
  alerts: {
    acknowledge(alertId: string, by: string): Promise<Alert>;
    resolve(alertId: string, by: string): Promise<Alert>;
    /** Escalates every overdue alert now (the SLA timers do this one by one). */
    escalateOverdue(): Promise<string[]>;
  };
  redis: Redis;
  prefix: string;
  /** Stops taking jobs, waits for running ones, closes connections. Safe to call twice. */
  close(): Promise<void>;
}

/** Every minute: overdue critical alerts whose SLA timer was lost, and recovery windows that ended. */
const SLA_SWEEP = 'sla-sweep';
const SLA_SWEEP_EVERY_MS = 60_000;

const KEEP = { removeOnComplete: { age: 3600, count: 1000 }, removeOnFail: { age: 7 * 24 * 3600 } } satisfies JobsOptions;

/** Wires config, Redis, MongoDB, queues and workers together: the one place that knows BullMQ. */
export async function startRepwatch(options: StartOptions): Promise<Repwatch> {
  const { config, secrets, logger } = options;
  const now = options.now ?? Date.now;
  const roles = new Set(options.roles ?? ALL_ROLES);
  const prefix = options.queuePrefix ?? config.settings.queuePrefix;
  // Load the analysis models now: a missing or broken model file stops start-up, not the first ingest.
  if (roles.has('ingest')) shippedAnalyzer();

  // Workers block on Redis, so their connection must never give up on a request.
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
  const connection: ConnectionOptions = redis;
  // Sequence numbers from Redis: atomic INCRBY, whatever the MongoDB-compatible server does.
  const store = await Store.connect({ uri: options.mongoUri, dbName: options.dbName, sequence: redisSequence(redis, `${prefix}:alert-stream-seq`) });
  const notifiers = createNotifiers(config.receivers, secrets);
  const sourceState = new SourceState(redis, prefix);
  const locks = new Locks(redis, prefix);
  const caseIndex = new CaseIndex(redis, prefix);
  const rate = options.clockRate ?? 1;
  const realDelay = (ms: number) => Math.max(0, Math.round(ms / rate));

  const queues = {
    poll: new Queue(QUEUES.poll, { connection, prefix }),
    ingest: new Queue(QUEUES.ingest, { connection, prefix }),
    deliver: new Queue(QUEUES.deliver, { connection, prefix }),
    sla: new Queue(QUEUES.sla, { connection, prefix }),
    recheck: new Queue(QUEUES.recheck, { connection, prefix }),
  };
  const delivery = config.settings.delivery;

  const dispatch: Dispatch = {
    async ingest(page, key) {
      await queues.ingest.add('ingest', page, {
        ...KEEP,
        jobId: jobIds.ingest(page.brandId, page.sourceId, key),
        attempts: 8,
        backoff: { type: 'repwatch', delay: 1000 },
      });
    },
    async pollAgain(brandId, sourceId, key, delayMs) {
      await queues.poll.add('poll', { brandId, sourceId }, { ...KEEP, jobId: jobIds.pollAgain(brandId, sourceId, key), attempts: 3, delay: delayMs });
    },
    async ingestBacklog() {
      const counts = await queues.ingest.getJobCounts('waiting', 'prioritized', 'delayed');
      return counts.waiting + counts.prioritized + counts.delayed;
    },
    async deliver(requests) {
      await queues.deliver.addBulk(
        requests.map((r) => ({
          name: r.reminder ? REMINDER_JOB : 'deliver',
          data: deliveryJobOf(r).data,
          opts: {
            ...KEEP,
            jobId: deliveryJobOf(r).id,
            delay: realDelay(r.delayMs ?? 0),
            attempts: delivery.attempts,
            backoff: { type: 'repwatch', delay: delivery.backoff },
          },
        })),
      );
    },
    async recheck(request, at) {
      await queues.recheck.add('recheck', request, { ...KEEP, jobId: jobIds.recheck(request.postKey, request.round), delay: realDelay(at - now()), attempts: 3, backoff: { type: 'repwatch', delay: 5000 } });
    },
    async slaTimer(alertId, deadline) {
      await queues.sla.add('sla', { alertId }, { ...KEEP, jobId: jobIds.sla(alertId, deadline), delay: realDelay(deadline - now()), attempts: 5, backoff: { type: 'repwatch', delay: 1000 } });
    },
  };
  const lifecycleDeps = { config, store, dispatch, locks, caseIndex, now, logger };

  const workers: Repwatch['workers'] = {};
  const common = { connection, prefix, autorun: true } as const;
  if (roles.has('poll')) {
    workers.poll = new Worker(
      QUEUES.poll,
      (job) => runJob(() => {
        const { brandId, sourceId } = parseJob(pollJobSchema, job);
        return pollSource({ config, maxIngestBacklog: config.settings.ingestConcurrency * 2, secrets, sourceState, dispatch, now, logger }, brandId, sourceId);
      }),
      { ...common, concurrency: 4, settings: { backoffStrategy: backoffFor(1000) } },
    );
  }
  if (roles.has('ingest')) {
    workers.ingest = new Worker(
      QUEUES.ingest,
      (job) => runJob(() => ingestPage(lifecycleDeps, parseJob(ingestJobSchema, job))),
      { ...common, concurrency: config.settings.ingestConcurrency, settings: { backoffStrategy: backoffFor(1000) } },
    );
  }
  if (roles.has('deliver')) {
    workers.deliver = new Worker(
      QUEUES.deliver,
      (job) => runJob(() => {
        const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        return deliverEvent({ store, notifiers, dispatch, now, logger }, { ...parseJob(deliverJobSchema, job), claimant: String(job.id) }, finalAttempt);
      }),
      { ...common, concurrency: config.settings.deliverConcurrency, settings: { backoffStrategy: backoffFor(delivery.backoff) } },
    );
  }
  if (roles.has('poll')) {
    // Rechecks call the platforms, so they run where polls run.
    workers.recheck = new Worker(
      QUEUES.recheck,
      (job) => runJob(() => recheckEngagement({ ...lifecycleDeps, secrets, sourceState }, parseJob(recheckJobSchema, job))),
      { ...common, concurrency: 2, settings: { backoffStrategy: backoffFor(5000) } },
    );
  }
  if (roles.has('sla')) {
    workers.sla = new Worker(
      QUEUES.sla,
      // A timer escalates its alert; the periodic sweep catches timers lost with Redis and settles ended recovery windows.
      (job) => runJob(async () => (job.name === SLA_SWEEP ? (await sweep(lifecycleDeps)).escalated.length > 0 : escalateIfOverdue(lifecycleDeps, parseJob(slaJobSchema, job).alertId))),
      { ...common, concurrency: 4, settings: { backoffStrategy: backoffFor(1000) } },
    );
  }
  for (const [name, worker] of Object.entries(workers)) {
    worker?.on('failed', (job, err) => logger.warn({ queue: name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed'));
    worker?.on('error', (err) => logger.error({ queue: name, err: err.message }, 'worker error'));
  }

  if (roles.has('schedule')) {
    await syncSchedulers(queues.poll, config, logger);
    await queues.sla.upsertJobScheduler(SLA_SWEEP, { every: SLA_SWEEP_EVERY_MS }, { name: SLA_SWEEP, data: {}, opts: { ...KEEP, attempts: 1 } });
  }

  let closing: Promise<void> | undefined;
  return {
    store,
    queues,
    workers,
    alerts: {
      acknowledge: async (id, by) => (await acknowledgeAlert(lifecycleDeps, id, by)).alert,
      resolve: async (id, by) => (await resolveAlert(lifecycleDeps, id, by)).alert,
      escalateOverdue: () => escalateOverdue(lifecycleDeps),
    },
    redis,
    prefix,
    close() {
      closing ??= (async () => {
        // Every step runs even if an earlier one fails.
        const results: PromiseSettledResult<unknown>[] = await Promise.allSettled(Object.values(workers).map((w) => w?.close()));
        results.push(...(await Promise.allSettled(Object.values(queues).map((q) => q.close()))));
        results.push(...(await Promise.allSettled([store.close(), redis.quit()])));
        const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
        if (failed) logger.warn({ err: String(failed.reason) }, 'shutdown step failed');
      })();
      return closing;
    },
  };
}

/**
 * One job scheduler per (brand, source) at its configured interval; schedulers no longer in the
 * config are removed. Runs only in the process with the `schedule` role (concurrent upserts from
 * several replicas are known to misbehave).
 */
export async function syncSchedulers(pollQueue: Queue, config: Config, logger: Logger): Promise<void> {
  const wanted = new Map<string, { brandId: string; sourceId: string; every: number }>();
  for (const brand of config.brands)
    for (const source of brand.sources) wanted.set(jobIds.schedulerOf(brand.id, source.id), { brandId: brand.id, sourceId: source.id, every: source.pollEvery });
  for (const existing of await pollQueue.getJobSchedulers()) {
    const id = existing.id ?? existing.key;
    if (id && !wanted.has(id)) await pollQueue.removeJobScheduler(id);
  }
  for (const [id, s] of wanted) {
    await pollQueue.upsertJobScheduler(id, { every: s.every }, { name: 'poll', data: { brandId: s.brandId, sourceId: s.sourceId }, opts: { ...KEEP, attempts: 3 } });
  }
  logger.info({ schedulers: wanted.size }, 'poll schedulers in place');
}
