/**
 * The replay with its roles in separate processes, as an operator runs them (the built CLI,
 * `repwatch run --roles`): one process for schedule, poll and sla, N ingest processes and one
 * deliver process. It gives what the in-process run cannot: each role's own resident memory, and
 * whether more ingest processes give more throughput. The store's commands are not counted here
 * (the in-process run does that), and neither are its documents: a count scans the whole
 * collection on FerretDB (over a minute at 160,000 mentions, and it starved the run), so progress
 * is the replay's own cursor in Redis, and the run ends when that is done and the queues are empty.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { withDatabaseName } from '../../src/store/mongo-uri';
import { QUEUES, outstandingJobs } from '../../workers/queues';
import { Procs, startWorker, type Proc } from '../chaos/procs';
import type { WebhookReceiver } from '../webhook-receiver';

export interface ApartRunOptions {
  /** The project folder holding the built CLI (bin/repwatch.js, dist/). */
  cliRoot: string;
  /** A bench config folder (pipeline.ts writeBenchConfig) whose defaults set `queuePrefix`. */
  configDir: string;
  queuePrefix: string;
  brandId: string;
  sourceId: string;
  ingestProcesses: number;
  redisUrl: string;
  /** Without a database name: the run adds its own. */
  mongoUri: string;
  dbName: string;
  /** Environment the config names (HOOK_URL, HOOK_SECRET). */
  env: Record<string, string>;
  receiver: WebhookReceiver;
  logDir: string;
  /** The store server's process (a local FerretDB), to count its CPU beside the workers'. */
  storePid?: number;
  /** Every process's resident memory is also read once this many posts are fetched (the reference of the memory check). */
  markAtPosts?: number;
  onProgress?: (p: { fetched: number; delivered: number; rssMb: Record<string, number> }) => void;
  progressEveryMs?: number;
  timeoutMs?: number;
  /** Writes each worker's CPU profile (node --cpu-prof) into this folder, named after its role. */
  cpuProfileDir?: string;
}

export interface ApartRun {
  ingestProcesses: number;
  /** From the first page fetched (the processes are up) to every page judged and every delivery sent. */
  ms: number;
  /** Posts the replay handed on (all of them judged and stored once the queues are empty). */
  posts: number;
  delivered: number;
  postsPerSec: number;
  /** Per process (schedule-poll-sla, ingest-1 …, deliver): its own peak (VmHWM), and its size at the mark. */
  rssMb: Record<string, { peak: number; atMark?: number; end: number }>;
  /** Posts fetched when the mark was read (the first reading at or past markAtPosts). */
  markPosts?: number;
  /** CPU seconds used during the run, per process, and by the store's server when its pid is known. */
  cpuSeconds: Record<string, number>;
}

/** CPU seconds a process has used so far (user + system; Linux /proc, 0 elsewhere). */
export function procCpuSeconds(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): state is the 3rd field, utime the 14th, stime the 15th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
/** USER_HZ: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/** A process's resident set now and its peak, MB (Linux /proc; zeros elsewhere). */
export function procRssMb(pid: number): { rss: number; peak: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
  } catch {
    return { rss: 0, peak: 0 };
  }
}

