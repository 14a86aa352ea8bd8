import { Redis } from 'ioredis';
import { startRepwatch, type Repwatch } from '../../workers/app';
import { createMetrics } from '../../src/metrics';
import { withEventId } from '../../src/store/store';
import { fullSweepReason, FULL_SWEEP_EVERY_MS, SweepRequests, SWEEP_REQUEST_HOLDS_MS } from '../../src/store/sweep-requests';
import { fixtureEvent } from '../fixtures/alert-event';
import { MONGODB_URI, REDIS_URL, captureLogger, discardApp, makeConfig, uniqueName, waitFor } from '../helpers';

const BRANDS = { brands: [{ id: 'hotel-zeezicht', name: 'Hotel Zeezicht', keywords: ['Hotel Zeezicht'], sources: [{ id: 'r', platform: 'replay', file: 'posts.jsonl', pollEvery: '1h' }] }] };

describe('when the full sweep runs', () => {
  it('first, then when asked, then as a backstop; otherwise not', () => {
    expect(fullSweepReason({ now: 1_000 })).toBe('first');
    expect(fullSweepReason({ now: 61_000, lastFullAt: 1_000 })).toBeUndefined();
    expect(fullSweepReason({ now: 61_000, lastFullAt: 1_000, requestedAt: 30_000 })).toBe('requested');
    expect(fullSweepReason({ now: 1_000 + FULL_SWEEP_EVERY_MS - 1, lastFullAt: 1_000 })).toBeUndefined();
    expect(fullSweepReason({ now: 1_000 + FULL_SWEEP_EVERY_MS, lastFullAt: 1_000 })).toBe('backstop');
  });
});

describe('sweep requests in Redis (real Redis)', () => {
  const redis = new Redis(REDIS_URL());
  const prefix = `{${uniqueName('sweepreq')}}`;
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('a request holds until a sweep that started long enough after it; a later request is not dropped by an earlier sweep', async () => {
    const requests = new SweepRequests(redis, prefix);
    expect(await requests.requestedAt()).toBeUndefined();
    await requests.request(100_000);
    expect(await requests.requestedAt()).toBe(100_000);
    // A sweep soon after: events written just before or after the request may be too young for it.
    await requests.answered(100_000 + SWEEP_REQUEST_HOLDS_MS - 1);
    expect(await requests.requestedAt()).toBe(100_000);
    await requests.answered(100_000 + SWEEP_REQUEST_HOLDS_MS);
    expect(await requests.requestedAt()).toBeUndefined();
    // Asked again while a sweep ran: that sweep's answer does not drop the newer request.
    await requests.request(500_000);
    await requests.answered(450_000 + SWEEP_REQUEST_HOLDS_MS);
    expect(await requests.requestedAt()).toBe(500_000);
  });
});

describe('the minute sweep runs its whole-collection queries only when something may have been left (real Redis and the MongoDB-compatible server)', () => {
  let app: Repwatch;
  let clock = Date.now();
  const prefix = `{${uniqueName('fullsweep')}}`;

  beforeAll(async () => {
    const { config, secrets } = makeConfig({ brands: BRANDS, extra: { 'posts.jsonl': '' } }, {});
    const { logger } = captureLogger();
    app = await startRepwatch({ config, secrets, logger, redisUrl: REDIS_URL(), mongoUri: MONGODB_URI(), dbName: uniqueName('fullsweep'), queuePrefix: prefix, roles: ['ingest', 'sla'], now: () => clock, queuePolicy: { ingest: { attempts: 1 } } });
  });

  afterAll(async () => {
    await discardApp(app, prefix);
  });

  /** An alert's trigger written as a page writes it, then the page "crashed": still marked, nothing handed on. */
  async function leftMarked(id: string) {
    const change = withEventId({ type: 'alert.triggered', alert: { ...fixtureEvent().alert, id, fingerprint: id, slaDeadline: undefined, severity: 'high' }, at: new Date(clock).toISOString() });
    await app.store.appendEvents([change]);
    await app.store.saveAlerts([change.alert]);
  }
  const stillMarked = async () => (await app.store.undeliveredEvents(Date.now() + 3_600_000)).map((e) => e.alertId);

  it("runs at the process's first sweep", async () => {
    expect((await app.minuteSweep()).full).toBe('first');
    expect((await app.minuteSweep()).full).toBeNull();
  });

  it('leaves a marked event alone while nothing asked, and re-plans it after a job failed', async () => {
    await leftMarked('hotel-zeezicht/x/left-1');
    clock += 61_000;
    expect((await app.minuteSweep()).full).toBeNull();
    expect(await stillMarked()).toEqual(['hotel-zeezicht/x/left-1']);

    // A page that cannot be read fails (for good, one attempt): whatever a failed attempt left, the full sweep looks.
    await app.queues.ingest.add('page', { brandId: 'hotel-zeezicht', mentions: 'not a list' });
    await waitFor('the failed page to ask for a full sweep', async () => (await new SweepRequests(app.redis, prefix).requestedAt()) !== undefined);
    expect((await app.minuteSweep()).full).toBe('requested');
    expect(await stillMarked()).toEqual([]);

    // The request holds for 90 s (events of a crash may be younger than the outbox's minute), then is answered.
    clock += SWEEP_REQUEST_HOLDS_MS;
    expect((await app.minuteSweep()).full).toBe('requested');
    clock += 60_000;
    expect((await app.minuteSweep()).full).toBeNull();
  });

  it("asks when a person changes an alert (written outside a job), and runs every 15 minutes regardless", async () => {
    await leftMarked('hotel-zeezicht/x/acked-1');
    await app.alerts.acknowledge('hotel-zeezicht/x/acked-1', 'Sanne (on call)');
    clock += 61_000;
    expect((await app.minuteSweep()).full).toBe('requested');
    clock += SWEEP_REQUEST_HOLDS_MS + 60_000;
    expect((await app.minuteSweep()).full).toBe('requested');
    expect((await app.minuteSweep()).full).toBeNull();
    clock += FULL_SWEEP_EVERY_MS;
    expect((await app.minuteSweep()).full).toBe('backstop');
    const { body: metrics } = await createMetrics(app.redis, prefix, { defaultMetrics: false }).render();
    expect(metrics).toMatch(/repwatch_full_sweeps_total\{reason="first"\} 1/);
    expect(metrics).toMatch(/repwatch_full_sweeps_total\{reason="requested"\} [3-9]/);
    expect(metrics).toMatch(/repwatch_full_sweeps_total\{reason="backstop"\} 1/);
  });
});
