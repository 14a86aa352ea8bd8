import { createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import nock from 'nock';
import { Secrets } from '../../src/config/load';
import type { PagerDutyReceiverConfig } from '../../src/config/schema';
import type { AlertEvent, Severity } from '../../src/domain/alert';
import { RepwatchError } from '../../src/domain/errors';
import { createPagerDutyNotifier, pagerDutyEvent } from '../../src/notifiers/pagerduty';
import { fixtureEvent } from '../fixtures/alert-event';
import { captureLogger, failure, thrown } from '../helpers';

const PD = 'https://events.pagerduty.com';
const ENQUEUE = '/v2/enqueue';
/** 32 letters and digits, fresh per run so a hit in any output can only be a leak. */
const ROUTING_KEY = randomBytes(24).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 32);
const ENV = 'PD_ROUTING_KEY';
const secrets = new Secrets([[ENV, ROUTING_KEY]]);

function config(overrides: Partial<PagerDutyReceiverConfig> = {}): PagerDutyReceiverConfig {
  return { id: 'oncall', type: 'pagerduty', minSeverity: 'critical', optional: false, routingKeyEnv: ENV, url: `${PD}${ENQUEUE}`, timeout: 5_000, ...overrides };
}

function withAlert(event: AlertEvent, alert: Partial<AlertEvent['alert']>): AlertEvent {
  return { ...event, severity: alert.severity ?? event.severity, alert: { ...event.alert, ...alert } };
}

const accepted = (dedupKey: string) => ({ status: 'success', message: 'Event processed', dedup_key: dedupKey });

