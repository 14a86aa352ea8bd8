import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Mention } from '../../src/domain/mention';
import { RepwatchError } from '../../src/domain/errors';
import { COUNTERS, HISTOGRAMS, createMetrics } from '../../src/metrics';
import { instrumentWorkers, storedByPlatform } from '../../workers/instrument';
import { startRepwatch, syncSchedulers, type Repwatch } from '../../workers/app';
import { outstandingJobs } from '../../workers/queues';
import { WebhookReceiver, newWebhookSecret } from '../../scripts/webhook-receiver';
import { MONGODB_URI, REDIS_URL, captureLogger, makeConfig, uniqueName, waitFor } from '../helpers';

/** The parser's view of an exposition (prom2json's shape). */
interface Family {
  name: string;
  help: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }[];
}
// The package ships no type declarations.
const parsePrometheus = require('parse-prometheus-text-format') as (text: string) => Family[];

function family(families: Family[], name: string): Family {
  const found = families.find((f) => f.name === name);
  if (!found) throw new Error(`no metric ${name} in the exposition (have: ${families.map((f) => f.name).join(', ')})`);
  return found;
}
/** The value of the series with exactly these labels (0 when the series does not exist). */
function valueOf(families: Family[], name: string, labels: Record<string, string> = {}): number {
  const series = family(families, name).metrics.find((m) => sameLabels(m.labels ?? {}, labels));
  return series ? Number(series.value) : 0;
}
/**
 * One series of a histogram. The parser merges every series of a labelled histogram into one
 * (its flattenMetrics keeps only unlabelled ones), so each sample line of the histogram is parsed
 * on its own (as an untyped sample with its labels) and the series is picked by its labels.
 */
function histogramOf(text: string, name: string, labels: Record<string, string> = {}) {
  const samples = text
    .split('\n')
    .filter((line) => line.startsWith(`${name}_bucket`) || line.startsWith(`${name}_sum`) || line.startsWith(`${name}_count`))
    .map((line) => parsePrometheus(`${line}\n`)[0])
    .map((f) => ({ name: f.name, labels: f.metrics[0].labels ?? {}, value: Number(f.metrics[0].value) }));
  const mine = samples.filter((s) => {
    const { le: _le, ...rest } = s.labels;
    return sameLabels(rest, labels);
  });
  if (!mine.length) throw new Error(`no ${name} series with labels ${JSON.stringify(labels)}`);
  const pick = (suffix: string) => mine.find((s) => s.name === `${name}_${suffix}`)?.value ?? NaN;
  const buckets = mine
    .filter((s) => s.name === `${name}_bucket`)
    .map((s) => [s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), s.value] as const)
    .sort((a, b) => a[0] - b[0]);
  return { count: pick('count'), sum: pick('sum'), buckets };
}
function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

const T0 = Date.parse('2026-03-10T09:00:00Z');
function post(i: number, text: string, followers: number, platform = 'x', brandId = 'hotel-zeezicht'): Mention {
  const id = String(1_890_000_000_000_000_000n + BigInt(i));
  return {
    platform,
    brandId,
    postId: id,
    url: `https://x.com/user${i}/status/${id}`,
    author: { id: `u${i}`, handle: `user${i}`, followers, verified: false },
    text,
    langHint: 'nl',
    createdAt: new Date(T0 + i * 60_000).toISOString(),
    engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
  };
}
const POSTS = [
  post(1, 'Heerlijk ontbijt gehad bij Hotel Zeezicht, echt een aanrader!', 800),
  post(2, 'Weet iemand of Hotel Zeezicht ook kamers met balkon heeft?', 120),
  post(3, 'Wat een teleurstelling bij Hotel Zeezicht: de kamer was vies en het personeel onbeschoft. Nooit meer!', 312_400),
  post(4, 'Slechtste hotel ooit, Hotel Zeezicht. Vies en duur, waardeloos.', 4_200),
  post(5, 'Hotel Zeezicht was terrible, dirty room and rude staff. Never again.', 40),
  post(6, 'Mooi weer vandaag bij Hotel Zeezicht aan zee', 15),
];

const ALLOWED_LABELS = new Set(['brand', 'platform', 'source', 'kind', 'severity', 'receiver', 'outcome', 'queue', 'state', 'code', 'le']);

