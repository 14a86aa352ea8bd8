import { createHmac, timingSafeEqual } from 'node:crypto';
import { LogLevel, WebClient, type KnownBlock } from '@slack/web-api';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Matcher } from '../config/routing-schema';
import type { Alert } from '../domain/alert';
import { activeSilence } from '../domain/routing';
import { isRepwatchError, RepwatchError, type ErrorCode } from '../domain/errors';
import { redactUrl } from '../logger';
import { ACTIONS_BLOCK_PREFIX, alertMessage, SILENCE_CHOICES, type AlertMessageOptions, type SilenceChoice } from '../notifiers/slack';
import type { ApiDeps } from './deps';

/**
 * Slack interactivity: the Acknowledge, Resolve and Silence controls on repwatch's Slack messages.
 * Slack POSTs each click here (the app's Interactivity "Request URL"); the request is verified
 * with the app's signing secret, answered at once, and the change is then made as the Slack user
 * who clicked and shown in the message itself.
 * https://docs.slack.dev/interactivity/handling-user-interaction
 */

/** Requests signed further from the server clock are refused, so a captured request cannot be replayed later. */
const MAX_CLOCK_SKEW_S = 5 * 60;
const SLACK_TIMEOUT_MS = 10_000;
const HOUR_MS = 3_600_000;
/** Brands have no time zone of their own yet; the comms teams repwatch serves are in this one. */
export const DEFAULT_TIME_ZONE = 'Europe/Amsterdam';
const MORNING_HOUR = 9;

// ---- request verification ----

export type SignatureProblem = 'missing' | 'stale' | 'mismatch';

/**
 * Slack's v0 request signature: HMAC-SHA256 (hex) of `v0:{timestamp}:{raw body}` with the app's
 * signing secret, compared in constant time; timestamps more than 5 minutes from `now` are refused
 * so a captured request cannot be replayed later. Returns undefined when the request is genuine.
 * https://api.slack.com/docs/verifying-requests-from-slack
 */
export function checkSlackSignature(
  secret: string,
  headers: { timestamp?: unknown; signature?: unknown },
  rawBody: Buffer,
  now: number,
): SignatureProblem | undefined {
  const { timestamp, signature } = headers;
  if (typeof timestamp !== 'string' || typeof signature !== 'string' || !/^\d{1,12}$/.test(timestamp)) return 'missing';
  if (Math.abs(now / 1000 - Number(timestamp)) > MAX_CLOCK_SKEW_S) return 'stale';
  const expected = Buffer.from(`v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(rawBody).digest('hex')}`);
  const given = Buffer.from(signature);
  // The length is public (always "v0=" and 64 hex digits); only the content is compared in constant time.
  return given.length === expected.length && timingSafeEqual(given, expected) ? undefined : 'mismatch';
}

const PROBLEM_WORDS: Record<SignatureProblem, string> = {
  missing: 'the request lacks the X-Slack-Signature or X-Slack-Request-Timestamp header',
  stale: 'the request timestamp is more than 5 minutes from the server clock',
  mismatch: 'the request signature does not match (check SLACK_SIGNING_SECRET)',
};

// ---- the block_actions payload (only the fields repwatch reads) ----

const actionSchema = z.object({
  action_id: z.string(),
  block_id: z.string().optional(),
  type: z.string(),
  value: z.string().optional(),
  selected_option: z.object({ value: z.string() }).nullish(),
});
type BlockAction = z.infer<typeof actionSchema>;

const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().min(1), username: z.string().optional(), name: z.string().optional() }),
  container: z.object({ type: z.string(), message_ts: z.string().optional(), channel_id: z.string().optional(), is_ephemeral: z.boolean().optional() }).optional(),
  channel: z.object({ id: z.string() }).nullish(),
  message: z.object({ ts: z.string().optional() }).nullish(),
  response_url: z.string().optional(),
  actions: z.array(actionSchema),
});
type BlockActions = z.infer<typeof blockActionsSchema>;

