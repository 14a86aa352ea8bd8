import { appendFileSync, readFileSync } from 'node:fs';
import { clearReplayCache } from '../../src/connectors/replay';
import path from 'node:path';
import { Redis } from 'ioredis';
import nock from 'nock';
import { parse as parseYaml } from 'yaml';
import { WebhookReceiver, newWebhookSecret } from '../../scripts/webhook-receiver';
import type { Alert } from '../../src/domain/alert';
import type { Mention } from '../../src/domain/mention';
import { createNotifiers } from '../../src/notifiers';
import { deliverEvent } from '../../src/services/deliver';
import { ingestPage } from '../../src/services/ingest';
import { acknowledgeAlert, escalateIfOverdue, resolveAlert, sweep } from '../../src/services/lifecycle';
import { recheckEngagement } from '../../src/services/recheck';
import { SourceState } from '../../src/store/source-state';
import type { DeliveryRequest, Dispatch } from '../../src/services/ports';
import { Locks } from '../../src/store/lock';
import { CaseIndex } from '../../src/store/case-index';
import { redisSequence } from '../../src/store/sequence';
import { DeliveryClaims } from '../../src/store/delivery-claims';
import { Store } from '../../src/store/store';
import { deliveryJobOf, jobIds } from '../../workers/queues';
import { MONGODB_URI, REDIS_URL, captureLogger, makeConfig, uniqueName } from '../helpers';

/**
 * Scenario tests: a scripted timeline (test/scenarios/*.yaml) played against the real services
 * (ingest, policy, lifecycle, delivery) on real Redis and the MongoDB-compatible server, with a
 * fake clock. The queues are stood in for by an in-memory scheduler that keeps BullMQ's two
 * promises the services rely on: a job id is taken once, and a delayed job runs at its time.
 * Webhooks go to a real receiver on loopback; PagerDuty, an internet service, is nock.
 */

export interface ScenarioPost {
  /** Seconds after the scenario's start. */
  at: number;
  /** How the post's engagement grows: what rechecks see (minutes after the post). */
  engagementLater?: { after: number; likes: number; reposts: number; replies: number; quotes: number }[];
  handle: string;
  followers?: number;
  verified?: boolean;
  text: string;
  platform?: string;
  id?: string;
  lang?: string;
  conversationId?: string;
  replyToId?: string;
}

type Step =
  | { at: string; posts: Omit<ScenarioPost, 'at'>[] }
  | { at: string; generate: { count: number; every: string; handle: string; followers?: number; texts: string[]; lang?: string } }
  | { at: string; ack: string; by: string }
  | { at: string; resolve: string; by: string }
  | { at: string; advance: true }
  /** The schedule role's minute sweep: lost SLA timers, ended recovery windows. */
  | { at: string; sweep: true };

export interface ScenarioFile {
  name: string;
  start: string;
  brand: Record<string, unknown>;
  policy?: Record<string, unknown>;
  routing?: Record<string, unknown>;
  steps: Step[];
}

/** "90s", "5m", "2h30m", "1d" → seconds. */
export function seconds(text: string | number): number {
  if (typeof text === 'number') return text;
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(d|h|m|s)/g;
  let m: RegExpExecArray | null;
  let matched = '';
  while ((m = re.exec(text))) {
    total += Number(m[1]) * { d: 86_400, h: 3600, m: 60, s: 1 }[m[2] as 'd' | 'h' | 'm' | 's'];
    matched += m[0];
  }
  if (matched !== text.replace(/\s+/g, '')) throw new Error(`scenario: cannot read the time "${text}"`);
  return total;
}

export const PAGERDUTY_KEY = 'R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12';

interface Job {
  id: string;
  runAt: number;
  run: () => Promise<unknown>;
}

export class Scenario {
  clock: number;
  readonly start: number;
  readonly received: WebhookReceiver;
  readonly pagerduty: { action: string; dedupKey: string; at: number; summary?: string }[] = [];
  readonly failures: string[] = [];
  store!: Store;
  loaded!: ReturnType<typeof makeConfig>;
  private redis!: Redis;
  private locks!: Locks;
  private caseIndex!: CaseIndex;
  private prefix = '';
  private readonly jobs = new Map<string, Job>();
  private readonly taken = new Set<string>();
  private readonly secret = newWebhookSecret();
  private readonly log = captureLogger();
  private postSeq = 0;
  /** Drops SLA timers, as a Redis restart without persistence would: only the sweep can escalate then. */
  loseSlaTimers = false;
  private readonly postIds = new Map<string, string>();

  constructor(readonly file: ScenarioFile) {
    this.start = Date.parse(file.start);
    this.clock = this.start;
    this.received = new WebhookReceiver(this.secret);
  }

