import { ErrorCode as WebhookErrorCode, IncomingWebhook, type FetchFunction, type IncomingWebhookSendArguments } from '@slack/webhook';
import { ErrorCode as WebApiErrorCode, LogLevel, WebClient, type KnownBlock } from '@slack/web-api';
import type { Secrets } from '../config/load';
import type { SlackReceiverConfig } from '../config/schema';
import type { Alert, AlertEvent, Severity } from '../domain/alert';
import type { Digest } from '../domain/digest';
import { RepwatchError } from '../domain/errors';
import { redactUrl, type Logger } from '../logger';
import { RECEIVER_CODES, httpError, networkError, parseRetryAfter } from './http';
import { truncate } from './text';
import { digestMessage } from './slack-digest';
import type { DeliveryReceipt, Notifier, SendContext } from './notifier';

/** The receiver config has no timeout for Slack; Slack answers fast or not at all. */
const SLACK_TIMEOUT_MS = 15_000;

// Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks).
const HEADER_MAX = 150;
const SECTION_TEXT_MAX = 3000;
const FIELD_TEXT_MAX = 2000;
const FALLBACK_TEXT_MAX = 3000;

const SEVERITY_EMOJI: Record<Severity, string> = {
  critical: '🚨',
  high: '🔴',
  medium: '🟠',
  low: '🟡',
  info: '🔵',
};

/** Slack's mrkdwn treats &, < and > as control characters: a post saying "<!channel>" must not ping anyone. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escaped, quoted ("> ") text that stays within `limit` after escaping and quoting. */
function quoteWithin(text: string, limit: number): string {
  const chars = Array.from(text.replace(/\r\n?/g, '\n'));
  let out = '> ';
  for (let i = 0; i < chars.length; i++) {
    const piece = chars[i] === '\n' ? '\n> ' : escapeMrkdwn(chars[i]);
    // Keep one character free for the ellipsis whenever more text follows.
    const room = i < chars.length - 1 ? limit - 1 : limit;
    if (out.length + piece.length > room) return `${out}…`;
    out += piece;
  }
  return out;
}

const formatCount = (n: number) => new Intl.NumberFormat('en-US').format(n);
const formatScore = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');

/** Only http(s) links, and without the characters that end a Slack <url|label> link early. */
function safeLink(url: string, label: string): string {
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return escapeMrkdwn(label);
    const href = u.href.replace(/</g, '%3C').replace(/>/g, '%3E').replace(/\|/g, '%7C');
    return `<${href}|${escapeMrkdwn(label)}>`;
  } catch {
    return escapeMrkdwn(label);
  }
}

const plain = (text: string) => ({ type: 'plain_text', text, emoji: true });
const field = (label: string, value: string) => ({ type: 'mrkdwn', text: truncate(`*${label}*\n${value}`, FIELD_TEXT_MAX) });

/** How a message names a change of an alert it announced before. */
const CHANGE_WORDS: Partial<Record<AlertEvent['type'], (e: AlertEvent) => string>> = {
  'alert.updated': () => 'Update',
  'alert.escalated': () => 'Escalated to on-call (not acknowledged in time)',
  'alert.acknowledged': (e) => `Acknowledged by ${actorLabel(e.by)}`,
  'alert.resolved': (e) => `Resolved by ${actorLabel(e.by)}`,
};

/** The silence menu's choices (option values), offered on every open alert. */
export const SILENCE_CHOICES = { '1h': 'For 1 hour', '4h': 'For 4 hours', tomorrow: 'Until tomorrow 09:00' } as const;
export type SilenceChoice = keyof typeof SILENCE_CHOICES;

/** The actions block names its alert (block_id), so the silence menu knows which alert it is for. */
export const ACTIONS_BLOCK_PREFIX = 'alert:';
const BLOCK_ID_MAX = 255;

/** Who acted, as people read it: `slack:ana` is the Slack user @ana; CLI and API names stay as they are. */
function actorLabel(by: string | undefined): string {
  if (!by) return 'someone';
  return by.startsWith('slack:') ? `@${by.slice('slack:'.length)}` : by;
}

/** A time Slack shows in each reader's own time zone ("today at 14:02"), with a UTC fallback. */
function slackTime(at: string | number): string {
  const ms = typeof at === 'number' ? at : Date.parse(at);
  if (!Number.isFinite(ms)) return 'unknown time';
  const fallback = `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} at {time}|${fallback}>`;
}

