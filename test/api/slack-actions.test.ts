import { createHmac } from 'node:crypto';
import nock from 'nock';
import type { ApiDeps } from '../../src/api/deps';
import { startApi } from '../../src/api/server';
import { checkSlackSignature, silenceEnd, silenceMatcherFor, slackActor } from '../../src/api/slack-actions';
import type { Alert } from '../../src/domain/alert';
import { buildSlackMessage } from '../../src/notifiers/slack';
import { Locks } from '../../src/store/lock';
import { SilenceStore } from '../../src/store/silences';
import { startRepwatch, type Repwatch } from '../../workers/app';
import { fixtureEvent } from '../fixtures/alert-event';
import { MONGODB_URI, REDIS_URL, captureLogger, makeConfig, uniqueName, waitFor } from '../helpers';

// Secrets in Slack's formats. The logger below is NOT told about them: a leak must show in its lines.
const SIGNING_SECRET = '8f742231b10e8888abcd99a7f2c5d3e1';
const BOT_TOKEN = 'xoxb-2233445566-7788990011-QwErTyUiOpAsDfGhJkLzXcVb';
const RESPONSE_PATH = '/actions/T3MDE1RK1/6114583947270/kR4bZq8VnW2xYp7LsT0mHc3d';
const RESPONSE_URL = `https://hooks.slack.com${RESPONSE_PATH}`;
const CHANNEL = 'C0CA5LMQ7';
const MESSAGE_TS = '1732266904.123456';

const base = fixtureEvent().alert;

/** A block_actions payload with the fields Slack documents (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload). */
function blockActions(action: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  return {
    type: 'block_actions',
    user: { id: 'U0CA5', username: 'ana', name: 'ana', team_id: 'T3MDE1RK1' },
    api_app_id: 'A0CA5B2KL',
    token: 'Shh_its_a_seekrit',
    container: { type: 'message', message_ts: MESSAGE_TS, channel_id: CHANNEL, is_ephemeral: false },
    trigger_id: '6114583947270.3508196081.5c0a1e0e1f1c5c3f7f3e2f8a9d2b1c4e',
    team: { id: 'T3MDE1RK1', domain: 'hotel-zeezicht' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: CHANNEL, name: 'comms-alerts' },
    message: { type: 'message', subtype: 'bot_message', text: 'Critical: complaint about Hotel Zeezicht', ts: MESSAGE_TS, bot_id: 'B0123ABCD', blocks: buildSlackMessage(fixtureEvent()).blocks },
    state: { values: {} },
    response_url: RESPONSE_URL,
    actions: [{ ...action, action_ts: '1732266990.482913' }],
    ...overrides,
  };
}
const button = (actionId: 'ack_alert' | 'resolve_alert', alertId: string) => ({
  action_id: actionId,
  block_id: 'Kq7zM',
  text: { type: 'plain_text', text: actionId === 'ack_alert' ? 'Acknowledge' : 'Resolve', emoji: true },
  value: alertId,
  type: 'button',
});
const silenceSelect = (alertId: string, value: string) => ({
  type: 'static_select',
  action_id: 'silence_alert',
  block_id: `alert:${alertId}`,
  selected_option: { text: { type: 'plain_text', text: 'For 4 hours', emoji: true }, value },
  placeholder: { type: 'plain_text', text: 'Silence…', emoji: true },
});

