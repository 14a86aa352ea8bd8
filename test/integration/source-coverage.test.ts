import nock from 'nock';
import type { Alert } from '../../src/domain/alert';
import { coverageFingerprintOf } from '../../src/services/coverage';
import { startRepwatch, type Repwatch } from '../../workers/app';
import { MONGODB_URI, REDIS_URL, captureLogger, discardApp, makeConfig, uniqueName, waitFor } from '../helpers';

const TOKEN = 'AAAAAAAAAAAAAAAAAAAAAcoverage-test-bearer-token-91b2';
const API = 'https://api.x.com';
const PATH = '/2/tweets/search/recent';

/** X's documented 401 problem body for a bad or revoked bearer token. */
const UNAUTHORIZED = { title: 'Unauthorized', type: 'about:blank', status: 401, detail: 'Unauthorized' };

describe('a source that goes blind raises a coverage alert, and it clears when the source hears again (real Redis and store, X mocked)', () => {
  const prefix = `{${uniqueName('blind')}}`;
  const dbName = uniqueName('blind');
  let app: Repwatch;
  let lines: string[];

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1|localhost/);
    const loaded = makeConfig(
      {
        brands: { brands: [{ id: 'voltabank', name: 'Volta Bank', keywords: ['voltabank'], sources: [{ id: 'x-search', platform: 'x', bearerTokenEnv: 'X_TOKEN', pollEvery: '300ms' }] }] },
      },
      { X_TOKEN: TOKEN },
    );
    const captured = captureLogger(() => loaded.secrets.values());
    lines = captured.lines;
    app = await startRepwatch({ ...loaded, logger: captured.logger, redisUrl: REDIS_URL(), mongoUri: MONGODB_URI(), dbName, queuePrefix: prefix, roles: ['schedule', 'poll', 'sla'] });
  });

  afterAll(async () => {
    await discardApp(app, prefix);
    nock.cleanAll();
    nock.enableNetConnect();
  });

  const coverageAlert = async (): Promise<Alert | undefined> => {
    const head = (await app.store.alertHeads([coverageFingerprintOf('voltabank', 'x-search')])).get(coverageFingerprintOf('voltabank', 'x-search'));
    return head ? app.store.getAlert(head.alertId) : undefined;
  };

  it('an expired token (401) makes the source blind at once: a coverage alert on the stream, with the reason and no token', async () => {
    nock(API).get(PATH).query(true).times(50).reply(401, UNAUTHORIZED, { 'content-type': 'application/problem+json' });
    const alert = await waitFor('the coverage alert', async () => {
      const a = await coverageAlert();
      return a?.status === 'triggered' && a;
    }, 20_000);
    expect(alert).toMatchObject({ kind: 'coverage', severity: 'high', brandId: 'voltabank' });
    expect(alert.title).toContain('not hearing (refused)');
    expect(alert.reason).toContain('RW_ERR_PLATFORM_REJECTED');
    const health = await app.sourceHealth.get('voltabank', 'x-search', Date.now());
    expect(health.consecutiveFailures).toBeGreaterThanOrEqual(1);
    expect(health.lastError?.code).toBe('RW_ERR_PLATFORM_REJECTED');
    // On the alert stream like any alert (receivers get it through routing).
    const events = await app.store.models.AlertEvent.collection.find({ alertId: alert.id }).toArray();
    expect(events.map((e) => e.type)).toContain('alert.triggered');
    expect(JSON.stringify(alert)).not.toContain(TOKEN);
    expect(lines.join('\n')).not.toContain(TOKEN);
  });

  it('once polls go through again, the sweep resolves it (by repwatch)', async () => {
    nock.cleanAll();
    nock(API).get(PATH).query(true).times(200).reply(200, { meta: { result_count: 0 } }, { 'x-rate-limit-remaining': '400', 'x-rate-limit-limit': '450', 'x-rate-limit-reset': String(Math.floor(Date.now() / 1000) + 900) });
    await waitFor('a successful poll', async () => (await app.sourceHealth.get('voltabank', 'x-search', Date.now())).consecutiveFailures === 0, 20_000);
    expect(await app.checkSources()).toBe(1);
    const alert = await coverageAlert();
    expect(alert).toMatchObject({ status: 'resolved', resolvedBy: 'repwatch' });
    // Nothing left to do: a healthy source with its alert resolved is not looked at again.
    expect(await app.checkSources()).toBe(0);
  });
});