export interface AlertMessageOptions {
  /** What the header says happened ("Update", "Reminder 2: …"); default: the alert's state. */
  change?: string;
  /** The stream event the message was built from, named in the context line. */
  event?: { id: string; seq: number };
  /** A silence just set for this alert (from Slack), shown with who set it and until when. */
  silence?: { endsAt: number; createdBy: string };
}

/** One line on who did what and when; undefined while the alert is simply open. */
function stateLine(alert: Alert, silence: AlertMessageOptions['silence']): string | undefined {
  const parts: string[] = [];
  if (alert.status === 'resolved') parts.push(`✔️ Resolved by ${escapeMrkdwn(actorLabel(alert.resolvedBy))} at ${slackTime(alert.resolvedAt ?? alert.updatedAt)}`);
  if (alert.acknowledgedBy) parts.push(`✅ Acknowledged by ${escapeMrkdwn(actorLabel(alert.acknowledgedBy))} at ${slackTime(alert.acknowledgedAt ?? alert.updatedAt)}`);
  if (silence && alert.status !== 'resolved') parts.push(`🔕 Silenced by ${escapeMrkdwn(actorLabel(silence.createdBy))} until ${slackTime(silence.endsAt)}`);
  return parts.length ? truncate(parts.join(' · '), SECTION_TEXT_MAX) : undefined;
}

/** Only the buttons that still apply: nothing to do on a resolved alert, no second acknowledgement. */
function actionElements(alert: Alert): unknown[] {
  if (alert.status === 'resolved') return [];
  const elements: unknown[] = [];
  if (alert.status === 'triggered') elements.push({ type: 'button', text: plain('Acknowledge'), style: 'primary', action_id: 'ack_alert', value: alert.id });
  elements.push({ type: 'button', text: plain('Resolve'), action_id: 'resolve_alert', value: alert.id });
  if (ACTIONS_BLOCK_PREFIX.length + alert.id.length <= BLOCK_ID_MAX) {
    elements.push({
      type: 'static_select',
      action_id: 'silence_alert',
      placeholder: plain('Silence…'),
      options: (Object.keys(SILENCE_CHOICES) as SilenceChoice[]).map((value) => ({ text: plain(SILENCE_CHOICES[value]), value })),
    });
  }
  return elements;
}

/**
 * The Slack message for an alert in its current state, as Block Kit plus the top-level `text`
 * Slack uses for notifications and for clients that cannot show blocks. Pure: the same alert and
 * options give the same message. Used for new messages and to update a message in place.
 */
export function alertMessage(alert: Alert, options: AlertMessageOptions = {}): { text: string; blocks: unknown[] } {
  const { post } = alert;
  const emoji = SEVERITY_EMOJI[alert.severity] ?? '⚠️';

  const author = [`@${post.author.handle}`, post.author.name ? ` (${post.author.name})` : '', post.author.verified ? ' ✓ verified' : ''].join('');
  const i = alert.impact;
  const impact = `*Impact* ${formatScore(i.score)}: negativity ${formatScore(i.negativity)}, reach ${formatScore(i.reach)}, engagement ${formatScore(i.engagement)}, velocity ${formatScore(i.velocity)}, projected reach ${formatCount(i.projectedReach)}`;
  const whyPrefix = '*Why it fired*\n';
  const why = `${whyPrefix}${truncate(escapeMrkdwn(alert.reason), SECTION_TEXT_MAX - whyPrefix.length - impact.length - 1)}\n${impact}`;

  const change =
    options.change ??
    (alert.status === 'resolved' ? `Resolved by ${actorLabel(alert.resolvedBy)}` : alert.status === 'acknowledged' ? `Acknowledged by ${actorLabel(alert.acknowledgedBy)}` : undefined);
  const reference = [
    alert.caseId ? `case ${escapeMrkdwn(alert.caseId)}` : '',
    alert.count > 1 ? `${alert.count} posts` : '',
    options.event ? `event ${escapeMrkdwn(options.event.id)} · seq ${options.event.seq}` : '',
  ].filter(Boolean);
  const state = stateLine(alert, options.silence);
  const actions = actionElements(alert);
  const blocks = [
    { type: 'header', text: plain(truncate(`${emoji} ${change ? `${change}: ` : ''}${alert.title}`, HEADER_MAX)) },
    { type: 'section', text: { type: 'mrkdwn', text: post.text.trim() ? quoteWithin(post.text, SECTION_TEXT_MAX) : '_(no text)_' } },
    {
      type: 'section',
      fields: [
        field('Author', escapeMrkdwn(author)),
        field('Reach', `${formatCount(post.author.followers)} followers`),
        field('Severity', `${emoji} ${alert.severity}`),
        field('Brand', escapeMrkdwn(alert.brandName)),
        field('Language', escapeMrkdwn(post.lang || 'unknown')),
        field('Platform', escapeMrkdwn(post.platform)),
      ],
    },
    { type: 'section', text: { type: 'mrkdwn', text: why } },
    {
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: truncate(safeLink(post.url, `Open the post on ${post.platform}`), SECTION_TEXT_MAX) },
        ...(reference.length ? [{ type: 'mrkdwn', text: truncate(reference.join(' · '), SECTION_TEXT_MAX) }] : []),
      ],
    },
    ...(state ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: state }] }] : []),
    ...(actions.length ? [{ type: 'actions', block_id: truncate(`${ACTIONS_BLOCK_PREFIX}${alert.id}`, BLOCK_ID_MAX), elements: actions }] : []),
  ];

  const text = truncate(`${emoji} ${change ? `${change}: ` : ''}${escapeMrkdwn(alert.title)}`, FALLBACK_TEXT_MAX);
  return { text, blocks };
}

