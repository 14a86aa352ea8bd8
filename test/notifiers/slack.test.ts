import { inspect } from 'node:util';
import nock from 'nock';
import { Secrets } from '../../src/config/load';
import type { SlackReceiverConfig } from '../../src/config/schema';
import { fixtureEvent } from '../fixtures/alert-event';
import { RepwatchError } from '../../src/domain/errors';
import { alertMessage, buildSlackMessage, createSlackNotifier } from '../../src/notifiers/slack';
import { captureLogger, failure } from '../helpers';

// A webhook URL is a credential: every test checks it never reaches an error or a log line.
const HOOK_ORIGIN = 'https://hooks.slack.com';
const HOOK_PATH = '/services/T0AB12CD3/B0EF45GH6/q8Xr2vLmN4pTz7KwYs1bHc9d';
const HOOK_URL = `${HOOK_ORIGIN}${HOOK_PATH}`;
const BOT_TOKEN = 'xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx';

const webhookConfig: SlackReceiverConfig = { id: 'comms-slack', type: 'slack', minSeverity: 'high', optional: false, webhookUrlEnv: 'SLACK_WEBHOOK_URL' };
const botConfig: SlackReceiverConfig = { id: 'comms-bot', type: 'slack', minSeverity: 'high', optional: false, botTokenEnv: 'SLACK_BOT_TOKEN', channel: 'C0123ABCD' };
const secrets = new Secrets([
  ['SLACK_WEBHOOK_URL', HOOK_URL],
  ['SLACK_BOT_TOKEN', BOT_TOKEN],
]);


/** Every rendering of the error must be free of the URL's secret path and of the token. */
function expectNoSecrets(err: RepwatchError, lines: string[] = []): void {
  const renderings = [String(err), err.message, JSON.stringify(err), inspect(err, { depth: 10 }), err.stack ?? '', ...lines];
  for (const r of renderings) {
    expect(r).not.toContain(HOOK_PATH);
    expect(r).not.toContain('q8Xr2vLmN4pTz7KwYs1bHc9d');
    expect(r).not.toContain(BOT_TOKEN);
  }
  expect(err.cause).toBeUndefined();
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('buildSlackMessage', () => {
  it('says a reminder is a reminder, with its number', () => {
    const event = { ...fixtureEvent(), reminder: 2 };
    const header = (buildSlackMessage(event).blocks as any[])[0].text.text;
    expect(header).toMatch(/Reminder 2: still not acknowledged: /);
    expect((buildSlackMessage(fixtureEvent()).blocks as any[])[0].text.text).not.toMatch(/Reminder/);
  });

  it('builds a header, the quoted post, author fields, the reason, a context line and ack/resolve buttons', () => {
    const event = fixtureEvent();
    const msg = buildSlackMessage(event);
    const blocks = msg.blocks as any[];
    expect(msg.text).toContain('Hotel Zeezicht');
    expect(blocks.length).toBeLessThanOrEqual(50);
    expect(blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'section', 'context', 'actions']);

    expect(blocks[0].text.type).toBe('plain_text');
    expect(blocks[0].text.text.startsWith('🚨 ')).toBe(true);
    expect(blocks[1].text.text).toMatch(/^> Net ingecheckt bij Hotel Zeezicht/);

    const fields = blocks[2].fields.map((f: any) => f.text).join('\n');
    expect(fields).toContain('@sanne_sprint (Sanne de Vries) ✓ verified');
    expect(fields).toContain('312,400 followers');
    expect(fields).toContain('critical');
    expect(fields).toContain('Hotel Zeezicht');
    expect(fields).toContain('nl');
    expect(blocks[2].fields.length).toBeLessThanOrEqual(10);

    expect(blocks[3].text.text).toContain('*Why it fired*');
    expect(blocks[3].text.text).toContain('account at or above the critical threshold');
    expect(blocks[3].text.text).toContain('*Impact* 0.83: negativity 0.92, reach 0.90, engagement 0.20, velocity 0.10, projected reach 340,000');

    const context = blocks[4].elements.map((e: any) => e.text).join(' ');
    expect(context).toContain('<https://x.com/sanne_sprint/status/1859732001234567890|');
    expect(context).toContain(event.id);
    expect(context).toContain('seq 42');

    // The ids and values of messages already in channels stay as they were; the silence menu names its alert in block_id.
    expect(blocks[5].block_id).toBe(`alert:${event.alertId}`);
    expect(blocks[5].elements).toEqual([
      expect.objectContaining({ type: 'button', action_id: 'ack_alert', value: event.alertId }),
      expect.objectContaining({ type: 'button', action_id: 'resolve_alert', value: event.alertId }),
      expect.objectContaining({ type: 'static_select', action_id: 'silence_alert' }),
    ]);
    expect(blocks[5].elements[2].options.map((o: any) => [o.value, o.text.text])).toEqual([
      ['1h', 'For 1 hour'],
      ['4h', 'For 4 hours'],
      ['tomorrow', 'Until tomorrow 09:00'],
    ]);
  });

  it('keeps the header within 150 characters, the post within 3000 and always has fallback text', () => {
    const longText = 'Wat een drama bij Hotel Zeezicht & nooit meer <!channel> '.repeat(200); // ~11,000 chars, with characters that expand when escaped
    const msg = buildSlackMessage(fixtureEvent({ text: longText, title: `Critical: ${'heel erg lange titel '.repeat(20)}` }));
    const blocks = msg.blocks as any[];
    expect(Array.from(blocks[0].text.text as string).length).toBeLessThanOrEqual(150);
    expect(blocks[0].text.text.endsWith('…')).toBe(true);
    const postText = blocks[1].text.text as string;
    expect(postText.length).toBeLessThanOrEqual(3000);
    expect(postText.endsWith('…')).toBe(true);
    // The post cannot ping the channel: Slack's control characters are escaped.
    expect(postText).not.toContain('<!channel>');
    expect(postText).toContain('&lt;!channel&gt;');
    expect(postText).toContain('&amp;');
    expect(msg.text.length).toBeGreaterThan(0);
    expect(blocks.length).toBeLessThanOrEqual(50);
  });
});

