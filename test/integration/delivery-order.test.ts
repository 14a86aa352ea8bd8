import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import nock from 'nock';
import { Webhook } from 'standardwebhooks';
import { startRepwatch, type Repwatch } from '../../workers/app';
import { deliveryJobOf, outstandingJobs } from '../../workers/queues';
import { newWebhookSecret } from '../../scripts/webhook-receiver';
import type { Config } from '../../src/config/load';
import { Secrets } from '../../src/config/load';
import type { PagerDutyReceiverConfig, SlackReceiverConfig } from '../../src/config/schema';
import { createPagerDutyNotifier } from '../../src/notifiers/pagerduty';
import type { Alert, AlertEvent, AlertEventType } from '../../src/domain/alert';
import { createSlackNotifier } from '../../src/notifiers/slack';
import { deliverEvent } from '../../src/services/deliver';
import { handOnEvents, replanUndelivered, type OutboxDeps } from '../../src/services/outbox';
import type { DeliveryRequest } from '../../src/services/ports';
import { DeliveryClaims } from '../../src/store/delivery-claims';
import { ReceiverState } from '../../src/store/receiver-state';
import { Store, withEventId, type DeliveryRecord } from '../../src/store/store';
import { fixtureEvent } from '../fixtures/alert-event';
import { MONGODB_URI, REDIS_URL, captureLogger, makeConfig, uniqueName, waitFor } from '../helpers';

/** Delivery claims on a Redis prefix of their own, for the tests that call deliverEvent directly. */
function claimsForTest(): { claims: DeliveryClaims; close(): Promise<void> } {
  const redis = new Redis(REDIS_URL());
  const prefix = `{${uniqueName('claims')}}`;
  return {
    claims: new DeliveryClaims(redis, prefix),
    async close() {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    },
  };
}

const BRANDS = { brands: [{ id: 'hotel-zeezicht', name: 'Hotel Zeezicht', keywords: ['Hotel Zeezicht'], sources: [{ id: 'r', platform: 'replay', file: 'posts.jsonl', pollEvery: '1h' }] }] };
/** Short timers: every event may go out at once, one after the other. */
const ROUTING = (receivers: string[]) => `route:\n  receivers: [${receivers.join(', ')}]\n  groupWait: 0s\n  groupInterval: 100ms\n  repeatInterval: 4h\n`;

/** A loopback Standard Webhooks receiver whose answer the test decides per request. */
class HookReceiver {
  readonly secret = newWebhookSecret();
  readonly requests: { id: string; status: number; at: number }[] = [];
  /** Ids as their requests arrive (before the answer). */
  readonly arrived: string[] = [];
  answer: (id: string) => number = () => 204;
  /** How long the receiver takes to answer a request. */
  holdMs: (id: string) => number = () => 0;
  private server?: Server;

  get accepted(): string[] {
    return this.requests.filter((r) => r.status < 300).map((r) => r.id);
  }

  async start(): Promise<string> {
    const wh = new Webhook(this.secret);
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        wh.verify(raw, req.headers as Record<string, string>);
        const id = String(req.headers['webhook-id']);
        this.arrived.push(id);
        setTimeout(() => {
          const status = this.answer(id);
          this.requests.push({ id, status, at: Date.now() });
          res.writeHead(status).end();
        }, this.holdMs(id));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((r) => this.server!.close(r));
  }
}

interface Harness {
  app: Repwatch;
  deps: OutboxDeps;
  config: Config;
  close(): Promise<void>;
}

/**
 * The deliver role on its own Redis prefix and database, and a dispatch onto its queue shaped as
 * the app's own: the test appends events and hands them on as a page would.
 */