  static load(name: string): Scenario {
    const text = readFileSync(path.join(__dirname, '..', 'scenarios', `${name}.yaml`), 'utf8');
    return new Scenario(parseYaml(text) as ScenarioFile);
  }

  get logLines(): string[] {
    return this.log.lines;
  }

  async setUp(): Promise<void> {
    const url = await this.received.start();
    const receivers = [
      { id: 'hook', type: 'webhook', urlEnv: 'HOOK_URL', secretEnv: 'HOOK_SECRET', timeout: '5s', deliveryMode: 'latest' },
      { id: 'oncall', type: 'pagerduty', routingKeyEnv: 'PD_KEY' },
    ];
    this.loaded = makeConfig(
      {
        brands: { brands: [{ ...this.file.brand, sources: [{ id: 'scenario', platform: 'replay', file: 'none.jsonl', speed: 1 }] }] },
        receivers: { receivers },
        defaults: { policy: this.file.policy ?? {} },
        extra: {
          'none.jsonl': '',
          ...(this.file.routing ? { 'routing.yaml': JSON.stringify(this.file.routing) } : {}),
        },
      },
      { HOOK_URL: url, HOOK_SECRET: this.secret, PD_KEY: PAGERDUTY_KEY },
    );
    this.redis = new Redis(REDIS_URL());
    this.prefix = `{${uniqueName('scn')}}`;
    this.store = await Store.connect({ uri: MONGODB_URI(), dbName: uniqueName('scn'), sequence: redisSequence(this.redis, `${this.prefix}:seq`) });
    this.locks = new Locks(this.redis, this.prefix);
    this.caseIndex = new CaseIndex(this.redis, this.prefix);
    nock('https://events.pagerduty.com')
      .persist()
      .post('/v2/enqueue')
      .reply(202, (_uri, body: any) => {
        this.pagerduty.push({ action: body.event_action, dedupKey: body.dedup_key, at: this.clock, summary: body.payload?.summary });
        return { status: 'success', message: 'Event processed', dedup_key: body.dedup_key };
      });
  }

  async tearDown(): Promise<void> {
    nock.cleanAll();
    await this.store?.conn.dropDatabase();
    await this.store?.close();
    await this.redis?.quit();
    await this.received.stop();
  }

  private get deps() {
    return { config: this.loaded.config, store: this.store, dispatch: this.dispatch, locks: this.locks, caseIndex: this.caseIndex, now: () => this.clock, logger: this.log.logger };
  }

  /** The scheduler: a job id is taken once (as BullMQ's jobId), and runs when the clock reaches it. */
  private schedule(id: string, runAt: number, run: () => Promise<unknown>): void {
    if (this.taken.has(id)) return;
    this.taken.add(id);
    this.jobs.set(id, { id, runAt, run });
  }

  private readonly dispatch: Dispatch = {
    ingest: async () => undefined,
    pollAgain: async () => undefined,
    ingestBacklog: async () => 0,
    deliver: async (requests: DeliveryRequest[]) => {
      const notifiers = createNotifiers(this.loaded.config.receivers, this.loaded.secrets);
      for (const r of requests) {
        const { id, data } = deliveryJobOf(r);
        this.schedule(id, this.clock + (r.delayMs ?? 0), () =>
          deliverEvent({ store: this.store, notifiers, dispatch: this.dispatch, now: () => this.clock, logger: this.log.logger, claims: new DeliveryClaims(this.redis, this.prefix) }, { ...data, claimant: id }, true),
        );
      }
    },
    slaTimer: async (alertId, deadline) => {
      if (this.loseSlaTimers) return;
      this.schedule(jobIds.sla(alertId, deadline), deadline, () => escalateIfOverdue(this.deps, alertId));
    },
    recheck: async (request, at) => {
      this.schedule(jobIds.recheck(request.postKey, request.round), at, () =>
        recheckEngagement({ ...this.deps, secrets: this.loaded.secrets, sourceState: new SourceState(this.redis, this.prefix) }, request),
      );
    },
  };

  /** Runs every job due up to `until`, in time order, with the clock at each job's time. */
  async advanceTo(until: number): Promise<void> {
    for (;;) {
      const due = [...this.jobs.values()].filter((j) => j.runAt <= until).sort((a, b) => a.runAt - b.runAt || a.id.localeCompare(b.id))[0];
      if (!due) break;
      this.jobs.delete(due.id);
      this.clock = Math.max(this.clock, due.runAt);
      try {
        await due.run();
      } catch (err) {
        this.failures.push(`${due.id}: ${(err as Error).message}`);
      }
    }
    this.clock = Math.max(this.clock, until);
  }