/** The Slack message for one alert event (pure: the same event gives the same message). */
export function buildSlackMessage(event: AlertEvent): { text: string; blocks: unknown[] } {
  const change = event.reminder ? `Reminder ${event.reminder}: still not acknowledged` : CHANGE_WORDS[event.type]?.(event);
  return alertMessage(event.alert, { change, event });
}

/** Slack error strings (e.g. no_service, channel_not_found) are safe to log; anything else is dropped. */
function slackErrorToken(value: unknown): string | undefined {
  if (typeof value === 'string' && /^[a-z0-9_]{1,64}$/.test(value.trim())) return value.trim();
  if (value && typeof value === 'object') return slackErrorToken((value as { error?: unknown }).error);
  return undefined;
}

function withSlackError(err: RepwatchError, slackError: string | undefined): RepwatchError {
  if (!slackError) return err;
  return new RepwatchError(err.code, `${err.message} (${slackError})`, {
    retryAfterMs: err.retryAfterMs,
    details: { ...err.details, slackError },
  });
}

/** ok:false answers Slack documents as transient; every other platform error is a permanent refusal. */
const TRANSIENT_PLATFORM_ERRORS = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

/**
 * Incoming-webhook failures. @slack/webhook 8 exposes only statusCode/statusMessage/body on its
 * HTTP error (no headers), so Retry-After comes from the response the recording fetch saw.
 */
function mapWebhookError(err: unknown, seen: { status: number; retryAfter: string | null } | undefined, what: string): RepwatchError {
  const e = err as { code?: unknown; statusCode?: unknown; body?: unknown; original?: unknown };
  if (e?.code === WebhookErrorCode.HTTPError && typeof e.statusCode === 'number') {
    const retryAfterMs = seen?.status === e.statusCode ? parseRetryAfter(seen.retryAfter, Date.now()) : undefined;
    return withSlackError(httpError(e.statusCode, what, RECEIVER_CODES, retryAfterMs), slackErrorToken(e.body));
  }
  if (e?.code === WebhookErrorCode.RequestError) return networkError(e.original, what, RECEIVER_CODES);
  return unexpected(what);
}

/** WebClient failures, by the SDK's error codes. */
function mapWebApiError(err: unknown, what: string): RepwatchError {
  const e = err as { code?: unknown; retryAfter?: unknown; statusCode?: unknown; headers?: Record<string, string>; body?: unknown; data?: { error?: unknown }; original?: unknown };
  switch (e?.code) {
    case WebApiErrorCode.RateLimitedError:
      // rejectRateLimitedCalls: the SDK hands over Retry-After as whole seconds.
      return httpError(429, what, RECEIVER_CODES, typeof e.retryAfter === 'number' ? e.retryAfter * 1000 : undefined);
    case WebApiErrorCode.HTTPError:
      if (typeof e.statusCode !== 'number') break;
      return withSlackError(httpError(e.statusCode, what, RECEIVER_CODES, parseRetryAfter(e.headers?.['retry-after'], Date.now())), slackErrorToken(e.body));
    case WebApiErrorCode.PlatformError: {
      // HTTP 200 with ok:false: Slack's answer is the error string, not the status.
      const slackError = slackErrorToken(e.data?.error) ?? 'unknown_error';
      if (slackError === 'ratelimited') return new RepwatchError(RECEIVER_CODES.rateLimited, `${what} is rate limited (${slackError})`, { details: { status: 200, slackError } });
      const code = TRANSIENT_PLATFORM_ERRORS.has(slackError) ? RECEIVER_CODES.retryable : RECEIVER_CODES.permanent;
      return new RepwatchError(code, `${what} refused the message (${slackError})`, { details: { status: 200, slackError } });
    }
    case WebApiErrorCode.RequestError:
      return networkError(e.original, what, RECEIVER_CODES);
  }
  // The only uncoded WebClient error is a 429 whose Retry-After is missing or unparseable: retry later.
  return new RepwatchError(RECEIVER_CODES.retryable, `${what} failed without a usable answer (for example a 429 without Retry-After)`);
}

