import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { startRepwatch, type Repwatch } from '../../workers/app';
import { newWebhookSecret } from '../../scripts/webhook-receiver';
import { MONGODB_URI, REDIS_URL, captureLogger, makeConfig, uniqueName, waitFor } from '../helpers';

const COMPLAINT = {
  platform: 'x',
  postId: '1890000000000000777',
  url: 'https://x.com/femkesprint/status/1890000000000000777',
  brandId: 'hotel-zeezicht',
  author: { id: 'femke', handle: 'femkesprint', followers: 312_400, verified: true },
  text: 'Hotel Zeezicht: vieze kamer, geen zeezicht en onbeschoft personeel. Nooit meer!',
  langHint: 'nl',
  createdAt: '2026-03-10T11:12:00Z',
  engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
};

describe('delivery retries against a receiver that is down at first', () => {
  let app: Repwatch | undefined;
  let server: Server;
  const redis = new Redis(REDIS_URL());
  const prefix = `{${uniqueName('retry')}}`;
  const secret = newWebhookSecret();
  const attempts: { id: string; verified: boolean; at: number }[] = [];

  beforeAll(async () => {
    const wh = new Webhook(secret);
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        let verified = true;
        try {
          wh.verify(raw, req.headers as Record<string, string>);
        } catch {
          verified = false;
        }
        attempts.push({ id: String(req.headers['webhook-id']), verified, at: Date.now() });
        // First a 503 asking for a short wait, then a 429, then success.
        if (attempts.length === 1) res.writeHead(503, { 'retry-after': '1' }).end();
        else if (attempts.length === 2) res.writeHead(429, { 'retry-after': '1' }).end();
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });

  afterAll(async () => {
    await app?.close();
    if (app) await app.store.conn.dropDatabase().catch(() => undefined);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('retries after 503 and 429 as the receiver asks, then records one delivery', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const { config, secrets } = makeConfig(
      {
        brands: { brands: [{ id: 'hotel-zeezicht', name: 'Hotel Zeezicht', keywords: ['Hotel Zeezicht'], sources: [{ id: 'r', platform: 'replay', file: 'posts.jsonl', pollEvery: '200ms' }] }] },
        receivers: { receivers: [{ id: 'flaky', type: 'webhook', url, secretEnv: 'HOOK_SECRET', timeout: '2s' }] },
        // A long default backoff: the test only finishes in time if the receiver's Retry-After is honoured.
        defaults: { delivery: { attempts: 5, backoff: '10m' } },
        extra: { 'posts.jsonl': `${JSON.stringify(COMPLAINT)}\n` },
      },
      { HOOK_SECRET: secret },
    );
    const { logger, lines } = captureLogger(() => secrets.values());
    app = await startRepwatch({ config, secrets, logger, redisUrl: REDIS_URL(), mongoUri: MONGODB_URI(), dbName: uniqueName('retry'), queuePrefix: prefix });

    await waitFor('the third attempt', () => attempts.length >= 3, 30_000);
    await waitFor('the delivery to be recorded', async () => (await app!.store.models.Delivery.findOne({ status: 'sent' }).lean()) as any);
    const record = (await app.store.models.Delivery.findOne({}).lean()) as any;
    expect(record).toMatchObject({ status: 'sent', receiverId: 'flaky', httpStatus: 204, attempts: 3 });
    expect(new Set(attempts.map((a) => a.id)).size).toBe(1);
    expect(attempts.every((a) => a.verified)).toBe(true);
    expect(attempts[1].at - attempts[0].at).toBeGreaterThanOrEqual(900);
    expect(lines.some((l) => l.includes('RW_ERR_RECEIVER_UNAVAILABLE'))).toBe(true);
    expect(lines.some((l) => l.includes('RW_ERR_RECEIVER_RATE_LIMITED'))).toBe(true);
    expect(lines.join('\n')).not.toContain(secret);
    // Handed on through the outbox: no event is left marked undelivered, nothing is left open.
    expect(await app.store.undeliveredEvents(Date.now())).toEqual([]);
    const event = (await app.store.getEvent(record.eventId))!;
    expect(Object.keys((await app.store.getNotificationLog(event.alertId, 'flaky'))?.open ?? {})).toEqual([]);
  });
});
