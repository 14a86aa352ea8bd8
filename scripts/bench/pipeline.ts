/**
 * One replay through the whole pipeline (poll → ingest → store → alert → signed webhook), with its
 * roles started as three instances in this process, the way `repwatch run --roles` splits them
 * over processes:
 *
 *   work      poll, ingest, sla, stream   (what a post costs)
 *   deliver   deliver                     (what a delivery costs)
 *   schedule  schedule                    (started last: its job schedulers start the polling)
 *
 * Each instance is started under its own label (round-trips.ts), so the commands it sends are
 * counted apart; the counts start when the first two are up and before the schedule instance
 * arms the polls, so start-up (index builds, queue set-up) is not in the per-post figures.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { loadConfig, type LoadedConfig } from '../../src/config/load';
import { startRepwatch, type Repwatch, type Role, type StartOptions } from '../../workers/app';
import { outstandingJobs } from '../../workers/queues';
import type { ReceivedWebhook, WebhookReceiver } from '../webhook-receiver';
import { runAs, type CommandCounter, type LabelCounts } from './round-trips';
import { RssSampler } from './rss';

export const ROLE_GROUPS = {
  work: ['poll', 'ingest', 'sla', 'stream'],
  deliver: ['deliver'],
  schedule: ['schedule'],
} as const satisfies Record<string, readonly Role[]>;

export interface BenchConfigOptions {
  brandId: string;
  sourceId: string;
  /** JSONL lines of the replay. */
  posts: object[];
  /** Replay speed: 'max' (everything at once) or a time factor (posts arrive at their pace × it). */
  speed: number | 'max';
  pageSize?: number;
  pollEvery?: string;
  hookUrl: string;
  hookSecret: string;
  /** defaults.yaml, when the run needs other settings (concurrency, …). */
  defaults?: object;
}

/** Writes a bench config folder (one brand, one replay source, one webhook receiver) and loads it. */
export function writeBenchConfig(dir: string, o: BenchConfigOptions): LoadedConfig {
  writeFileSync(path.join(dir, 'posts.jsonl'), o.posts.map((p) => JSON.stringify(p)).join('\n') + '\n');
  writeFileSync(
    path.join(dir, 'brands.yaml'),
    stringify({
      brands: [
        {
          id: o.brandId,
          name: 'Bench Brand',
          keywords: [o.brandId],
          sources: [{ id: o.sourceId, platform: 'replay', file: 'posts.jsonl', speed: o.speed, pageSize: o.pageSize ?? 500, pollEvery: o.pollEvery ?? '200ms' }],
        },
      ],
    }),
  );
  writeFileSync(path.join(dir, 'receivers.yaml'), stringify({ receivers: [{ id: 'local', type: 'webhook', urlEnv: 'HOOK_URL', secretEnv: 'HOOK_SECRET', minSeverity: 'low' }] }));
  // No grouping timers: every change is delivered at once, so the run measures work, not waiting.
  writeFileSync(path.join(dir, 'routing.yaml'), stringify({ route: { receivers: ['local'], groupWait: '0s', groupInterval: '0s' } }));
  if (o.defaults) writeFileSync(path.join(dir, 'defaults.yaml'), stringify(o.defaults));
  return loadConfig({ dir, env: { HOOK_URL: o.hookUrl, HOOK_SECRET: o.hookSecret } });
}

export interface ReplayRunOptions {
  /** What every instance is started with (the mongoUri should carry monitorCommands=true to count). */
  start: Omit<StartOptions, 'roles' | 'queuePrefix'> & { queuePrefix: string };
  brandId: string;
  sourceId: string;
  receiver: WebhookReceiver;
  counter?: CommandCounter;
  onProgress?: (p: { posts: number; delivered: number }) => void;
  progressEveryMs?: number;
  /** Gives up (throws) after this long; default never. */
  timeoutMs?: number;
}

export interface ReplayRun {
  /** From the schedule role's start (the polls are armed) to every page judged and every delivery sent. */
  ms: number;
  /** Posts through ingest (pages' sizes added up) and pages. */
  posts: number;
  pages: number;
  /** Mentions in the store at the end. */
  stored: number;
  /** Webhooks received during the run. */
  received: ReceivedWebhook[];
  /** Time ingest jobs ran, summed over concurrent jobs. */
  ingestBusyMs: number;
  /** First and last page's fetch time (ms): the pace posts arrived at. */
  firstFetchAt: number;
  lastFetchAt: number;
  /** Commands per label (work, deliver, schedule, other) during the run. */
  counts: Record<string, LabelCounts>;
  /** Highest resident set seen during the run, MB (all instances: one process). */
  rssPeakMb: number;
}