async function startDelivering(receivers: unknown[], env: Record<string, string>, modes: Record<string, 'every' | 'latest'> = {}): Promise<Harness> {
  const loaded = makeConfig(
    {
      brands: BRANDS,
      receivers: { receivers },
      defaults: { delivery: { attempts: 8, backoff: '300ms' } },
      extra: { 'posts.jsonl': '', 'routing.yaml': ROUTING((receivers as { id: string }[]).map((r) => r.id)) },
    },
    env,
  );
  // deliveryMode per receiver, as receivers.yaml would give it.
  const config: Config = { ...loaded.config, receivers: loaded.config.receivers.map((r) => (modes[r.id] ? { ...r, deliveryMode: modes[r.id] } : r)) };
  const prefix = `{${uniqueName('order')}}`;
  const { logger } = captureLogger(() => loaded.secrets.values());
  const app = await startRepwatch({ config, secrets: loaded.secrets, logger, redisUrl: REDIS_URL(), mongoUri: MONGODB_URI(), dbName: uniqueName('order'), queuePrefix: prefix, roles: ['deliver'] });
  const delivery = config.settings.delivery;
  const dispatch = {
    async deliver(requests: DeliveryRequest[]) {
      await app.queues.deliver.addBulk(
        requests.map((r) => ({ name: 'deliver', data: deliveryJobOf(r).data, opts: { jobId: deliveryJobOf(r).id, delay: r.delayMs ?? 0, attempts: delivery.attempts, backoff: { type: 'repwatch', delay: delivery.backoff } } })),
      );
    },
    async slaTimer() {},
  };
  return {
    app,
    config,
    deps: { config, store: app.store, dispatch, now: Date.now, logger },
    async close() {
      await app.close();
      const store = await Store.connect({ uri: MONGODB_URI(), dbName: app.store.conn.name });
      await store.conn.dropDatabase().catch(() => undefined);
      await store.close();
      const redis = new Redis(REDIS_URL());
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    },
  };
}

function alertOf(id: string, overrides: Partial<Alert> = {}): Alert {
  const base = fixtureEvent().alert;
  return { ...base, id, fingerprint: id, slaDeadline: undefined, version: 1, ...overrides };
}

/** Appends one change of the alert (as the next version) and hands it on, as a page does. */
async function change(h: Harness, alert: Alert, type: AlertEventType): Promise<{ alert: Alert; event: AlertEvent }> {
  const next = { ...alert, version: type === 'alert.triggered' ? alert.version : alert.version + 1, status: type === 'alert.acknowledged' ? ('acknowledged' as const) : alert.status };
  const recorded = withEventId({ type, alert: next, at: new Date().toISOString() });
  const { events } = await h.app.store.appendEvents([recorded]);
  await h.app.store.saveAlerts([recorded.alert]);
  await handOnEvents(h.deps, events);
  return { alert: recorded.alert, event: events[0] };
}

async function records(h: Harness): Promise<DeliveryRecord[]> {
  return (await h.app.store.models.Delivery.collection.find({}).toArray()) as unknown as DeliveryRecord[];
}

/** Nothing left to deliver (reminders, hours away, aside). */
async function drained(h: Harness): Promise<boolean> {
  return (await outstandingJobs(h.app.queues.deliver)) === 0;
}

