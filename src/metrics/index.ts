import type { Redis } from 'ioredis';
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric, type MetricValueWithName } from 'prom-client';
import { RepwatchError } from '../domain/errors';
import { COUNTERS, HISTOGRAMS, type CounterLabels, type CounterName, type HistogramLabels, type HistogramName } from './catalog';

export * from './catalog';

/** What render() reads of a BullMQ Queue: its job counts by state. */
export interface QueueLike {
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}
export type QueueSource = Readonly<Record<string, QueueLike | undefined>> | (() => Readonly<Record<string, QueueLike | undefined>>);

export interface MetricsOptions {
  /** Queues whose depths and failed jobs are read at scrape time (an object, or a function for queues made later). */
  queues?: QueueSource;
  /** The alert stream's last sequence number; default: the Redis counter `${prefix}:alert-stream-seq` (src/store/sequence.ts). */
  lastSeq?: () => Promise<number>;
  /** More gauges read at scrape time (source health, receiver state), by name. */
  gauges?: Record<string, { help: string; labelNames: string[]; read(): Promise<{ labels: Record<string, string>; value: number }[]> }>;
  /** Node process metrics (CPU, memory, event loop, GC) of the process that renders; default true. */
  defaultMetrics?: boolean;
}

export interface Metrics {
  /** Adds n (default 1, must be > 0) to a counter: one HINCRBY in Redis, seen by every process's render(). */
  inc<N extends CounterName>(name: N, labels: CounterLabels<N>, n?: number): Promise<void>;
  /** Records one observation of a histogram (seconds): per-bucket count, sum and count in one round trip. */
  observe<N extends HistogramName>(name: N, labels: HistogramLabels<N>, seconds: number): Promise<void>;
  /** The Prometheus text exposition (0.0.4) of the counts in Redis, the gauges read now and the process metrics. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** Queue states shown as depths; failed jobs have a gauge of their own. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'paused', 'waiting-children'] as const;

const LABEL_VALUE_MAX = 100;

/** A label set as a hash field: the values in the catalog's label order (JSON, so any character is safe). */
function valuesOf(names: readonly string[], labels: Record<string, string>): string[] {
  return names.map((n) => String(labels[n] ?? '').slice(0, LABEL_VALUE_MAX));
}
function labelsOf(names: readonly string[], values: unknown[]): Record<string, string> {
  return Object.fromEntries(names.map((n, i) => [n, String(values[i])]));
}
function parseField(field: string): unknown[] | undefined {
  try {
    const v = JSON.parse(field);
    return Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Prometheus metrics for processes that run apart (poll, ingest, deliver, api): counters and
 * histograms are kept in Redis hashes under `${prefix}:metrics:<name>`, so whichever process
 * counts, the api process's /metrics shows the sum. Gauges (queue depths, failed jobs, the
 * alert-stream sequence) are read when scraped.
 */
export function createMetrics(redis: Redis, prefix: string, options: MetricsOptions = {}): Metrics {
  const keyOf = (name: string) => `${prefix}:metrics:${name}`;
  const registry = new Registry();
  let snapshot: Snapshot = emptySnapshot();
  let defaultsStarted = false;

  for (const [name, def] of Object.entries(COUNTERS)) {
    new Counter({
      name,
      help: def.help,
      labelNames: def.labels,
      registers: [registry],
      collect() {
        this.reset();
        for (const [field, value] of Object.entries(snapshot.hashes[name] ?? {})) {
          const values = parseField(field);
          if (!values || values.length !== def.labels.length || !(value > 0)) continue;
          this.inc(labelsOf(def.labels, values), value);
        }
      },
    });
  }
  for (const [name, def] of Object.entries(HISTOGRAMS)) {
    // prom-client's Histogram can only be fed observations; the bucket counts from Redis are shown as they are.
    const histogram = {
      name,
      help: def.help,
      type: 'histogram',
      aggregator: 'sum',
      get: async () => ({
        name,
        help: def.help,
        type: 'histogram',
        aggregator: 'sum',
        values: histogramValues(name, def.labels, def.buckets, snapshot.hashes[name] ?? {}),
      }),
    };
    registry.registerMetric(histogram as unknown as Metric);
  }
  new Gauge({
    name: 'repwatch_queue_jobs',
    help: 'Jobs in each queue by state (waiting, active, delayed, prioritized, paused, waiting-children), read at scrape time',
    labelNames: ['queue', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [queue, counts] of Object.entries(snapshot.queues)) for (const state of QUEUE_STATES) this.set({ queue, state }, counts[state] ?? 0);
    },
  });
  new Gauge({
    name: 'repwatch_queue_failed_jobs',
    help: 'Jobs kept in each queue\'s failed set (failed for good; kept 7 days), read at scrape time',
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [queue, counts] of Object.entries(snapshot.queues)) this.set({ queue }, counts.failed ?? 0);
    },
  });
  new Gauge({
    name: 'repwatch_alert_stream_sequence',
    help: 'The last sequence number handed out on the alert stream',
    registers: [registry],
    collect() {
      if (snapshot.lastSeq !== undefined) this.set(snapshot.lastSeq);
    },
  });

  for (const [name, def] of Object.entries(options.gauges ?? {})) {
    new Gauge({
      name,
      help: def.help,
      labelNames: def.labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        for (const { labels, value } of await def.read()) this.set(labels, value);
      },
    });
  }

  const lastSeq = options.lastSeq ?? (async () => Number((await redis.get(`${prefix}:alert-stream-seq`)) ?? 0));

  async function read(): Promise<Snapshot> {
    const names = [...Object.keys(COUNTERS), ...Object.keys(HISTOGRAMS)];
    const pipeline = redis.pipeline();
    for (const name of names) pipeline.hgetall(keyOf(name));
    const queues = typeof options.queues === 'function' ? options.queues() : (options.queues ?? {});
    const [results, queueCounts, seq] = await Promise.all([
      pipeline.exec(),
      Promise.all(Object.entries(queues).map(async ([queue, q]) => [queue, q ? await q.getJobCounts(...QUEUE_STATES, 'failed') : {}] as const)),
      lastSeq(),
    ]);
    const hashes: Snapshot['hashes'] = {};
    names.forEach((name, i) => {
      const [err, raw] = results?.[i] ?? [null, {}];
      if (err) throw err;
      hashes[name] = Object.fromEntries(Object.entries((raw ?? {}) as Record<string, string>).map(([f, v]) => [f, Number(v)]));
    });
    return { hashes, queues: Object.fromEntries(queueCounts.filter(([, c]) => Object.keys(c).length > 0)), lastSeq: Number.isFinite(seq) ? seq : undefined };
  }

  // One scrape at a time: the collectors read the shared snapshot.
  let chain: Promise<unknown> = Promise.resolve();
  return {
    async inc(name, labels, n = 1) {
      const def = COUNTERS[name];
      if (!def) throw new RepwatchError('RW_ERR_INPUT_INVALID', `unknown counter "${String(name)}"`);
      if (!(n > 0) || !Number.isFinite(n)) return;
      const field = JSON.stringify(valuesOf(def.labels, labels as Record<string, string>));
      if (Number.isInteger(n)) await redis.hincrby(keyOf(name), field, n);
      else await redis.hincrbyfloat(keyOf(name), field, n);
    },
    async observe(name, labels, seconds) {
      const def = HISTOGRAMS[name];
      if (!def) throw new RepwatchError('RW_ERR_INPUT_INVALID', `unknown histogram "${String(name)}"`);
      if (!Number.isFinite(seconds)) return;
      const value = Math.max(0, seconds);
      const values = valuesOf(def.labels, labels as Record<string, string>);
      const bucket = def.buckets.find((b) => value <= b);
      const key = keyOf(name);
      // Kept per bucket (not cumulative) so an observation is one increment; render() adds them up.
      await redis
        .multi()
        .hincrby(key, JSON.stringify([...values, 'bucket', bucket === undefined ? '+Inf' : String(bucket)]), 1)
        .hincrbyfloat(key, JSON.stringify([...values, 'sum']), value)
        .hincrby(key, JSON.stringify([...values, 'count']), 1)
        .exec();
    },
    render() {
      const run = chain.then(async () => {
        if (!defaultsStarted && options.defaultMetrics !== false) {
          collectDefaultMetrics({ register: registry });
          defaultsStarted = true;
        }
        try {
          snapshot = await read();
        } catch (err) {
          throw new RepwatchError('RW_ERR_STORE_UNAVAILABLE', `cannot read metrics from Redis: ${(err as Error).name}`);
        }
        return { contentType: registry.contentType, body: await registry.metrics() };
      });
      chain = run.catch(() => undefined);
      return run;
    },
  };
}

