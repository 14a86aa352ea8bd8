/**
 * `npm run bench`: replays posts through the whole pipeline (poll → ingest → store → alert →
 * signed webhook) and measures, in the same run and against the same store:
 *   - end-to-end posts/s and alert latency (post fetched → alert received by the local receiver);
 *   - the store round trips it costs: MongoDB and Redis commands per 1,000 posts and per delivery
 *     (scripts/bench/round-trips.ts: the driver's command monitoring and ioredis's diagnostics
 *     channel, counted per role);
 *   - alert latency at steady load: posts arriving at half the rate just measured (p50, p99, max);
 *   - the raw bulk-insert rate of the same documents (the ceiling the store sets);
 *   - a one-job-per-post pipeline doing the same work (the design repwatch avoids);
 *   - peak resident memory (the roles run in this one process, as three instances: see
 *     scripts/bench/pipeline.ts);
 *   - the roles as separate processes (scripts/bench/apart.ts), with one and then two ingest
 *     processes: each role's own peak memory, and what a second ingest process adds.
 * Figures are ratios within one run: these machines are shared and noisy. Round-trip counts do
 * not depend on the machine.
 *
 *   npm run bench -- [--posts 100000] [--per-post 10000] [--steady-seconds 30] [--apart-posts 20000]
 *                    [--profile] [--cpu-prof DIR] [--json]
 *   npm run bench -- --memory [--posts 1000000] [--ingest-processes 2] [--cpu-prof DIR] [--json]
 *
 * --steady-seconds 0 leaves the half-load phase out, --apart-posts 0 the separate processes;
 * --json prints every figure as one JSON object on the last line. --memory runs only the replay
 * in separate processes, over every post, and compares each process's memory at 100,000 posts
 * fetched with its peak (the check that memory stays flat: a million posts take about 20 minutes).
 * --cpu-prof DIR writes a CPU profile of each separate worker process into DIR (node --cpu-prof;
 * open it in Chrome's DevTools), to see where a role spends its time.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { analyze } from '../src/analysis';
import { mentionKey } from '../src/domain/mention';
import { applySignal, evaluatePost } from '../src/domain/policy';
import { createLogger } from '../src/logger';
import { CaseIndex } from '../src/store/case-index';
import { Locks } from '../src/store/lock';
import { redisSequence } from '../src/store/sequence';
import { Store, insertNew } from '../src/store/store';
import { servicesUp } from './demo';
import { generateBenchPosts } from './demo-scenario';
import { WebhookReceiver, newWebhookSecret } from './webhook-receiver';
import { ROLE_GROUPS, alertLatencies, percentile, runReplay, writeBenchConfig, type ReplayRun } from './bench/pipeline';
import { CommandCounter, combine, runAs, withMonitoring } from './bench/round-trips';
import { RssSampler, processPeakRssMb } from './bench/rss';
import { runApart, type ApartRun } from './bench/apart';
import { PROJECT_ROOT } from '../src/paths';

const out = (s = '') => process.stdout.write(`${s}\n`);
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
/** A flag's value as given (`--cpu-prof DIR`), or undefined when the flag is absent. */
const textArg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  if (i >= 0 && (!value || value.startsWith('--'))) throw new Error(`${name} needs a value`);
  return value;
};
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);
const pct = percentile;
const per = (n: number, of: number, scale = 1) => (of > 0 ? Math.round((n / of) * scale * 100) / 100 : NaN);
const num = (n: number) => (Number.isFinite(n) ? n.toLocaleString('en-US') : 'n/a');
const ms = (xs: number[]) => `p50 ${num(pct(xs, 50))} ms, p99 ${num(pct(xs, 99))} ms, max ${num(xs.length ? Math.max(...xs) : NaN)} ms`;
/**
 * `--profile`: time spent in each store, case-index and lock call, summed over concurrent calls
 * and printed at the end. It shows where a page's time goes (round trips to the store, mostly).
 */
