/**
 * `npm run chaos [-- --seed N --posts N --faults N]`: the fault-injection suite that holds repwatch
 * to "nothing lost, nothing twice, in order" (issue #11).
 *
 * It brings up services of its own (a redis-server and a FerretDB on free ports; the machine's
 * stay untouched), writes a config folder and a replay file generated from the seed, starts a
 * signed-webhook receiver and a PagerDuty stand-in on loopback, and runs repwatch as an operator
 * would: separate `schedule,poll,sla`, `ingest` (×2) and `deliver` processes from the built CLI.
 * While the replay runs it injects faults at points drawn from the seed (kill -9 of an ingest and
 * of a deliver process, each replaced by a new one; a Redis restart that keeps nothing; a store
 * pause, SIGSTOP/SIGCONT of FerretDB) and plays an on-call person who acknowledges some critical
 * alerts through the CLI. Then it waits for the system to go quiet (bounded) and checks
 * independently what the file says against what is stored, alerted and received (checks.ts).
 * One line per fault and per check; exit code 1 on any loss.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { loadConfig } from '../src/config/load';
import { PROJECT_ROOT } from '../src/paths';
import { runChecks, expectedAlerting, type CheckResult, type FaultWindow } from './chaos/checks';
import { generatePosts, seededRandom, writeChaosConfig } from './chaos/generate';
import { Procs, freePort, startFerretDb, startRedis, startWorker, type Proc } from './chaos/procs';
import { PagerDutyStandIn } from './pagerduty-standin';
import { WebhookReceiver, newWebhookSecret } from './webhook-receiver';

export const FAULT_KINDS = ['kill-ingest', 'kill-deliver', 'redis-restart', 'store-pause'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ChaosOptions {
  seed: number;
  posts: number;
  faults: number;
  /** Which faults, in turn; default: every kind once in an order drawn from the seed, then again. */
  kinds?: FaultKind[];
  /** How long the replay takes on the real clock. */
  replaySeconds?: number;
  /** The longest wait for quiescence after the replay. */
  settleSeconds?: number;
  ingestProcesses?: number;
  slaSeconds?: number;
  /**
   * The repwatch checkout whose built CLI (bin/repwatch.js) runs the workers; default this one.
   * Another checkout shows what the suite finds in other code (e.g. an export of an older commit).
   */
  cliRoot?: string;
  /** Keep the run folder (logs, config, data) even when every check passed. */
  keep?: boolean;
  log?: (line: string) => void;
}

export interface FaultRecord extends FaultWindow {
  n: number;
  line: string;
}

export interface ChaosResult {
  ok: boolean;
  faults: FaultRecord[];
  checks: CheckResult[];
  /** The summary as printed: one line per fault and per check. */
  summary: string[];
  runDir: string;
  durationMs: number;
  posts: number;
  webhooks: number;
  pagerduty: number;
  acks: { acknowledged: number; resolved: number; failed: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** A read that gives up (undefined) rather than hang while the store is paused or Redis is down. */
async function within<T>(ms: number, p: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([p.catch(() => undefined), new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  clearTimeout(timer);
  return result;
}

/** Builds dist/ when a source is newer than its output (the workers run from the built CLI). */
export function ensureBuilt(log: (l: string) => void = () => undefined): void {
  const newest = (dir: string): number => {
    let t = 0;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) t = Math.max(t, newest(p));
      else if (entry.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
    }
    return t;
  };
  const main = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
  const sources = Math.max(newest(path.join(PROJECT_ROOT, 'src')), newest(path.join(PROJECT_ROOT, 'workers')));
  if (existsSync(main) && statSync(main).mtimeMs >= sources && newestJs() >= sources) return;
  log('chaos: building dist/ (sources are newer than the build)');
  // Type errors do not stop tsc from emitting; only a missing output does.
  spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: PROJECT_ROOT, stdio: 'ignore' });
  if (!existsSync(main)) throw new Error('the build produced no dist/src/cli/main.js');

  function newestJs(): number {
    let t = 0;
    const walk = (dir: string) => {
      if (!existsSync(dir)) return;
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(p);
        else if (entry.name.endsWith('.js')) t = Math.max(t, statSync(p).mtimeMs);
      }
    };
    walk(path.join(PROJECT_ROOT, 'dist', 'src'));
    walk(path.join(PROJECT_ROOT, 'dist', 'workers'));
    return t;
  }
}

