import { DelayedError, Queue, Worker, type ConnectionOptions, type Job, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { shippedAnalyzer } from '../src/analysis';
import type { Config, Secrets } from '../src/config/load';
import type { Logger } from '../src/logger';
import { createNotifiers } from '../src/notifiers';
import { deliverEvent, type DeliverOutcome } from '../src/services/deliver';
import { ingestPage, pageBearsAlerts, type IngestOutcome } from '../src/services/ingest';
import { pageKeyOf, pollSource, type PollOutcome } from '../src/services/poll';
import type { Dispatch } from '../src/services/ports';
import type { Alert } from '../src/domain/alert';
import { acknowledgeAlert, escalateIfOverdue, escalateOverdue, resolveAlert, sweep } from '../src/services/lifecycle';
import { recheckEngagement, type RecheckOutcome } from '../src/services/recheck';
import { blindnessOfSource, coverageFingerprintOf, refreshCoverage } from '../src/services/coverage';
import { SourceHealth } from '../src/store/source-health';
import { describeSources } from '../src/services/sources';
import { ReceiverState } from '../src/store/receiver-state';
import { scrubSecrets } from '../src/logger';
import { rearmRechecks, rearmSlaTimers, retryDeadLetter, retryDueDeadLetters, type RecoveryDeps, type RequeueOutcome } from '../src/services/recovery';
import { DeadLetters, deadLetterIdOf, type DeadLetterInput } from '../src/store/dead-letters';
import { RepwatchError } from '../src/domain/errors';
import { connectorFor } from '../src/connectors';
import { createHash } from 'node:crypto';
import { CaseIndex } from '../src/store/case-index';
import { Locks } from '../src/store/lock';
import { DeliveryClaims } from '../src/store/delivery-claims';
import { SourceState } from '../src/store/source-state';
import { redisSequence } from '../src/store/sequence';
import { SilenceStore } from '../src/store/silences';
import type { ApiDeps } from '../src/api/deps';
import { Store } from '../src/store/store';
import { replanUndelivered } from '../src/services/outbox';
import { HandedOnMemory } from '../src/store/handed-on';
import { PageOverlaps } from '../src/store/page-overlaps';
import { fullSweepReason, SweepRequests } from '../src/store/sweep-requests';
import { createMetrics } from '../src/metrics';
import { DIGEST_QUEUE, digestJobSchema, runDigest, syncDigestSchedulers, type DigestOutcome } from '../src/services/digest';
import { instrumentWorkers } from './instrument';
import { startStreams, type StreamOptions } from './stream';
import { backoffFor, failedForGood, failureCodeOf, parseJob, recoverableFailure, runJob } from './adapters';
import {
  QUEUES,
  QUEUE_POLICY,
  REMINDER_JOB,
  RETRIED_JOB,
  deliverJobSchema,
  deliveryJobOf,
  ingestJobSchema,
  jobIds,
  pollJobSchema,
  recheckJobSchema,
  requeue,
  webhookJobSchema,
  slaJobSchema,
  workerOptions,
  type QueueName,
  type QueuePolicy,
} from './queues';

export type Role = 'schedule' | 'poll' | 'ingest' | 'deliver' | 'sla' | 'stream' | 'api';
/**
 * The worker roles: what `repwatch run` starts without --roles. The HTTP server (api) is asked for
 * by name. `stream` holds the live connections (one process at a time per source, by a Redis lock).
 */
export const ALL_ROLES: readonly Role[] = ['schedule', 'poll', 'ingest', 'deliver', 'sla', 'stream'];
export const KNOWN_ROLES: readonly Role[] = [...ALL_ROLES, 'api'];

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
  /**
   * The schedule role checks this often that its job schedulers still exist in Redis (a Redis
   * that restarted empty or was flushed) and re-creates them; default 15 s.
   */
  schedulerCheckMs?: number;
  /** The `stream` role's batching, lock and backoff (tests shorten them). */
  stream?: Pick<StreamOptions, 'batch' | 'lockTtlMs' | 'backoffMs'>;
  /** Per-queue overrides of QUEUE_POLICY (workers/queues.ts): tests use short locks and few attempts. */
  queuePolicy?: Partial<Record<QueueName, Partial<QueuePolicy>>>;
  /** The `api` role: where to listen (REPWATCH_HTTP) and what it needs beyond the store. */
  api?: {
    listen: { host: string; port: number };
    apiKeys: ReadonlyMap<string, string>;
  } & Partial<Pick<ApiDeps, 'metrics' | 'slack' | 'consoleDir' | 'stream'>>;
}

