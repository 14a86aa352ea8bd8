import { Redis } from 'ioredis';
import type { Mention } from '../../src/domain/mention';
import { startRepwatch, type Repwatch } from '../../workers/app';
import { outstandingJobs } from '../../workers/queues';
import { WebhookReceiver, newWebhookSecret } from '../../scripts/webhook-receiver';
import { MONGODB_URI, REDIS_URL, captureLogger, makeConfig, uniqueName, waitFor } from '../helpers';
import { zeezichtPost } from '../fixtures/mention';

const post = (i: number, text: string, followers: number, extra: Partial<Mention> = {}): Mention & { brandId?: string } => zeezichtPost(1_890_000_000_000_000_000n, i, text, followers, extra);

const ATHLETE = post(
  3,
  'Wat een teleurstelling bij Hotel Zeezicht @hotelzeezicht: de kamer was vies, veel kleiner dan op de foto\'s en geen zeezicht. Personeel onbeschoft. Nooit meer!',
  312_400,
  { author: { id: 'femke', handle: 'femkesprint', name: 'Femke de Vries', followers: 312_400, verified: true, verifiedType: 'blue' } },
);

const POSTS = [
  post(1, 'Heerlijk ontbijt gehad bij Hotel Zeezicht, echt een aanrader!', 800),
  post(2, 'Weet iemand of Hotel Zeezicht ook kamers met balkon heeft?', 120),
  ATHLETE,
  post(4, 'Slechtste hotel ooit, Hotel Zeezicht. Vies en duur, waardeloos.', 4_200, { langHint: 'nl' }),
  post(5, 'Hotel Zeezicht was terrible, dirty room and rude staff. Never again.', 40, { langHint: 'en' }),
  post(6, 'Mooi weer vandaag bij Hotel Zeezicht aan zee', 15),
];

