import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import nock from 'nock';
import { startRepwatch, type Repwatch } from '../../workers/app';
import { MONGODB_URI, REDIS_URL, captureLogger, discardApp, makeConfig, uniqueName, waitFor } from '../helpers';

const IG = '17841405309211844';
const TOKEN = 'EAAGm0PX4ZCpsBAsecret-ig-user-token-webhook-test';
const APP_SECRET = 'c0ffee11secret-app-secret-webhook-test';
const VERIFY = 'verify-me-please';
const GRAPH = 'https://graph.facebook.com';
const body = readFileSync(path.join(__dirname, '..', 'fixtures', 'meta', 'ig-webhook-comments.json'));
const sign = (raw: Buffer, secret = APP_SECRET) => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;

/** The Graph batch answer for the comment the fixture notifies (documented IG Comment fields). */
const COMMENT = {
  code: 200,
  body: JSON.stringify({
    id: '17865799348089039',
    text: 'Mijn pas is al 3 dagen geblokkeerd, café kon niet betalen 😡',
    timestamp: '2025-06-01T11:58:50+0000',
    username: 'boze_klant',
    like_count: 3,
    from: { id: '6213942118724512', username: 'boze_klant' },
    parent_id: '17858893269000001',
    media: { id: '17895695668004550', permalink: 'https://www.instagram.com/p/DKabc123/' },
  }),
};

describe('Meta webhooks on the HTTP server (real Redis, store and loopback server; the Graph API mocked)', () => {
  const prefix = `{${uniqueName('hooks')}}`;
  let app: Repwatch;
  let url: string;
  let lines: string[];

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1|localhost/);
    const loaded = makeConfig(
      {
        brands: {
          brands: [
            {
              id: 'acme',
              name: 'Acme Bank',
              keywords: ['acme'],
              handles: ['@acmebank'],
              sources: [{ id: 'ig', platform: 'instagram', igUserId: IG, accessTokenEnv: 'IG_TOKEN', appSecretEnv: 'META_APP_SECRET', verifyTokenEnv: 'META_VERIFY', pollEvery: '1h' }],
            },
          ],
        },
      },
      { IG_TOKEN: TOKEN, META_APP_SECRET: APP_SECRET, META_VERIFY: VERIFY },
    );
    const captured = captureLogger(() => loaded.secrets.values());
    lines = captured.lines;
    app = await startRepwatch({
      ...loaded,
      logger: captured.logger,
      redisUrl: REDIS_URL(),
      mongoUri: MONGODB_URI(),
      dbName: uniqueName('hooks'),
      queuePrefix: prefix,
      roles: ['poll', 'ingest', 'api'],
      api: { listen: { host: '127.0.0.1', port: 0 }, apiKeys: new Map() },
    });
    url = app.api!.url;
  });

  afterAll(async () => {
    await discardApp(app, prefix);
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('answers the subscription check with the challenge for the right verify token only', async () => {
    const ok = await fetch(`${url}/webhooks/instagram?hub.mode=subscribe&hub.verify_token=${VERIFY}&hub.challenge=1158201444`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('1158201444');
    const wrong = await fetch(`${url}/webhooks/instagram?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444`);
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).not.toContain('1158201444');
  });

  it('refuses a forged or missing X-Hub-Signature-256 and queues nothing', async () => {
    const attempts: Record<string, string>[] = [{ 'x-hub-signature-256': sign(body, 'not-the-app-secret') }, {}];
    for (const headers of attempts) {
      const res = await fetch(`${url}/webhooks/instagram`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('RW_ERR_UNAUTHORIZED');
    }
    expect(await app.queues.webhook.count()).toBe(0);
    expect(await app.redis.hget(`${prefix}:metrics:repwatch_webhook_requests_total`, JSON.stringify(['instagram', 'refused']))).toBe('2');
  });

  it('counts a signed body it cannot understand (answered 200, nothing queued) instead of only logging it', async () => {
    const junk = Buffer.from('{"object":"instagram","entry":"not a list"}');
    const res = await fetch(`${url}/webhooks/instagram`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(junk) }, body: junk });
    expect(res.status).toBe(200);
    expect(await app.redis.hget(`${prefix}:metrics:repwatch_webhook_requests_total`, JSON.stringify(['instagram', 'malformed']))).toBe('1');
    expect(await app.queues.webhook.count()).toBe(0);
  });

  it('takes a signed notification, answers 200 at once, fetches the comment through the Graph API and stores it once (a resend too)', async () => {
    const graph = nock(GRAPH).post('/v21.0/').times(1).reply(200, [COMMENT]);
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${url}/webhooks/instagram`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) }, body });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ accepted: 1 });
    }
    const stored = await waitFor('the comment to be stored', async () => (await app.store.getMention('instagram-17865799348089039')) ?? false, 20_000);
    expect(stored).toMatchObject({ platform: 'instagram', brandId: 'acme', author: { handle: 'boze_klant' } });
    graph.done();
    expect(await app.store.models.Mention.countDocuments({})).toBe(1);
    expect(lines.join('\n')).not.toContain(TOKEN);
    expect(lines.join('\n')).not.toContain(APP_SECRET);
  });
});
