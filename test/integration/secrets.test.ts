import nock from 'nock';
import { Redis } from 'ioredis';
import { startRepwatch, type Repwatch } from '../../workers/app';
import { MONGODB_URI, REDIS_URL, captureLogger, makeConfig, uniqueName, waitFor } from '../helpers';

// A bearer token in X's format; it must never reach a log line, whatever fails.
const TOKEN = 'AAAAAAAAAAAAAAAAAAAAAFakeTokenForTests0000%2Bsecret%3DzQ9vX2kLmN4pR7sT1uW3yB5dF8hJ0';

describe('secrets stay out of the logs', () => {
  let app: Repwatch | undefined;
  const prefix = `{${uniqueName('secrets')}}`;
  const redis = new Redis(REDIS_URL());

  afterAll(async () => {
    await app?.close();
    if (app) await app.store.conn.dropDatabase().catch(() => undefined);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    nock.cleanAll();
    nock.restore();
  });

  it('when X rejects the token and when it fails, the worker logs the failure but never the token', async () => {
    const env = { X_BEARER_TOKEN: TOKEN };
    const { config, secrets } = makeConfig(
      { brands: { brands: [{ id: 'voltabank', name: 'Volta Bank', keywords: ['Volta Bank'], sources: [{ id: 'x', platform: 'x', bearerTokenEnv: 'X_BEARER_TOKEN', pollEvery: '1h' }] }] } },
      env,
    );
    const { logger, lines } = captureLogger(() => secrets.values());
    // X echoes nothing secret, but the library's error objects hold the request and its headers.
    nock('https://api.x.com')
      .get('/2/tweets/search/recent')
      .query(true)
      .reply(401, { title: 'Unauthorized', type: 'about:blank', status: 401, detail: 'Unauthorized' }, { 'content-type': 'application/problem+json' })
      .get('/2/tweets/search/recent')
      .query(true)
      .reply(503, { title: 'Service Unavailable', detail: `upstream said Bearer ${TOKEN}`, type: 'about:blank', status: 503 }, { 'content-type': 'application/problem+json' });

    app = await startRepwatch({ config, secrets, logger, redisUrl: REDIS_URL(), mongoUri: MONGODB_URI(), dbName: uniqueName('secrets'), queuePrefix: prefix, roles: ['poll'] });
    await app.queues.poll.add('poll', { brandId: 'voltabank', sourceId: 'x' }, { jobId: 'secret-test-1', attempts: 1 });
    await waitFor('the 401 to be logged', () => lines.some((l) => l.includes('RW_ERR_PLATFORM_REJECTED')));
    await app.queues.poll.add('poll', { brandId: 'voltabank', sourceId: 'x' }, { jobId: 'secret-test-2', attempts: 1 });
    await waitFor('the 503 to be logged', () => lines.filter((l) => l.includes('job failed')).length >= 2);

    const text = lines.join('\n');
    expect(text).toContain('RW_ERR_PLATFORM_REJECTED');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(decodeURIComponent(TOKEN));
  });
});