describe('pipeline on real Redis and the MongoDB-compatible server', () => {
  let app: Repwatch | undefined;
  let receiver: WebhookReceiver;
  let redis: Redis;
  const secret = newWebhookSecret();
  const prefix = `{${uniqueName('pipe')}}`;
  const dbName = uniqueName('pipe');
  let loaded: ReturnType<typeof makeConfig>;
  const { logger, lines } = captureLogger(() => [secret]);

  beforeAll(async () => {
    receiver = new WebhookReceiver(secret);
    const url = await receiver.start();
    const env = { HOOK_URL: url, HOOK_SECRET: secret };
    loaded = makeConfig(
      {
        brands: {
          brands: [
            {
              id: 'hotel-zeezicht',
              name: 'Hotel Zeezicht',
              keywords: ['Hotel Zeezicht'],
              handles: ['@hotelzeezicht'],
              sources: [{ id: 'scenario', platform: 'replay', file: 'posts.jsonl', speed: 'max', pageSize: 4, pollEvery: '200ms' }],
            },
          ],
        },
        receivers: { receivers: [{ id: 'local', type: 'webhook', urlEnv: 'HOOK_URL', secretEnv: 'HOOK_SECRET', minSeverity: 'low', timeout: '5s' }] },
        defaults: { delivery: { attempts: 3, backoff: '200ms' } },
        extra: { 'posts.jsonl': POSTS.map((p) => JSON.stringify(p)).join('\n') + '\n' },
      },
      env,
    );
    redis = new Redis(REDIS_URL());
  });

  afterAll(async () => {
    await app?.close();
    if (app) await app.store.conn.dropDatabase().catch(() => undefined);
    await receiver.stop();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  async function runUntilReplayed(): Promise<void> {
    await waitFor('the replay to finish and its jobs to drain', async () => {
      const state = await redis.hget(`${prefix}:source:hotel-zeezicht:scenario`, 'cursor');
      if (!state || !JSON.parse(state).done) return false;
      const counts = await Promise.all([app!.queues.ingest, app!.queues.deliver].map(outstandingJobs));
      return counts.every((n) => n === 0);
    });
  }

  it('stores every post, raises the athlete\'s complaint as critical and delivers it with a valid signature', async () => {
    app = await startRepwatch({ config: loaded.config, secrets: loaded.secrets, logger, redisUrl: REDIS_URL(), mongoUri: MONGODB_URI(), dbName, queuePrefix: prefix });
    await runUntilReplayed();

    const { Mention, Alert, Delivery } = app.store.models;
    expect(await Mention.countDocuments({})).toBe(POSTS.length);
    const stored = await Mention.collection.findOne({ _id: 'x-' + ATHLETE.postId } as any);
    expect(stored?.judgement.sentiment.label).toBe('negative');

    const alerts = await Alert.find({}).lean();
    const athlete = alerts.find((a: any) => a.post.author.handle === 'femkesprint') as any;
    expect(athlete).toBeDefined();
    expect(athlete.severity).toBe('critical');
    expect(athlete.reason).toMatch(/@femkesprint \(312,400 followers, verified\)/);
    expect(athlete.reason).toMatch(/impact [\d.]+ from negativity [\d.]+, complaint [\d.]+, reach [\d.]+, engagement [\d.]+, velocity [\d.]+/);
    // The reason quotes the words the judgement rests on, exactly as the athlete wrote them.
    expect(athlete.reason).toMatch(/negative: '[^']+'/);
    const quotedWords = [...String(athlete.reason).matchAll(/'([^']+)'/g)].map((m) => m[1]);
    expect(quotedWords.length).toBeGreaterThan(0);
    for (const w of quotedWords) expect(ATHLETE.text).toContain(w);
    // The cheerful and neutral posts raise nothing.
    expect(alerts.map((a: any) => a.post.postId)).not.toContain(POSTS[0].postId);
    expect(alerts.map((a: any) => a.post.postId)).not.toContain(POSTS[5].postId);

    // The alert stream: one event per alert, sequence numbers strictly increasing.
    const events = await app.store.eventsAfter(0, 100);
    expect(events).toHaveLength(alerts.length);
    for (let i = 1; i < events.length; i++) expect(events[i].seq).toBeGreaterThan(events[i - 1].seq);
    const afterFirst = await app.store.eventsAfter(events[0].seq, 100);
    expect(afterFirst.map((e) => e.id)).toEqual(events.slice(1).map((e) => e.id));

    // Delivered to the local receiver, signature verified, recorded as sent.
    await waitFor('webhook deliveries', () => receiver.received.length >= events.length);
    const hook = receiver.received.find((r) => r.body?.data?.alert?.post?.author?.handle === 'femkesprint');
    expect(hook?.verified).toBe(true);
    expect(hook?.type).toBe('alert.triggered');
    expect(hook?.id).toBe(`${athlete._id}/v1/triggered`);
    expect(await Delivery.countDocuments({ status: 'sent' })).toBe(events.length);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
  });

  it('replaying the same posts again stores nothing twice and delivers nothing twice', async () => {
    const { Mention, Alert, AlertEvent, Delivery } = app!.store.models;
    const before = {
      mentions: await Mention.countDocuments({}),
      alerts: await Alert.countDocuments({}),
      events: await AlertEvent.countDocuments({}),
      deliveries: await Delivery.countDocuments({}),
      received: receiver.received.length,
    };
    // Rewind the replay: the same pages go through poll, ingest and delivery again.
    await redis.del(`${prefix}:source:hotel-zeezicht:scenario`);
    await waitFor('the replay to start again', async () => {
      const state = await redis.hget(`${prefix}:source:hotel-zeezicht:scenario`, 'cursor');
      return state !== null;
    });
    await runUntilReplayed();
    // Give any stray delivery a moment to show up before counting.
    await new Promise((r) => setTimeout(r, 500));
    expect(await Mention.countDocuments({})).toBe(before.mentions);
    expect(await Alert.countDocuments({})).toBe(before.alerts);
    expect(await AlertEvent.countDocuments({})).toBe(before.events);
    expect(await Delivery.countDocuments({})).toBe(before.deliveries);
    expect(receiver.received.length).toBe(before.received);
    expect(receiver.duplicates).toEqual([]);
  });

  it('keeps the webhook secret out of every log line', () => {
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(secret);
    expect(lines.join('\n')).not.toContain(secret.slice('whsec_'.length));
  });
});