export interface Repwatch {
  store: Store;
  queues: { poll: Queue; ingest: Queue; deliver: Queue; sla: Queue; recheck: Queue; webhook: Queue; digest: Queue };
  workers: {
    poll?: Worker<unknown, PollOutcome>;
    ingest?: Worker<unknown, IngestOutcome>;
    deliver?: Worker<unknown, DeliverOutcome>;
    sla?: Worker<unknown, boolean>;
    recheck?: Worker<unknown, RecheckOutcome>;
    webhook?: Worker<unknown, { mentions: number }>;
    digest?: Worker<unknown, DigestOutcome>;
  };
  /** Acknowledge and resolve alerts (the CLI and, later, the HTTP API and Slack buttons use these). */
  alerts: {
    acknowledge(alertId: string, by: string, comment?: string): Promise<Alert>;
    resolve(alertId: string, by: string, comment?: string): Promise<Alert>;
    /** Escalates every overdue alert now (the SLA timers do this one by one). */
    escalateOverdue(): Promise<string[]>;
  };
  /** Silences created through the API and Slack (routing.yaml's silences are in the config). */
  silences: SilenceStore;
  /** Work that failed for good (src/store/dead-letters.ts) and how to put it back. */
  deadLetters: {
    store: DeadLetters;
    /** Puts one dead letter's job back (idempotent); RW_ERR_UNKNOWN_REFERENCE for an unknown id. */
    retry(id: string): Promise<RequeueOutcome>;
    /** Every open dead letter, or those of one queue. */
    retryAll(queue?: 'ingest' | 'deliver'): Promise<{ id: string; outcome: RequeueOutcome }[]>;
    /** The sweep's dead-letter part now: failed jobs not recorded yet, then retries whose backoff is up. */
    sweep(): Promise<{ recorded: number; retried: number }>;
  };
  /** The sweep's source part now: coverage alerts of sources that went blind or hear again; returns how many were looked at. */
  checkSources(): Promise<number>;
  /** What the workers saw of each source (`repwatch sources`, the API). */
  sourceHealth: SourceHealth;
  /** Receivers repwatch stopped sending to (410 Gone), and enabling them again. */
  receivers: ReceiverState;
  /** What is re-armed after Redis came back empty, now: SLA timers of critical alerts whose deadline is ahead, rechecks of open alerts' lead posts. */
  rearmTimers(): Promise<{ slaTimers: number; rechecks: number }>;
  /** The sla role's minute job, now (tests; the schedule role schedules it every minute): `full` says whether, and why, the full sweep ran. */
  minuteSweep(): Promise<{ full: string | null; escalated: number }>;
  /** The `stream` role, when this process runs it: the sources whose live connection it holds. */
  streams?: { held(): string[] };
  /** The `api` role's HTTP server, when this process runs it. */
  api?: { url: string };
  redis: Redis;
  prefix: string;
  /** Stops taking jobs, waits for running ones, closes connections. Safe to call twice. */
  close(): Promise<void>;
}

/** Every minute: overdue critical alerts whose SLA timer was lost, and recovery windows that ended. */
const SLA_SWEEP = 'sla-sweep';
const SLA_SWEEP_EVERY_MS = 60_000;
/** After Redis came back empty: events this recent are planned again (delayed jobs wait at most a few hours). */
const REDELIVER_AFTER_REDIS_LOSS_MS = 6 * 3_600_000;

