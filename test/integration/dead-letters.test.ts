import { Redis } from 'ioredis';
import { dlqCommand } from '../../src/cli/dlq';
import type { Alert, AlertEvent } from '../../src/domain/alert';
import { RepwatchError } from '../../src/domain/errors';
import type { Mention } from '../../src/domain/mention';
import { Store } from '../../src/store/store';
import { startRepwatch, type Repwatch } from '../../workers/app';
import { WebhookReceiver, newWebhookSecret } from '../../scripts/webhook-receiver';
import { MONGODB_URI, REDIS_URL, captureLogger, makeConfig, uniqueName, waitFor } from '../helpers';
import { zeezichtPost } from '../fixtures/mention';

const post = (i: number, text: string, followers: number): Mention => zeezichtPost(1_891_000_000_000_000_000n, i, text, followers);

// Two pages of four and two posts; one of them is a complaint that must alert once judged.
const POSTS = [
  post(1, 'Heerlijk ontbijt gehad bij Hotel Zeezicht, echt een aanrader!', 800),
  post(2, 'Weet iemand of Hotel Zeezicht ook kamers met balkon heeft?', 120),
  post(3, 'Slechtste hotel ooit, Hotel Zeezicht. Vies en duur, waardeloos. Nooit meer!', 150_000),
  post(4, 'Mooi weer vandaag bij Hotel Zeezicht aan zee', 15),
  post(5, 'Hotel Zeezicht ontbijt was prima', 60),
  post(6, 'Hotel Zeezicht parkeren kost veel', 30),
];

/** A store outage for ingest only: storing mentions fails while `outage` is set. */
let outage = false;
const storeMentions = Store.prototype.storeMentions;
jest.spyOn(Store.prototype, 'storeMentions').mockImplementation(function (this: Store, ...args) {
  if (outage) return Promise.reject(new RepwatchError('RW_ERR_STORE_UNAVAILABLE', 'injected: MongoDB not reachable'));
  return storeMentions.apply(this, args);
});

