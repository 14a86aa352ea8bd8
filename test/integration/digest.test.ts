import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createMetrics } from '../../src/metrics';
import { createNotifiers } from '../../src/notifiers';
import { verifyWebhook, type DigestWebhookPayload } from '../../src/notifiers/webhook';
import { DIGEST_QUEUE, digestSchedulerId, runDigest, syncDigestSchedulers, type DigestDeps } from '../../src/services/digest';
import { Store } from '../../src/store/store';
import { newWebhookSecret } from '../../scripts/webhook-receiver';
import { fixtureEvent } from '../fixtures/alert-event';
import { MONGODB_URI, REDIS_URL, captureLogger, failure, makeConfig, uniqueName } from '../helpers';

// The 09:00 Amsterdam digest of 10 March covers 9 March 08:00Z to 10 March 08:00Z.
const H = 3_600_000;
const TO = Date.parse('2026-03-10T08:00:00Z');
const FROM = TO - 24 * H;

interface Received {
  headers: http.IncomingHttpHeaders;
  raw: string;
}

/** A receiver on loopback that keeps each raw request; `status` decides its answer. */
async function receiver(status: () => number): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = status();
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/digest`,
    received,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('digest on the MongoDB-compatible server, to signed webhooks on loopback', () => {
  const dbName = uniqueName('digest');
  const prefix = `{${uniqueName('digest')}}`;
  const hookSecret = newWebhookSecret();
  const flakySecret = newWebhookSecret();
  let store: Store;
  let redis: Redis;
  let hook: Awaited<ReturnType<typeof receiver>>;
  let flaky: Awaited<ReturnType<typeof receiver>>;
  let flakyStatus = 503;
  let deps: DigestDeps;
  const { logger, lines } = captureLogger(() => [hookSecret, flakySecret]);

  beforeAll(async () => {
    [hook, flaky] = await Promise.all([receiver(() => 204), receiver(() => flakyStatus)]);
    const loaded = makeConfig(
      {
        brands: {
          brands: [
            {
              id: 'hotel-zeezicht',
              name: 'Hotel Zeezicht',
              keywords: ['Hotel Zeezicht'],
              sources: [{ id: 'scenario', platform: 'replay', file: 'posts.jsonl' }],
              digest: { receivers: ['hook', 'flaky'], schedule: 'daily', at: '09:00', timeZone: 'Europe/Amsterdam' },
            },
          ],
        },
        receivers: {
          receivers: [
            { id: 'hook', type: 'webhook', urlEnv: 'HOOK_URL', secretEnv: 'HOOK_SECRET', timeout: '5s' },
            { id: 'flaky', type: 'webhook', urlEnv: 'FLAKY_URL', secretEnv: 'FLAKY_SECRET', timeout: '5s' },
          ],
        },
        extra: { 'posts.jsonl': '' },
      },
      { HOOK_URL: hook.url, HOOK_SECRET: hookSecret, FLAKY_URL: flaky.url, FLAKY_SECRET: flakySecret },
    );
    store = await Store.connect({ uri: MONGODB_URI(), dbName });
    redis = new Redis(REDIS_URL());

    // A busy, negative day against a quiet week: 30 posts (15 negative, 6 complaints) against 10 a day (1 negative).
    const mention = (i: number, at: number, sentiment: string, complaint: boolean) => ({
      _id: `x-${i}`,
      platform: 'x',
      postId: String(i),
      brandId: 'hotel-zeezicht',
      createdAt: new Date(at).toISOString(),
      judgement: { sentiment: { label: sentiment }, complaint: { label: complaint } },
    });
    const docs = [];
    for (let i = 0; i < 30; i++) docs.push(mention(i, FROM + i * 40 * 60_000, i < 15 ? 'negative' : 'neutral', i < 6));
    for (let day = 1; day <= 7; day++) for (let i = 0; i < 10; i++) docs.push(mention(1000 * day + i, FROM - day * 24 * H + i * H, i === 0 ? 'negative' : 'positive', false));
    // Another brand's posts and a post after the period are not counted.
    docs.push({ ...mention(99_001, FROM + H, 'negative', true), brandId: 'snelpost' }, mention(99_002, TO + 60_000, 'negative', true));
    await store.models.Mention.collection.insertMany(docs as never[]);

    const complaint = { ...fixtureEvent().alert, kind: 'complaint' as const, createdAt: new Date(FROM + 2 * H).toISOString() };
    await store.saveAlerts([complaint, { ...complaint, id: 'hotel-zeezicht/resolved', fingerprint: 'hotel-zeezicht/resolved', status: 'resolved' }]);

    deps = {
      config: loaded.config,
      store,
      notifiers: createNotifiers(loaded.config.receivers, loaded.secrets),
      metrics: createMetrics(redis, prefix, { defaultMetrics: false }),
      now: () => TO + 2 * 60_000,
      logger,
    };
  });

  afterAll(async () => {
    await store?.conn.dropDatabase().catch(() => undefined);
    await store?.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await Promise.all([hook?.close(), flaky?.close()]);
  });

  it('sends a signed digest.created, makes a failed receiver visible as a metric, and on retry sends only what did not go out', async () => {
    // First run: the hook takes it, the flaky receiver answers 503: the job fails, retryable, with the receiver's code.
    const err = await failure(runDigest(deps, { brandId: 'hotel-zeezicht' }));
    expect(err.code).toBe('RW_ERR_RECEIVER_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('1 of 2 receivers failed (flaky)');

    expect(hook.received).toHaveLength(1);
    const first = hook.received[0];
    const payload = verifyWebhook(hookSecret, first.raw, first.headers) as unknown as DigestWebhookPayload;
    expect(payload.type).toBe('digest.created');
    const digest = payload.data.digest;
    expect(first.headers['webhook-id']).toBe(digest.id);
    expect(digest.id).toBe(`digest/hotel-zeezicht/daily/${new Date(TO).toISOString()}`);
    expect(digest.period).toEqual({ from: new Date(FROM).toISOString(), to: new Date(TO).toISOString() });
    expect(digest.volume).toMatchObject({ posts: 30, negative: 15, complaints: 6, usualPosts: 10, trend: 'above', negativeShare: 0.5, usualNegativeShare: 0.1, negativeTrend: 'above', periodsCompared: 7 });
    expect(digest.openAlerts).toMatchObject({ total: 1, bySeverity: { critical: 1 } });
    expect(digest.unansweredComplaints.top.map((c) => c.alertId)).toEqual([fixtureEvent().alert.id]);
    // Signed with the hook's own secret: the other receiver's secret does not verify it.
    expect(() => verifyWebhook(flakySecret, first.raw, first.headers)).toThrow();

    const scrape = async () => (await createMetrics(redis, prefix, { defaultMetrics: false }).render()).body;
    let body = await scrape();
    expect(body).toContain('repwatch_digests_total{brand="hotel-zeezicht",receiver="flaky",outcome="failed"} 1');
    expect(body).toContain('repwatch_digests_total{brand="hotel-zeezicht",receiver="hook",outcome="sent"} 1');
    const record = await store.conn.collection('digest_deliveries').findOne({ _id: `${digest.id}|flaky` } as never);
    expect(record).toMatchObject({ status: 'failed', code: 'RW_ERR_RECEIVER_UNAVAILABLE', attempts: 1 });

    // The retry: the hook is not sent it again; the flaky receiver gets the same digest under the same webhook-id.
    flakyStatus = 204;
    const outcome = await runDigest(deps, { brandId: 'hotel-zeezicht' });
    expect(outcome.receivers).toEqual([
      { receiverId: 'hook', outcome: 'already-sent' },
      { receiverId: 'flaky', outcome: 'sent' },
    ]);
    expect(hook.received).toHaveLength(1);
    const retried = flaky.received[flaky.received.length - 1];
    expect(flaky.received).toHaveLength(2);
    expect(retried.headers['webhook-id']).toBe(digest.id);
    expect((verifyWebhook(flakySecret, retried.raw, retried.headers) as unknown as DigestWebhookPayload).data.digest.volume.posts).toBe(30);
    body = await scrape();
    expect(body).toContain('repwatch_digests_total{brand="hotel-zeezicht",receiver="flaky",outcome="sent"} 1');
    expect(body).toContain('repwatch_digests_total{brand="hotel-zeezicht",receiver="hook",outcome="already-sent"} 1');

    // Nothing secret in what was logged.
    for (const line of lines) {
      expect(line).not.toContain(hookSecret.slice('whsec_'.length));
      expect(line).not.toContain('/hooks/digest');
    }
  });

  it('keeps one cron job scheduler per brand with a digest, in its time zone, and removes it with the digest', async () => {
    const queue = new Queue(DIGEST_QUEUE, { connection: redis, prefix });
    try {
      expect(await syncDigestSchedulers(queue, deps.config)).toBe(1);
      // Idempotent: a second sync keeps one scheduler.
      await syncDigestSchedulers(queue, deps.config);
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers).toHaveLength(1);
      expect(schedulers[0]).toMatchObject({ key: digestSchedulerId('hotel-zeezicht'), pattern: '0 9 * * *', tz: 'Europe/Amsterdam' });
      // The next run is at 09:00 Amsterdam time, whatever the offset is that day.
      const next = new Date(Number(schedulers[0].next));
      expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Amsterdam', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(next)).toBe('09:00');

      const withoutDigest = { brands: deps.config.brands.map((b) => ({ ...b, digest: undefined })) };
      expect(await syncDigestSchedulers(queue, withoutDigest)).toBe(0);
      expect(await queue.getJobSchedulers()).toHaveLength(0);
    } finally {
      await queue.close();
    }
  });
});