export async function runApart(o: ApartRunOptions): Promise<ApartRun> {
  const procs = new Procs(o.logDir);
  // The worker processes end with the bench, however it ends (a finished run stops them below).
  const onExit = () => procs.killAllNow();
  const onSignal = () => process.exit(130);
  process.on('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const mongoUri = withDatabaseName(o.mongoUri, o.dbName);
  const env: NodeJS.ProcessEnv = { ...process.env, ...o.env, REDIS_URL: o.redisUrl, MONGODB_URI: mongoUri, LOG_LEVEL: 'warn', DOTENV_CONFIG_QUIET: 'true' };
  delete env.REPWATCH_CONFIG;
  const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
  const queues = [QUEUES.ingest, QUEUES.deliver].map((name) => new Queue(name, { connection: redis, prefix: o.queuePrefix }));
  const mongo = new MongoClient(mongoUri);
  const receivedBefore = o.receiver.received.length;
  const rssMb: ApartRun['rssMb'] = {};
  const workers: Proc[] = [];
  const read = (markPosts: boolean) => {
    for (const p of workers) {
      const { rss, peak } = procRssMb(p.pid);
      const entry = (rssMb[p.name] ??= { peak: 0, end: 0 });
      entry.peak = Math.max(entry.peak, peak);
      entry.end = rss || entry.end;
      if (markPosts) entry.atMark = rss;
    }
  };
  try {
    await mongo.connect();
    const storeCpuBefore = o.storePid ? procCpuSeconds(o.storePid) : 0;
    const t = Date.now();
    // Ingest and deliver first: the schedule process arms the polls as it starts.
    const profiled = (name: string) => (o.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfileDir}`, `--cpu-prof-name=${o.dbName}-${name}.cpuprofile`] : []);
    const start = (name: string, roles: string) => workers.push(startWorker(procs, o.cliRoot, name, o.configDir, roles, env, profiled(name)));
    for (let i = 1; i <= o.ingestProcesses; i++) start(`ingest-${i}`, 'ingest');
    start('deliver', 'deliver');
    start('schedule-poll-sla', 'schedule,poll,sla');
    const sourceKey = `${o.queuePrefix}:source:${o.brandId}:${o.sourceId}`;
    let markPosts: number | undefined;
    let lastPrint = t;
    let fetched = 0;
    let first: { at: number; fetched: number } | undefined;
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      const gone = workers.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
      if (gone) throw new Error(`${gone.name} exited (${gone.child.exitCode ?? gone.child.signalCode}); see ${path.join(o.logDir, `${gone.name}.log`)}`);
      if (o.timeoutMs !== undefined && Date.now() - t > o.timeoutMs) throw new Error(`the replay did not finish within ${o.timeoutMs} ms (${fetched} posts fetched)`);
      const raw = await redis.hget(sourceKey, 'cursor');
      const cursor = raw ? (JSON.parse(raw) as { offset?: number; done?: boolean }) : undefined;
      fetched = Number(cursor?.offset ?? 0);
      if (!first && fetched > 0) first = { at: Date.now(), fetched };
      const mark = o.markAtPosts !== undefined && markPosts === undefined && fetched >= o.markAtPosts;
      if (mark) markPosts = fetched;
      read(mark);
      if (cursor?.done && (await Promise.all(queues.map(outstandingJobs))).every((n) => n === 0)) break;
      if (o.onProgress && Date.now() - lastPrint > (o.progressEveryMs ?? 5000)) {
        o.onProgress({ fetched, delivered: o.receiver.received.length - receivedBefore, rssMb: Object.fromEntries(Object.entries(rssMb).map(([k, v]) => [k, v.end])) });
        lastPrint = Date.now();
      }
    }
    const end = Date.now();
    read(false);
    const cpuSeconds: Record<string, number> = {};
    for (const p of workers) cpuSeconds[p.name] = Math.round(procCpuSeconds(p.pid) * 10) / 10;
    if (o.storePid) cpuSeconds.store = Math.round((procCpuSeconds(o.storePid) - storeCpuBefore) * 10) / 10;
    const from = first ?? { at: t, fetched: 0 };
    const ms = end - from.at;
    const postsPerSec = Math.round(((fetched - from.fetched) / Math.max(1, ms)) * 1000);
    return { ingestProcesses: o.ingestProcesses, ms, posts: fetched, delivered: o.receiver.received.length - receivedBefore, postsPerSec, rssMb, markPosts, cpuSeconds };
  } finally {
    await procs.stopAll();
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await mongo.db(o.dbName).dropDatabase().catch(() => undefined);
    await mongo.close();
    await Promise.all(queues.map((q) => q.close()));
    const keys = await redis.keys(`${o.queuePrefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
}