/** The faults of a run: kinds in turn, at points between 15% and 85% of the replay, at least 4 s apart. */
export function planFaults(seed: number, count: number, replayMs: number, kinds?: readonly FaultKind[]): { kind: FaultKind; at: number; param: number }[] {
  const random = seededRandom(seed ^ 0x5eed);
  const order = kinds?.length ? [...kinds] : [...FAULT_KINDS].sort(() => random() - 0.5);
  const times = Array.from({ length: count }, () => replayMs * (0.15 + 0.7 * random())).sort((a, b) => a - b);
  for (let i = 1; i < times.length; i++) times[i] = Math.max(times[i], times[i - 1] + 4000);
  return times.map((at, i) => ({ kind: order[i % order.length], at: Math.round(at), param: random() }));
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  // The run's clock starts when the first post is stored (workers take seconds to load models).
  let started = Date.now();
  const elapsed = () => Date.now() - started;
  const replayMs = (options.replaySeconds ?? Math.max(20, Math.min(120, options.posts / 30))) * 1000;
  const settleMs = (options.settleSeconds ?? 180) * 1000;
  const slaMs = (options.slaSeconds ?? 8) * 1000;
  const runDir = path.join(PROJECT_ROOT, '.local', 'chaos', `seed${options.seed}-${process.pid}-${Date.now()}`);
  const configDir = path.join(runDir, 'config');
  mkdirSync(runDir, { recursive: true });
  const cliRoot = path.resolve(options.cliRoot ?? PROJECT_ROOT);
  if (cliRoot === PROJECT_ROOT) ensureBuilt(log);
  else if (!existsSync(path.join(cliRoot, 'dist', 'src', 'cli', 'main.js'))) throw new Error(`${cliRoot} has no built CLI (dist/src/cli/main.js)`);

  // Input: the replay and the config, from the seed.
  const spanMs = options.posts * 30_000;
  const posts = generatePosts(options.seed, options.posts, spanMs);
  writeChaosConfig({ dir: configDir, posts, speed: spanMs / replayMs, slaMs });

  const procs = new Procs(path.join(runDir, 'logs'));
  const onExit = () => procs.killAllNow();
  process.on('exit', onExit);
  const secret = newWebhookSecret();
  const receiver = new WebhookReceiver(secret);
  const pagerduty = new PagerDutyStandIn();
  let mongo: MongoClient | undefined;
  let redisMonitor: Redis | undefined;
  try {
    const hookUrl = await receiver.start();
    const pagerDutyUrl = await pagerduty.start();
    const redisPort = await freePort();
    const ferretPort = await freePort();
    let redis = await startRedis(procs, redisPort, path.join(runDir, 'redis'), 1);
    const ferret = await startFerretDb(procs, ferretPort, path.join(runDir, 'ferretdb'));
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    const mongoUri = `mongodb://127.0.0.1:${ferretPort}/chaos`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      REDIS_URL: redisUrl,
      MONGODB_URI: mongoUri,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      DOTENV_CONFIG_QUIET: 'true',
      CHAOS_WEBHOOK_URL: hookUrl,
      CHAOS_WEBHOOK_SECRET: secret,
      CHAOS_PAGERDUTY_URL: pagerDutyUrl,
      CHAOS_PAGERDUTY_KEY: 'CHAOSKEYCHAOSKEYCHAOSKEYCHAOS001',
    };
    delete env.REPWATCH_CONFIG;
    const { config } = loadConfig({ dir: configDir, env });
    const expected = expectedAlerting(posts, config);
    log(
      `chaos: seed ${options.seed}: ${posts.length} posts over ${secs(replayMs)} (${expected.size} should alert, ${[...expected.values()].filter((e) => e.severity === 'critical').length} critical), ${options.faults} faults, SLA ${secs(slaMs)}; run folder ${path.relative(PROJECT_ROOT, runDir)}`,
    );
    log(`chaos: redis-server 127.0.0.1:${redisPort} (pid ${redis.pid}), FerretDB 127.0.0.1:${ferretPort} (pid ${ferret.pid}), webhook receiver ${hookUrl}, PagerDuty stand-in ${pagerDutyUrl}`);

    mongo = new MongoClient(mongoUri, { serverSelectionTimeoutMS: 10_000 });
    await mongo.connect();
    const db = mongo.db('chaos');
    redisMonitor = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: false });
    redisMonitor.on('error', () => undefined);

    // The workers, as an operator runs them.
    const counters = { ingest: 0, deliver: 0 };
    const workers: { ingest: Proc[]; deliver: Proc[] } = { ingest: [], deliver: [] };
    const startRole = (role: 'ingest' | 'deliver') => {
      const p = startWorker(procs, cliRoot, `${role}-${++counters[role]}`, configDir, role, env);
      workers[role].push(p);
      return p;
    };
    const launched = Date.now();
    const scheduler = startWorker(procs, cliRoot, 'schedule-poll-sla', configDir, 'schedule,poll,sla', env);
    for (let i = 0; i < (options.ingestProcesses ?? 2); i++) startRole('ingest');
    startRole('deliver');
    const firstPostBy = Date.now() + 60_000;
    while (Date.now() < firstPostBy && !((await within(2000, db.collection('mentions').findOne({}, { projection: { _id: 1 } }))) ?? 0)) await sleep(250);
    started = Date.now();
    log(`chaos: workers up and storing posts after ${secs(started - launched)}`);

    const prefix = config.settings.queuePrefix;
    const queueCounts = async () => {
      const r = redisMonitor!;
      const q = async (name: string) => {
        const [wait, active, prioritized, delayedIds] = await Promise.all([r.llen(`${prefix}:${name}:wait`), r.llen(`${prefix}:${name}:active`), r.zcard(`${prefix}:${name}:prioritized`), r.zrange(`${prefix}:${name}:delayed`, 0, -1)]);
        let delayed = delayedIds.length;
        if (name === 'deliver' && delayed) {
          // Reminders wait hours by design (none are expected with repeatInterval 24h, but they are not work in flight).
          const names = await Promise.all(delayedIds.map((id) => r.hget(`${prefix}:${name}:${id}`, 'name')));
          delayed = names.filter((n) => n !== 'remind').length;
        }
        return { now: wait + active + prioritized, delayed };
      };
      const [ingest, deliver, sla] = await Promise.all([q('ingest'), q('deliver'), q('sla')]);
      return { ingest, deliver, sla };
    };
    // The store's counts scan whole collections on FerretDB (it pushes down only `_id` filters):
    // read once per second they took half its CPU and starved the workers under test. So they are
    // read one at a time, only for the progress line and while the queues are idle, and a count
    // still running is waited for rather than started again.
    let lastCounts: { mentions?: number; alerts?: number; events?: number; pending?: number } = {};
    let counting: Promise<typeof lastCounts> | undefined;
    const storeCounts = () =>
      (counting ??= (async () => {
        const count = (name: string, filter: object = {}) => within(20_000, db.collection(name).countDocuments(filter));
        const counts = { mentions: await count('mentions'), alerts: await count('alerts'), events: await count('alert_events'), pending: await count('deliveries', { status: 'pending' }) };
        lastCounts = counts;
        return counts;
      })().finally(() => (counting = undefined)));
    const snapshot = async (options: { fresh?: boolean } = { fresh: true }) => {
      const [counts, queues] = await Promise.all([options.fresh ? storeCounts() : lastCounts, within(3000, queueCounts())]);
      return { ...counts, queues, webhooks: receiver.received.length, duplicates: receiver.duplicates.length, pagerduty: pagerduty.events.length };
    };
    const countsLine = (s: Awaited<ReturnType<typeof snapshot>>) =>
      `stored ${s.mentions ?? 'n/a'}/${posts.length}, alerts ${s.alerts ?? 'n/a'}, events ${s.events ?? 'n/a'}, deliveries pending ${s.pending ?? 'n/a'}, webhooks ${s.webhooks} (repeated ids ${s.duplicates}), pagerduty ${s.pagerduty}, queues ${s.queues ? `ingest ${s.queues.ingest.now}+${s.queues.ingest.delayed}d deliver ${s.queues.deliver.now}+${s.queues.deliver.delayed}d` : 'n/a'}`;

    // The on-call person: some critical alerts acknowledged at once, some only after they paged
    // (then resolved a little later: PagerDuty hears trigger → acknowledge → resolve), some never.
    const acks = { acknowledged: 0, resolved: 0, failed: 0 };
    const acted = new Map<string, 'acknowledged' | 'resolved'>();
    // In turn as critical alerts appear: the first waits for the page, the next acknowledges at once, the third never.
    const plans = new Map<string, 'after-paging' | 'at-once' | 'never'>();
    const planOf = (id: string) => {
      if (!plans.has(id)) plans.set(id, (['after-paging', 'at-once', 'never'] as const)[plans.size % 3]);
      return plans.get(id)!;
    };
    const cli = (args: string[]) =>
      new Promise<boolean>((resolve) => {
        const child = spawn(process.execPath, [path.join(cliRoot, 'bin', 'repwatch.js'), ...args, '--config', configDir, '--by', 'chaos-oncall'], { cwd: PROJECT_ROOT, env, stdio: 'ignore' });
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          resolve(code === 0);
        });
      });
    const ackWork = async (): Promise<{ id: string; verb: 'ack' | 'resolve' }[]> => {
      const critical = (await within(20_000, db.collection('alerts').find({ severity: 'critical', status: { $in: ['triggered', 'acknowledged'] } }).toArray()))?.sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)) || String(a._id).localeCompare(String(b._id)));
      const todo: { id: string; verb: 'ack' | 'resolve' }[] = [];
      for (const a of critical ?? []) {
        const id = String(a._id);
        const plan = planOf(id);
        if (plan === 'never') continue;
        if (a.status === 'triggered' && !acted.has(id) && (plan === 'at-once' || a.escalatedAt)) todo.push({ id, verb: 'ack' });
        else if (a.status === 'acknowledged' && plan === 'after-paging' && acted.get(id) === 'acknowledged' && Date.parse(a.acknowledgedAt) + 3000 < Date.now()) todo.push({ id, verb: 'resolve' });
      }
      return todo;
    };
    let ackBusy = false;
    const ackPass = async () => {
      if (ackBusy) return;
      ackBusy = true;
      try {
        for (const { id, verb } of await ackWork()) {
          const ok = await cli(['alerts', verb, id]);
          if (!ok) acks.failed++;
          else if (verb === 'ack') acks.acknowledged++;
          else acks.resolved++;
          // A refused change (resolved meanwhile) is not tried again.
          acted.set(id, verb === 'ack' ? 'acknowledged' : 'resolved');
        }
      } finally {
        ackBusy = false;
      }
    };

    // The faults.
    const plan = planFaults(options.seed, options.faults, replayMs, options.kinds);
    const faults: FaultRecord[] = [];
    const runFault = async (n: number, kind: FaultKind, param: number): Promise<void> => {
      const start = Date.now();
      let what: string;
      if (kind === 'kill-ingest' || kind === 'kill-deliver') {
        const role = kind === 'kill-ingest' ? 'ingest' : 'deliver';
        const alive = workers[role].filter((p) => p.child.exitCode === null && p.child.signalCode === null);
        const victim = alive[Math.floor(param * alive.length)];
        await procs.kill9(victim);
        workers[role] = workers[role].filter((p) => p !== victim);
        const fresh = startRole(role);
        what = `kill -9 ${victim.name} (pid ${victim.pid}), started ${fresh.name} (pid ${fresh.pid})`;
      } else if (kind === 'redis-restart') {
        const downMs = Math.round(1000 + param * 2000);
        await procs.kill9(redis);
        await sleep(downMs);
        redis = await startRedis(procs, redisPort, path.join(runDir, 'redis'), n + 1);
        what = `redis-server killed and started again empty after ${secs(downMs)} (pid ${redis.pid})`;
      } else {
        const pauseMs = Math.round(3000 + param * 3000);
        ferret.child.kill('SIGSTOP');
        await sleep(pauseMs);
        ferret.child.kill('SIGCONT');
        what = `FerretDB paused (SIGSTOP) for ${secs(pauseMs)}`;
      }
      const end = Date.now();
      const line = `fault ${n}/${plan.length} ${kind} at ${secs(start - started)}: ${what}; ${countsLine(await snapshot())}`;
      faults.push({ n, kind, start, end, line });
      log(`chaos: ${line}`);
    };
    const faultsDone = (async () => {
      for (let i = 0; i < plan.length; i++) {
        const wait = plan[i].at - elapsed();
        if (wait > 0) await sleep(wait);
        await runFault(i + 1, plan[i].kind, plan[i].param);
      }
    })();
    let faultsFinished = false;
    void faultsDone.finally(() => (faultsFinished = true));

    // Run, then wait for quiescence: nothing queued or running, nothing changing, bounded.
    let lastProgress = 0;
    let lastSignature = '';
    let stableSince = Date.now();
    let quiet = false;
    const replayEnds = started + replayMs;
    const hardDeadline = replayEnds + settleMs;
    let lastAckPass = 0;
    let lastCounted = 0;
    while (Date.now() < hardDeadline) {
      await sleep(1000);
      if (Date.now() - lastAckPass >= 3000) {
        lastAckPass = Date.now();
        void ackPass();
      }
      const cheap = await snapshot({ fresh: false });
      const idle = !!cheap.queues && cheap.queues.ingest.now + cheap.queues.ingest.delayed + cheap.queues.deliver.now + cheap.queues.deliver.delayed + cheap.queues.sla.now === 0;
      const logDue = Date.now() - lastProgress > 15_000;
      const s = logDue || (idle && Date.now() - lastCounted >= 3000) ? await snapshot() : cheap;
      if (s !== cheap) lastCounted = Date.now();
      if (logDue) {
        log(`chaos: ${secs(elapsed())}: ${countsLine(s)}`);
        lastProgress = Date.now();
      }
      const signature = JSON.stringify([s.mentions, s.alerts, s.events, s.pending, s.webhooks, s.pagerduty, acks, idle]);
      if (signature !== lastSignature) {
        lastSignature = signature;
        stableSince = Date.now();
      }
      if (Date.now() < replayEnds || !faultsFinished || ackBusy || !s.queues || s.mentions === undefined || s === cheap) continue;
      const work = await within(20_000, ackWork());
      // Critical alerts still inside their SLA (or just past it) are work in flight too.
      const waitingSla = await within(20_000, db.collection('alerts').countDocuments({ status: 'triggered', escalatedAt: { $exists: false }, slaDeadline: { $gt: new Date(Date.now() - 5000).toISOString() } }));
      const complete = s.mentions === posts.length && s.pending === 0 && work?.length === 0 && waitingSla === 0;
      // When something looks missing, give the sweep (every minute) a full turn to heal it.
      const needQuietMs = complete ? 8000 : 75_000;
      if (idle && Date.now() - stableSince >= needQuietMs) {
        quiet = true;
        break;
      }
    }
    await faultsDone;
    const quiesced = `${quiet ? 'quiet' : 'NOT quiet (gave up waiting)'} ${secs(Date.now() - replayEnds)} after the replay's end`;
    log(`chaos: ${secs(elapsed())}: ${quiesced}; ${countsLine(await snapshot())}`);

    // Stop the workers first so nothing changes under the checks; the services stay up to be read.
    await procs.stopAll(8000, [redis, ferret]);
    void scheduler;
    const checks = await runChecks({
      db,
      posts,
      expected,
      config,
      webhookReceiverId: 'chaos-webhook',
      pagerDutyReceiverId: 'chaos-oncall',
      webhooks: receiver.received,
      pagerduty: pagerduty.events,
      faults,
      now: Date.now(),
      slaGraceMs: 70_000,
    });
    const ok = checks.every((c) => c.ok);
    const summary = [
      `chaos summary: seed ${options.seed}, ${posts.length} posts, ${faults.length} faults, ${quiesced}, on-call acknowledged ${acks.acknowledged} resolved ${acks.resolved} (refused ${acks.failed}), ${secs(elapsed())}`,
      ...faults.map((f) => `  ${f.line}`),
      ...checks.map((c) => `  check ${c.name}: ${c.ok ? 'ok' : 'FAILED'}: ${c.counts}${!c.ok && c.examples?.length ? `; e.g. ${c.examples.join('; ')}` : ''}`),
      `chaos: ${ok ? 'PASSED' : `FAILED (${checks.filter((c) => !c.ok).map((c) => c.name).join(', ')})`}`,
    ];
    for (const l of summary) log(l);
    writeFileSync(path.join(runDir, 'result.json'), JSON.stringify({ options: { ...options, log: undefined }, ok, faults, checks, acks }, null, 2));
    const result: ChaosResult = { ok, faults, checks, summary, runDir, durationMs: elapsed(), posts: posts.length, webhooks: receiver.received.length, pagerduty: pagerduty.events.length, acks };
    return result;
  } finally {
    await mongo?.close().catch(() => undefined);
    redisMonitor?.disconnect();
    await procs.stopAll();
    await receiver.stop();
    await pagerduty.stop();
    process.off('exit', onExit);
  }
}