describe('alertMessage (a message rebuilt for the alert\'s new state)', () => {
  const alert = fixtureEvent().alert;
  const types = (blocks: any[]) => blocks.map((b) => b.type);
  const actionIds = (blocks: any[]) => blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements.map((e: any) => e.action_id));
  const stateText = (blocks: any[]) => blocks[5].elements[0].text as string;

  it('acknowledged: says who and when (in each reader\'s time zone), and offers Resolve and Silence only', () => {
    const msg = alertMessage({ ...alert, status: 'acknowledged', acknowledgedBy: 'slack:ana', acknowledgedAt: '2026-11-22T13:02:00.000Z', version: 2 });
    const blocks = msg.blocks as any[];
    expect(types(blocks)).toEqual(['header', 'section', 'section', 'section', 'context', 'context', 'actions']);
    expect(blocks[0].text.text).toMatch(/^🚨 Acknowledged by @ana: Critical: complaint/);
    expect(stateText(blocks)).toBe('✅ Acknowledged by @ana at <!date^1795352520^{date_short_pretty} at {time}|2026-11-22 13:02 UTC>');
    expect(actionIds(blocks)).toEqual(['resolve_alert', 'silence_alert']);
    expect(msg.text).toContain('Acknowledged by @ana');
  });

  it('resolved: who resolved and who acknowledged, and no buttons at all', () => {
    const blocks = alertMessage({
      ...alert,
      status: 'resolved',
      acknowledgedBy: 'slack:ana',
      acknowledgedAt: '2026-11-22T13:02:00.000Z',
      resolvedBy: 'ben@example.com',
      resolvedAt: '2026-11-22T13:40:00.000Z',
    }).blocks as any[];
    expect(types(blocks)).toEqual(['header', 'section', 'section', 'section', 'context', 'context']);
    expect(stateText(blocks)).toMatch(/^✔️ Resolved by ben@example.com at <!date\^1795354800\^.* · ✅ Acknowledged by @ana at <!date\^1795352520\^/);
    expect(actionIds(blocks)).toEqual([]);
  });

  it('silenced: who silenced it and until when, buttons kept (the alert itself is still open)', () => {
    const blocks = alertMessage(alert, { silence: { endsAt: Date.parse('2026-11-23T08:00:00Z'), createdBy: 'slack:ana' } }).blocks as any[];
    expect(stateText(blocks)).toBe('🔕 Silenced by @ana until <!date^1795420800^{date_short_pretty} at {time}|2026-11-23 08:00 UTC>');
    expect(actionIds(blocks)).toEqual(['ack_alert', 'resolve_alert', 'silence_alert']);
  });

  it('escapes the actor: a name cannot ping the channel', () => {
    const blocks = alertMessage({ ...alert, status: 'acknowledged', acknowledgedBy: '<!channel>', acknowledgedAt: '2026-11-22T13:02:00.000Z' }).blocks as any[];
    expect(stateText(blocks)).toContain('&lt;!channel&gt;');
    expect(stateText(blocks)).not.toContain('<!channel>');
  });
});

