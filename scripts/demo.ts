/**
 * `npm run demo`: brings up the local services, replays a simulated day of posts about three
 * fictional brands through the whole pipeline on a clock that runs a day in a minute, delivers
 * alerts to a local webhook receiver that verifies every signature (and to Slack when
 * configured), plays a comms team that acknowledges and resolves what it sees (and misses the
 * athlete, who is escalated to a local PagerDuty stand-in), and ends with a summary: the storm,
 * grouped alerts, the escalation and a recovered customer, each with its reason.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/load';
import { isRepwatchError } from '../src/domain/errors';
import type { Alert } from '../src/domain/alert';
import { SEVERITIES } from '../src/config/schema';
import { createLogger } from '../src/logger';
import { PROJECT_ROOT } from '../src/paths';
import { buildReport, formatDuration, formatReport } from '../src/domain/report';
import { Store } from '../src/store/store';
import { startRepwatch, type Repwatch } from '../workers/app';
import { PagerDutyStandIn } from './pagerduty-standin';
import { WebhookReceiver, newWebhookSecret } from './webhook-receiver';

const out = (s = '') => process.stdout.write(`${s}\n`);
const fmt = (n: number) => n.toLocaleString('en-US');

/** The demo's clock runs a day in two minutes, from the scenario's first hour. */
const CLOCK_RATE = 720;
/** The replay's clock starts at the scenario's first post; the demo's clock starts there too, so the two agree. */
function scenarioStart(file: string): number {
  const first = readFileSync(file, 'utf8').split('\n').find((l) => l.trim());
  const at = first ? Date.parse(JSON.parse(first).createdAt) : NaN;
  if (!Number.isFinite(at)) throw new Error(`the demo scenario ${file} does not start with a dated post`);
  return at;
}
const MIN = 60_000;
/** Changes the team makes per look, so a look stays short on the fast clock. */
const TEAM_ACTIONS_PER_LOOK = 25;

/**
 * The comms team, played by the demo. It takes storms, complaints and anything high or critical:
 * acknowledged after 20 minutes, resolved an hour after that. It is busy elsewhere for the first
 * half hour of a critical alert, which is how the athlete's complaint reaches on-call.
 */
async function playCommsTeam(app: Repwatch, now: number): Promise<void> {
  let budget = TEAM_ACTIONS_PER_LOOK;
  const handles = (a: Alert) => !a.stormId && (a.kind === 'storm' || a.kind === 'complaint' || a.severity === 'high' || a.severity === 'critical') && a.kind !== 'opportunity';
  for (const alert of await app.store.listAlerts({ status: 'triggered' })) {
    if (budget <= 0) return;
    if (!handles(alert) || now - Date.parse(alert.updatedAt) < 0) continue;
    const age = now - Date.parse(alert.createdAt);
    if (age < (alert.severity === 'critical' ? 30 : 20) * MIN) continue;
    budget--;
    await app.alerts.acknowledge(alert.id, 'comms@demo').catch(() => undefined);
  }
  for (const alert of await app.store.listAlerts({ status: 'acknowledged' })) {
    if (budget <= 0) return;
    if (now - Date.parse(alert.acknowledgedAt!) < 60 * MIN) continue;
    budget--;
    await app.alerts.resolve(alert.id, 'comms@demo').catch(() => undefined);
  }
}

export function servicesUp(): { redisUrl: string; mongoUri: string } {
  const text = execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'services.sh'), 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const get = (k: string) => new RegExp(`^${k}=(.+)$`, 'm').exec(text)?.[1];
  const redisUrl = get('REDIS_URL');
  const mongoUri = get('MONGODB_URI');
  if (!redisUrl || !mongoUri) throw new Error('scripts/services.sh did not print REDIS_URL and MONGODB_URI');
  return { redisUrl, mongoUri };
}