/** Every rendering of the error, and every captured log line, is free of the routing key. */
function expectNoKey(err: RepwatchError, lines: string[] = []): void {
  for (const r of [String(err), err.message, JSON.stringify(err), JSON.stringify(err.details ?? {}), inspect(err, { depth: 10 }), err.stack ?? '', ...lines]) {
    expect(r).not.toContain(ROUTING_KEY);
  }
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('pagerDutyEvent (body)', () => {
  it.each<[AlertEvent['type'], string]>([
    ['alert.triggered', 'trigger'],
    ['alert.escalated', 'trigger'],
    ['alert.updated', 'trigger'],
    ['storm.started', 'trigger'],
    ['alert.acknowledged', 'acknowledge'],
    ['alert.resolved', 'resolve'],
  ])('%s -> event_action %s', (type, action) => {
    expect(pagerDutyEvent(fixtureEvent({ type }), ROUTING_KEY).event_action).toBe(action);
  });

  it.each<[Severity, string]>([
    ['critical', 'critical'],
    ['high', 'error'],
    ['medium', 'warning'],
    ['low', 'info'],
    ['info', 'info'],
  ])('severity %s -> payload.severity %s', (severity, expected) => {
    const body = pagerDutyEvent(withAlert(fixtureEvent(), { severity }), ROUTING_KEY);
    expect(body.event_action === 'trigger' && body.payload.severity).toBe(expected);
  });

  it('builds a trigger with every documented field', () => {
    const event = withAlert(fixtureEvent({ type: 'alert.escalated' }), { caseId: 'case-17', topic: 'rooms' });
    expect(pagerDutyEvent(event, ROUTING_KEY)).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: 'hotel-zeezicht/x/1859732001234567890',
      payload: {
        summary: 'Critical: complaint about Hotel Zeezicht by @sanne_sprint (312,400 followers, verified)',
        source: 'repwatch/hotel-zeezicht',
        severity: 'critical',
        timestamp: '2026-11-22T09:15:04.000Z',
        component: 'negative-post',
        group: 'hotel-zeezicht',
        class: 'rooms',
        custom_details: {
          reason: event.alert.reason,
          impact: { negativity: 0.92, complaint: 0.88, reach: 0.9, engagement: 0.2, velocity: 0.1, projectedReach: 340_000, score: 0.83 },
          post: { url: 'https://x.com/sanne_sprint/status/1859732001234567890', author: 'Sanne de Vries', handle: 'sanne_sprint', followers: 312_400 },
          count: 1,
          caseId: 'case-17',
          status: 'triggered',
        },
      },
      links: [{ href: 'https://x.com/sanne_sprint/status/1859732001234567890', text: 'The post' }],
      client: 'repwatch',
    });
  });

  it.each(['alert.acknowledged', 'alert.resolved'] as const)('%s carries only routing_key, event_action and dedup_key', (type) => {
    const body = pagerDutyEvent(fixtureEvent({ type }), ROUTING_KEY);
    expect(Object.keys(body).sort()).toEqual(['dedup_key', 'event_action', 'routing_key']);
    expect(body.dedup_key).toBe('hotel-zeezicht/x/1859732001234567890');
  });

  it('links only http(s) post urls', () => {
    const event = fixtureEvent();
    const body = pagerDutyEvent(withAlert(event, { post: { ...event.alert.post, url: 'javascript:alert(1)' } }), ROUTING_KEY);
    expect(body).not.toHaveProperty('links');
  });

  it('truncates the summary to 1024 without splitting a surrogate pair', () => {
    const body = pagerDutyEvent(withAlert(fixtureEvent(), { title: 'a' + '😡'.repeat(1000) }), ROUTING_KEY);
    if (body.event_action !== 'trigger') throw new Error('expected a trigger');
    const summary = body.payload.summary;
    expect(summary.length).toBeLessThanOrEqual(1024);
    expect(summary.endsWith('…')).toBe(true);
    expect(summary).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/); // no lone high surrogate
    expect(Array.from(summary.slice(1, -1)).every((c) => c === '😡')).toBe(true);
  });

  it('keeps a fingerprint of 255 chars and hashes a longer one to a stable sha256 hex', () => {
    const at255 = 'f'.repeat(255);
    expect(pagerDutyEvent(withAlert(fixtureEvent(), { fingerprint: at255 }), ROUTING_KEY).dedup_key).toBe(at255);

    const long = `hotel-zeezicht/thread/${'9'.repeat(300)}`;
    const expected = createHash('sha256').update(long).digest('hex');
    for (const type of ['alert.triggered', 'alert.acknowledged', 'alert.resolved'] as const) {
      const key = pagerDutyEvent(withAlert(fixtureEvent({ type }), { fingerprint: long }), ROUTING_KEY).dedup_key;
      expect(key).toBe(expected);
      expect(key).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});

describe('PagerDuty notifier', () => {
  it('POSTs the trigger as JSON and returns the dedup_key as reference', async () => {
    let sent: unknown;
    let headers: Record<string, string | string[]> = {};
    nock(PD)
      .post(ENQUEUE, (b: unknown) => ((sent = b), true))
      .reply(function () {
        headers = this.req.headers;
        return [202, accepted('hotel-zeezicht/x/1859732001234567890')];
      });
    const { logger, lines } = captureLogger();
    const event = fixtureEvent();
    const notifier = createPagerDutyNotifier(config(), secrets);
    expect(notifier.type).toBe('pagerduty');
    expect(notifier.receiverId).toBe('oncall');
    const receipt = await notifier.send(event, logger);
    expect(receipt).toEqual({ status: 202, reference: 'hotel-zeezicht/x/1859732001234567890' });
    expect(sent).toEqual(pagerDutyEvent(event, ROUTING_KEY));
    expect(headers['content-type']).toBe('application/json');
    for (const line of lines) expect(line).not.toContain(ROUTING_KEY);
  });

  it.each(['alert.acknowledged', 'alert.resolved'] as const)('POSTs %s with the same routing key and dedup_key', async (type) => {
    let sent: Record<string, unknown> = {};
    nock(PD)
      .post(ENQUEUE, (b: Record<string, unknown>) => ((sent = b), true))
      .reply(202, accepted('hotel-zeezicht/x/1859732001234567890'));
    await createPagerDutyNotifier(config(), secrets).send(fixtureEvent({ type }), captureLogger().logger);
    expect(sent).toEqual({ routing_key: ROUTING_KEY, event_action: type === 'alert.acknowledged' ? 'acknowledge' : 'resolve', dedup_key: 'hotel-zeezicht/x/1859732001234567890' });
  });

  it('accepts a 2xx without a JSON body, with no reference', async () => {
    nock(PD).post(ENQUEUE).reply(202, 'ok');
    expect(await createPagerDutyNotifier(config(), secrets).send(fixtureEvent(), captureLogger().logger)).toEqual({ status: 202 });
  });

  it('uses the configured url (EU endpoint)', async () => {
    nock('https://events.eu.pagerduty.com').post(ENQUEUE).reply(202, accepted('k'));
    const receipt = await createPagerDutyNotifier(config({ url: `https://events.eu.pagerduty.com${ENQUEUE}` }), secrets).send(fixtureEvent(), captureLogger().logger);
    expect(receipt.reference).toBe('k');
  });

  it.each<[string, number, Record<string, string>, string | object, string, boolean, number | undefined]>([
    ['400 invalid event', 400, {}, { status: 'invalid event', message: 'Event object is invalid', errors: ["'payload.summary' is missing or blank"] }, 'RW_ERR_RECEIVER_REJECTED', false, undefined],
    ['403', 403, {}, '', 'RW_ERR_RECEIVER_REJECTED', false, undefined],
    ['404', 404, {}, '', 'RW_ERR_RECEIVER_REJECTED', false, undefined],
    ['429 without Retry-After (30 s)', 429, {}, '', 'RW_ERR_RECEIVER_RATE_LIMITED', true, 30_000],
    ['429 with Retry-After: 12', 429, { 'retry-after': '12' }, '', 'RW_ERR_RECEIVER_RATE_LIMITED', true, 12_000],
    ['500', 500, {}, '', 'RW_ERR_RECEIVER_UNAVAILABLE', true, undefined],
    ['502', 502, {}, 'Bad Gateway', 'RW_ERR_RECEIVER_UNAVAILABLE', true, undefined],
    ['503 with Retry-After: 5', 503, { 'retry-after': '5' }, '', 'RW_ERR_RECEIVER_UNAVAILABLE', true, 5_000],
  ])('%s -> code and retryable', async (_name, status, headers, body, code, retryable, retryAfterMs) => {
    nock(PD).post(ENQUEUE).reply(status, body, headers);
    const { logger, lines } = captureLogger();
    const err = await failure(createPagerDutyNotifier(config(), secrets).send(fixtureEvent(), logger));
    expect(err.code).toBe(code);
    expect(err.retryable).toBe(retryable);
    expect(err.retryAfterMs).toBe(retryAfterMs);
    expect(err.details?.status).toBe(status);
    expect(err.message).toContain('oncall');
    expectNoKey(err, lines);
  });

  it('a 400 carries PagerDuty message and errors into the error', async () => {
    nock(PD)
      .post(ENQUEUE)
      .reply(400, { status: 'invalid event', message: 'Event object is invalid', errors: ["'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')"] });
    const err = await failure(createPagerDutyNotifier(config(), secrets).send(fixtureEvent(), captureLogger().logger));
    expect(err.details).toEqual({
      status: 400,
      message: 'Event object is invalid',
      errors: ["'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')"],
    });
    expect(err.message).toContain('Event object is invalid');
    expect(err.message).toContain("'payload.severity' is invalid");
  });

  it.each([
    ['message', { status: 'invalid event', message: `Invalid routing key ${ROUTING_KEY}`, errors: ['Something'] }],
    ['errors', { status: 'invalid event', message: 'Event object is invalid', errors: [`routing_key ${ROUTING_KEY} is not an integration key`] }],
    ['a long error', { status: 'invalid event', message: 'Event object is invalid', errors: [`${'x'.repeat(290)} ${ROUTING_KEY}`] }],
  ])('a 400 that echoes the routing key in %s keeps none of the body', async (_where, body) => {
    nock(PD).post(ENQUEUE).reply(400, body);
    const { logger, lines } = captureLogger();
    const err = await failure(createPagerDutyNotifier(config(), secrets).send(fixtureEvent(), logger));
    expect(err.code).toBe('RW_ERR_RECEIVER_REJECTED');
    expect(err.details).toEqual({ status: 400 });
    expectNoKey(err, lines);
  });

  it('a receiver that answers too late times out as RW_ERR_RECEIVER_UNAVAILABLE', async () => {
    nock(PD).post(ENQUEUE).delay(1_000).reply(202, accepted('late'));
    const started = Date.now();
    const err = await failure(createPagerDutyNotifier(config({ timeout: 100 }), secrets).send(fixtureEvent(), captureLogger().logger));
    expect(Date.now() - started).toBeLessThan(900);
    expect(err.code).toBe('RW_ERR_RECEIVER_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('timed out');
    expectNoKey(err);
  });

  it('a connection error is RW_ERR_RECEIVER_UNAVAILABLE', async () => {
    nock(PD).post(ENQUEUE).replyWithError({ code: 'ECONNRESET', message: `socket hang up` });
    const err = await failure(createPagerDutyNotifier(config(), secrets).send(fixtureEvent(), captureLogger().logger));
    expect(err.code).toBe('RW_ERR_RECEIVER_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expectNoKey(err);
  });

  it.each([
    ['too short', 'abc123'],
    ['too long', `${ROUTING_KEY}0`],
    ['not alphanumeric', `${ROUTING_KEY.slice(0, 31)}-`],
    ['with whitespace', ` ${ROUTING_KEY.slice(1)}`],
  ])('rejects a routing key that is %s at creation, naming the env var only', (_why, value) => {
    const err = thrown(() => createPagerDutyNotifier(config(), new Secrets([[ENV, value]])));
    expect(err.code).toBe('RW_ERR_CONFIG_INVALID');
    expect(err.message).toContain(ENV);
    for (const r of [String(err), JSON.stringify(err), inspect(err, { depth: 10 })]) expect(r).not.toContain(value.trim());
  });

  it('a missing routing key env var is RW_ERR_SECRET_MISSING', () => {
    expect(thrown(() => createPagerDutyNotifier(config(), new Secrets())).code).toBe('RW_ERR_SECRET_MISSING');
  });

  it('the notifier object does not serialise the routing key', () => {
    const notifier = createPagerDutyNotifier(config(), secrets);
    expect(JSON.stringify(notifier)).not.toContain(ROUTING_KEY);
    expect(inspect(notifier, { depth: 10 })).not.toContain(ROUTING_KEY);
  });
});