/** Who clicked, as the alert records it: `slack:<username>` (the user id when Slack sends no name). */
export function slackActor(user: { id: string; username?: string; name?: string }): string {
  return `slack:${user.username || user.name || user.id}`;
}

// ---- silences from Slack ----

/**
 * What a silence set on this alert holds back: a storm's brand and topic, or a single-post alert's
 * brand and author (the same person posting again). Authors whose handle a matcher cannot hold fall
 * back to the brand, kind and topic.
 */
export function silenceMatcherFor(alert: Alert): Matcher {
  if (alert.kind === 'storm') return { brand: [alert.brandId], kind: ['storm'], topic: [alert.topic] };
  const handle = alert.post.author.handle.replace(/^@/, '');
  if (/^\w{1,50}$/.test(handle)) return { brand: [alert.brandId], author: [handle] };
  return { brand: [alert.brandId], kind: [alert.kind], topic: [alert.topic] };
}

/** UTC offset (ms) of a time zone at instant t. */
function offsetAt(timeZone: string, t: number): number {
  const parts: Record<string, number> = {};
  const format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  for (const p of format.formatToParts(new Date(t))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const s = Math.floor(t / 1000) * 1000;
  return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) - s;
}

/** When a silence chosen at `now` ends: in 1 or 4 hours, or at 09:00 tomorrow on the local clock. */
export function silenceEnd(choice: SilenceChoice, now: number, timeZone = DEFAULT_TIME_ZONE): number {
  if (choice === '1h') return now + HOUR_MS;
  if (choice === '4h') return now + 4 * HOUR_MS;
  const local = new Date(now + offsetAt(timeZone, now));
  const wall = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + 1, MORNING_HOUR);
  // Twice: the offset that counts is the one at 09:00 tomorrow, which differs from today's on the night clocks change.
  const guess = wall - offsetAt(timeZone, wall);
  return wall - offsetAt(timeZone, guess);
}

/** Slack's mrkdwn control characters, so echoed ids and names cannot ping anyone. */
const escapeMrkdwn = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const isSilenceChoice = (v: string | undefined): v is SilenceChoice => v !== undefined && Object.hasOwn(SILENCE_CHOICES, v);

// ---- talking back to Slack ----

/** response_url is Slack's: never POST anywhere else, whatever a payload says. */
function slackResponseUrl(url: string | undefined): URL | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    const host = u.hostname.toLowerCase();
    return u.protocol === 'https:' && (host === 'hooks.slack.com' || host.endsWith('.slack.com') || host.endsWith('.slack-gov.com')) ? u : undefined;
  } catch {
    return undefined;
  }
}

/** A Slack error token (e.g. message_not_found) or SDK error code, never the SDK's message (it may hold the token). */
function slackFailure(err: unknown): string {
  const e = err as { code?: unknown; data?: { error?: unknown } };
  const token = typeof e?.data?.error === 'string' && /^[a-z0-9_]{1,64}$/.test(e.data.error) ? e.data.error : undefined;
  return [typeof e?.code === 'string' ? e.code : 'unexpected_error', token].filter(Boolean).join(': ');
}

const VERBS: Record<string, string> = { ack_alert: 'acknowledge', resolve_alert: 'resolve', silence_alert: 'silence' };

interface Outcome {
  alert: Alert;
  silence?: AlertMessageOptions['silence'];
}

