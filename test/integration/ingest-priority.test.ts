import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Mention } from '../../src/domain/mention';
import { startRepwatch, BULK_INGEST_PRIORITY, type Repwatch } from '../../workers/app';
import { MONGODB_URI, REDIS_URL, captureLogger, makeConfig, uniqueName, waitFor } from '../helpers';
import { zeezichtPost } from '../fixtures/mention';

const post = (i: number, text: string, followers: number, extra: Partial<Mention> = {}): Mention => zeezichtPost(1_893_000_000_000_000_000n, i, text, followers, extra);

const CHATTER = ['Mooi weer vandaag bij Hotel Zeezicht aan zee', 'Weet iemand of Hotel Zeezicht ook kamers met balkon heeft?', 'Hotel Zeezicht ligt aan de boulevard', 'Wij logeren volgende week in Hotel Zeezicht'];
// Twelve posts of chatter (six pages of two), then the athlete's complaint: the page that must not wait.
const POSTS = [
  ...Array.from({ length: 12 }, (_, i) => post(i + 1, CHATTER[i % CHATTER.length], 20 + i)),
  post(13, "Wat een teleurstelling bij Hotel Zeezicht: de kamer was vies, veel kleiner dan op de foto's en geen zeezicht. Personeel onbeschoft. Nooit meer!", 312_400, {
    author: { id: 'femke', handle: 'femkesprint', followers: 312_400, verified: true },
  }),
  post(14, 'Hotel Zeezicht heeft een nieuwe website', 30),
];

describe('alert-bearing pages go before bulk pages in the ingest queue (real Redis)', () => {
  const apps: Repwatch[] = [];
  const prefix = `{${uniqueName('prio')}}`;
  const dbName = uniqueName('prio');
  const { logger } = captureLogger();
  const configWith = (ingestConcurrency: number) =>
    makeConfig(
      {
        brands: {
          brands: [{ id: 'hotel-zeezicht', name: 'Hotel Zeezicht', keywords: ['Hotel Zeezicht'], sources: [{ id: 'feed', platform: 'replay', file: 'posts.jsonl', speed: 'max', pageSize: 2, pollEvery: '200ms' }] }],
        },
        defaults: { ingestConcurrency },
        extra: { 'posts.jsonl': POSTS.map((p) => JSON.stringify(p)).join('\n') + '\n' },
      },
      {},
    );
  const start = async (ingestConcurrency: number, roles: ('schedule' | 'poll' | 'ingest')[]) => {
    const app = await startRepwatch({ ...configWith(ingestConcurrency), logger, redisUrl: REDIS_URL(), mongoUri: MONGODB_URI(), dbName, queuePrefix: prefix, roles });
    apps.push(app);
    return app;
  };

  afterAll(async () => {
    await apps[0]?.store.conn.dropDatabase().catch(() => undefined);
    for (const app of apps.reverse()) await app.close();
    const redis = new Redis(REDIS_URL());
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('queues chatter with a lower priority, and the complaint page is judged first although polled last', async () => {
    // Polling only (a backlog of 16 allowed): every page waits in the queue.
    const poller = await start(8, ['schedule', 'poll']);
    const queued = await waitFor('all seven pages queued', async () => {
      const jobs = (await poller.queues.ingest.getJobs(['waiting', 'prioritized'])).filter((j): j is Job => !!j);
      return jobs.length === 7 && jobs;
    });
    const byPriority = (urgent: boolean) => queued.filter((j) => (j.opts.priority ?? 0) === (urgent ? 0 : BULK_INGEST_PRIORITY));
    expect(byPriority(false)).toHaveLength(6);
    expect(byPriority(true).map((j) => (j.data as { mentions: Mention[] }).mentions.map((m) => m.author.handle))).toEqual([['femkesprint', 'user14']]);
    // The page was polled after the six others.
    const urgent = byPriority(true)[0];
    expect(Math.max(...byPriority(false).map((j) => j.timestamp))).toBeLessThanOrEqual(urgent.timestamp);

    // One ingest job at a time: the order they are judged in is the queue's order.
    const ingester = await start(1, ['ingest']);
    const judged: string[] = [];
    ingester.workers.ingest!.on('completed', (job) => judged.push(String(job.id)));
    await waitFor('every page judged', () => judged.length === 7);
    expect(judged[0]).toBe(urgent.id);
    const alerts = await ingester.store.listAlerts({ brandId: 'hotel-zeezicht' });
    expect(alerts.map((a) => a.post.author.handle)).toEqual(['femkesprint']);
  });
});