interface Snapshot {
  /** Metric name → hash field → value. */
  hashes: Record<string, Record<string, number>>;
  queues: Record<string, Record<string, number>>;
  lastSeq?: number;
}
const emptySnapshot = (): Snapshot => ({ hashes: {}, queues: {} });

/** A histogram's exposition values from its per-bucket counts: cumulative buckets, +Inf = count, sum and count. */
function histogramValues(name: string, labelNames: readonly string[], buckets: readonly number[], hash: Record<string, number>): MetricValueWithName<string>[] {
  const series = new Map<string, { labels: Record<string, string>; buckets: Map<string, number>; sum: number; count: number }>();
  for (const [field, value] of Object.entries(hash)) {
    const parts = parseField(field);
    if (!parts || parts.length < labelNames.length + 1) continue;
    const values = parts.slice(0, labelNames.length);
    const [kind, le] = parts.slice(labelNames.length);
    const id = JSON.stringify(values);
    let s = series.get(id);
    if (!s) series.set(id, (s = { labels: labelsOf(labelNames, values), buckets: new Map(), sum: 0, count: 0 }));
    if (kind === 'bucket' && typeof le === 'string') s.buckets.set(le, (s.buckets.get(le) ?? 0) + value);
    else if (kind === 'sum') s.sum = value;
    else if (kind === 'count') s.count = value;
  }
  const out: MetricValueWithName<string>[] = [];
  for (const s of series.values()) {
    let cumulative = 0;
    for (const b of buckets) {
      cumulative += s.buckets.get(String(b)) ?? 0;
      out.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: String(b) }, value: cumulative });
    }
    out.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
    out.push({ metricName: `${name}_sum`, labels: s.labels, value: s.sum });
    out.push({ metricName: `${name}_count`, labels: s.labels, value: s.count });
  }
  return out;
}