describe('grouped and ordered delivery after a receiver outage', () => {
  const hook = new HookReceiver();
  let url: string;
  let h: Harness | undefined;

  beforeAll(async () => {
    url = await hook.start();
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    hook.requests.length = 0;
    hook.arrived.length = 0;
    hook.holdMs = () => 0;
  });
  afterAll(() => hook.stop());

  it('latest mode: the grouped job sends the newest state once and records every earlier event superseded, none pending', async () => {
    let down = true;
    hook.answer = () => (down ? 503 : 204);
    h = await startDelivering([{ id: 'crm', type: 'webhook', url, secretEnv: 'HOOK_SECRET', timeout: '2s' }], { HOOK_SECRET: hook.secret }, { crm: 'latest' });
    let { alert, event: first } = await change(h, alertOf('hotel-zeezicht/x/latest-1'), 'alert.triggered');
    // The first grouped job claims the trigger and fails on the outage; the updates pile up meanwhile.
    await waitFor('the first attempt', () => hook.requests.length >= 1);
    const updates: AlertEvent[] = [];
    for (let i = 0; i < 2; i++) {
      const next = await change(h, alert, 'alert.updated');
      alert = next.alert;
      updates.push(next.event);
      await new Promise((r) => setTimeout(r, 20));
    }
    down = false;
    const latest = updates[1];
    await waitFor('the latest state to be delivered', () => hook.accepted.includes(latest.id), 30_000);
    await waitFor('the queue to drain', () => drained(h!), 30_000);

    expect(hook.accepted).toEqual([latest.id]);
    const byEvent = new Map((await records(h)).map((r) => [r.eventId, r]));
    expect(byEvent.get(latest.id)).toMatchObject({ status: 'sent', httpStatus: 204 });
    for (const earlier of [first, updates[0]]) expect(byEvent.get(earlier.id)).toMatchObject({ status: 'superseded', supersededBy: latest.id });
    expect([...byEvent.values()].filter((r) => r.status === 'pending')).toEqual([]);
    const log = await h.app.store.getNotificationLog(alert.id, 'crm');
    expect(Object.keys(log?.open ?? {})).toEqual([]);
  });

  it('every mode: each event is delivered once, in sequence order, none before the earlier ones went through', async () => {
    let down = true;
    hook.answer = () => (down ? 503 : 204);
    h = await startDelivering([{ id: 'crm', type: 'webhook', url, secretEnv: 'HOOK_SECRET', timeout: '2s' }], { HOOK_SECRET: hook.secret });
    const sent: AlertEvent[] = [];
    let { alert, event } = await change(h, alertOf('hotel-zeezicht/x/every-1'), 'alert.triggered');
    sent.push(event);
    await waitFor('the first attempt', () => hook.requests.length >= 1);
    for (const type of ['alert.updated', 'alert.updated', 'alert.acknowledged'] as const) {
      ({ alert, event } = await change(h, alert, type));
      sent.push(event);
    }
    // Long enough for the later events' jobs to have run (and waited) during the outage.
    await new Promise((r) => setTimeout(r, 800));
    expect(hook.requests.every((r) => r.id === sent[0].id)).toBe(true);
    down = false;
    await waitFor('every event to be delivered', () => hook.accepted.length >= sent.length, 30_000);
    await waitFor('the queue to drain', () => drained(h!), 30_000);

    expect(hook.accepted).toEqual(sent.map((e) => e.id));
    // No request for an event before the one before it was accepted.
    for (let i = 1; i < sent.length; i++) {
      const prevAccepted = hook.requests.find((r) => r.id === sent[i - 1].id && r.status < 300)!.at;
      const firstTry = hook.requests.find((r) => r.id === sent[i].id)!.at;
      expect(firstTry).toBeGreaterThanOrEqual(prevAccepted);
    }
    const all = await records(h);
    expect(all.map((r) => r.status).sort()).toEqual(sent.map(() => 'sent'));
  });

  it('every mode: a later event handed on while the earlier one is being sent waits for it in place, reading no delivery records', async () => {
    hook.answer = () => 204;
    h = await startDelivering([{ id: 'crm', type: 'webhook', url, secretEnv: 'HOOK_SECRET', timeout: '5s' }], { HOOK_SECRET: hook.secret });
    const getDeliveries = jest.spyOn(h.app.store, 'getDeliveries');
    const { alert, event: first } = await change(h, alertOf('hotel-zeezicht/x/in-place-1'), 'alert.triggered');
    hook.holdMs = (id) => (id === first.id ? 600 : 0);
    await waitFor('the trigger to reach the receiver', () => hook.arrived.includes(first.id));
    const { event: update } = await change(h, alert, 'alert.updated');
    await waitFor('the update to be delivered', () => hook.accepted.includes(update.id), 15_000);
    // Its record is written after the receiver answered: the job has ended once the queue is empty.
    await waitFor('the queue to drain', () => drained(h!), 15_000);

    expect(hook.accepted).toEqual([first.id, update.id]);
    expect(hook.arrived.indexOf(update.id)).toBe(1);
    // It learned from Redis that the trigger went out: no read of the records, no turn back in the queue.
    expect(getDeliveries.mock.calls.filter(([ids]) => ids.length > 0)).toEqual([]);
    const job = await h.app.queues.deliver.getJob(deliveryJobOf({ eventId: update.id, receiverId: 'crm' }).id);
    expect(job?.attemptsStarted).toBe(1);
    expect((await records(h)).map((r) => r.status)).toEqual(['sent', 'sent']);
  });

  it('an event planned again after Redis lost its reminder: the reminder comes back at its time, nothing is sent twice', async () => {
    hook.answer = () => 204;
    h = await startDelivering([{ id: 'crm', type: 'webhook', url, secretEnv: 'HOOK_SECRET', timeout: '2s' }], { HOOK_SECRET: hook.secret });
    const { event } = await change(h, alertOf('hotel-zeezicht/x/remind-1'), 'alert.triggered');
    await waitFor('the trigger to be delivered', () => hook.accepted.includes(event.id));
    const reminderId = deliveryJobOf({ eventId: event.id, receiverId: 'crm', reminder: 1 }).id;
    const first = await waitFor('its first reminder to wait (repeatInterval 4h)', () => h!.app.queues.deliver.getJob(reminderId));
    const dueAt = first.timestamp + first.delay;
    // Redis lost the delayed reminder (and the finished job); the outbox plans the event again.
    await first.remove();
    await waitFor('the first job to finish', () => drained(h!));
    for (const job of await h.app.queues.deliver.getCompleted()) await job.remove();
    expect(await h.app.store.remarkUndeliveredSince(new Date(Date.now() - 3_600_000).toISOString())).toBe(1);
    expect(await replanUndelivered(h.deps, 0)).toBe(1);
    const again = await waitFor('the reminder to be planned again', () => h!.app.queues.deliver.getJob(reminderId), 20_000);
    expect(again.name).toBe('remind');
    // Due when it was due before (from the time the trigger was sent), not 4 h from now.
    expect(Math.abs(again.timestamp + again.delay - dueAt)).toBeLessThan(2_000);
    expect(hook.accepted).toEqual([event.id]);
    expect((await records(h)).map((r) => r.status)).toEqual(['sent']);
  });

  it('every mode: an earlier event whose page died before handing it on goes out before the later one, not superseded by it', async () => {
    hook.answer = () => 204;
    h = await startDelivering([{ id: 'crm', type: 'webhook', url, secretEnv: 'HOOK_SECRET', timeout: '2s' }], { HOOK_SECRET: hook.secret });
    const alert = alertOf('hotel-zeezicht/x/crashed-page');
    // The first page appended the trigger and died before handing it on (it stays marked).
    const trigger = withEventId({ type: 'alert.triggered', alert, at: new Date().toISOString() });
    const [stranded] = (await h.app.store.appendEvents([trigger])).events;
    await h.app.store.saveAlerts([trigger.alert]);
    // The next page of the brand goes through at once.
    const { event: update } = await change(h, alert, 'alert.updated');
    await waitFor('both to be delivered', () => hook.accepted.length >= 2, 20_000);
    expect(hook.accepted).toEqual([stranded.id, update.id]);
    // The record is marked just after the receiver answered.
    await waitFor('both records sent', async () => (await records(h!)).filter((r) => r.status === 'sent').length === 2);
    const byEvent = new Map((await records(h)).map((r) => [r.eventId, r.status]));
    expect(byEvent.get(stranded.id)).toBe('sent');
    expect(byEvent.get(update.id)).toBe('sent');
  });

  it('410 Gone disables the receiver: later deliveries are recorded failed without a request, until it is enabled again', async () => {
    let gone = true;
    hook.answer = () => (gone ? 410 : 204);
    h = await startDelivering([{ id: 'crm', type: 'webhook', url, secretEnv: 'HOOK_SECRET', timeout: '2s' }], { HOOK_SECRET: hook.secret });
    const state = new ReceiverState(h.app.store);
    let { alert, event } = await change(h, alertOf('hotel-zeezicht/x/gone-1'), 'alert.triggered');
    await waitFor('the receiver to be disabled', async () => (await state.get('crm')).state === 'disabled');
    expect(await state.get('crm')).toMatchObject({ state: 'disabled', code: 'RW_ERR_RECEIVER_GONE' });
    expect((await state.list()).map((s) => s.receiverId)).toEqual(['crm']);
    await waitFor('the 410 to be recorded', async () => (await h!.app.store.getDelivery(event.id, 'crm'))?.status === 'failed');
    expect((await h.app.store.getDelivery(event.id, 'crm'))?.lastError?.code).toBe('RW_ERR_RECEIVER_GONE');

    ({ alert, event } = await change(h, alert, 'alert.updated'));
    await waitFor('the update to be recorded failed', async () => (await h!.app.store.getDelivery(event.id, 'crm'))?.status === 'failed');
    expect((await h.app.store.getDelivery(event.id, 'crm'))).toMatchObject({ attempts: 0, lastError: { code: 'RW_ERR_RECEIVER_GONE' } });
    expect(hook.requests).toHaveLength(1);

    gone = false;
    expect(await state.enable('crm', 'ops', Date.now())).toMatchObject({ state: 'enabled', by: 'ops' });
    ({ event } = await change(h, alert, 'alert.updated'));
    await waitFor('delivery after enabling', () => hook.accepted.includes(event.id));
    expect(hook.requests).toHaveLength(2);
  });
});