describe('Prometheus metrics kept in Redis, counted from worker events', () => {
  let redis: Redis;
  const prefixes: string[] = [];
  beforeAll(() => {
    redis = new Redis(REDIS_URL());
  });
  afterAll(async () => {
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
    }
    await redis.quit();
  });

  describe('a replayed page through startRepwatch', () => {
    let app: Repwatch | undefined;
    let receiver: WebhookReceiver;
    const secret = newWebhookSecret();
    const prefix = `{${uniqueName('metrics')}}`;
    const dbName = uniqueName('metrics');
    const { logger } = captureLogger(() => [secret]);
    prefixes.push(prefix);

    beforeAll(async () => {
      receiver = new WebhookReceiver(secret);
      const url = await receiver.start();
      const loaded = makeConfig(
        {
          brands: {
            brands: [
              {
                id: 'hotel-zeezicht',
                name: 'Hotel Zeezicht',
                keywords: ['Hotel Zeezicht'],
                sources: [{ id: 'scenario', platform: 'replay', file: 'posts.jsonl', speed: 'max', pageSize: 4, pollEvery: '200ms' }],
              },
            ],
          },
          receivers: { receivers: [{ id: 'local', type: 'webhook', urlEnv: 'HOOK_URL', secretEnv: 'HOOK_SECRET', minSeverity: 'low', timeout: '5s' }] },
          defaults: { delivery: { attempts: 3, backoff: '200ms' } },
          extra: { 'posts.jsonl': POSTS.map((p) => JSON.stringify(p)).join('\n') + '\n' },
        },
        { HOOK_URL: url, HOOK_SECRET: secret },
      );
      // No schedule role: the workers are instrumented before the first poll is scheduled.
      app = await startRepwatch({
        config: loaded.config,
        secrets: loaded.secrets,
        logger,
        redisUrl: REDIS_URL(),
        mongoUri: MONGODB_URI(),
        dbName,
        queuePrefix: prefix,
        roles: ['poll', 'ingest', 'deliver', 'sla'],
      });
      // startRepwatch instruments its own workers (workers/app.ts): the counts below come from that.
      await syncSchedulers(app.queues.poll, loaded.config, logger);
      await waitFor('the replay to finish and its jobs to drain', async () => {
        const state = await redis.hget(`${prefix}:source:hotel-zeezicht:scenario`, 'cursor');
        if (!state || !JSON.parse(state).done) return false;
        const counts = await Promise.all([app!.queues.ingest, app!.queues.deliver].map(outstandingJobs));
        return counts.every((n) => n === 0) && receiver.received.length > 0;
      });
      // Listeners record after the job event: give the last increments a moment to land.
      await new Promise((r) => setTimeout(r, 300));
    });

    afterAll(async () => {
      await app?.close();
      if (app) await app.store.conn.dropDatabase().catch(() => undefined);
      await receiver.stop();
    });

    it('renders, in another process\'s view, the posts stored, deliveries, latency, queue gauges, the stream sequence and process metrics', async () => {
      // A fresh instance over the same Redis, as the api process would have: nothing in memory is shared.
      const own = new Redis(REDIS_URL());
      const scraper = createMetrics(own, prefix, { queues: () => app!.queues });
      const { contentType, body } = await scraper.render().finally(() => own.quit());
      expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      const families = parsePrometheus(body);

      const stored = await app!.store.models.Mention.countDocuments({});
      expect(stored).toBe(POSTS.length);
      expect(valueOf(families, 'repwatch_posts_ingested_total', { brand: 'hotel-zeezicht', platform: 'x' })).toBe(stored);

      const sent = receiver.received.length;
      expect(valueOf(families, 'repwatch_deliveries_total', { receiver: 'local', outcome: 'sent' })).toBe(sent);
      const latency = histogramOf(body, 'repwatch_delivery_latency_seconds', { receiver: 'local' });
      expect(latency.count).toBe(sent);
      expect(latency.sum).toBeGreaterThan(0);
      // Cumulative buckets ending in +Inf = count.
      for (let i = 1; i < latency.buckets.length; i++) expect(latency.buckets[i][1]).toBeGreaterThanOrEqual(latency.buckets[i - 1][1]);
      expect(latency.buckets[latency.buckets.length - 1]).toEqual([Infinity, sent]);

      const ingestCompleted = (await app!.queues.ingest.getJobCounts('completed')).completed;
      expect(ingestCompleted).toBeGreaterThan(0);
      expect(valueOf(families, 'repwatch_jobs_total', { queue: 'ingest', outcome: 'completed' })).toBe(ingestCompleted);
      expect(histogramOf(body, 'repwatch_job_duration_seconds', { queue: 'ingest' }).count).toBe(ingestCompleted);
      expect(valueOf(families, 'repwatch_polls_total', { brand: 'hotel-zeezicht', source: 'scenario', outcome: 'polled' })).toBeGreaterThanOrEqual(ingestCompleted);

      // Gauges read at scrape time: every queue, every state.
      for (const queue of Object.values(app!.queues)) {
        const counts = await queue.getJobCounts('waiting', 'failed');
        expect(valueOf(families, 'repwatch_queue_jobs', { queue: queue.name, state: 'waiting' })).toBe(counts.waiting);
        expect(family(families, 'repwatch_queue_jobs').metrics.filter((m) => m.labels?.queue === queue.name).map((m) => m.labels?.state).sort()).toEqual(
          ['active', 'delayed', 'paused', 'prioritized', 'waiting', 'waiting-children'],
        );
        expect(valueOf(families, 'repwatch_queue_failed_jobs', { queue: queue.name })).toBe(counts.failed);
      }
      const [last] = await app!.store.models.AlertEvent.collection.find({}).sort({ seq: -1 }).limit(1).toArray();
      expect(last).toBeDefined();
      expect(valueOf(families, 'repwatch_alert_stream_sequence')).toBe(last.seq);

      // The process's own metrics, and the naming and label rules.
      expect(family(families, 'process_cpu_user_seconds_total').type).toBe('COUNTER');
      expect(family(families, 'nodejs_heap_size_used_bytes').type).toBe('GAUGE');
      for (const f of families.filter((f) => f.name.startsWith('repwatch_'))) {
        if (f.type === 'COUNTER') expect(f.name).toMatch(/_total$/);
        for (const m of f.metrics) for (const label of Object.keys({ ...m.labels })) expect(ALLOWED_LABELS).toContain(label);
      }
      expect(families.map((f) => f.name)).toEqual(expect.arrayContaining([...Object.keys(COUNTERS), ...Object.keys(HISTOGRAMS)]));
    });

    it('gives the same counts to scrapes that overlap', async () => {
      const scraper = createMetrics(app!.redis, prefix, { queues: app!.queues, defaultMetrics: false });
      const [a, b] = await Promise.all([scraper.render(), scraper.render()]);
      const pick = (text: string) => valueOf(parsePrometheus(text), 'repwatch_posts_ingested_total', { brand: 'hotel-zeezicht', platform: 'x' });
      expect(pick(a.body)).toBe(POSTS.length);
      expect(pick(b.body)).toBe(POSTS.length);
    });
  });

  describe('job events the services report', () => {
    const prefix = `{${uniqueName('metrics-ev')}}`;
    prefixes.push(prefix);
    const loaded = makeConfig(
      { brands: { brands: [{ id: 'b1', name: 'B1', keywords: ['b1'], sources: [{ id: 's1', platform: 'replay', file: 'p.jsonl' }] }] }, extra: { 'p.jsonl': '' } },
      {},
    );
    let workers: Worker[] = [];
    let queues: Queue[] = [];
    const own = new Redis(REDIS_URL());
    afterAll(async () => {
      await own.quit();
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(queues.map((q) => q.close()));
    });

    it('counts judgement time, alerts raised by kind and severity, poll errors by code and rate-limit waits', async () => {
      const connection = { host: '127.0.0.1', port: Number(new URL(REDIS_URL()).port || 6379), maxRetriesPerRequest: null };
      const mentions = [post(1, 'a', 1, 'x', 'b1'), post(2, 'b', 1, 'x', 'b1'), post(3, 'c', 1, 'instagram', 'b1')];
      const ingest = new Worker('ingest', async () => ({ posts: 3, stored: 3, duplicates: 0, alerts: 2, newEvents: 2, deliveries: 0, stormsStarted: 0, judgeMs: 12, raised: [{ kind: 'complaint', severity: 'critical' }, { kind: 'storm', severity: 'high' }] }), { connection, prefix });
      const poll = new Worker(
        'poll',
        async (job) => {
          if (job.name === 'fails') throw new RepwatchError('RW_ERR_PLATFORM_RATE_LIMITED', 'x answered 429', { retryAfterMs: 30_000 });
          return { status: 'polled', mentions: 0, hasMore: false, resumeAt: Date.now() + 60_000 };
        },
        { connection, prefix },
      );
      workers = [ingest, poll];
      const metrics = createMetrics(own, prefix, { defaultMetrics: false });
      instrumentWorkers({ ingest, poll }, metrics, loaded.config);

      queues = [new Queue('ingest', { connection, prefix }), new Queue('poll', { connection, prefix })];
      await queues[0].add('ingest', { brandId: 'b1', sourceId: 's1', polledAt: T0, mentions });
      await queues[1].add('fails', { brandId: 'b1', sourceId: 's1' }, { attempts: 1 });
      await queues[1].add('poll', { brandId: 'b1', sourceId: 's1' });
      // A job naming a brand that is not configured is counted under "unknown", not under its id.
      await queues[1].add('poll', { brandId: 'no-such-brand', sourceId: 'zz' });

      let text = '';
      const families = await waitFor('the job events to be counted', async () => {
        text = (await metrics.render()).body;
        const f = parsePrometheus(text);
        return valueOf(f, 'repwatch_jobs_total', { queue: 'poll', outcome: 'completed' }) === 2 && valueOf(f, 'repwatch_poll_errors_total', { brand: 'b1', source: 's1', code: 'RW_ERR_PLATFORM_RATE_LIMITED' }) === 1 && valueOf(f, 'repwatch_alerts_raised_total', { brand: 'b1', kind: 'storm', severity: 'high' }) === 1 ? f : undefined;
      });

      const judgement = histogramOf(text, 'repwatch_judgement_duration_seconds');
      expect(judgement.count).toBe(1);
      expect(judgement.sum).toBeCloseTo(0.012, 6);
      expect(judgement.buckets.find(([le]) => le === 0.01)?.[1]).toBe(0);
      expect(judgement.buckets.find(([le]) => le === 0.025)?.[1]).toBe(1);
      expect(valueOf(families, 'repwatch_alerts_raised_total', { brand: 'b1', kind: 'complaint', severity: 'critical' })).toBe(1);
      expect(valueOf(families, 'repwatch_posts_ingested_total', { brand: 'b1', platform: 'x' })).toBe(2);
      expect(valueOf(families, 'repwatch_posts_ingested_total', { brand: 'b1', platform: 'instagram' })).toBe(1);

      expect(valueOf(families, 'repwatch_polls_total', { brand: 'b1', source: 's1', outcome: 'failed' })).toBe(1);
      expect(valueOf(families, 'repwatch_jobs_total', { queue: 'poll', outcome: 'failed' })).toBe(1);
      expect(valueOf(families, 'repwatch_polls_total', { brand: 'unknown', source: 'unknown', outcome: 'polled' })).toBe(1);
      // One wait from the 429 (30 s) and one from each completed poll's resumeAt (about 60 s each).
      expect(valueOf(families, 'repwatch_poll_rate_limit_waits_total', { brand: 'b1', source: 's1' })).toBe(2);
      const waited = valueOf(families, 'repwatch_poll_rate_limit_wait_seconds_total', { brand: 'b1', source: 's1' });
      expect(waited).toBeGreaterThan(85);
      expect(waited).toBeLessThanOrEqual(90);
      expect(body(families)).not.toContain('no-such-brand');
    });
  });

  it('renders gauges read at scrape time (source hearing, receiver enabled) with their labels', async () => {
    const own = new Redis(REDIS_URL());
    const sources = [{ labels: { brand: 'b', source: 'x', platform: 'x', state: 'refused' }, value: 0 }, { labels: { brand: 'b', source: 'r', platform: 'rss', state: 'ok' }, value: 1 }];
    const scraper = createMetrics(own, `{${uniqueName('gauges')}}`, {
      defaultMetrics: false,
      gauges: { repwatch_source_up: { help: 'hearing', labelNames: ['brand', 'source', 'platform', 'state'], read: async () => sources } },
    });
    const families = parsePrometheus((await scraper.render().finally(() => own.quit())).body);
    expect(valueOf(families, 'repwatch_source_up', sources[0].labels)).toBe(0);
    expect(valueOf(families, 'repwatch_source_up', sources[1].labels)).toBe(1);
  });

  it('shares a mixed page\'s stored posts out by platform', () => {
    const ms = [{ platform: 'x' }, { platform: 'x' }, { platform: 'x' }, { platform: 'bluesky' }];
    expect(Object.fromEntries(storedByPlatform(ms, 4))).toEqual({ x: 3, bluesky: 1 });
    expect(Object.fromEntries(storedByPlatform(ms, 2))).toEqual({ x: 2 });
    expect(Object.fromEntries(storedByPlatform(ms, 0))).toEqual({});
    expect([...storedByPlatform(ms, 3).values()].reduce((a, b) => a + b, 0)).toBe(3);
  });
});

function body(families: Family[]): string {
  return JSON.stringify(families);
}