  private mention(p: ScenarioPost): Mention {
    const platform = p.platform ?? 'x';
    const key = p.id ?? `auto-${++this.postSeq}`;
    const postId = this.postIds.get(key) ?? String(1_900_000_000_000_000_000n + BigInt(this.postIds.size + 1));
    this.postIds.set(key, postId);
    const ref = (id?: string) => (id ? (this.postIds.get(id) ?? id) : undefined);
    return {
      platform,
      postId,
      url: `https://${platform === 'x' ? 'x.com' : `${platform}.example`}/${p.handle}/status/${postId}`,
      brandId: String(this.file.brand.id),
      author: { id: `${platform}-${p.handle}`, handle: p.handle, followers: p.followers ?? 100, verified: p.verified ?? false },
      text: p.text,
      langHint: p.lang,
      createdAt: new Date(this.start + p.at * 1000).toISOString(),
      engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
      conversationId: ref(p.conversationId),
      replyToId: ref(p.replyToId),
    };
  }

  /** Hands posts to ingest in pages, as the poller would; they are also written to the source's replay file, where rechecks look them up. */
  async ingest(posts: ScenarioPost[], pageSize = 100): Promise<void> {
    const mentions = posts.map((p) => this.mention(p));
    appendFileSync(path.join(this.loaded.dir, 'none.jsonl'), mentions.map((m, i) => `${JSON.stringify({ ...m, engagementLater: posts[i].engagementLater })}\n`).join(''));
    clearReplayCache();
    for (let i = 0; i < mentions.length; i += pageSize) {
      await ingestPage(this.deps, { brandId: String(this.file.brand.id), sourceId: 'scenario', polledAt: this.clock, mentions: mentions.slice(i, i + pageSize) });
    }
  }

  /** The alert of the post with this scenario id. */
  async alertOfPost(id: string): Promise<Alert | undefined> {
    const postId = this.postIds.get(id);
    const alerts = await this.store.listAlerts({});
    return alerts.find((a) => a.post.postId === postId) ?? alerts.find((a) => a.kind !== 'storm' && a.storm === undefined && a.post.postId === postId);
  }

  async acknowledge(postRef: string, by: string): Promise<void> {
    const alert = await this.alertRef(postRef);
    await acknowledgeAlert(this.deps, alert.id, by);
  }

  async resolve(postRef: string, by: string): Promise<void> {
    const alert = await this.alertRef(postRef);
    await resolveAlert(this.deps, alert.id, by);
  }

  private async alertRef(ref: string): Promise<Alert> {
    if (ref === 'storm') {
      const storm = (await this.store.listAlerts({ kind: 'storm' }))[0];
      if (!storm) throw new Error('scenario: no storm alert to act on');
      return storm;
    }
    const alert = await this.alertOfPost(ref);
    if (!alert) throw new Error(`scenario: no alert for post "${ref}"`);
    return alert;
  }

  /** Plays every step in order: the clock moves to each step's time (running what is due), then the step happens. */
  async play(): Promise<void> {
    for (const step of this.file.steps) {
      const at = this.start + seconds(step.at) * 1000;
      await this.advanceTo(at);
      if ('posts' in step) await this.ingest(step.posts.map((p) => ({ ...p, at: seconds(step.at) })));
      else if ('generate' in step) {
        const g = step.generate;
        const every = seconds(g.every);
        // Generated posts arrive as the poller would fetch them: a page per minute of post time.
        const all = Array.from({ length: g.count }, (_, i) => ({
          at: seconds(step.at) + i * every,
          handle: g.handle.replace('{i}', String(i)),
          followers: g.followers ?? 100,
          text: g.texts[i % g.texts.length],
          lang: g.lang,
        }));
        for (let i = 0; i < all.length; ) {
          const pageEnd = all[i].at + 60;
          const page = all.slice(i).filter((p) => p.at < pageEnd);
          await this.advanceTo(this.start + page[page.length - 1].at * 1000);
          await this.ingest(page);
          i += page.length;
        }
      } else if ('ack' in step) await this.acknowledge(step.ack, step.by);
      else if ('resolve' in step) await this.resolve(step.resolve, step.by);
      else if ('sweep' in step) await this.sweep();
    }
    // What the last step handed on and is due now.
    await this.advanceTo(this.clock);
  }

  /** The periodic sweep (the schedule role runs it every minute); returns the alerts it escalated. */
  async sweep(): Promise<string[]> {
    return (await sweep(this.deps)).escalated;
  }

  /** Webhook deliveries by event type. */
  webhookTypes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.received.received) out[r.type] = (out[r.type] ?? 0) + 1;
    return out;
  }
}