/** The priority of an ingest page that cannot alert (BullMQ: jobs without one go first, then 1, 2 …). */
export const BULK_INGEST_PRIORITY = 10;
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
  // Cursors are checkpointed in MongoDB too: a Redis that lost them does not refetch from zero.
  const sourceState = new SourceState(redis, prefix, store);
  const deadLetters = new DeadLetters(store);
  const locks = new Locks(redis, prefix);
  const deliveryClaims = new DeliveryClaims(redis, prefix);
  const sourceHealth = new SourceHealth(redis, prefix);
  // Changes are announced in Redis: a delivery reads the states from MongoDB only after one.
  const receiverState = new ReceiverState(store, { redis, prefix });
  const caseIndex = new CaseIndex(redis, prefix);
  const rate = options.clockRate ?? 1;
  const realDelay = (ms: number) => Math.max(0, Math.round(ms / rate));

  const queues = {
    poll: new Queue(QUEUES.poll, { connection, prefix }),
    ingest: new Queue(QUEUES.ingest, { connection, prefix }),
    deliver: new Queue(QUEUES.deliver, { connection, prefix }),
    sla: new Queue(QUEUES.sla, { connection, prefix }),
    recheck: new Queue(QUEUES.recheck, { connection, prefix }),
    webhook: new Queue(QUEUES.webhook, { connection, prefix }),
    digest: new Queue(DIGEST_QUEUE, { connection, prefix }),
  };
  // Counts live in Redis, so every process counts and the api process shows the sum (src/metrics).
  const metrics = createMetrics(redis, prefix, {
    queues,
    gauges: {
      repwatch_source_up: {
        help: 'Whether a source is hearing (1) or not (0: refused, failing, stale, silent or disconnected; see repwatch sources)',
        labelNames: ['brand', 'source', 'platform', 'state'],
        read: async () =>
          (await describeSources({ config, store, sourceHealth, now })).map((s) => ({ labels: { brand: s.brandId, source: s.sourceId, platform: s.platform, state: s.state }, value: s.state === 'ok' ? 1 : 0 })),
      },
      repwatch_receiver_enabled: {
        help: 'Whether repwatch sends to a receiver (0: disabled after 410 Gone until enabled again)',
        labelNames: ['receiver'],
        read: async () => {
          const disabled = new Set((await receiverState.list()).filter((r) => r.state === 'disabled').map((r) => r.receiverId));
          return config.receivers.map((r) => ({ labels: { receiver: r.id }, value: disabled.has(r.id) ? 0 : 1 }));
        },
      },
    },
  });
  const delivery = config.settings.delivery;
  const policy = Object.fromEntries(
    Object.entries(QUEUE_POLICY).map(([name, p]) => [name, { ...p, ...(name === 'deliver' ? { attempts: delivery.attempts, backoffMs: delivery.backoff } : {}), ...options.queuePolicy?.[name as QueueName] }]),
  ) as Record<QueueName, QueuePolicy>;

  const dispatch: Dispatch = {
    async ingest(page, key) {
      // The key is also the page's entry in its source's checkpoint, cleared when the page is judged.
      // A page that cannot alert waits behind those that can (BullMQ takes unprioritised jobs first).
      await queues.ingest.add('ingest', { ...page, pageKey: key }, {
        ...KEEP,
        ...(pageBearsAlerts(config, page) ? {} : { priority: BULK_INGEST_PRIORITY }),
        jobId: jobIds.ingest(page.brandId, page.sourceId, key),
        attempts: policy.ingest.attempts,
        backoff: { type: 'repwatch', delay: policy.ingest.backoffMs },
      });
    },
    async pollAgain(brandId, sourceId, key, delayMs) {
      await queues.poll.add('poll', { brandId, sourceId }, { ...KEEP, jobId: jobIds.pollAgain(brandId, sourceId, key), attempts: policy.poll.attempts, backoff: { type: 'repwatch', delay: policy.poll.backoffMs }, delay: delayMs });
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
      await queues.recheck.add('recheck', request, { ...KEEP, jobId: jobIds.recheck(request.postKey, request.round), delay: realDelay(at - now()), attempts: policy.recheck.attempts, backoff: { type: 'repwatch', delay: policy.recheck.backoffMs } });
    },
    async slaTimer(alertId, deadline) {
      await queues.sla.add('sla', { alertId }, { ...KEEP, jobId: jobIds.sla(alertId, deadline), delay: realDelay(deadline - now()), attempts: policy.sla.attempts, backoff: { type: 'repwatch', delay: policy.sla.backoffMs } });
    },
  };
  const sweepRequests = new SweepRequests(redis, prefix);
  const lifecycleDeps = { config, store, dispatch, locks, caseIndex, now, logger, handedOn: new HandedOnMemory(redis, prefix), pageOverlaps: new PageOverlaps(redis, prefix), sweepRequests };
  const recoveryDeps: RecoveryDeps = {
    ...lifecycleDeps,
    deadLetters,
    sourceHealth,
    requeue: (d) =>
      d.queue === 'deliver'
        ? requeue(queues.deliver, d.jobId, d.jobName, d.data, { attempts: delivery.attempts, backoffMs: delivery.backoff })
        : d.queue === 'ingest'
          ? requeue(queues.ingest, d.jobId, RETRIED_JOB, d.data, policy.ingest)
          : Promise.reject(new RepwatchError('RW_ERR_INPUT_INVALID', `${d._id} is a skipped post, not a job: there is nothing to retry`)),
  };

  /** A job that failed for good, as a dead letter. */
  const deadLetterOf = (queue: 'ingest' | 'deliver', job: Job, err: Error): DeadLetterInput => {
    const data = (job.data ?? {}) as { brandId?: unknown; sourceId?: unknown; mentions?: unknown; eventId?: unknown; receiverId?: unknown };
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return {
      queue,
      jobId: String(job.id),
      jobName: job.name,
      data: job.data,
      // A delivery's brand is the first part of its alert id (alert ids begin with the brand's id).
      brandId: str(data.brandId) ?? str(data.eventId)?.split('/')[0],
      sourceId: str(data.sourceId),
      receiverId: str(data.receiverId),
      ...(Array.isArray(data.mentions) ? { posts: data.mentions.length } : {}),
      code: failureCodeOf(err),
      reason: err.message.slice(0, 500),
      recoverable: recoverableFailure(err),
      attempts: job.attemptsMade,
      at: now(),
    };
  };
  /** Keeps a page that failed for good: the dead letter now holds its posts, the source's checkpoint need not. */
  const afterIngestDeadLetter = async (job: Job, changed: boolean) => {
    const data = job.data as { brandId?: string; sourceId?: string; pageKey?: string };
    if (data.brandId && data.sourceId && data.pageKey) await sourceState.pageDone(data.brandId, data.sourceId, data.pageKey);
    if (changed && data.brandId && data.sourceId) await refreshCoverage(recoveryDeps, data.brandId, data.sourceId);
  };
  /**
   * The sweep's backstop: a job that failed for good while its process died before recording it
   * (or failed in another process's stalled check) is still in the failed set; recorded once.
   */
  const recordFailedJobs = async (): Promise<number> => {
    let recorded = 0;
    for (const queue of ['ingest', 'deliver'] as const) {
      // The newest 100 of each failed set (kept 7 days): one `_id` insert each, refused when recorded.
      for (const job of await queues[queue].getFailed(0, 99)) {
        if (!job) continue;
        const input = deadLetterOf(queue, job, Object.assign(new Error(job.failedReason ?? 'failed'), { name: 'Failed' }));
        if (!(await deadLetters.recordIfMissing(input))) continue;
        recorded++;
        if (queue === 'ingest') await afterIngestDeadLetter(job, true);
      }
    }
    return recorded;
  };

  /**
   * A failed poll counts against its source's health (secret-free: the message goes into a
   * coverage alert); a source that became blind by it (refused, or failing again and again)
   * raises its coverage alert now rather than at the next sweep.
   */
  const recordPollFailure = async (brandId: string, sourceId: string, err: Error): Promise<void> => {
    try {
      await sourceHealth.failed(brandId, sourceId, { code: failureCodeOf(err), message: scrubSecrets(err.message, secrets.values()) }, now());
      if ((await blindnessOfSource(recoveryDeps, brandId, sourceId)).blindness.blind) await refreshCoverage(recoveryDeps, brandId, sourceId);
    } catch (e) {
      logger.warn({ brand: brandId, source: sourceId, err: (e as Error).message }, 'could not record a poll failure (the sweep checks the source)');
    }
  };
  /** The sweep's part: every source blind now, or with a coverage alert still open, brought in line. */
  const checkSources = async (): Promise<number> => {
    const all = config.brands.flatMap((b) => b.sources.map((s) => ({ brandId: b.id, sourceId: s.id })));
    const heads = await store.alertHeads(all.map((x) => coverageFingerprintOf(x.brandId, x.sourceId)));
    const openAlerts = await store.getAlerts([...heads.values()].map((h) => h.alertId));
    let changed = 0;
    for (const { brandId, sourceId } of all) {
      const head = heads.get(coverageFingerprintOf(brandId, sourceId));
      const open = head && openAlerts.get(head.alertId)?.status !== 'resolved';
      if (!open && !(await blindnessOfSource(recoveryDeps, brandId, sourceId)).blindness.blind) continue;
      await refreshCoverage(recoveryDeps, brandId, sourceId);
      changed++;
    }
    return changed;
  };

  /** When this process last ran the full sweep (undefined: not yet, so its first sweep is one). */
  let lastFullSweepAt: number | undefined;
  /**
   * The sla role's minute job: failed jobs recorded as dead letters, dead letters due retried,
   * sources checked; and the full sweep (lost SLA timers, events left marked, ended recovery
   * windows) when asked, at this process's first sweep and every 15 minutes: its queries read
   * whole collections on FerretDB (see SweepRequests).
   */
  const minuteSweep = async (): Promise<{ full: string | null; escalated: number }> => {
    const recorded = await recordFailedJobs();
    // A job recorded failed for good may have left its events marked: the full sweep looks.
    if (recorded) await sweepRequests.request(now());
    const retried = await retryDueDeadLetters(recoveryDeps);
    const sources = await checkSources();
    if (recorded || retried) logger.info({ recorded, retried, sources }, 'sweep: dead letters');
    const startedAt = now();
    const why = fullSweepReason({ now: startedAt, lastFullAt: lastFullSweepAt, requestedAt: await sweepRequests.requestedAt() });
    if (!why) return { full: null, escalated: 0 };
    const swept = await sweep(lifecycleDeps);
    const rearmed = await rearmSlaTimers(recoveryDeps);
    await sweepRequests.answered(startedAt);
    lastFullSweepAt = startedAt;
    await metrics.inc('repwatch_full_sweeps_total', { reason: why });
    logger.info({ why, escalated: swept.escalated.length, settled: swept.settled.length, replanned: swept.replanned, rearmed, ms: now() - startedAt }, 'full sweep');
    return { full: why, escalated: swept.escalated.length };
  };
  const workers: Repwatch['workers'] = {};
  const common = { connection, prefix, autorun: true } as const;
  if (roles.has('poll')) {
    workers.poll = new Worker(
      QUEUES.poll,
      (job) => runJob(async () => {
        const { brandId, sourceId } = parseJob(pollJobSchema, job);
        try {
          const outcome = await pollSource({ config, maxIngestBacklog: config.settings.ingestConcurrency * 2, secrets, sourceState, dispatch, now, logger }, brandId, sourceId);
          if (outcome.status === 'polled') await sourceHealth.succeeded(brandId, sourceId, outcome.mentions, now());
          else await sourceHealth.attempted(brandId, sourceId, now());
          return outcome;
        } catch (err) {
          await recordPollFailure(brandId, sourceId, err as Error);
          throw err;
        }
      }),
      { ...common, ...workerOptions(policy.poll), concurrency: 4, settings: { backoffStrategy: backoffFor(policy.poll.backoffMs) } },
    );
  }
  if (roles.has('ingest')) {
    workers.ingest = new Worker(
      QUEUES.ingest,
      (job) =>
        runJob(async () => {
          const { pageKey: _checkpointKey, ...page } = parseJob(ingestJobSchema, job);
          return ingestPage(lifecycleDeps, page);
        }),
      { ...common, ...workerOptions(policy.ingest), concurrency: config.settings.ingestConcurrency, settings: { backoffStrategy: backoffFor(policy.ingest.backoffMs) } },
    );
    // A page that failed before and is judged now closes its dead letter (and its coverage gap).
    workers.ingest.on('completed', (job) => {
      // The page no longer needs refetching after a Redis loss. Off the job's path (a MongoDB write
      // of about 3 ms per page here): a crash before it only means one page fetched again.
      const { brandId, sourceId, pageKey } = job.data as { brandId?: string; sourceId?: string; pageKey?: string };
      if (brandId && sourceId && pageKey) sourceState.pageDone(brandId, sourceId, pageKey).catch((err: Error) => logger.warn({ jobId: job.id, err: err.message }, 'could not clear the page from its checkpoint'));
      if (job.attemptsMade <= 1 && job.name !== RETRIED_JOB) return;
      void (async () => {
        const resolved = await deadLetters.resolve('ingest', String(job.id), now());
        if (resolved?.brandId && resolved.sourceId) await refreshCoverage(recoveryDeps, resolved.brandId, resolved.sourceId);
      })().catch((err: Error) => logger.error({ jobId: job.id, err: err.message }, 'could not close a dead letter'));
    });
  }
  if (roles.has('deliver')) {
    workers.deliver = new Worker(
      QUEUES.deliver,
      (job, token) => runJob(() => {
        const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        // A delivery waiting for an earlier one of its alert is put back without using up an attempt.
        const defer = async (ms: number): Promise<never> => {
          await job.moveToDelayed(Date.now() + ms, token);
          throw new DelayedError();
        };
        return deliverEvent({ store, notifiers, dispatch, now, logger, config, defer, claims: deliveryClaims, receiverState }, { ...parseJob(deliverJobSchema, job), claimant: String(job.id) }, finalAttempt);
      }),
      { ...common, ...workerOptions(policy.deliver), concurrency: config.settings.deliverConcurrency, settings: { backoffStrategy: backoffFor(delivery.backoff) } },
    );
  }
  if (roles.has('poll')) {
    // Rechecks call the platforms, so they run where polls run.
    workers.recheck = new Worker(
      QUEUES.recheck,
      (job) => runJob(() => recheckEngagement({ ...lifecycleDeps, secrets, sourceState }, parseJob(recheckJobSchema, job))),
      { ...common, ...workerOptions(policy.recheck), concurrency: 2, settings: { backoffStrategy: backoffFor(policy.recheck.backoffMs) } },
    );
  }
  if (roles.has('poll')) {
    // Webhook items are fetched from the platform, so they run where polls run.
    workers.webhook = new Worker(
      QUEUES.webhook,
      (job) =>
        runJob(async () => {
          const { brandId, sourceId, items } = parseJob(webhookJobSchema, job);
          const brand = config.brands.find((b) => b.id === brandId);
          const source = brand?.sources.find((s) => s.id === sourceId);
          const receiver = source && connectorFor(source).webhook;
          if (!brand || !source || !receiver) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no webhook source "${sourceId}" in brand "${brandId}" (config changed?)`);
          const at = now();
          try {
            const mentions = await receiver.fetch({ brand, source, cursor: null, now: at, secrets, configDir: config.dir, logger: logger.child({ brand: brandId, source: sourceId, role: 'webhook' }) }, items);
            if (mentions.length) await dispatch.ingest({ brandId, sourceId, polledAt: at, mentions }, `webhook-${pageKeyOf(job.id, mentions)}`);
            await sourceHealth.succeeded(brandId, sourceId, mentions.length, at);
            return { mentions: mentions.length };
          } catch (err) {
            await recordPollFailure(brandId, sourceId, err as Error);
            throw err;
          }
        }),
      { ...common, ...workerOptions(policy.webhook), concurrency: 2, settings: { backoffStrategy: backoffFor(policy.webhook.backoffMs) } },
    );
  }
  if (roles.has('sla')) {
    workers.sla = new Worker(
      QUEUES.sla,
      // A timer escalates its alert; the periodic sweep catches timers lost with Redis, settles ended
      // recovery windows, re-plans undelivered events, and retries dead letters whose backoff is up.
      (job) =>
        runJob(async () => {
          if (job.name !== SLA_SWEEP) return escalateIfOverdue(lifecycleDeps, parseJob(slaJobSchema, job).alertId);
          return (await minuteSweep()).escalated > 0;
        }),
      { ...common, ...workerOptions(policy.sla), concurrency: 4, settings: { backoffStrategy: backoffFor(policy.sla.backoffMs) } },
    );
  }
  if (roles.has('deliver')) {
    // Digests are deliveries too: they run where deliveries run.
    workers.digest = new Worker(
      DIGEST_QUEUE,
      (job) => runJob(() => runDigest({ config, store, notifiers, metrics, now, logger }, parseJob(digestJobSchema, job))),
      { ...common, concurrency: 2, settings: { backoffStrategy: backoffFor(delivery.backoff) } },
    );
  }
  const streamRole = roles.has('stream') ? startStreams({ config, secrets, redis, prefix, dispatch, sourceState, sourceHealth, logger, now, ...options.stream }) : undefined;
  const uninstrument = instrumentWorkers(workers, metrics, config, { store, now, logger });
  // A failed or stalled attempt (a crash mid-job) of a job that writes alert events may have left
  // them marked or a timer unset: the full sweep looks. Deliveries and digests write no events.
  const requestSweep = (queue: string, why: string) => {
    if (queue === 'deliver' || queue === 'digest') return;
    sweepRequests.request(now()).catch((err: Error) => logger.warn({ queue, why, err: err.message }, 'could not ask for a full sweep (the 15-minute one will look)'));
  };
  for (const [name, worker] of Object.entries(workers)) {
    worker?.on('stalled', () => requestSweep(name, 'stalled'));
    worker?.on('failed', (job, err) => {
      requestSweep(name, 'failed');
      const final = !!job && failedForGood(job, err);
      logger.warn({ queue: name, jobId: job?.id, attempts: job?.attemptsMade, final, err: err.message }, 'job failed');
      // Failed for good: an ingest page or a delivery becomes a dead letter in MongoDB, never just a log line.
      if (!job || !final || (name !== 'ingest' && name !== 'deliver')) return;
      void (async () => {
        const { created, reopened } = await deadLetters.record(deadLetterOf(name, job, err));
        if (name === 'ingest') await afterIngestDeadLetter(job, created || reopened);
        logger.error({ queue: name, deadLetter: deadLetterIdOf(name, String(job.id)), code: failureCodeOf(err) }, 'job failed for good: kept as a dead letter');
      })().catch((e: Error) => logger.error({ queue: name, jobId: job.id, err: e.message }, 'could not record a dead letter (the sweep will)'));
    });
    worker?.on('error', (err) => logger.error({ queue: name, err: err.message }, 'worker error'));
  }

  // The schedule role owns the job schedulers. Redis may come back empty (restarted without
  // persistence, failed over to an empty replica, flushed): a mark set after they are in place
  // tells, and they are re-created from here (the one place that upserts them) when it is gone,
  // on every reconnect and every schedulerCheckMs. Upserts are idempotent.
  let schedulerCheck: NodeJS.Timeout | undefined;
  if (roles.has('schedule')) {
    const mark = `${prefix}:schedulers-in-place`;
    const armSchedulers = async () => {
      await syncSchedulers(queues.poll, config, logger);
      await syncDigestSchedulers(queues.digest, config);
      await queues.sla.upsertJobScheduler(SLA_SWEEP, { every: SLA_SWEEP_EVERY_MS }, { name: SLA_SWEEP, data: {}, opts: { ...KEEP, attempts: 1 } });
      await redis.set(mark, String(now()));
    };
    await armSchedulers();
    let checking = false;
    const heal = async (why: string) => {
      if (checking) return;
      checking = true;
      try {
        if ((await redis.exists(mark)) === 1) return;
        logger.warn({ why }, 'job schedulers missing from Redis (restarted empty or flushed): re-creating them');
        await armSchedulers();
        // Overdue alerts whose timers went with Redis are the full sweep's: asked for in the new Redis
        // first, since the mark is back and a failure below is not healed again.
        await sweepRequests.request(now());
        // Delivery jobs handed on before the loss went with Redis: the outbox sweep plans them again.
        const remarked = await store.remarkUndeliveredSince(new Date(now() - REDELIVER_AFTER_REDIS_LOSS_MS).toISOString());
        // Planned again now rather than at the next minute sweep (deterministic job ids: no second job, no second send).
        if (remarked) logger.warn({ events: remarked, replanned: await replanUndelivered(lifecycleDeps, 0) }, 'events of the last hours planned again after Redis came back empty');
        // Timers that lived only in Redis: SLA escalations and the engagement rechecks of open alerts.
        logger.warn({ slaTimers: await rearmSlaTimers(recoveryDeps), rechecks: await rearmRechecks(recoveryDeps) }, 'timers re-armed after Redis came back empty');
      } catch (err) {
        logger.warn({ why, err: (err as Error).message }, 'could not check the job schedulers; trying again later');
      } finally {
        checking = false;
      }
    };
    redis.on('ready', () => void heal('reconnected'));
    schedulerCheck = setInterval(() => void heal('check'), options.schedulerCheckMs ?? 15_000);
    schedulerCheck.unref();
  }

  const alerts: Repwatch['alerts'] = {
    acknowledge: async (id, by, comment) => (await acknowledgeAlert(lifecycleDeps, id, by, comment)).alert,
    resolve: async (id, by, comment) => (await resolveAlert(lifecycleDeps, id, by, comment)).alert,
    escalateOverdue: () => escalateOverdue(lifecycleDeps),
  };
  const silences = new SilenceStore(store);
  const deadLetterApi: Repwatch['deadLetters'] = {
    store: deadLetters,
    async retry(id) {
      const found = await deadLetters.get(id);
      if (!found) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no dead letter "${id}" (see: repwatch dlq list)`);
      return retryDeadLetter(recoveryDeps, found);
    },
    async retryAll(queue) {
      const open = (await deadLetters.list({ status: 'open', queue })).filter((d) => d.queue !== 'poll');
      const out: { id: string; outcome: RequeueOutcome }[] = [];
      for (const d of open) out.push({ id: d._id, outcome: await retryDeadLetter(recoveryDeps, d) });
      return out;
    },
    async sweep() {
      const recorded = await recordFailedJobs();
      return { recorded, retried: await retryDueDeadLetters(recoveryDeps) };
    },
  };
  let api: { url: string; close(): Promise<void> } | undefined;
  if (roles.has('api')) {
    if (!options.api) throw new Error('the api role needs StartOptions.api (listen address and API keys)');
    const { startApi } = await import('../src/api/server');
    const { listen, ...rest } = options.api;
    try {
      const webhooks = {
        secrets,
        count: (platform: string, outcome: string, n = 1) => metrics.inc('repwatch_webhook_requests_total', { platform, outcome }, n),
        async enqueue(brandId: string, sourceId: string, items: { accountId: string; field: string; id: string; value?: Record<string, unknown> }[]) {
          // The same notification delivered twice is one job (Meta may resend); the store drops repeats anyway.
          const key = createHash('sha1').update(JSON.stringify(items.map((i) => [i.accountId, i.field, i.id]))).digest('hex').slice(0, 20);
          await queues.webhook.add('webhook', { brandId, sourceId, items }, { ...KEEP, jobId: jobIds.webhook(brandId, sourceId, key), attempts: policy.webhook.attempts, backoff: { type: 'repwatch', delay: policy.webhook.backoffMs } });
        },
      };
      api = await startApi({ config, logger, store, redis, prefix, alerts, silences, sourceHealth, receivers: receiverState, webhooks, now, metrics, ...rest }, listen);
    } catch (err) {
      // Nothing half-started is left behind (a port in use must not leave workers running).
      await Promise.allSettled([...Object.values(workers).map((w) => w?.close()), ...Object.values(queues).map((q) => q.close()), streamRole?.close()]);
      await Promise.allSettled([store.close(), redis.quit()]);
      throw err;
    }
  }

  let closing: Promise<void> | undefined;
  return {
    store,
    queues,
    workers,
    alerts,
    silences,
    deadLetters: deadLetterApi,
    checkSources,
    sourceHealth,
    receivers: receiverState,
    minuteSweep,
    rearmTimers: async () => ({ slaTimers: await rearmSlaTimers(recoveryDeps), rechecks: await rearmRechecks(recoveryDeps) }),
    ...(api ? { api: { url: api.url } } : {}),
    ...(streamRole ? { streams: { held: streamRole.held } } : {}),
    redis,
    prefix,
    close() {
      closing ??= (async () => {
        if (schedulerCheck) clearInterval(schedulerCheck);
        uninstrument();
        // Every step runs even if an earlier one fails. The HTTP server first: no new requests.
        const results: PromiseSettledResult<unknown>[] = await Promise.allSettled([...(api ? [api.close()] : []), ...(streamRole ? [streamRole.close()] : [])]);
        results.push(...(await Promise.allSettled(Object.values(workers).map((w) => w?.close()))));
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