function parseArgs(argv: string[]): ChaosOptions {
  const num = (name: string, fallback: number) => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return fallback;
    const v = Number(argv[i + 1]);
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} takes a number`);
    return v;
  };
  const kindsArg = argv.includes('--kinds') ? argv[argv.indexOf('--kinds') + 1] : undefined;
  const kinds = kindsArg?.split(',').map((k) => {
    if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`--kinds: unknown fault "${k}" (known: ${FAULT_KINDS.join(', ')})`);
    return k as FaultKind;
  });
  return {
    seed: num('seed', 1),
    posts: num('posts', 3000),
    faults: num('faults', 6),
    kinds,
    replaySeconds: argv.includes('--replay-seconds') ? num('replay-seconds', 90) : undefined,
    settleSeconds: num('settle-seconds', 180),
    cliRoot: argv.includes('--cli') ? argv[argv.indexOf('--cli') + 1] : undefined,
    keep: argv.includes('--keep'),
  };
}

if (require.main === module) {
  let options: ChaosOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`chaos: ${(err as Error).message}\nusage: npm run chaos [-- --seed N --posts N --faults N --kinds ${FAULT_KINDS.join(',')} --replay-seconds S --settle-seconds S --cli CHECKOUT --keep]\n`);
    process.exit(2);
  }
  runChaos(options).then(
    (r) => {
      if (r.ok && !options.keep) rmSync(r.runDir, { recursive: true, force: true });
      else process.stdout.write(`chaos: logs, config and data kept in ${path.relative(PROJECT_ROOT, r.runDir)}\n`);
      process.exit(r.ok ? 0 : 1);
    },
    (err) => {
      process.stderr.write(`chaos failed to run: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
