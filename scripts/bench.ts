/**
 * `npm run bench`: replays posts through the whole pipeline (poll → ingest → store → alert →
 * signed webhook) and measures, in the same run and against the same store:
 *   - end-to-end posts/s and alert latency (post fetched → alert received by the local receiver);
 *   - the raw bulk-insert rate of the same documents (the ceiling the store sets);
 *   - a one-job-per-post pipeline doing the same work (the design repwatch avoids).
 * Figures are ratios within one run: these machines are shared and noisy.
 *
 *   npm run bench -- [--posts 100000] [--per-post 10000] [--profile]
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { analyze } from '../src/analysis';
import { loadConfig } from '../src/config/load';
import { mentionKey } from '../src/domain/mention';
import { applySignal, evaluatePost } from '../src/domain/policy';
import { createLogger } from '../src/logger';
import { CaseIndex } from '../src/store/case-index';
import { Locks } from '../src/store/lock';
import { redisSequence } from '../src/store/sequence';
import { Store, insertNew } from '../src/store/store';
import { startRepwatch } from '../workers/app';
import { outstandingJobs } from '../workers/queues';
import { servicesUp } from './demo';
import { generateBenchPosts } from './demo-scenario';
import { WebhookReceiver, newWebhookSecret } from './webhook-receiver';

const out = (s = '') => process.stdout.write(`${s}\n`);
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);
const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
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

async function main(): Promise<void> {
  const profile = process.argv.includes('--profile') ? profileCalls() : undefined;
  const total = arg('--posts', 100_000);
  const perPostCount = Math.min(total, arg('--per-post', 10_000));
  const { redisUrl, mongoUri } = servicesUp();
  const runId = Date.now().toString(36);
  const logger = createLogger({ level: 'warn', pretty: false, destination: process.stderr as any });

  out(`repwatch bench: ${total.toLocaleString('en-US')} posts (run ${runId})`);
  const posts = generateBenchPosts(total, 42).map((p) => ({ ...p, brandId: BRAND }));
  const dir = mkdtempSync(path.join(tmpdir(), 'repwatch-bench-'));
  writeFileSync(path.join(dir, 'posts.jsonl'), posts.map((p) => JSON.stringify(p)).join('\n') + '\n');
  const secret = newWebhookSecret();
  const receiver = new WebhookReceiver(secret);
  const hookUrl = await receiver.start();
  writeFileSync(
    path.join(dir, 'brands.yaml'),
    stringify({ brands: [{ id: BRAND, name: 'Bench Brand', keywords: ['benchbrand'], sources: [{ id: 'replay', platform: 'replay', file: 'posts.jsonl', speed: 'max', pageSize: 500, pollEvery: '200ms' }] }] }),
  );
  writeFileSync(path.join(dir, 'receivers.yaml'), stringify({ receivers: [{ id: 'local', type: 'webhook', urlEnv: 'HOOK_URL', secretEnv: 'HOOK_SECRET', minSeverity: 'low' }] }));
  // No grouping timers: every change is delivered at once, so the run measures work, not waiting.
  writeFileSync(path.join(dir, 'routing.yaml'), stringify({ route: { receivers: ['local'], groupWait: '0s', groupInterval: '0s' } }));
  const { config, secrets } = loadConfig({ dir, env: { HOOK_URL: hookUrl, HOOK_SECRET: secret } });
  const policy = config.brands[0].effectivePolicy;

  // 1. Raw bulk insert of the same documents (judged beforehand, so only the store is timed).
  const judged = analyze(posts.map((p) => ({ text: p.text, langHint: p.langHint })));
  const rawStore = await Store.connect({ uri: mongoUri, dbName: `rwbench_raw_${runId}` });
  const now = Date.now();
  const docs = posts.map((m, i) => ({ _id: mentionKey(m), ...m, judgement: judged[i], ingestedAt: new Date(now) }));
  let t = Date.now();
  for (let i = 0; i < docs.length; i += 500) await insertNew(rawStore.models.Mention.collection, docs.slice(i, i + 500));
  const rawRate = rate(docs.length, Date.now() - t);
  await rawStore.conn.dropDatabase();
  await rawStore.close();
  out(`raw bulk insert (insertMany, 500 per call):  ${rawRate.toLocaleString('en-US')} docs/s`);

  // 2. The pipeline end to end.
  const prefix = `{rwbench-${runId}}`;
  const dbName = `rwbench_e2e_${runId}`;
  const app = await startRepwatch({ config, secrets, logger, redisUrl, mongoUri, dbName, queuePrefix: prefix });
  const redis = new Redis(redisUrl);
  t = Date.now();
  let lastPrint = t;
  let stored = 0;
  let ingestBusyMs = 0;
  app.workers.ingest?.on('completed', (job, r) => {
    stored += r.posts;
    ingestBusyMs += (job.finishedOn ?? 0) - (job.processedOn ?? 0);
  });
  // A failing page would be retried forever at this pace: the bench stops on the first failure.
  let ingestFailure: Error | undefined;
  app.workers.ingest?.on('failed', (_job, err) => {
    ingestFailure ??= err;
  });
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    if (ingestFailure) throw new Error(`an ingest job failed, so the figures would mean nothing: ${ingestFailure.message}`);
    const cursor = await redis.hget(`${prefix}:source:${BRAND}:replay`, 'cursor');
    const counts = await Promise.all([app.queues.ingest, app.queues.deliver].map(outstandingJobs));
    if (cursor && JSON.parse(cursor).done && counts.every((n) => n === 0)) break;
    if (Date.now() - lastPrint > 5000) {
      out(`  … ${stored.toLocaleString('en-US')} posts through ingest, ${receiver.received.length} alerts delivered`);
      lastPrint = Date.now();
    }
  }
  const e2eMs = Date.now() - t;
  const storedCount = await app.store.models.Mention.estimatedDocumentCount();
  const latencies = receiver.received.map((r) => r.receivedAt - Date.parse(r.body.data.alert.post.ingestedAt));
  const e2eRate = rate(total, e2eMs);
  await app.store.conn.dropDatabase();
  await app.close();
  out(`pipeline end to end:                         ${e2eRate.toLocaleString('en-US')} posts/s (${storedCount.toLocaleString('en-US')} stored, ${receiver.received.length} alerts delivered, all signatures verified: ${receiver.received.every((r) => r.verified)})`);
  out(`ingest jobs busy ${Math.round((ingestBusyMs / e2eMs) * 100)}% of the time (summed over ${config.settings.ingestConcurrency} concurrent)`);
  out(`alert latency, fetched → delivered:          p50 ${pct(latencies, 50)} ms, p99 ${pct(latencies, 99)} ms`);

  // 3. One job per post doing the same work: analyze, store, evaluate, alert.
  const perPrefix = `{rwbench-per-${runId}}`;
  const perStore = await Store.connect({ uri: mongoUri, dbName: `rwbench_per_${runId}`, sequence: redisSequence(redis, `${perPrefix}:alert-stream-seq`) });
  const queue = new Queue('perpost', { connection: redis, prefix: perPrefix });
  const subset = posts.slice(0, perPostCount);
  t = Date.now();
  for (let i = 0; i < subset.length; i += 1000)
    await queue.addBulk(subset.slice(i, i + 1000).map((m) => ({ name: 'post', data: m, opts: { jobId: `p-${m.postId}`, removeOnComplete: true } })));
  let done = 0;
  let failedPerPost = 0;
  const brandRef = { id: BRAND, name: 'Bench Brand', policy };
  const finished = new Promise<void>((resolve) => {
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
      { connection: new Redis(redisUrl, { maxRetriesPerRequest: null }), prefix: perPrefix, concurrency: 16 },
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
  await finished;
  const perRate = rate(subset.length, Date.now() - t);
  await perStore.conn.dropDatabase();
  await perStore.close();
  await queue.obliterate({ force: true });
  await queue.close();
  out(`one job per post (${subset.length.toLocaleString('en-US')} posts, concurrency 16):   ${perRate.toLocaleString('en-US')} posts/s${failedPerPost ? ` (${failedPerPost} jobs failed)` : ''}`);

  out('');
  out(`end to end / raw insert:    ${(e2eRate / rawRate).toFixed(2)}  (target ≥ 0.50)`);
  out(`end to end / one-per-post:  ${(e2eRate / perRate).toFixed(2)}  (target > 1)`);
  if (profile) out(`\ntime in store, case-index and lock calls (summed over concurrent calls, all three runs):\n${profile()}`);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await receiver.stop();
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