describe('dead letters: ingest pages that fail for good (real Redis and the MongoDB-compatible server)', () => {
  let app: Repwatch;
  let redis: Redis;
  let receiver: WebhookReceiver;
  let offset = 0;
  const secret = newWebhookSecret();
  const prefix = `{${uniqueName('dlq')}}`;
  const dbName = uniqueName('dlq');
  const { logger } = captureLogger(() => [secret]);

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
              sources: [{ id: 'feed', platform: 'replay', file: 'posts.jsonl', speed: 'max', pageSize: 4, pollEvery: '200ms' }],
            },
          ],
        },
        receivers: { receivers: [{ id: 'local', type: 'webhook', urlEnv: 'HOOK_URL', secretEnv: 'HOOK_SECRET', minSeverity: 'low', timeout: '5s' }] },
        defaults: { delivery: { attempts: 3, backoff: '200ms' } },
        extra: { 'posts.jsonl': POSTS.map((p) => JSON.stringify(p)).join('\n') + '\n' },
      },
      { HOOK_URL: url, HOOK_SECRET: secret },
    );
    redis = new Redis(REDIS_URL());
    outage = true;
    app = await startRepwatch({
      ...loaded,
      logger,
      redisUrl: REDIS_URL(),
      mongoUri: MONGODB_URI(),
      dbName,
      queuePrefix: prefix,
      now: () => Date.now() + offset,
      queuePolicy: { ingest: { attempts: 2, backoffMs: 50 } },
    });
  });

  afterAll(async () => {
    outage = false;
    await app?.close();
    await app?.store.conn.dropDatabase().catch(() => undefined);
    await receiver.stop();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  const coverageAlerts = async () => (await app.store.listAlerts({ kind: 'coverage' })) as Alert[];

  it('keeps both pages as dead letters after their attempts and raises one coverage alert with the count', async () => {
    const open = await waitFor('both pages to be dead letters', async () => {
      const list = await app.deadLetters.store.list({ status: 'open', queue: 'ingest' });
      return list.length === 2 && list;
    });
    for (const d of open) {
      expect(d).toMatchObject({ brandId: 'hotel-zeezicht', sourceId: 'feed', code: 'RW_ERR_STORE_UNAVAILABLE', recoverable: true, attempts: 2, status: 'open' });
      expect(d._id).toBe(`ingest|${d.jobId}`);
    }
    expect(open.map((d) => d.posts).sort()).toEqual([2, 4]);
    expect(await app.store.models.Mention.countDocuments({})).toBe(0);

    const alerts = await waitFor('the coverage alert to count both pages', async () => {
      const a = await coverageAlerts();
      return a.length === 1 && a[0].count === 2 && a;
    });
    expect(alerts[0]).toMatchObject({ id: 'hotel-zeezicht/coverage/feed', kind: 'coverage', severity: 'high', status: 'triggered', brandId: 'hotel-zeezicht' });
    expect(alerts[0].title).toMatch(/2 pages \(6 posts\) of Hotel Zeezicht \/ feed not judged/);
    expect(alerts[0].reason).toMatch(/RW_ERR_STORE_UNAVAILABLE/);
    // On the stream like any alert, and delivered to the receiver (signed).
    const events: AlertEvent[] = await app.store.eventsAfter(0, 100);
    expect(events.filter((e) => e.alertId === alerts[0].id).map((e) => e.type)[0]).toBe('alert.triggered');
    const hook = await waitFor('the coverage alert at the webhook receiver', () => receiver.received.find((r) => r.body?.data?.alert?.kind === 'coverage'));
    expect(hook.verified).toBe(true);
    // Counted for the metrics.
    expect((await app.deadLetters.store.count()).open).toMatchObject({ ingest: 2, deliver: 0 });
    // Recorded once: the sweep's scan of the failed set finds them recorded already.
    expect((await app.deadLetters.sweep()).recorded).toBe(0);
    expect(await app.deadLetters.store.coll.countDocuments({})).toBe(2);
  });

  it('`dlq list` shows them: queue, brand, source, posts, attempts, age and reason', async () => {
    const out: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
    try {
      const code = await dlqCommand('list', [], (_args, fn) => fn(app, undefined as never), () => Date.now() + 90_000);
      expect(code).toBe(0);
    } finally {
      write.mockRestore();
    }
    const lines = out.join('').trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      const [id, status, queue, brand, where, what, attempts, age, reason] = line.split('\t');
      expect(id).toMatch(/^ingest\|ingest\|hotel-zeezicht\|feed\|/);
      expect([status, queue, brand, where]).toEqual(['open', 'ingest', 'hotel-zeezicht', 'source feed']);
      expect(what).toMatch(/^[24] posts$/);
      expect(attempts).toBe('2 attempts, 0 retries');
      expect(age).toMatch(/^failed (9\d|1\d\d)s ago$/);
      expect(reason).toMatch(/^RW_ERR_STORE_UNAVAILABLE: /);
    }
  });

  it('the sweep retries them once their own backoff is up, until stored and evaluated; the coverage alert resolves', async () => {
    // Not due yet: the sweep leaves them.
    expect((await app.deadLetters.sweep()).retried).toBe(0);
    outage = false;
    offset = 2 * 60_000;
    expect((await app.deadLetters.sweep()).retried).toBe(2);
    await waitFor('the pages to be judged', async () => (await app.deadLetters.store.list({ status: 'open' })).length === 0);
    expect(await app.store.models.Mention.countDocuments({})).toBe(POSTS.length);
    // Evaluated: the influencer's complaint raised its alert.
    const complaint = (await app.store.listAlerts({ brandId: 'hotel-zeezicht' })).find((a) => a.kind !== 'coverage');
    expect(complaint?.post.author.handle).toBe('user3');
    const resolved = await waitFor('the coverage alert to resolve', async () => {
      const [a] = await coverageAlerts();
      return a.status === 'resolved' && a;
    });
    expect(resolved.resolvedBy).toBe('repwatch');
    expect((await app.deadLetters.store.list({ status: 'resolved' })).map((d) => d.retries)).toEqual([1, 1]);
    // Each change is on the stream: triggered once (updated when the count grew), resolved by repwatch.
    const changes = (await app.store.eventsAfter(0, 200)).filter((e) => e.alertId === resolved.id).map((e) => e.type);
    expect(changes[0]).toBe('alert.triggered');
    expect(changes.at(-1)).toBe('alert.resolved');
    expect(changes.filter((t) => t === 'alert.triggered')).toHaveLength(1);
  });

  it('`dlq retry` puts a failed page back idempotently, and a new gap after resolution is a new coverage alert (~2)', async () => {
    outage = true;
    const mentionsBefore = await app.store.models.Mention.countDocuments({});
    // A page handed on again (same posts, new key): it fails for good while the store is "down".
    await app.queues.ingest.add('ingest', { brandId: 'hotel-zeezicht', sourceId: 'feed', polledAt: Date.now(), mentions: POSTS.slice(0, 1) }, { jobId: 'ingest|hotel-zeezicht|feed|again', attempts: 1 });
    const [dead] = await waitFor('the page to be a dead letter', async () => {
      const list = await app.deadLetters.store.list({ status: 'open' });
      return list.length === 1 && list;
    });
    const [gap] = await waitFor('a new coverage alert', async () => {
      const open = (await coverageAlerts()).filter((a) => a.status === 'triggered');
      return open.length === 1 && open;
    });
    expect(gap.id).toBe('hotel-zeezicht/coverage/feed~2');

    outage = false;
    const out: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
    try {
      expect(await dlqCommand('retry', [dead._id], (_args, fn) => fn(app, undefined as never))).toBe(0);
      // A second retry while the first runs or after it finished does nothing more.
      expect(await dlqCommand('retry', ['--all'], (_args, fn) => fn(app, undefined as never))).toBe(0);
    } finally {
      write.mockRestore();
    }
    expect(out[0]).toBe(`${dead._id}\tretried\n`);
    await waitFor('the retried page to be judged', async () => (await app.deadLetters.store.get(dead._id))?.status === 'resolved');
    expect(await app.store.models.Mention.countDocuments({})).toBe(mentionsBefore);
    await waitFor('the new coverage alert to resolve', async () => (await app.store.getAlert(gap.id))?.status === 'resolved');
    expect(await app.deadLetters.retry(dead._id)).toBe('completed');
    await expect(app.deadLetters.retry('ingest|nope')).rejects.toMatchObject({ code: 'RW_ERR_UNKNOWN_REFERENCE' });
  });
});