/** Never built from the SDK error: its message or fields may hold the URL or the token. */
function unexpected(what: string): RepwatchError {
  return new RepwatchError(RECEIVER_CODES.retryable, `${what} failed with an unexpected error from the Slack SDK`);
}

/**
 * Slack through the official SDK: an incoming webhook (fixed channel, no message ts) or a bot
 * token with chat.postMessage (returns the ts so later events can thread under the first).
 * The URL and token live only in this closure, never on the returned object or in errors.
 */
export function createSlackNotifier(config: SlackReceiverConfig, secrets: Secrets): Notifier {
  const what = `slack receiver "${config.id}"`;

  if (config.webhookUrlEnv) {
    const url = secrets.get(config.webhookUrlEnv);
    const target = redactUrl(url);
    const post = async (message: { text: string; blocks: unknown[] }, logger: Logger): Promise<DeliveryReceipt> => {
      // One hook per send, so the recorded response belongs to this send even when sends overlap.
      let seen: { status: number; retryAfter: string | null } | undefined;
      const recordingFetch: FetchFunction = async (input, init) => {
        const res = await fetch(input, init);
        seen = { status: res.status, retryAfter: res.headers.get('retry-after') };
        return res;
      };
      const hook = new IncomingWebhook(url, { fetch: recordingFetch, timeout: SLACK_TIMEOUT_MS, retryConfig: { retries: 0 } });
      try {
        await hook.send({
          text: message.text,
          blocks: message.blocks as IncomingWebhookSendArguments['blocks'],
          unfurl_links: false,
          unfurl_media: false,
        });
      } catch (err) {
        throw mapWebhookError(err, seen, what);
      }
      logger.debug({ target, status: seen?.status }, 'slack webhook accepted the message');
      return { status: seen?.status ?? 200 };
    };
    return {
      receiverId: config.id,
      type: 'slack',
      send: (event: AlertEvent, logger: Logger) => post(buildSlackMessage(event), logger),
      sendDigest: (digest: Digest, logger: Logger) => post(digestMessage(digest), logger),
    };
  }

  const token = secrets.get(config.botTokenEnv!);
  const channel = config.channel;
  if (!channel) throw new RepwatchError('RW_ERR_CONFIG_INVALID', `${what}: a bot token needs a channel`);
  // No SDK retries and no waiting out 429s inside a job: the delivery queue owns retries.
  const client = new WebClient(token, {
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: SLACK_TIMEOUT_MS,
    logLevel: LogLevel.ERROR,
  });
  const post = async (message: { text: string; blocks: unknown[] }, logger: Logger, context?: SendContext): Promise<DeliveryReceipt> => {
    let ts: string | undefined;
    try {
      const res = await client.chat.postMessage({
        channel,
        // Later events of the same case reply in the thread its first message started.
        ...(context?.threadRef ? { thread_ts: context.threadRef } : {}),
        text: message.text,
        blocks: message.blocks as KnownBlock[],
        unfurl_links: false,
        unfurl_media: false,
      });
      ts = res.ts;
    } catch (err) {
      throw mapWebApiError(err, what);
    }
    logger.debug({ channel, ts }, 'slack chat.postMessage accepted the message');
    return { status: 200, reference: ts };
  };
  return {
    receiverId: config.id,
    type: 'slack',
    threads: true,
    send: (event: AlertEvent, logger: Logger, context?: SendContext) => post(buildSlackMessage(event), logger, context),
    // A digest is a message of its own, never a reply in an alert's thread.
    sendDigest: (digest: Digest, logger: Logger) => post(digestMessage(digest), logger),
  };
}