function profileCalls(): () => string {
  const spent = new Map<string, { calls: number; ms: number }>();
  const wrap = (proto: Record<string, unknown>, label: string) => {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const fn = proto[name];
      if (name === 'constructor' || typeof fn !== 'function' || fn.constructor.name !== 'AsyncFunction') continue;
      proto[name] = async function (this: unknown, ...args: unknown[]) {
        const t = performance.now();
        try {
          return await (fn as (...a: unknown[]) => Promise<unknown>).apply(this, args);
        } finally {
          const e = spent.get(`${label}.${name}`) ?? { calls: 0, ms: 0 };
          e.calls++;
          e.ms += performance.now() - t;
          spent.set(`${label}.${name}`, e);
        }
      };
    }
  };
  wrap(Store.prototype as unknown as Record<string, unknown>, 'store');
  wrap(CaseIndex.prototype as unknown as Record<string, unknown>, 'caseIndex');
  wrap(Locks.prototype as unknown as Record<string, unknown>, 'locks');
  return () =>
    [...spent]
      .sort((a, b) => b[1].ms - a[1].ms)
      .map(([name, e]) => `  ${name.padEnd(30)} ${String(e.calls).padStart(6)} calls ${Math.round(e.ms).toLocaleString('en-US').padStart(8)} ms`)
      .join('\n');
}

const BRAND = 'benchbrand';
const SOURCE = 'replay';

/** What one pipeline run costs in commands: per 1,000 posts (poll, ingest, sla) and per delivery (deliver). */
function roundTrips(run: ReplayRun) {
  const work = combine(run.counts, ['work']);
  const deliver = combine(run.counts, ['deliver']);
  const deliveries = run.received.length;
  return {
    work,
    deliver,
    deliveries,
    mongoPer1000Posts: per(work.mongo, run.posts, 1000),
    mongoPerDelivery: per(deliver.mongo, deliveries),
    mongoPer1000PostsWithDeliveries: per(work.mongo + deliver.mongo, run.posts, 1000),
    redisPer1000Posts: per(work.redis, run.posts, 1000),
    redisPerDelivery: per(deliver.redis, deliveries),
    redisPer1000PostsWithDeliveries: per(work.redis + deliver.redis, run.posts, 1000),
    docsWrittenPer1000Posts: per(sumOf(work.mongoDocsByOp), run.posts, 1000),
  };
}

const sumOf = (byOp: Record<string, number>) => Object.values(byOp).reduce((a, b) => a + b, 0);

const top = (byOp: Record<string, number>, n = 12) =>
  Object.entries(byOp)
    .slice(0, n)
    .map(([op, count]) => `${op} ${count}`)
    .join(', ');

/** One replay with the roles as separate processes (the built CLI), on a config of its own. */
async function apartRun(o: { posts: object[]; ingestProcesses: number; runId: string; redisUrl: string; mongoUri: string; receiver: WebhookReceiver; hookUrl: string; hookSecret: string; markAtPosts?: number }): Promise<ApartRun> {
  const cpuProfileDir = textArg('--cpu-prof');
  if (cpuProfileDir) mkdirSync(cpuProfileDir, { recursive: true });
  const queuePrefix = `{rwbench-apart${o.ingestProcesses}-${o.runId}}`;
  const configDir = mkdtempSync(path.join(tmpdir(), 'repwatch-bench-apart-'));
  writeBenchConfig(configDir, { brandId: BRAND, sourceId: SOURCE, posts: o.posts, speed: 'max', hookUrl: o.hookUrl, hookSecret: o.hookSecret, defaults: { queuePrefix } });
  out(`separate processes: schedule+poll+sla, ${o.ingestProcesses} ingest, deliver; ${o.posts.length.toLocaleString('en-US')} posts (logs in ${path.join(configDir, 'logs')})`);
  return runApart({
    cliRoot: PROJECT_ROOT,
    configDir,
    queuePrefix,
    brandId: BRAND,
    sourceId: SOURCE,
    ingestProcesses: o.ingestProcesses,
    redisUrl: o.redisUrl,
    mongoUri: o.mongoUri,
    dbName: `rwbench_apart${o.ingestProcesses}_${o.runId}`,
    env: { HOOK_URL: o.hookUrl, HOOK_SECRET: o.hookSecret },
    receiver: o.receiver,
    logDir: path.join(configDir, 'logs'),
    storePid: localFerretDbPid(),
    markAtPosts: o.markAtPosts,
    cpuProfileDir: cpuProfileDir && path.resolve(cpuProfileDir),
    progressEveryMs: 15_000,
    onProgress: (p) => out(`  … ${p.fetched.toLocaleString('en-US')} posts fetched, ${p.delivered} alerts delivered; RSS MB ${Object.entries(p.rssMb).map(([k, v]) => `${k} ${v}`).join(', ')}`),
  });
}