async function main(): Promise<number> {
  const started = Date.now();
  out('repwatch demo: one simulated day (06:00-24:00) of posts about Hotel Zeezicht, SnelPost and Volta Bank, on a clock that runs it in about two minutes');
  const { redisUrl, mongoUri } = servicesUp();
  out(`services: Redis ${redisUrl}, MongoDB-compatible server ${mongoUri}`);

  const secret = newWebhookSecret();
  const receiver = new WebhookReceiver(secret);
  const hookUrl = await receiver.start();
  out(`local webhook receiver (verifies Standard Webhooks signatures): ${hookUrl}`);
  const pagerduty = new PagerDutyStandIn();
  const pagerDutyUrl = await pagerduty.start();
  out(`local PagerDuty stand-in (Events API v2): ${pagerDutyUrl}`);

  const configDir = path.join(PROJECT_ROOT, 'config', 'demo');
  const env = { ...process.env, DEMO_WEBHOOK_URL: hookUrl, DEMO_WEBHOOK_SECRET: secret, DEMO_PAGERDUTY_URL: pagerDutyUrl, DEMO_PAGERDUTY_KEY: 'DEMOKEYDEMOKEYDEMOKEYDEMOKEY0001' };
  const { config, secrets } = loadConfig({ dir: configDir, env });
  const slack = config.receivers.filter((r) => r.type === 'slack').map((r) => r.id);
  out(slack.length ? `Slack: alerts also go to ${slack.join(', ')}` : 'Slack: off (set SLACK_WEBHOOK_URL, or SLACK_BOT_TOKEN and SLACK_CHANNEL, to send alerts there too)');

  // A clean slate each run: the demo's own queue prefix and database.
  const prefix = '{repwatch-demo}';
  const dbName = 'repwatch_demo';
  const redis = new Redis(redisUrl);
  const stale = await redis.keys(`${prefix}*`);
  if (stale.length) await redis.del(...stale);

  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', secrets: () => secrets.values(), destination: process.stderr as any, pretty: false });
  const previous = await Store.connect({ uri: mongoUri, dbName });
  await previous.conn.dropDatabase();
  await previous.close();
  const realStart = Date.now();
  const scenarioStarts = scenarioStart(path.join(configDir, 'scenario.jsonl'));
  const now = () => scenarioStarts + (Date.now() - realStart) * CLOCK_RATE;
  const app = await startRepwatch({ config, secrets, logger, redisUrl, mongoUri, dbName, queuePrefix: prefix, now, clockRate: CLOCK_RATE });

  const totals = { posts: 0, stored: 0, alerts: 0 };
  app.workers.ingest?.on('completed', (_job, r) => {
    totals.posts += r.posts;
    totals.stored += r.stored;
    totals.alerts += r.newEvents;
  });
  const sources = config.brands.flatMap((b) => b.sources.map((s) => `${prefix}:source:${b.id}:${s.id}`));
  const allReplayed = async () => {
    const cursors = await Promise.all(sources.map((k) => redis.hget(k, 'cursor')));
    return cursors.every((c) => c && JSON.parse(c).done);
  };
  const drained = async () => {
    // Delayed jobs are left out: grouped updates and SLA timers of alerts handled meanwhile may wait.
    const counts = await Promise.all(Object.values(app.queues).filter((q) => q !== app.queues.poll).map((q) => q.getJobCounts('waiting', 'active', 'prioritized')));
    return counts.every((c) => Object.values(c).every((n) => n === 0));
  };

  const tty = process.stdout.isTTY;
  let lastLine = 0;
  const progress = (final = false) => {
    const line = `  ${fmt(totals.posts)} posts judged and stored, ${fmt(totals.alerts)} alerts raised, ${fmt(receiver.received.length)} webhooks received (${fmt(receiver.received.filter((r) => r.verified).length)} verified)`;
    if (tty) process.stdout.write(`\r${line}${final ? '\n' : ''}`);
    else if (final || Date.now() - lastLine > 5000) {
      out(line);
      lastLine = Date.now();
    }
  };
  const deadline = Date.now() + 10 * 60_000;
  let done = false;
  while (!done && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const replayed = await allReplayed();
    // The team works through the day; when the day is over the demo only waits for the queues.
    if (!replayed) await playCommsTeam(app, now());
    progress();
    done = replayed && (await drained());
  }
  progress(true);

  // Summary, read back from the store: what an operator would see.
  const { Mention, Delivery } = app.store.models;
  const stored = await Mention.countDocuments({});
  const alerts = await app.store.listAlerts({});
  const cases = await app.store.listCases();
  const deliveries = (await Delivery.find({}).lean()) as any[];
  const quote = (t: string) => `"${t.length > 140 ? `${t.slice(0, 139)}…` : t}"`;
  out('');
  out(`Posts processed: ${fmt(totals.posts)} (${fmt(stored)} stored)`);
  const platforms = ((await Mention.distinct('platform')) as string[]).sort();
  const perPlatform = await Promise.all(platforms.map(async (p) => [p, await Mention.countDocuments({ platform: p })] as const));
  out(`Per platform: ${perPlatform.sort((a, b) => b[1] - a[1]).map(([p, n]) => `${p} ${fmt(n)}`).join(', ')}`);
  const acrossPlatforms = cases.filter((c) => new Set(c.timeline.filter((t) => t.platform).map((t) => t.platform)).size > 1);
  for (const c of acrossPlatforms.slice(0, 3)) {
    out(`One customer, one case across platforms: @${c.handles.join(', @')} on ${[...new Set(c.timeline.filter((t) => t.platform).map((t) => t.platform))].join(' and ')} (case ${c.id})`);
  }
  out(`Alerts: ${fmt(alerts.length)} (${SEVERITIES.map((s) => `${s} ${alerts.filter((a) => a.severity === s).length}`).join(', ')}); by kind: ${['complaint', 'negative-post', 'storm', 'opportunity'].map((k) => `${k} ${alerts.filter((a) => a.kind === k).length}`).join(', ')}`);
  const posts = alerts.filter((a) => a.kind !== 'storm').reduce((n, a) => n + a.count, 0);
  const grouped = alerts.filter((a) => a.stormId);
  out(`Grouping: ${fmt(posts)} alerting posts became ${fmt(alerts.filter((a) => a.kind !== 'storm').length)} alerts (same post, thread, or author and topic); ${fmt(grouped.length)} of them joined a storm instead of paging on their own`);

  out('');
  out('Storms:');
  for (const storm of alerts.filter((a) => a.kind === 'storm')) {
    out(`  [${storm.severity}] ${storm.title}`);
    out(`     why: ${storm.reason}`);
    const top = storm.storm?.topPosts[0];
    if (top) out(`     top post: @${top.handle} (${fmt(top.followers)} followers) ${quote(top.text)}`);
  }
  if (!alerts.some((a) => a.kind === 'storm')) out('  none');

  out('');
  out('Escalations to on-call (critical, not acknowledged within the SLA):');
  for (const a of alerts.filter((x) => x.escalatedAt)) {
    const paged = pagerduty.events.filter((e) => e.dedupKey === a.fingerprint).map((e) => e.action);
    const brand = config.brands.find((b) => b.id === a.brandId)!;
    const sla = formatDuration(brand.effectivePolicy.criticalAckSla);
    const late = formatDuration(Date.parse(a.escalatedAt!) - (Date.parse(a.slaDeadline!) - brand.effectivePolicy.criticalAckSla));
    out(`  ${a.title}`);
    out(`     ${quote(a.post.text)}`);
    out(`     why: ${a.reason}`);
    out(`     escalated ${late} after it became critical (SLA ${sla}, nobody had acknowledged it); PagerDuty received: ${paged.join(' → ') || 'nothing yet'}; now ${a.status}${a.acknowledgedBy ? ` (acknowledged by ${a.acknowledgedBy})` : ''}`);
  }
  if (!alerts.some((a) => a.escalatedAt)) out('  none');

  out('');
  out('Recovery (customers followed after their complaint was resolved):');
  for (const c of cases.filter((x) => x.recovery && x.recovery.state !== 'watching')) {
    out(`  case ${c.id}: @${c.handles.join(', @')} ${c.recovery!.state}: ${c.recovery!.because ?? ''}`);
  }
  const watching = cases.filter((x) => x.recovery?.state === 'watching').length;
  out(`  ${watching} resolved case(s) still watched (a 7-day window)`);

  out('');
  out('Top alerts:');
  const top = alerts.filter((a) => a.kind !== 'storm' && !a.stormId).sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || b.impact.score - a.impact.score).slice(0, 4);
  top.forEach((a, i) => {
    out(`  ${i + 1}. [${a.severity}] ${a.title}`);
    out(`     ${quote(a.post.text)}`);
    out(`     why: ${a.reason}`);
  });

  out('');
  out(formatReport(buildReport(alerts, cases)));
  out('');
  const sent = deliveries.filter((d) => d.status === 'sent');
  const byReceiver = new Map<string, number>();
  for (const d of sent) byReceiver.set(d.receiverId, (byReceiver.get(d.receiverId) ?? 0) + 1);
  out(`Deliveries made: ${fmt(sent.length)} (${[...byReceiver].map(([r, n]) => `${r} ${n}`).join(', ') || 'none'}); failed: ${deliveries.filter((d) => d.status === 'failed').length}`);
  out(`Webhooks received by the local receiver: ${receiver.received.length}, signatures verified: ${receiver.received.filter((r) => r.verified).length}, duplicates: ${receiver.duplicates.length}`);
  const athlete = alerts.find((a) => a.post.author.followers >= 300_000 && a.post.author.followers < 320_000 && a.kind !== 'storm');
  if (athlete) {
    const hook = receiver.received.find((r) => r.body?.data?.alert?.id === athlete.id);
    out(`The athlete's complaint: ${athlete.severity}, delivered to the webhook receiver ${hook ? (hook.verified ? 'with a valid signature' : 'with an INVALID signature') : 'NOT YET'}`);
  }
  out(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s. The local FerretDB keeps running; stop it with: npm run services:stop`);

  // --serve: the demo's alerts stay reachable through the API and the console until Ctrl-C.
  if (process.argv.includes('--serve')) {
    const key = randomBytes(18).toString('base64url');
    const [host, port] = (process.env.REPWATCH_HTTP ?? '127.0.0.1:8080').split(':');
    const served = await startRepwatch({
      config, secrets, logger, redisUrl, mongoUri, dbName, queuePrefix: prefix, now, clockRate: CLOCK_RATE, roles: ['api'],
      api: { listen: { host, port: Number(port) }, apiKeys: new Map([['demo', key]]), consoleDir: path.join(PROJECT_ROOT, 'dist', 'console') },
    });
    out('');
    out(`Console and API: ${served.api!.url}/  (sign in with the key below; Ctrl-C stops)`);
    out(`API key (name "demo"): ${key}`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await served.close();
  }

  await app.close();
  await receiver.stop();
  await pagerduty.stop();
  await redis.quit();
  return done ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`demo failed: ${isRepwatchError(err) ? `${err.code}: ` : ''}${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