describe('PagerDuty in alert order', () => {
  const ROUTING_KEY = randomBytes(24).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 32);
  const accepted = (dedupKey: string) => ({ status: 'success', message: 'Event processed', dedup_key: dedupKey });
  let h: Harness | undefined;

  beforeAll(() => {
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1|localhost/);
  });
  afterAll(async () => {
    await h?.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('an acknowledge waits for a trigger that failed once (500): the trigger is never sent after it', async () => {
    h = await startDelivering([{ id: 'oncall', type: 'pagerduty', routingKeyEnv: 'PD_KEY', timeout: '2s' }], { PD_KEY: ROUTING_KEY });
    const seen: { action: string; status: number; at: number }[] = [];
    let triggers = 0;
    nock('https://events.pagerduty.com')
      .post('/v2/enqueue')
      .times(3)
      .reply((_uri, body) => {
        const event = (typeof body === 'string' ? JSON.parse(body) : body) as { event_action: string; dedup_key: string; routing_key: string };
        expect(event.routing_key).toBe(ROUTING_KEY);
        let status = 202;
        if (event.event_action === 'trigger' && triggers++ === 0) status = 500;
        seen.push({ action: event.event_action, status, at: Date.now() });
        return status === 202 ? [202, accepted(event.dedup_key)] : [500, { status: 'error', message: 'Internal Server Error' }];
      });

    // A critical alert past its SLA: the sweep escalates it (a PagerDuty trigger), then someone acknowledges.
    const past = new Date(Date.now() - 60_000).toISOString();
    const alert = alertOf('hotel-zeezicht/x/pd-1', { slaDeadline: past });
    const recorded = withEventId({ type: 'alert.triggered', alert, at: new Date().toISOString() });
    await h.app.store.saveAlerts([recorded.alert]);
    await handOnEvents(h.deps, (await h.app.store.appendEvents([recorded])).events);
    expect(await h.app.alerts.escalateOverdue()).toEqual([alert.id]);
    await waitFor('the first trigger to fail', () => seen.length >= 1);
    await h.app.alerts.acknowledge(alert.id, 'ana');

    await waitFor('the acknowledge to go through', () => seen.some((s) => s.action === 'acknowledge'), 30_000);
    expect(seen.map((s) => `${s.action} ${s.status}`)).toEqual(['trigger 500', 'trigger 202', 'acknowledge 202']);
    const escalated = (await h.app.store.eventsAfter(0)).find((e) => e.type === 'alert.escalated')!;
    expect((await h.app.store.getDelivery(escalated.id, 'oncall'))?.status).toBe('sent');
  });
});