/** The local FerretDB's pid (scripts/services.sh), when it is the store: its CPU is counted beside the workers'. */
function localFerretDbPid(): number | undefined {
  if (process.env.MONGODB_URI) return undefined;
  try {
    const pid = Number(readFileSync(path.join(PROJECT_ROOT, '.local', 'ferretdb.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const cpuLine = (run: ApartRun) =>
  Object.entries(run.cpuSeconds)
    .map(([name, s]) => `${name} ${s} s`)
    .join(', ');

const rssLine = (run: ApartRun) =>
  Object.entries(run.rssMb)
    .map(([name, r]) => `${name} ${r.peak} MB${r.atMark !== undefined ? ` (${r.atMark} MB at ${run.markPosts?.toLocaleString('en-US')} posts, ${r.end} MB at the end)` : ''}`)
    .join(', ');

/** `--memory`: the replay in separate processes over every post; memory at 100,000 posts against the end. */
async function memoryCheck(): Promise<void> {
  const json = process.argv.includes('--json');
  const total = arg('--posts', 1_000_000);
  const markAtPosts = Math.min(100_000, Math.floor(total / 10));
  const { redisUrl, mongoUri } = servicesUp();
  const runId = Date.now().toString(36);
  out(`repwatch bench --memory: ${total.toLocaleString('en-US')} posts (run ${runId}); each process's memory at ${markAtPosts.toLocaleString('en-US')} posts fetched against its peak`);
  const posts = generateBenchPosts(total, 42).map((p) => ({ ...p, brandId: BRAND }));
  const secret = newWebhookSecret();
  const receiver = new WebhookReceiver(secret);
  const hookUrl = await receiver.start();
  const run = await apartRun({ posts, ingestProcesses: arg('--ingest-processes', 2), runId, redisUrl, mongoUri, receiver, hookUrl, hookSecret: secret, markAtPosts });
  await receiver.stop();
  const verdicts = Object.entries(run.rssMb).map(([name, r]) => {
    const growth = r.atMark ? r.peak / r.atMark : NaN;
    return { name, atMarkMb: r.atMark ?? null, peakMb: r.peak, endMb: r.end, growth: Number.isFinite(growth) ? Math.round(growth * 100) / 100 : null, flat: growth <= 1.1, under300: r.peak < 300 };
  });
  out(`end to end: ${run.postsPerSec.toLocaleString('en-US')} posts/s, ${run.posts.toLocaleString('en-US')} posts judged and stored, ${run.delivered.toLocaleString('en-US')} alerts delivered`);
  for (const v of verdicts) out(`  ${v.name.padEnd(18)} ${String(v.atMarkMb).padStart(4)} MB at ${run.markPosts?.toLocaleString('en-US')} posts, peak ${v.peakMb} MB (${v.growth}×; target ≤ 1.1× and < 300 MB: ${v.flat && v.under300 ? 'met' : 'NOT met'})`);
  if (json) out(JSON.stringify({ runId, posts: total, markPosts: run.markPosts, e2ePostsPerSec: run.postsPerSec, postsJudged: run.posts, delivered: run.delivered, rssMbByProcess: verdicts }));
}

async function main(): Promise<void> {
  if (process.argv.includes('--memory')) return memoryCheck();
  const profile = process.argv.includes('--profile') ? profileCalls() : undefined;
  const json = process.argv.includes('--json');
  const total = arg('--posts', 100_000);
  const perPostCount = Math.min(total, arg('--per-post', 10_000));
  const steadySeconds = arg('--steady-seconds', 30);
  const { redisUrl, mongoUri: plainMongoUri } = servicesUp();
  // Every phase runs with command monitoring on, so they are measured under the same conditions.
  const mongoUri = withMonitoring(plainMongoUri);
  const counter = new CommandCounter();
  const runId = Date.now().toString(36);
  const logger = createLogger({ level: 'warn', pretty: false, destination: process.stderr as any });

  out(`repwatch bench: ${total.toLocaleString('en-US')} posts (run ${runId})`);
  const posts = generateBenchPosts(total, 42).map((p) => ({ ...p, brandId: BRAND }));
  const secret = newWebhookSecret();
  const receiver = new WebhookReceiver(secret);
  const hookUrl = await receiver.start();
  const loaded = writeBenchConfig(mkdtempSync(path.join(tmpdir(), 'repwatch-bench-')), { brandId: BRAND, sourceId: SOURCE, posts, speed: 'max', hookUrl, hookSecret: secret });
  const { config, secrets } = loaded;
  const policy = config.brands[0].effectivePolicy;

  // 1. Raw bulk insert of the same documents (judged beforehand, so only the store is timed).
  let rss = new RssSampler().start();
  const judged = analyze(posts.map((p) => ({ text: p.text, langHint: p.langHint })));
  const rawStore = await Store.connect({ uri: mongoUri, dbName: `rwbench_raw_${runId}` });
  const now = Date.now();
  const docs = posts.map((m, i) => ({ _id: mentionKey(m), ...m, judgement: judged[i], ingestedAt: new Date(now) }));
  let t = Date.now();
  for (let i = 0; i < docs.length; i += 500) await insertNew(rawStore.models.Mention.collection, docs.slice(i, i + 500));
  const rawRate = rate(docs.length, Date.now() - t);
  await rawStore.conn.dropDatabase();
  await rawStore.close();
  const rawRssMb = rss.stop();
  out(`raw bulk insert (insertMany, 500 per call):  ${rawRate.toLocaleString('en-US')} docs/s`);

  // 2. The pipeline end to end, at full load (the replay as fast as the pipeline takes it).
  const redis = new Redis(redisUrl);
  const e2e = await runReplay({
    start: { config, secrets, logger, redisUrl, mongoUri, dbName: `rwbench_e2e_${runId}`, queuePrefix: `{rwbench-${runId}}` },
    brandId: BRAND,
    sourceId: SOURCE,
    receiver,
    counter,
    onProgress: (p) => out(`  … ${p.posts.toLocaleString('en-US')} posts through ingest, ${p.delivered} alerts delivered`),
  });
  const e2eRate = rate(total, e2e.ms);
  const full = alertLatencies(e2e.received);
  const trips = roundTrips(e2e);
  out(`pipeline end to end:                         ${e2eRate.toLocaleString('en-US')} posts/s (${e2e.stored.toLocaleString('en-US')} stored, ${e2e.received.length} alerts delivered, all signatures verified: ${e2e.received.every((r) => r.verified)})`);
  out(`ingest jobs busy ${Math.round((e2e.ingestBusyMs / e2e.ms) * 100)}% of the time (summed over ${config.settings.ingestConcurrency} concurrent)`);
  out(`alert latency, fetched → delivered:          new alerts ${ms(full.newAlertMs)} (${full.newAlertMs.length}); every delivery p50 ${num(pct(full.allMs, 50))} ms, p99 ${num(pct(full.allMs, 99))} ms`);
  out(`store round trips (MongoDB commands):        ${num(trips.mongoPer1000Posts)} per 1,000 posts (${ROLE_GROUPS.work.join(', ')}), ${num(trips.mongoPerDelivery)} per delivery (${trips.deliveries} deliveries); ${num(trips.mongoPer1000PostsWithDeliveries)} per 1,000 posts with the deliveries`);
  out(`Redis commands:                              ${num(trips.redisPer1000Posts)} per 1,000 posts, ${num(trips.redisPerDelivery)} per delivery; ${num(trips.redisPer1000PostsWithDeliveries)} per 1,000 posts with the deliveries`);
  out(`documents written to MongoDB:                ${num(trips.docsWrittenPer1000Posts)} per 1,000 posts (${top(trips.work.mongoDocsByOp, 6)})`);
  if (profile) {
    out(`  MongoDB per role: work ${top(trips.work.mongoByOp)}`);
    out(`                    deliver ${top(trips.deliver.mongoByOp)}`);
    out(`  Redis per role:   work ${top(trips.work.redisByCommand)}`);
    out(`                    deliver ${top(trips.deliver.redisByCommand)}`);
  }

  // 3. Steady load at half that rate: posts arrive at a constant pace (the replay's clock sped up),
  // so latency is the pipeline's own, not a backlog's.
  let half: { targetRate: number; rate: number; run: ReplayRun; latency: ReturnType<typeof alertLatencies>; trips: ReturnType<typeof roundTrips> } | undefined;
  if (steadySeconds > 0 && e2eRate > 0) {
    const targetRate = e2eRate / 2;
    const count = Math.max(100, Math.round(targetRate * steadySeconds));
    const steadyPosts = generateBenchPosts(count, 43).map((p) => ({ ...p, brandId: BRAND }));
    const spacingMs = (Date.parse(steadyPosts[count - 1].createdAt) - Date.parse(steadyPosts[0].createdAt)) / (count - 1);
    const steadyConfig = writeBenchConfig(mkdtempSync(path.join(tmpdir(), 'repwatch-bench-steady-')), {
      brandId: BRAND,
      sourceId: SOURCE,
      posts: steadyPosts,
      speed: (targetRate * spacingMs) / 1000,
      hookUrl,
      hookSecret: secret,
    });
    out(`half load: ${count.toLocaleString('en-US')} posts arriving at ${Math.round(targetRate).toLocaleString('en-US')} posts/s for about ${steadySeconds} s`);
    const run = await runReplay({
      start: { ...steadyConfig, logger, redisUrl, mongoUri, dbName: `rwbench_half_${runId}`, queuePrefix: `{rwbench-half-${runId}}` },
      brandId: BRAND,
      sourceId: SOURCE,
      receiver,
      counter,
      onProgress: (p) => out(`  … ${p.posts.toLocaleString('en-US')} posts through ingest, ${p.delivered} alerts delivered`),
    });
    // The pace the posts were fetched at: the replay's clock, as the polls saw it.
    const fetchSpan = run.lastFetchAt - run.firstFetchAt;
    half = { targetRate, rate: fetchSpan > 0 ? rate(run.posts, fetchSpan) : NaN, run, latency: alertLatencies(run.received), trips: roundTrips(run) };
    out(`alert latency at half load, fetched → delivered: new alerts ${ms(half.latency.newAlertMs)} (${half.latency.newAlertMs.length}); fetched at ${num(half.rate)} posts/s, ${run.received.length} alerts delivered, ingest jobs busy ${Math.round((run.ingestBusyMs / run.ms) * 100)}%`);
    // Posts arriving slowly come in smaller pages (what arrived since the last poll), so a post's share of each page's round trips grows.
    out(`  at half load: ${num(half.trips.mongoPer1000Posts)} MongoDB commands per 1,000 posts in ${run.pages} pages (about ${Math.round(run.posts / Math.max(1, run.pages))} posts each), ${num(half.trips.mongoPerDelivery)} per delivery`);
  }

  // 4. One job per post doing the same work: analyze, store, evaluate, alert.
  rss = new RssSampler().start();
  const perPrefix = `{rwbench-per-${runId}}`;
  const perStore = await runAs('perpost-setup', () => Store.connect({ uri: mongoUri, dbName: `rwbench_per_${runId}`, sequence: redisSequence(redis, `${perPrefix}:alert-stream-seq`) }));
  const queue = new Queue('perpost', { connection: redis, prefix: perPrefix });
  const subset = posts.slice(0, perPostCount);
  counter.reset();
  t = Date.now();
  let failedPerPost = 0;
  const brandRef = { id: BRAND, name: 'Bench Brand', policy };
  const perWorkerRedis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  await runAs('perpost', async () => {
    for (let i = 0; i < subset.length; i += 1000)
      await queue.addBulk(subset.slice(i, i + 1000).map((m) => ({ name: 'post', data: m, opts: { jobId: `p-${m.postId}`, removeOnComplete: true } })));
    let done = 0;
    await new Promise<void>((resolve) => {
      const worker = new Worker(
        'perpost',
        async (job) => {
          const m = job.data;
          const [j] = analyze([{ text: m.text, langHint: m.langHint }]);
          await insertNew(perStore.models.Mention.collection, [{ _id: mentionKey(m), ...m, judgement: j, ingestedAt: new Date() }]);
          const signal = evaluatePost(brandRef, m, j, { topic: 'general', ingestedAt: Date.now() });
          if (!signal) return;
          const { alert } = applySignal(brandRef, undefined, signal.fingerprint, signal, true, Date.now());
          await perStore.appendEvents([{ type: 'alert.triggered', alert, at: alert.createdAt }]);
        },
        { connection: perWorkerRedis, prefix: perPrefix, concurrency: 16 },
      );
      const settle = () => {
        if (++done === subset.length) void worker.close().then(() => resolve());
      };
      worker.on('completed', settle);
      worker.on('failed', (_job, err) => {
        failedPerPost++;
        if (failedPerPost === 1) process.stderr.write(`one-job-per-post failure: ${err.message}\n`);
        settle();
      });
    });
  });
  const perRate = rate(subset.length, Date.now() - t);
  const perTrips = combine(counter.snapshot(), ['perpost']);
  await perStore.conn.dropDatabase();
  await perStore.close();
  await queue.obliterate({ force: true });
  await queue.close();
  await perWorkerRedis.quit();
  const perRssMb = rss.stop();
  out(`one job per post (${subset.length.toLocaleString('en-US')} posts, concurrency 16):   ${perRate.toLocaleString('en-US')} posts/s${failedPerPost ? ` (${failedPerPost} jobs failed)` : ''}; ${num(per(perTrips.mongo, subset.length, 1000))} MongoDB and ${num(per(perTrips.redis, subset.length, 1000))} Redis commands per 1,000 posts`);

  // 5. The roles as separate processes, with one ingest process and then two: memory per role, and
  // what a second ingest process adds (the same posts, a database of their own each time).
  const apartPosts = Math.min(total, arg('--apart-posts', 20_000));
  const apart: ApartRun[] = [];
  if (apartPosts > 0) {
    for (const ingestProcesses of [1, 2]) {
      const run = await apartRun({ posts: posts.slice(0, apartPosts), ingestProcesses, runId, redisUrl, mongoUri: plainMongoUri, receiver, hookUrl, hookSecret: secret });
      apart.push(run);
      out(`  ${ingestProcesses} ingest process${ingestProcesses > 1 ? 'es' : ''}: ${run.postsPerSec.toLocaleString('en-US')} posts/s (${run.posts.toLocaleString('en-US')} posts, ${run.delivered} alerts delivered); peak RSS ${rssLine(run)}`);
      out(`    CPU seconds (workers since their start, the store during the run; ${(run.ms / 1000).toFixed(1)} s of run on ${cpus().length} cores): ${cpuLine(run)}`);
    }
    if (apart.length === 2) out(`  two ingest processes / one: ${(apart[1].postsPerSec / apart[0].postsPerSec).toFixed(2)}`);
  }

  const peakRssMb = processPeakRssMb();
  out(`peak RSS: ${peakRssMb} MB for the process (every role runs in it); by phase: raw ${rawRssMb} MB, end to end ${e2e.rssPeakMb} MB${half ? `, half load ${half.run.rssPeakMb} MB` : ''}, one per post ${perRssMb} MB`);

  out('');
  out(`end to end / raw insert:    ${(e2eRate / rawRate).toFixed(2)}  (target ≥ 0.6)`);
  out(`end to end / one-per-post:  ${(e2eRate / perRate).toFixed(2)}  (target ≥ 3)`);
  out(`MongoDB round trips:        ${num(trips.mongoPer1000Posts)} per 1,000 posts (target ≤ 20), ${num(trips.mongoPerDelivery)} per delivery (target ≤ 3)`);
  if (profile) out(`\ntime in store, case-index and lock calls (summed over concurrent calls, every phase):\n${profile()}`);
  await redis.quit();
  await receiver.stop();
  counter.stop();

  if (json) {
    const round = (n: number, digits = 2) => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : null);
    const figures = {
      runId,
      posts: total,
      e2ePostsPerSec: e2eRate,
      rawInsertPerSec: rawRate,
      onePerPostPerSec: perRate,
      ratioToRaw: round(e2eRate / rawRate),
      ratioToOnePerPost: round(e2eRate / perRate),
      mongoRoundTripsPer1000Posts: round(trips.mongoPer1000Posts),
      mongoRoundTripsPerDelivery: round(trips.mongoPerDelivery),
      mongoRoundTripsPer1000PostsWithDeliveries: round(trips.mongoPer1000PostsWithDeliveries),
      redisCommandsPer1000Posts: round(trips.redisPer1000Posts),
      redisCommandsPerDelivery: round(trips.redisPerDelivery),
      redisCommandsPer1000PostsWithDeliveries: round(trips.redisPer1000PostsWithDeliveries),
      onePerPostMongoRoundTripsPer1000Posts: round(per(perTrips.mongo, subset.length, 1000)),
      onePerPostRedisCommandsPer1000Posts: round(per(perTrips.redis, subset.length, 1000)),
      deliveries: trips.deliveries,
      ingestBusyPct: Math.round((e2e.ingestBusyMs / e2e.ms) * 100),
      latencyFullLoadP50Ms: round(pct(full.newAlertMs, 50), 0),
      latencyFullLoadP99Ms: round(pct(full.newAlertMs, 99), 0),
      latencyFullLoadMaxMs: round(full.newAlertMs.length ? Math.max(...full.newAlertMs) : NaN, 0),
      latencyFullLoadSamples: full.newAlertMs.length,
      latencyFullLoadAllDeliveriesP99Ms: round(pct(full.allMs, 99), 0),
      halfLoadTargetPostsPerSec: half ? Math.round(half.targetRate) : null,
      halfLoadPostsPerSec: half ? round(half.rate, 0) : null,
      halfLoadPosts: half?.run.posts ?? null,
      latencyHalfLoadP50Ms: half ? round(pct(half.latency.newAlertMs, 50), 0) : null,
      latencyHalfLoadP99Ms: half ? round(pct(half.latency.newAlertMs, 99), 0) : null,
      latencyHalfLoadMaxMs: half ? round(half.latency.newAlertMs.length ? Math.max(...half.latency.newAlertMs) : NaN, 0) : null,
      latencyHalfLoadSamples: half?.latency.newAlertMs.length ?? null,
      halfLoadIngestBusyPct: half ? Math.round((half.run.ingestBusyMs / half.run.ms) * 100) : null,
      halfLoadPages: half?.run.pages ?? null,
      halfLoadMongoRoundTripsPer1000Posts: half ? round(half.trips.mongoPer1000Posts) : null,
      halfLoadMongoRoundTripsPerDelivery: half ? round(half.trips.mongoPerDelivery) : null,
      peakRssMb,
      peakRssMbByPhase: { raw: rawRssMb, e2e: e2e.rssPeakMb, halfLoad: half?.run.rssPeakMb ?? null, onePerPost: perRssMb },
      // peakRssMb is this process's (every role runs in it, as three instances, beside the bench's
      // own data); per role, from the runs with the roles as separate processes:
      peakRssMbByRole: apart.length ? peakByRole(apart) : null,
      apart: apart.map((r) => ({ ingestProcesses: r.ingestProcesses, postsPerSec: r.postsPerSec, ms: r.ms, posts: r.posts, delivered: r.delivered, cpuSeconds: r.cpuSeconds, peakRssMbByProcess: Object.fromEntries(Object.entries(r.rssMb).map(([k, v]) => [k, v.peak])) })),
      apartPosts,
      ratioTwoIngestProcessesToOne: apart.length === 2 ? round(apart[1].postsPerSec / apart[0].postsPerSec) : null,
      mongoCommandsByOp: { work: trips.work.mongoByOp, deliver: trips.deliver.mongoByOp },
      mongoDocsWrittenPer1000Posts: round(trips.docsWrittenPer1000Posts),
      mongoDocsWrittenByOp: { work: trips.work.mongoDocsByOp, deliver: trips.deliver.mongoDocsByOp },
      redisCommandsByName: { work: trips.work.redisByCommand, deliver: trips.deliver.redisByCommand },
    };
    out(JSON.stringify(figures));
  }
}

/** The highest peak of each role over the runs (ingest-1, ingest-2 … count as ingest). */
function peakByRole(runs: ApartRun[]): Record<string, number> {
  const byRole: Record<string, number> = {};
  for (const run of runs) for (const [name, r] of Object.entries(run.rssMb)) {
    const role = name.replace(/-\d+$/, '');
    byRole[role] = Math.max(byRole[role] ?? 0, r.peak);
  }
  return byRole;
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