/** Starts the roles as three instances, replays the source to its end, waits for the queues to drain, closes. */
export async function runReplay(o: ReplayRunOptions): Promise<ReplayRun> {
  const instances: Repwatch[] = [];
  const redis = new Redis(o.start.redisUrl);
  const rss = new RssSampler().start();
  const receivedBefore = o.receiver.received.length;
  try {
    const start = (label: keyof typeof ROLE_GROUPS) =>
      runAs(label, async () => {
        const app = await startRepwatch({ ...o.start, roles: ROLE_GROUPS[label] });
        instances.push(app);
        return app;
      });
    await start('deliver');
    const work = await start('work');
    let posts = 0;
    let pages = 0;
    let ingestBusyMs = 0;
    let firstFetchAt = Infinity;
    let lastFetchAt = 0;
    let ingestFailure: Error | undefined;
    work.workers.ingest?.on('completed', (job, r) => {
      posts += r.posts;
      pages++;
      ingestBusyMs += (job.finishedOn ?? 0) - (job.processedOn ?? 0);
      const polledAt = Number((job.data as { polledAt?: unknown }).polledAt);
      if (Number.isFinite(polledAt)) {
        firstFetchAt = Math.min(firstFetchAt, polledAt);
        lastFetchAt = Math.max(lastFetchAt, polledAt);
      }
    });
    // A failing page would be retried forever at this pace: the run stops on the first failure.
    work.workers.ingest?.on('failed', (_job, err) => {
      ingestFailure ??= err;
    });

    o.counter?.reset();
    await start('schedule');
    // Timed from here, as the bench always was: the schedulers were armed at the end of start-up.
    const t = Date.now();
    const sourceKey = `${o.start.queuePrefix}:source:${o.brandId}:${o.sourceId}`;
    let lastPrint = t;
    for (;;) {
      await new Promise((r) => setTimeout(r, 250));
      if (ingestFailure) throw new Error(`an ingest job failed, so the figures would mean nothing: ${ingestFailure.message}`);
      if (o.timeoutMs !== undefined && Date.now() - t > o.timeoutMs) throw new Error(`the replay did not finish within ${o.timeoutMs} ms (${posts} posts through ingest)`);
      const cursor = await redis.hget(sourceKey, 'cursor');
      const counts = await Promise.all([work.queues.ingest, work.queues.deliver].map(outstandingJobs));
      if (cursor && JSON.parse(cursor)?.done && counts.every((n) => n === 0)) break;
      if (o.onProgress && Date.now() - lastPrint > (o.progressEveryMs ?? 5000)) {
        o.onProgress({ posts, delivered: o.receiver.received.length - receivedBefore });
        lastPrint = Date.now();
      }
    }
    const ms = Date.now() - t;
    const counts = o.counter?.snapshot() ?? {};
    const stored = await work.store.models.Mention.estimatedDocumentCount();
    return { ms, posts, pages, stored, received: o.receiver.received.slice(receivedBefore), ingestBusyMs, firstFetchAt, lastFetchAt, counts, rssPeakMb: rss.stop() };
  } finally {
    rss.stop();
    // The schedule instance first (no new polls); the database (the same for every instance) is
    // dropped while the others can still reach it, whether the run finished or not.
    const [deliver, work, schedule] = instances;
    await schedule?.close();
    await deliver?.store.conn.dropDatabase().catch(() => undefined);
    await work?.close();
    await deliver?.close();
    const keys = await redis.keys(`${o.start.queuePrefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
}

/** The nearest-rank percentile; NaN for no values. */
export function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/**
 * Alert latency, post fetched → webhook received, of the deliveries that announce a new alert
 * (`alert.triggered`): their alert's post is the post that raised it. An update names the
 * alert's leading post, often fetched long before the post that changed it, so its age is not
 * a latency; those are given apart (`allMs`) for comparison with earlier runs.
 */
export function alertLatencies(received: ReceivedWebhook[]): { newAlertMs: number[]; allMs: number[] } {
  const latency = (r: ReceivedWebhook) => r.receivedAt - Date.parse(r.body?.data?.alert?.post?.ingestedAt);
  const all = received.filter((r) => Number.isFinite(latency(r)));
  return { newAlertMs: all.filter((r) => r.type === 'alert.triggered').map(latency), allMs: all.map(latency) };
}
