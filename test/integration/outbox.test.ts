import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { startRepwatch, type Repwatch } from '../../workers/app';
import { deliveryJobOf, outstandingJobs } from '../../workers/queues';
import { newWebhookSecret } from '../../scripts/webhook-receiver';
import type { AlertEvent } from '../../src/domain/alert';
import { handOnEvents, replanUndelivered, type OutboxDeps } from '../../src/services/outbox';
import type { DeliveryRequest } from '../../src/services/ports';
import { HandedOnMemory } from '../../src/store/handed-on';
import { redisLifeKey } from '../../src/store/redis-life';
import { isUndelivered, withEventId } from '../../src/store/store';
import { fixtureEvent } from '../fixtures/alert-event';
import { MONGODB_URI, REDIS_URL, captureLogger, makeConfig, uniqueName, waitFor } from '../helpers';

const BRANDS = { brands: [{ id: 'hotel-zeezicht', name: 'Hotel Zeezicht', keywords: ['Hotel Zeezicht'], sources: [{ id: 'r', platform: 'replay', file: 'posts.jsonl', pollEvery: '1h' }] }] };

describe('the outbox: events written but not handed on are delivered once', () => {
  let app: Repwatch;
  let server: Server;
  let deps: OutboxDeps;
  const prefix = `{${uniqueName('outbox')}}`;
  const secret = newWebhookSecret();
  const received: string[] = [];
  const slaTimers: { alertId: string; deadline: number }[] = [];
  const queued: DeliveryRequest[] = [];

  beforeAll(async () => {
    const wh = new Webhook(secret);
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        wh.verify(raw, req.headers as Record<string, string>);
        received.push(String(req.headers['webhook-id']));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const { config, secrets } = makeConfig(
      { brands: BRANDS, receivers: { receivers: [{ id: 'crm', type: 'webhook', url, secretEnv: 'HOOK_SECRET', timeout: '2s' }] }, extra: { 'posts.jsonl': '' } },
      { HOOK_SECRET: secret },
    );
    const { logger } = captureLogger(() => secrets.values());
    app = await startRepwatch({ config, secrets, logger, redisUrl: REDIS_URL(), mongoUri: MONGODB_URI(), dbName: uniqueName('outbox'), queuePrefix: prefix, roles: ['deliver'] });
    // The app's own job shape: deterministic ids, so a request handed on twice is one job.
    const dispatch = {
      async deliver(requests: DeliveryRequest[]) {
        queued.push(...requests);
        await app.queues.deliver.addBulk(requests.map((r) => ({ name: 'deliver', data: deliveryJobOf(r).data, opts: { jobId: deliveryJobOf(r).id, delay: r.delayMs ?? 0, attempts: 3 } })));
      },
      async slaTimer(alertId: string, deadline: number) {
        slaTimers.push({ alertId, deadline });
      },
    };
    deps = { config, store: app.store, dispatch, now: Date.now, logger };
  });

  afterAll(async () => {
    await app?.store.conn.dropDatabase().catch(() => undefined);
    await app?.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    const redis = new Redis(REDIS_URL());
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  /** A critical trigger as a page writes it: appended to the stream (with its outbox marker), nothing handed on. */
  async function appendWithoutHandOn(id: string): Promise<AlertEvent> {
    const base = fixtureEvent().alert;
    const deadline = new Date(Date.now() + 150_000).toISOString();
    const change = withEventId({ type: 'alert.triggered', alert: { ...base, id, fingerprint: id, slaDeadline: deadline }, at: new Date().toISOString() });
    const { events } = await app.store.appendEvents([change]);
    await app.store.saveAlerts([change.alert]);
    return events[0];
  }

  it('a crash between appending and handing on is repaired by the sweep, and the event is delivered once', async () => {
    const event = await appendWithoutHandOn('hotel-zeezicht/x/crash-1');
    expect(isUndelivered(event)).toBe(true);
    // The marker is internal: readers of the stream never see it.
    expect(Object.keys((await app.store.getEvent(event.id))!)).not.toContain('undeliveredSince');

    // Not yet: the sweep leaves events younger than its limit to the page that is handing them on.
    expect(await replanUndelivered(deps, 60_000)).toBe(0);
    expect(queued).toHaveLength(0);

    expect(await replanUndelivered(deps, 0)).toBe(1);
    await waitFor('the delivery', () => received.includes(event.id));
    expect(slaTimers).toEqual([{ alertId: event.alertId, deadline: Date.parse(event.alert.slaDeadline!) }]);
    expect(await app.store.undeliveredEvents(Date.now())).toEqual([]);

    // Handed on: a second sweep, and a retried page that appends the same change again, plan nothing.
    expect(await replanUndelivered(deps, 0)).toBe(0);
    const again = await app.store.appendEvents([withEventId({ type: 'alert.triggered', alert: event.alert, at: event.at })]);
    expect(again.newEvents).toBe(0);
    expect(await handOnEvents(deps, again.events)).toBe(0);
    await waitFor('the queue to drain', async () => (await outstandingJobs(app.queues.deliver)) === 0);
    await new Promise((r) => setTimeout(r, 300));
    expect(received.filter((id) => id === event.id)).toHaveLength(1);
    expect(await app.store.getDelivery(event.id, 'crm')).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('a retried page re-plans what it finds still marked; planning twice makes one job and one delivery', async () => {
    const event = await appendWithoutHandOn('hotel-zeezicht/x/crash-2');
    // The retried page: its append finds the event stored, still marked, and hands it on.
    const retried = await app.store.appendEvents([withEventId({ type: 'alert.triggered', alert: event.alert, at: event.at })]);
    expect(retried.newEvents).toBe(0);
    expect(retried.events.map(isUndelivered)).toEqual([true]);
    const before = queued.length;
    expect(await handOnEvents(deps, retried.events)).toBe(1);
    // As if the first try had died after handing on but before clearing the marker: the same job again.
    expect(await handOnEvents(deps, [{ ...event }])).toBe(1);
    expect(new Set(queued.slice(before).map((r) => deliveryJobOf(r).id)).size).toBe(1);
    await waitFor('the delivery', () => received.includes(event.id));
    await waitFor('the queue to drain', async () => (await outstandingJobs(app.queues.deliver)) === 0);
    expect(received.filter((id) => id === event.id)).toHaveLength(1);
  });

  it('hands on the earlier events of an alert still marked first, found by id back through its versions', async () => {
    // Two pages of one alert died between appending and handing on (v1 triggered, v2 updated); a
    // third page's update (v3) finds them, whether it knows the alert's previous event or not.
    for (const [name, priors] of [['walk-known', true], ['walk-unknown', false]] as const) {
      const id = `hotel-zeezicht/x/${name}`;
      const v1 = await appendWithoutHandOn(id);
      const v2 = withEventId({ type: 'alert.updated', alert: { ...v1.alert, version: 2, count: 2 }, at: new Date().toISOString() });
      const v3 = withEventId({ type: 'alert.updated', alert: { ...v1.alert, version: 3, count: 3 }, at: new Date().toISOString() });
      const [stored2] = (await app.store.appendEvents([v2])).events;
      const [stored3] = (await app.store.appendEvents([v3])).events;
      const before = queued.length;
      expect(await handOnEvents(deps, [stored3], priors ? { priorEventIds: [stored2.id] } : {})).toBe(3);
      expect(queued.slice(before).map((r) => r.eventId)).toEqual([v1.id, stored2.id, stored3.id]);
      expect((await app.store.storedEvents([v1.id, stored2.id, stored3.id])).filter(isUndelivered)).toEqual([]);
      await waitFor('all three delivered in order', () => [v1.id, stored2.id, stored3.id].every((e) => received.includes(e)));
      expect(received.filter((e) => e.startsWith(`${id}/`))).toEqual([v1.id, stored2.id, stored3.id]);
    }
  });

  it('clears the markers of a whole page in one store round trip', async () => {
    const events = await Promise.all(['a', 'b', 'c', 'd'].map((s) => appendWithoutHandOn(`hotel-zeezicht/x/page-${s}`)));
    const coll = app.store.models.AlertEvent.collection;
    const calls = { bulkWrite: 0, updateOne: 0, updateMany: 0 };
    const originals = { bulkWrite: coll.bulkWrite, updateOne: coll.updateOne, updateMany: coll.updateMany };
    for (const name of Object.keys(calls) as (keyof typeof calls)[]) {
      (coll as any)[name] = function (this: unknown, ...args: unknown[]) {
        calls[name]++;
        return (originals[name] as any).apply(coll, args);
      };
    }
    try {
      expect(await handOnEvents(deps, events)).toBe(4);
    } finally {
      Object.assign(coll, originals);
    }
    expect(calls).toEqual({ bulkWrite: 0, updateOne: 0, updateMany: 1 });
    expect(await app.store.undeliveredEvents(Date.now())).toEqual([]);
    await waitFor('the page delivered', () => events.every((e) => received.includes(e.id)));
  });

  it('does not read back an event this process handed on, unless Redis has lived another life since', async () => {
    const redis = new Redis(REDIS_URL());
    const handedOn = new HandedOnMemory(redis, prefix);
    const withMemory: OutboxDeps = { ...deps, handedOn };
    const reads: string[][] = [];
    const storedEvents = app.store.storedEvents.bind(app.store);
    app.store.storedEvents = async (ids: string[]) => {
      reads.push(ids);
      return storedEvents(ids);
    };
    try {
      const v1 = await appendWithoutHandOn('hotel-zeezicht/x/remembered');
      expect(await handOnEvents(withMemory, [v1], { priorEventIds: [] })).toBe(1);
      const next = (e: AlertEvent, version: number) => withEventId({ type: 'alert.updated', alert: { ...e.alert, version, count: version }, at: new Date().toISOString() });
      const [v2] = (await app.store.appendEvents([next(v1, 2)])).events;
      expect(await handOnEvents(withMemory, [v2], { priorEventIds: [v1.id] })).toBe(1);
      expect(reads).toEqual([]);

      // Redis came back empty: v2's job went with it, the heal marks the last hours' events again
      // (v2 among them), and a new life begins. The page after it reads v2, finds it marked, and
      // hands it on first.
      for (const r of queued.filter((q) => q.eventId === v2.id)) await app.queues.deliver.remove(deliveryJobOf(r).id);
      await redis.del(redisLifeKey(prefix));
      await app.store.models.AlertEvent.collection.updateOne({ _id: v2.id } as any, { $set: { undeliveredSince: 0 } });
      const [v3] = (await app.store.appendEvents([next(v1, 3)])).events;
      const before = queued.length;
      expect(await handOnEvents(withMemory, [v3], { priorEventIds: [v2.id] })).toBe(2);
      // v2 read and found marked, then the walk goes on to v1's version (no longer vouched for either).
      expect(reads[0]).toEqual([v2.id]);
      expect(reads.slice(1).flat()).toContain(v1.id);
      expect(queued.slice(before).map((r) => r.eventId)).toEqual([v2.id, v3.id]);
    } finally {
      app.store.storedEvents = storedEvents;
      await redis.quit();
    }
  });
});