describe('PagerDuty: a trigger that would come after the acknowledge', () => {
  const ROUTING_KEY = 'R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY99';
  let store: Store;
  const claims = claimsForTest();

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1|localhost/);
    store = await Store.connect({ uri: MONGODB_URI(), dbName: uniqueName('pdorder') });
  });
  afterAll(async () => {
    await store.conn.dropDatabase().catch(() => undefined);
    await store.close();
    await claims.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('is recorded superseded by it and never sent', async () => {
    const receiver: PagerDutyReceiverConfig = { id: 'oncall', type: 'pagerduty', minSeverity: 'info', optional: false, routingKeyEnv: 'PD_KEY', url: 'https://events.pagerduty.com/v2/enqueue', timeout: 2_000 };
    const pd = createPagerDutyNotifier(receiver, new Secrets([['PD_KEY', ROUTING_KEY]]));
    const actions: string[] = [];
    nock('https://events.pagerduty.com')
      .post('/v2/enqueue')
      .times(2)
      .reply(202, (_uri, body) => {
        const event = body as { event_action: string; dedup_key: string };
        actions.push(event.event_action);
        return { status: 'success', message: 'Event processed', dedup_key: event.dedup_key };
      });
    const alert = alertOf('hotel-zeezicht/x/pd-late', { escalatedAt: new Date().toISOString() });
    const { events } = await store.appendEvents([
      withEventId({ type: 'alert.escalated', alert, at: new Date().toISOString() }),
      withEventId({ type: 'alert.acknowledged', alert: { ...alert, version: 2, status: 'acknowledged' }, at: new Date().toISOString() }),
    ]);
    const [trigger, ack] = events;
    const now = Date.now();
    await store.openDeliveries(events.map((e) => ({ alertId: e.alertId, receiverId: 'oncall', open: { eventId: e.id, seq: e.seq, at: now } })));
    const { logger } = captureLogger(() => [ROUTING_KEY]);
    const deps = { store, notifiers: new Map([['oncall', pd]]), now: Date.now, logger, claims: claims.claims };

    // The acknowledge waits for the trigger while it has attempts left ...
    await expect(deliverEvent(deps, { eventId: ack.id, receiverId: 'oncall' }, false)).rejects.toMatchObject({ code: 'RW_ERR_DELIVERY_DEFERRED' });
    expect(actions).toEqual([]);
    // ... and on its last attempt goes out; the trigger, retried after it, is superseded instead of paging.
    expect(await deliverEvent(deps, { eventId: ack.id, receiverId: 'oncall' }, true)).toMatchObject({ status: 'sent' });
    expect(await deliverEvent(deps, { eventId: trigger.id, receiverId: 'oncall' }, false)).toEqual({ status: 'superseded', by: ack.id });
    expect(actions).toEqual(['acknowledge']);
    expect(await store.getDelivery(trigger.id, 'oncall')).toMatchObject({ status: 'superseded', supersededBy: ack.id });
    expect(Object.keys((await store.getNotificationLog(alert.id, 'oncall'))?.open ?? {})).toEqual([]);
  });
});