describe('slack incoming webhook', () => {
  it('posts text and blocks with the author, followers and reason, and Slack answers ok', async () => {
    let sent: any;
    const scope = nock(HOOK_ORIGIN)
      .post(HOOK_PATH, (body) => {
        sent = body;
        return true;
      })
      .reply(200, 'ok', { 'content-type': 'text/plain' });
    const { logger, lines } = captureLogger(() => secrets.values());
    const receipt = await createSlackNotifier(webhookConfig, secrets).send(fixtureEvent(), logger);
    expect(receipt).toEqual({ status: 200 });
    expect(scope.isDone()).toBe(true);
    expect(typeof sent.text).toBe('string');
    expect(sent.text.length).toBeGreaterThan(0);
    const json = JSON.stringify(sent.blocks);
    expect(json).toContain('@sanne_sprint');
    expect(json).toContain('312,400');
    expect(json).toContain('account at or above the critical threshold');
    expect(lines.join('\n')).not.toContain(HOOK_PATH);
  });

  it('429 with Retry-After: 30 is RW_ERR_RECEIVER_RATE_LIMITED with retryAfterMs 30000', async () => {
    nock(HOOK_ORIGIN).post(HOOK_PATH).reply(429, 'rate_limited', { 'content-type': 'text/plain', 'retry-after': '30' });
    const err = await failure(createSlackNotifier(webhookConfig, secrets).send(fixtureEvent(), captureLogger().logger));
    expect(err.code).toBe('RW_ERR_RECEIVER_RATE_LIMITED');
    expect(err.retryable).toBe(true);
    expect(err.retryAfterMs).toBe(30_000);
    expectNoSecrets(err);
  });

  it('500 is RW_ERR_RECEIVER_UNAVAILABLE', async () => {
    nock(HOOK_ORIGIN).post(HOOK_PATH).reply(500, 'internal_error', { 'content-type': 'text/plain' });
    const err = await failure(createSlackNotifier(webhookConfig, secrets).send(fixtureEvent(), captureLogger().logger));
    expect(err.code).toBe('RW_ERR_RECEIVER_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.details).toMatchObject({ status: 500 });
    expectNoSecrets(err);
  });

  it('404 no_service is RW_ERR_RECEIVER_REJECTED and not retryable, without the URL anywhere', async () => {
    nock(HOOK_ORIGIN).post(HOOK_PATH).reply(404, 'no_service', { 'content-type': 'text/plain' });
    const err = await failure(createSlackNotifier(webhookConfig, secrets).send(fixtureEvent(), captureLogger().logger));
    expect(err.code).toBe('RW_ERR_RECEIVER_REJECTED');
    expect(err.retryable).toBe(false);
    expect(err.details).toEqual({ status: 404, slackError: 'no_service' });
    expect(err.message).toContain('comms-slack');
    expectNoSecrets(err);
  });

  it('400 invalid_payload is RW_ERR_RECEIVER_REJECTED', async () => {
    nock(HOOK_ORIGIN).post(HOOK_PATH).reply(400, 'invalid_payload', { 'content-type': 'text/plain' });
    const err = await failure(createSlackNotifier(webhookConfig, secrets).send(fixtureEvent(), captureLogger().logger));
    expect(err.code).toBe('RW_ERR_RECEIVER_REJECTED');
    expect(err.details).toMatchObject({ status: 400, slackError: 'invalid_payload' });
    expectNoSecrets(err);
  });

  it('a network failure is RW_ERR_RECEIVER_UNAVAILABLE, and the library message naming the URL is not passed on', async () => {
    // No interceptor: nock refuses the connection with an error whose message contains the full URL.
    const err = await failure(createSlackNotifier(webhookConfig, secrets).send(fixtureEvent(), captureLogger().logger));
    expect(err.code).toBe('RW_ERR_RECEIVER_UNAVAILABLE');
    expectNoSecrets(err);
  });

  it('the notifier object itself does not expose the URL', () => {
    const notifier = createSlackNotifier(webhookConfig, secrets);
    expect(JSON.stringify(notifier)).not.toContain(HOOK_PATH);
    expect(inspect(notifier, { depth: 10 })).not.toContain(HOOK_PATH);
  });
});

describe('slack bot token (chat.postMessage)', () => {
  const api = () => nock('https://slack.com').matchHeader('authorization', `Bearer ${BOT_TOKEN}`);

  it('returns the message ts as the receipt reference', async () => {
    let form: URLSearchParams | undefined;
    api()
      .post('/api/chat.postMessage', (body) => {
        form = new URLSearchParams(typeof body === 'string' ? body : new URLSearchParams(body as Record<string, string>).toString());
        return true;
      })
      .reply(200, {
        ok: true,
        channel: 'C0123ABCD',
        ts: '1732266904.123456',
        message: { type: 'message', subtype: 'bot_message', text: 'Critical: complaint about Hotel Zeezicht', ts: '1732266904.123456', bot_id: 'B0123ABCD' },
      });
    const receipt = await createSlackNotifier(botConfig, secrets).send(fixtureEvent(), captureLogger().logger);
    expect(receipt).toEqual({ status: 200, reference: '1732266904.123456' });
    expect(form?.get('channel')).toBe('C0123ABCD');
    expect(form?.get('text')).toContain('Hotel Zeezicht');
    const blocks = JSON.parse(form?.get('blocks') ?? '[]');
    expect(JSON.stringify(blocks)).toContain('312,400');
  });

  it('ok:false channel_not_found is RW_ERR_RECEIVER_REJECTED', async () => {
    api().post('/api/chat.postMessage').reply(200, { ok: false, error: 'channel_not_found' });
    const err = await failure(createSlackNotifier(botConfig, secrets).send(fixtureEvent(), captureLogger().logger));
    expect(err.code).toBe('RW_ERR_RECEIVER_REJECTED');
    expect(err.retryable).toBe(false);
    expect(err.details).toEqual({ status: 200, slackError: 'channel_not_found' });
    expectNoSecrets(err);
  });

  it('ok:false invalid_auth is RW_ERR_RECEIVER_REJECTED and does not show the token', async () => {
    api().post('/api/chat.postMessage').reply(200, { ok: false, error: 'invalid_auth' });
    const err = await failure(createSlackNotifier(botConfig, secrets).send(fixtureEvent(), captureLogger().logger));
    expect(err.code).toBe('RW_ERR_RECEIVER_REJECTED');
    expectNoSecrets(err);
  });

  it('429 with Retry-After is RW_ERR_RECEIVER_RATE_LIMITED at once (no waiting inside the SDK)', async () => {
    api().post('/api/chat.postMessage').reply(429, { ok: false, error: 'ratelimited' }, { 'retry-after': '12' });
    const started = Date.now();
    const err = await failure(createSlackNotifier(botConfig, secrets).send(fixtureEvent(), captureLogger().logger));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(err.code).toBe('RW_ERR_RECEIVER_RATE_LIMITED');
    expect(err.retryAfterMs).toBe(12_000);
    expectNoSecrets(err);
  });

  it('503 is RW_ERR_RECEIVER_UNAVAILABLE', async () => {
    api().post('/api/chat.postMessage').reply(503, 'Service Unavailable', { 'content-type': 'text/plain' });
    const err = await failure(createSlackNotifier(botConfig, secrets).send(fixtureEvent(), captureLogger().logger));
    expect(err.code).toBe('RW_ERR_RECEIVER_UNAVAILABLE');
    expect(err.details).toMatchObject({ status: 503 });
    expectNoSecrets(err);
  });

  it('429 without a usable Retry-After is still retried later (RW_ERR_RECEIVER_UNAVAILABLE)', async () => {
    api().post('/api/chat.postMessage').reply(429, { ok: false, error: 'ratelimited' });
    const err = await failure(createSlackNotifier(botConfig, secrets).send(fixtureEvent(), captureLogger().logger));
    expect(err.code).toBe('RW_ERR_RECEIVER_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expectNoSecrets(err);
  });

  it('a network failure is RW_ERR_RECEIVER_UNAVAILABLE', async () => {
    // No interceptor: the connection is refused (nock's disableNetConnect).
    const err = await failure(createSlackNotifier(botConfig, secrets).send(fixtureEvent(), captureLogger().logger));
    expect(err.code).toBe('RW_ERR_RECEIVER_UNAVAILABLE');
    expectNoSecrets(err);
  });
});