const formBody = (payload: unknown) => new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
const sign = (body: string, timestamp: number, secret = SIGNING_SECRET) => `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;

/** The form Slack's WebClient posts, read the way slack.test.ts reads it. */
function formOf(body: unknown): URLSearchParams {
  return new URLSearchParams(typeof body === 'string' ? body : new URLSearchParams(body as Record<string, string>).toString());
}
const buttonsIn = (blocks: any[]) => blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements.map((e: any) => e.action_id));

describe('POST /slack/actions', () => {
  const prefix = `{${uniqueName('slack')}}`;
  const dbName = uniqueName('slack');
  const { logger, lines } = captureLogger();
  let app: Repwatch;
  let config: ReturnType<typeof makeConfig>['config'];
  let silences: SilenceStore;
  let clock = Date.now();
  const servers: { url: string; close(): Promise<void> }[] = [];
  let withBot: string;
  let withoutBot: string;

  async function seed(suffix: string, changes: Partial<Alert> = {}): Promise<Alert> {
    const alert: Alert = { ...base, id: `${base.id}-${suffix}`, fingerprint: `${base.fingerprint}-${suffix}`, ...changes };
    await app.store.appendEvents([{ type: 'alert.triggered', alert, at: alert.createdAt }]);
    await app.store.saveAlerts([alert]);
    return alert;
  }
  const eventsOf = async (alertId: string) => (await app.store.eventsAfter(0, 1000)).filter((e) => e.alertId === alertId);

  async function serve(slack: ApiDeps['slack']): Promise<string> {
    const deps = {
      config,
      logger,
      store: app.store,
      redis: app.redis,
      prefix: app.prefix,
      apiKeys: new Map([['ops', 'an-api-key-that-slack-never-sends']]),
      alerts: app.alerts,
      silences,
      slack,
      now: () => clock,
    } satisfies ApiDeps;
    // The real API server on loopback (it mounts the plugin under /slack when deps.slack is set).
    const server = await startApi(deps, { host: '127.0.0.1', port: 0 });
    servers.push(server);
    return server.url;
  }

  async function post(url: string, payload: unknown, headers: (body: string) => Record<string, string> = (body) => signed(body)): Promise<Response> {
    const body = typeof payload === 'string' ? payload : formBody(payload);
    return fetch(`${url}/slack/actions`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers(body) }, body });
  }
  const signed = (body: string, timestamp = Math.floor(clock / 1000)) => ({ 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': sign(body, timestamp) });

  /** Captures what Slack's response_url receives (each POST once). */
  function responseUrl(times = 1) {
    const got: any[] = [];
    const scope = nock('https://hooks.slack.com')
      .post(RESPONSE_PATH, (b) => (got.push(b), true))
      .times(times)
      .reply(200, { ok: true });
    return { got, scope };
  }
  function chatUpdate(reply: object = { ok: true, channel: CHANNEL, ts: MESSAGE_TS, text: 'Updated' }) {
    const got: URLSearchParams[] = [];
    const scope = nock('https://slack.com')
      .matchHeader('authorization', `Bearer ${BOT_TOKEN}`)
      .post('/api/chat.update', (b) => (got.push(formOf(b)), true))
      .reply(200, reply);
    return { got, scope };
  }

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect((host) => host.startsWith('127.0.0.1'));
    const loaded = makeConfig(
      { brands: { brands: [{ id: 'hotel-zeezicht', name: 'Hotel Zeezicht', keywords: ['zeezicht'], sources: [{ id: 's', platform: 'replay', file: 'p.jsonl' }] }] }, extra: { 'p.jsonl': '' } },
      {},
    );
    config = loaded.config;
    app = await startRepwatch({ config, secrets: loaded.secrets, logger, redisUrl: REDIS_URL(), mongoUri: MONGODB_URI(), dbName, queuePrefix: prefix, roles: [] });
    silences = new SilenceStore(app.store);
    withBot = await serve({ signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN });
    withoutBot = await serve({ signingSecret: SIGNING_SECRET });
  });
  beforeEach(() => {
    clock = Date.now();
  });
  afterEach(() => nock.cleanAll());
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await app.store.conn.dropDatabase().catch(() => undefined);
    const keys = await app.redis.keys(`${prefix}*`);
    if (keys.length) await app.redis.del(...keys);
    await app.close();
    nock.enableNetConnect();
    nock.restore();
  });

  it('acknowledges as the Slack user (alert and stream event), and chat.update shows who did it without the Acknowledge button', async () => {
    const alert = await seed('ack');
    const update = chatUpdate();
    const res = await post(withBot, blockActions(button('ack_alert', alert.id)));
    expect(res.status).toBe(200);

    await waitFor('chat.update', () => update.scope.isDone());
    const stored = await app.store.getAlert(alert.id);
    expect(stored).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'slack:ana', version: 2 });
    expect((await eventsOf(alert.id)).map((e) => [e.type, e.by])).toEqual([['alert.triggered', undefined], ['alert.acknowledged', 'slack:ana']]);

    const form = update.got[0];
    expect(form.get('channel')).toBe(CHANNEL);
    expect(form.get('ts')).toBe(MESSAGE_TS);
    expect(form.get('text')).toContain('Acknowledged by @ana');
    const blocks = JSON.parse(form.get('blocks') ?? '[]');
    expect(JSON.stringify(blocks)).toMatch(/Acknowledged by @ana at <!date\^\d+\^\{date_short_pretty\} at \{time\}\|/);
    expect(buttonsIn(blocks)).toEqual(['resolve_alert', 'silence_alert']);
  });

  it('resolves through response_url (replace_original) when there is no bot token; the resolved message has no buttons', async () => {
    const alert = await seed('resolve');
    const hook = responseUrl();
    const res = await post(withoutBot, blockActions(button('resolve_alert', alert.id), { user: { id: 'U0BEN', username: 'ben', name: 'ben', team_id: 'T3MDE1RK1' } }));
    expect(res.status).toBe(200);

    await waitFor('response_url', () => hook.scope.isDone());
    expect(await app.store.getAlert(alert.id)).toMatchObject({ status: 'resolved', resolvedBy: 'slack:ben' });
    expect((await eventsOf(alert.id)).at(-1)).toMatchObject({ type: 'alert.resolved', by: 'slack:ben' });
    const sent = hook.got[0];
    expect(sent.replace_original).toBe(true);
    expect(sent.text).toContain('Resolved by @ben');
    expect(JSON.stringify(sent.blocks)).toContain('Resolved by @ben at <!date^');
    expect(buttonsIn(sent.blocks)).toEqual([]);
  });

  it('answers within Slack’s 3 seconds while the brand lock is held, and acknowledges once the lock frees', async () => {
    const alert = await seed('locked');
    const hook = responseUrl();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const holding = new Promise<void>((r) => (locked = r));
    const holder = new Locks(app.redis, app.prefix).withLock(`brand:${alert.brandId}`, async () => {
      locked();
      await held;
    });
    await holding;

    const started = Date.now();
    const res = await post(withoutBot, blockActions(button('ack_alert', alert.id)));
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1_000);
    await new Promise((r) => setTimeout(r, 300));
    expect((await app.store.getAlert(alert.id))?.status).toBe('triggered');

    release();
    await holder;
    await waitFor('acknowledged', async () => (await app.store.getAlert(alert.id))?.status === 'acknowledged');
    await waitFor('response_url', () => hook.scope.isDone());
  });

  describe('refuses requests it cannot verify: 401, nothing changed, nothing sent to Slack', () => {
    const cases: [string, (body: string) => Record<string, string>][] = [
      ['a signature made with another secret', (body) => ({ 'x-slack-request-timestamp': String(Math.floor(clock / 1000)), 'x-slack-signature': sign(body, Math.floor(clock / 1000), 'another-apps-signing-secret-000') })],
      ['no signature header', (body) => ({ 'x-slack-request-timestamp': signed(body)['x-slack-request-timestamp'] })],
      ['no timestamp header', (body) => ({ 'x-slack-signature': signed(body)['x-slack-signature'] })],
      ['no headers at all', () => ({})],
      ['a timestamp 5 minutes and 1 second old (signed correctly)', (body) => signed(body, Math.floor(clock / 1000) - 301)],
      ['a timestamp 6 minutes ahead (signed correctly)', (body) => signed(body, Math.floor(clock / 1000) + 360)],
      ['a signature over a different body', () => signed(formBody(blockActions(button('ack_alert', 'some-other-alert'))))],
      ['a signature that is not hex', () => ({ 'x-slack-request-timestamp': String(Math.floor(clock / 1000)), 'x-slack-signature': `v0=${'z'.repeat(64)}` })],
    ];
    it.each(cases)('%s', async (_label, headers) => {
      const alert = await seed(`refused-${cases.findIndex((c) => c[0] === _label)}`);
      const update = chatUpdate();
      const hook = responseUrl();
      const res = await post(withBot, blockActions(button('ack_alert', alert.id)), headers);
      expect(res.status).toBe(401);
      const body = (await res.json()) as any;
      expect(body.error.code).toBe('RW_ERR_UNAUTHORIZED');
      expect(typeof body.error.message).toBe('string');
      expect(JSON.stringify(body)).not.toContain(SIGNING_SECRET);

      await new Promise((r) => setTimeout(r, 200));
      expect(await app.store.getAlert(alert.id)).toMatchObject({ status: 'triggered', version: 1 });
      expect((await eventsOf(alert.id)).length).toBe(1);
      expect(update.scope.isDone()).toBe(false);
      expect(hook.scope.isDone()).toBe(false);
    });
  });

  it('a verified body without a JSON payload is 400 RW_ERR_INPUT_INVALID; other interaction types get their 200 and change nothing', async () => {
    const bad = await post(withBot, 'payload=%7Bnot-json');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.code).toBe('RW_ERR_INPUT_INVALID');
    const other = await post(withBot, { type: 'view_submission', user: { id: 'U0CA5' }, view: { id: 'V0123' } });
    expect(other.status).toBe(200);
  });

  it('on an alert that is already resolved: tells the user why (ephemeral) and refreshes the message to its real state', async () => {
    const alert = await seed('late', { status: 'resolved', resolvedBy: 'anna@example.com', resolvedAt: new Date(clock - 60_000).toISOString(), version: 2 });
    const hook = responseUrl();
    const update = chatUpdate();
    const res = await post(withBot, blockActions(button('ack_alert', alert.id)));
    expect(res.status).toBe(200);

    await waitFor('ephemeral reply and update', () => hook.scope.isDone() && update.scope.isDone());
    expect(hook.got[0]).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(hook.got[0].text).toContain('Could not acknowledge');
    expect(hook.got[0].text).toContain('already resolved');
    expect(buttonsIn(JSON.parse(update.got[0].get('blocks') ?? '[]'))).toEqual([]);
    expect(update.got[0].get('text')).toContain('Resolved by anna@example.com');
    expect(await app.store.getAlert(alert.id)).toMatchObject({ status: 'resolved', version: 2 });
  });

  it('on an unknown alert: tells the user, changes nothing', async () => {
    const hook = responseUrl();
    const update = chatUpdate();
    const res = await post(withBot, blockActions(button('resolve_alert', 'hotel-zeezicht/x/does-not-exist')));
    expect(res.status).toBe(200);
    await waitFor('ephemeral reply', () => hook.scope.isDone());
    expect(hook.got[0]).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(hook.got[0].text).toContain('no alert "hotel-zeezicht/x/does-not-exist"');
    await new Promise((r) => setTimeout(r, 200));
    expect(update.scope.isDone()).toBe(false);
  });

  it('silences the author for 4 hours: a stored silence by the Slack user, and the message says until when', async () => {
    const alert = await seed('silence');
    const update = chatUpdate();
    const res = await post(withBot, blockActions(silenceSelect(alert.id, '4h')));
    expect(res.status).toBe(200);

    await waitFor('chat.update', () => update.scope.isDone());
    const stored = (await silences.list(clock)).filter((s) => s.comment?.includes(alert.id));
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ match: { brand: ['hotel-zeezicht'], author: ['sanne_sprint'] }, startsAt: clock, endsAt: clock + 4 * 3_600_000, createdBy: 'slack:ana', state: 'active' });
    expect((await silences.active(clock)).map((s) => s.id)).toContain(stored[0].id);
    // A silence changes what is sent, not the alert.
    expect(await app.store.getAlert(alert.id)).toMatchObject({ status: 'triggered', version: 1 });

    const blocks = JSON.parse(update.got[0].get('blocks') ?? '[]');
    expect(JSON.stringify(blocks)).toContain(`Silenced by @ana until <!date^${Math.floor((clock + 4 * 3_600_000) / 1000)}^`);
    expect(buttonsIn(blocks)).toEqual(['ack_alert', 'resolve_alert', 'silence_alert']);

    // A later click rebuilds the message from the alert: the silence still shows.
    const again = chatUpdate();
    await post(withBot, blockActions(button('ack_alert', alert.id), { user: { id: 'U0BEN', username: 'ben', name: 'ben', team_id: 'T3MDE1RK1' } }));
    await waitFor('second chat.update', () => again.scope.isDone());
    const state = JSON.stringify(JSON.parse(again.got[0].get('blocks') ?? '[]'));
    expect(state).toContain('Acknowledged by @ben');
    expect(state).toContain('Silenced by @ana until');
  });

  it('when chat.update cannot edit the message (posted by an incoming webhook), the update goes through response_url', async () => {
    const alert = await seed('fallback');
    const update = chatUpdate({ ok: false, error: 'cant_update_message' });
    const hook = responseUrl();
    await post(withBot, blockActions(button('ack_alert', alert.id)));
    await waitFor('response_url', () => hook.scope.isDone());
    expect(update.scope.isDone()).toBe(true);
    expect(hook.got[0]).toMatchObject({ replace_original: true });
    expect(hook.got[0].text).toContain('Acknowledged by @ana');
    expect(lines.some((l) => l.includes('cant_update_message'))).toBe(true);
  });

  it('never writes the signing secret, the bot token or the response_url path to the log', async () => {
    // Every test above logged into `lines`; make sure the background work has finished first.
    await Promise.all(servers.map((s) => s.close()));
    servers.length = 0;
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.some((l) => l.includes('slack action'))).toBe(true);
    const all = lines.join('\n');
    expect(all).not.toContain(SIGNING_SECRET);
    expect(all).not.toContain(BOT_TOKEN);
    expect(all).not.toContain(RESPONSE_PATH);
    expect(all).not.toContain('kR4bZq8VnW2xYp7LsT0mHc3d');
  });
});

describe('Slack actions, the pure parts', () => {
  const now = Date.parse('2026-11-22T14:02:00Z');

  it('checks the v0 signature with Slack’s documented example', () => {
    // From https://api.slack.com/docs/verifying-requests-from-slack (a slash command's body).
    const body = Buffer.from(
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
    );
    const headers = { timestamp: '1531420618', signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503' };
    expect(checkSlackSignature('8f742231b10e8888abcd99yyyzzz85a5', headers, body, 1531420618_000)).toBeUndefined();
    expect(checkSlackSignature('8f742231b10e8888abcd99yyyzzz85a6', headers, body, 1531420618_000)).toBe('mismatch');
    expect(checkSlackSignature('8f742231b10e8888abcd99yyyzzz85a5', headers, body, (1531420618 + 301) * 1000)).toBe('stale');
    expect(checkSlackSignature('8f742231b10e8888abcd99yyyzzz85a5', headers, body, (1531420618 + 300) * 1000)).toBeUndefined();
    expect(checkSlackSignature('8f742231b10e8888abcd99yyyzzz85a5', { signature: headers.signature }, body, 1531420618_000)).toBe('missing');
    expect(checkSlackSignature('8f742231b10e8888abcd99yyyzzz85a5', { ...headers, timestamp: '1531420618.5' }, body, 1531420618_000)).toBe('missing');
  });

  it('silences end in 1 hour, 4 hours, or at 09:00 tomorrow in Amsterdam, across a clock change', () => {
    expect(silenceEnd('1h', now)).toBe(now + 3_600_000);
    expect(silenceEnd('4h', now)).toBe(now + 4 * 3_600_000);
    // 14:02 CET on 22 November: 09:00 CET on the 23rd is 08:00 UTC.
    expect(new Date(silenceEnd('tomorrow', now)).toISOString()).toBe('2026-11-23T08:00:00.000Z');
    // 23:30 CET on Saturday 28 March 2026; clocks go forward that night: 09:00 CEST is 07:00 UTC.
    expect(new Date(silenceEnd('tomorrow', Date.parse('2026-03-28T22:30:00Z'))).toISOString()).toBe('2026-03-29T07:00:00.000Z');
    // 00:30 CET on the 23rd (23:30 UTC on the 22nd) is already the 23rd in Amsterdam: until the 24th.
    expect(new Date(silenceEnd('tomorrow', Date.parse('2026-11-22T23:30:00Z'))).toISOString()).toBe('2026-11-24T08:00:00.000Z');
  });

  it('silences a single-post alert’s author on the brand, and a storm’s topic', () => {
    const alert = fixtureEvent().alert;
    expect(silenceMatcherFor(alert)).toEqual({ brand: ['hotel-zeezicht'], author: ['sanne_sprint'] });
    expect(silenceMatcherFor({ ...alert, kind: 'storm', topic: 'terms:storing+inloggen' })).toEqual({ brand: ['hotel-zeezicht'], kind: ['storm'], topic: ['terms:storing+inloggen'] });
    const odd = { ...alert, post: { ...alert.post, author: { ...alert.post.author, handle: 'sanne.de.vries' } } };
    expect(silenceMatcherFor(odd)).toEqual({ brand: ['hotel-zeezicht'], kind: ['negative-post'], topic: ['general'] });
  });

  it('names the actor by Slack username, falling back to the user id', () => {
    expect(slackActor({ id: 'U0CA5', username: 'ana', name: 'ana' })).toBe('slack:ana');
    expect(slackActor({ id: 'U0CA5' })).toBe('slack:U0CA5');
  });
});