describe('one Slack thread per case', () => {
  const BOT_TOKEN = 'xoxb-0000000000-0000000000000-abcdefghijklmnopqrstuvwx';
  let store: Store;
  const claims = claimsForTest();
  let dbName: string;

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1|localhost/);
    dbName = uniqueName('thread');
    store = await Store.connect({ uri: MONGODB_URI(), dbName });
  });
  afterAll(async () => {
    await store.conn.dropDatabase().catch(() => undefined);
    await store.close();
    await claims.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('two jobs delivering the first two messages of a case at once start one thread; the second replies in it', async () => {
    const receiver: SlackReceiverConfig = { id: 'team', type: 'slack', minSeverity: 'info', optional: false, botTokenEnv: 'SLACK_BOT', channel: 'C0123ABCD' };
    const slack = createSlackNotifier(receiver, new Secrets([['SLACK_BOT', BOT_TOKEN]]));
    const posted: { threadTs: string | null; ts: string }[] = [];
    let n = 0;
    nock('https://slack.com')
      .post('/api/chat.postMessage')
      .times(2)
      .delay(300)
      .reply((_uri, body) => {
        const form = new URLSearchParams(typeof body === 'string' ? body : new URLSearchParams(body as Record<string, string>).toString());
        const ts = `1732266904.00010${n++}`;
        posted.push({ threadTs: form.get('thread_ts'), ts });
        return [200, { ok: true, channel: 'C0123ABCD', ts, message: { type: 'message', text: form.get('text'), ts } }];
      });
    const events: AlertEvent[] = [];
    for (const id of ['hotel-zeezicht/x/case-a', 'hotel-zeezicht/x/case-b']) {
      const { events: appended } = await store.appendEvents([withEventId({ type: 'alert.triggered', alert: alertOf(id, { caseId: 'case-femke' }), at: new Date().toISOString() })]);
      events.push(...appended);
    }
    const { logger } = captureLogger(() => [BOT_TOKEN]);
    const deps = { store, notifiers: new Map([['team', slack]]), now: Date.now, logger, claims: claims.claims };
    const outcomes = await Promise.all(events.map((e, i) => deliverEvent(deps, { eventId: e.id, receiverId: 'team', claimant: `job-${i}` }, false)));

    expect(outcomes.map((o) => o.status)).toEqual(['sent', 'sent']);
    expect(posted).toHaveLength(2);
    const starters = posted.filter((p) => p.threadTs === null);
    expect(starters).toHaveLength(1);
    expect(posted.find((p) => p.threadTs !== null)?.threadTs).toBe(starters[0].ts);
    expect((await store.getNotificationLog('case/case-femke', 'team'))?.threadRef).toBe(starters[0].ts);
  });
});