export async function slackActions(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const slack = deps.slack;
  if (!slack?.signingSecret) throw new RepwatchError('RW_ERR_CONFIG_INVALID', 'Slack actions need SLACK_SIGNING_SECRET');
  const { signingSecret, botToken } = slack;
  const logger = deps.logger;
  // No SDK retries and no waiting out rate limits: a late update is worth less than a free server.
  const client = botToken
    ? new WebClient(botToken, { rejectRateLimitedCalls: true, retryConfig: { retries: 0 }, timeout: SLACK_TIMEOUT_MS, logLevel: LogLevel.ERROR })
    : undefined;

  // Work that runs after the reply; the server's close waits for it, so no click is half done.
  const pending = new Set<Promise<void>>();
  app.addHook('onClose', async () => {
    await Promise.allSettled([...pending]);
  });

  // This plugin's scope only: every body stays raw bytes, because the signature covers exactly those.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const refuse = (reply: FastifyReply, status: number, code: ErrorCode, message: string) => reply.code(status).send({ error: { code, message } });

  app.post('/actions', async (request, reply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const problem = checkSlackSignature(
      signingSecret,
      { timestamp: request.headers['x-slack-request-timestamp'], signature: request.headers['x-slack-signature'] },
      raw,
      deps.now(),
    );
    if (problem) {
      logger.warn({ problem, ip: request.ip }, 'slack action refused: request not verified');
      return refuse(reply, 401, 'RW_ERR_UNAUTHORIZED', `Slack request not verified: ${PROBLEM_WORDS[problem]}`);
    }
    if (!String(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return refuse(reply, 400, 'RW_ERR_INPUT_INVALID', 'Slack sends actions as application/x-www-form-urlencoded');
    }
    let payload: unknown;
    try {
      payload = JSON.parse(new URLSearchParams(raw.toString('utf8')).get('payload') ?? '');
    } catch {
      return refuse(reply, 400, 'RW_ERR_INPUT_INVALID', 'the body has no JSON "payload" field');
    }
    if ((payload as { type?: unknown })?.type !== 'block_actions') {
      // Shortcuts, view submissions and the like: nothing of repwatch's, but Slack wants its 200.
      logger.debug({ type: String((payload as { type?: unknown })?.type) }, 'slack interaction ignored');
      return reply.code(200).send();
    }
    const parsed = blockActionsSchema.safeParse(payload);
    if (!parsed.success) return refuse(reply, 400, 'RW_ERR_INPUT_INVALID', 'the block_actions payload lacks user or actions');

    // Slack gives up after 3 s, and the lifecycle waits for the brand's lock: answer first, then act.
    void reply.code(200).send();
    const work = new Promise<void>((sent) => reply.then(() => sent(), () => sent()))
      .then(() => perform(parsed.data))
      .catch((err) => logger.error({ err: isRepwatchError(err) ? err.code : String(err) }, 'slack action failed unexpectedly'));
    pending.add(work);
    void work.finally(() => pending.delete(work));
    return reply;
  });

  async function perform(payload: BlockActions): Promise<void> {
    const by = slackActor(payload.user);
    let shown: Outcome | undefined;
    for (const action of payload.actions) {
      const verb = VERBS[action.action_id];
      if (!verb) {
        logger.debug({ action: action.action_id }, 'slack action not repwatch’s: ignored');
        continue;
      }
      const alertId = alertIdOf(action);
      try {
        shown = await act(action, alertId, by);
        logger.info({ slackUser: payload.user.id, by, action: action.action_id, alert: alertId }, 'slack action done');
      } catch (err) {
        const reason = isRepwatchError(err) ? err.message : 'an unexpected error (see the repwatch log)';
        const code = isRepwatchError(err) ? err.code : 'unexpected';
        logger.warn({ slackUser: payload.user.id, action: action.action_id, alert: alertId, code, err: isRepwatchError(err) ? undefined : String(err) }, 'slack action failed');
        await respond(payload, { response_type: 'ephemeral', replace_original: false, text: escapeMrkdwn(`Could not ${verb} ${alertId ? `alert ${alertId}` : 'the alert'}: ${reason}`) });
        // Someone else got there first (CLI, console, another click): show the message as things now stand.
        if (isRepwatchError(err) && err.code === 'RW_ERR_ALERT_STATE' && alertId) {
          const current = await deps.store.getAlert(alertId).catch(() => undefined);
          if (current) shown = { alert: current };
        }
      }
    }
    if (!shown) return;
    const silence = shown.silence ?? (await silenceOn(shown.alert));
    await updateMessage(payload, alertMessage(shown.alert, { silence }));
  }

  /** A silence in force on this alert (routing.yaml's or a stored one), so a rebuilt message keeps showing it. */
  async function silenceOn(alert: Alert): Promise<AlertMessageOptions['silence']> {
    if (alert.status === 'resolved') return undefined;
    const now = deps.now();
    try {
      const routable = { brandId: alert.brandId, kind: alert.kind, severity: alert.severity, lang: alert.post.lang, platform: alert.post.platform, topic: alert.topic, authorHandle: alert.post.author.handle };
      const found = activeSilence([...deps.config.routing.silences, ...(await deps.silences.active(now))], routable, now);
      return found ? { endsAt: found.endsAt, createdBy: found.createdBy } : undefined;
    } catch (err) {
      // The message is still worth updating without it.
      logger.warn({ alert: alert.id, code: isRepwatchError(err) ? err.code : 'unexpected' }, 'could not read silences for the Slack message');
      return undefined;
    }
  }

  function alertIdOf(action: BlockAction): string | undefined {
    if (action.action_id !== 'silence_alert') return action.value || undefined;
    return action.block_id?.startsWith(ACTIONS_BLOCK_PREFIX) ? action.block_id.slice(ACTIONS_BLOCK_PREFIX.length) : undefined;
  }

  async function act(action: BlockAction, alertId: string | undefined, by: string): Promise<Outcome> {
    if (!alertId) throw new RepwatchError('RW_ERR_INPUT_INVALID', 'the button carries no alert id');
    if (action.action_id === 'ack_alert') return { alert: await deps.alerts.acknowledge(alertId, by) };
    if (action.action_id === 'resolve_alert') return { alert: await deps.alerts.resolve(alertId, by) };

    const choice = action.selected_option?.value ?? action.value;
    if (!isSilenceChoice(choice)) throw new RepwatchError('RW_ERR_INPUT_INVALID', `"${String(choice).slice(0, 40)}" is not a silence repwatch offers`);
    const alert = await deps.store.getAlert(alertId);
    if (!alert) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no alert "${alertId}"`);
    const now = deps.now();
    const silence = await deps.silences.create(
      { match: silenceMatcherFor(alert), endsAt: silenceEnd(choice, now), createdBy: by, comment: `${SILENCE_CHOICES[choice]}, from Slack, on alert ${alert.id}` },
      now,
    );
    return { alert, silence: { endsAt: silence.endsAt, createdBy: silence.createdBy } };
  }

  /** The clicked message in place: chat.update with the bot token, else (or when that fails) response_url. */
  async function updateMessage(payload: BlockActions, message: { text: string; blocks: unknown[] }): Promise<void> {
    const channel = payload.channel?.id ?? payload.container?.channel_id;
    const ts = payload.container?.message_ts ?? payload.message?.ts;
    if (client && channel && ts && !payload.container?.is_ephemeral) {
      try {
        await client.chat.update({ channel, ts, text: message.text, blocks: message.blocks as KnownBlock[] });
        return;
      } catch (err) {
        // e.g. cant_update_message for a message an incoming webhook posted: response_url can still replace it.
        logger.warn({ channel, ts, slackError: slackFailure(err) }, 'slack chat.update failed; trying response_url');
      }
    }
    await respond(payload, { replace_original: true, text: message.text, blocks: message.blocks });
  }

  async function respond(payload: BlockActions, body: Record<string, unknown>): Promise<void> {
    const url = slackResponseUrl(payload.response_url);
    if (!url) {
      logger.warn({ responseUrl: payload.response_url ? redactUrl(payload.response_url) : undefined }, 'slack payload has no usable response_url; the user is not told');
      return;
    }
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(SLACK_TIMEOUT_MS) });
      if (!res.ok) logger.warn({ target: redactUrl(url.href), status: res.status }, 'slack response_url refused the message');
      await res.body?.cancel();
    } catch (err) {
      logger.warn({ target: redactUrl(url.href), err: (err as Error)?.name }, 'slack response_url could not be reached');
    }
  }
}
