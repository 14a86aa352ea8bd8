import { createHash } from 'node:crypto';
import type { Secrets } from '../config/load';
import type { PagerDutyReceiverConfig } from '../config/schema';
import type { AlertEvent, AlertEventType, ImpactBreakdown, Severity } from '../domain/alert';
import { RepwatchError } from '../domain/errors';
import { redactUrl, type Logger } from '../logger';
import { RECEIVER_CODES, httpError, networkError, parseRetryAfter } from './http';
import { truncate } from './text';
import type { DeliveryReceipt, Notifier } from './notifier';

// Events API v2 limits (https://github.com/PagerDuty/developer-docs/blob/main/docs/events-API-v2/02-Trigger-Events.md).
const DEDUP_KEY_MAX = 255;
const SUMMARY_MAX = 1024;
/** PagerDuty's advice when it rate-limits without saying for how long: retry after 30 s. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 30_000;
const ROUTING_KEY = /^[A-Za-z0-9]{32}$/;
/** PagerDuty's error list is shown to operators; keep it to a readable size. */
const MAX_ERRORS = 10;
const MAX_ERROR_TEXT = 300;

export type PagerDutyAction = 'trigger' | 'acknowledge' | 'resolve';
export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';

export const PAGERDUTY_ACTIONS: Record<AlertEventType, PagerDutyAction> = {
  'alert.triggered': 'trigger',
  'alert.escalated': 'trigger',
  'alert.updated': 'trigger',
  'storm.started': 'trigger',
  'alert.acknowledged': 'acknowledge',
  'alert.resolved': 'resolve',
};

export const PAGERDUTY_SEVERITIES: Record<Severity, PagerDutySeverity> = {
  critical: 'critical',
  high: 'error',
  medium: 'warning',
  low: 'info',
  info: 'info',
};

export interface PagerDutyTriggerPayload {
  summary: string;
  source: string;
  severity: PagerDutySeverity;
  timestamp: string;
  component: string;
  group: string;
  class: string;
  custom_details: {
    reason: string;
    impact: ImpactBreakdown;
    post: { url: string; author?: string; handle: string; followers: number };
    count: number;
    caseId?: string;
    status: string;
  };
}

export type PagerDutyEvent =
  | {
      routing_key: string;
      event_action: 'trigger';
      dedup_key: string;
      payload: PagerDutyTriggerPayload;
      links?: { href: string; text: string }[];
      client: string;
    }
  | { routing_key: string; event_action: 'acknowledge' | 'resolve'; dedup_key: string };

/** The fingerprint when it fits; otherwise its sha256, so ack/resolve still find the incident. */
export function pagerDutyDedupKey(fingerprint: string): string {
  return fingerprint.length <= DEDUP_KEY_MAX ? fingerprint : createHash('sha256').update(fingerprint, 'utf8').digest('hex');
}

function isHttpUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/** The Events API v2 body for one alert event. Pure: the same event and key give the same body. */
export function pagerDutyEvent(event: AlertEvent, routingKey: string): PagerDutyEvent {
  const { alert } = event;
  const action = PAGERDUTY_ACTIONS[event.type];
  const dedup_key = pagerDutyDedupKey(alert.fingerprint);
  // PagerDuty ignores payload on acknowledge/resolve; sending less leaks less.
  if (action !== 'trigger') return { routing_key: routingKey, event_action: action, dedup_key };

  const { post } = alert;
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key,
    payload: {
      summary: truncate(alert.title, SUMMARY_MAX),
      source: `repwatch/${alert.brandId}`,
      severity: PAGERDUTY_SEVERITIES[alert.severity],
      timestamp: event.at,
      component: alert.kind,
      group: alert.brandId,
      class: alert.topic,
      custom_details: {
        reason: alert.reason,
        impact: alert.impact,
        post: { url: post.url, author: post.author.name, handle: post.author.handle, followers: post.author.followers },
        count: alert.count,
        caseId: alert.caseId,
        status: alert.status,
      },
    },
    // A javascript: or other scheme would become a clickable link in PagerDuty's UI.
    ...(isHttpUrl(post.url) ? { links: [{ href: post.url, text: 'The post' }] } : {}),
    client: 'repwatch',
  };
}

/** Reads a JSON body without failing the delivery when it is absent or not JSON. */
async function readJson(res: Response): Promise<Record<string, unknown> | undefined> {
  try {
    const text = await res.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** PagerDuty's own explanation of a refusal, dropped whole if any part of it echoes the routing key. */
function refusalDetails(body: Record<string, unknown> | undefined, routingKey: string): { message?: string; errors?: string[] } {
  if (!body) return {};
  const message = typeof body.message === 'string' ? truncate(body.message, MAX_ERROR_TEXT) : undefined;
  const errors = Array.isArray(body.errors)
    ? body.errors.filter((e): e is string => typeof e === 'string').slice(0, MAX_ERRORS).map((e) => truncate(e, MAX_ERROR_TEXT))
    : undefined;
  // Checked on the untruncated text too: a key cut in half by truncation must not slip through.
  const raw = JSON.stringify([body.message, body.errors]);
  if (raw.includes(routingKey)) return {};
  return { ...(message ? { message } : {}), ...(errors?.length ? { errors } : {}) };
}

/**
 * PagerDuty Events API v2. One POST per send; the dedup_key (the alert's fingerprint) ties the
 * trigger, acknowledge and resolve of one alert to one PagerDuty incident.
 */
export function createPagerDutyNotifier(config: PagerDutyReceiverConfig, secrets: Secrets): Notifier {
  const what = `PagerDuty receiver "${config.id}"`;
  const routingKey = secrets.get(config.routingKeyEnv);
  if (!ROUTING_KEY.test(routingKey)) {
    // Name the variable, never the value.
    throw new RepwatchError('RW_ERR_CONFIG_INVALID', `${what}: ${config.routingKeyEnv} is not a PagerDuty routing key (32 letters and digits)`);
  }
  // The demo and tests point it at a local stand-in through urlEnv; the endpoint itself is no secret.
  const url = config.urlEnv ? secrets.get(config.urlEnv) : config.url;
  const target = redactUrl(url);

  return {
    receiverId: config.id,
    type: 'pagerduty',
    async send(event: AlertEvent, logger: Logger): Promise<DeliveryReceipt> {
      const body = pagerDutyEvent(event, routingKey);
      let res: Response;
      try {
        // redirect 'manual': the body carries the routing key, so it is never forwarded to another host.
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'repwatch' },
          body: JSON.stringify(body),
          redirect: 'manual',
          signal: AbortSignal.timeout(config.timeout),
        });
      } catch (err) {
        throw networkError(err, what, RECEIVER_CODES);
      }
      const json = await readJson(res);

      if (res.status >= 200 && res.status < 300) {
        const reference = typeof json?.dedup_key === 'string' ? json.dedup_key : undefined;
        logger.debug({ target, status: res.status, action: body.event_action, dedupKey: body.dedup_key }, 'PagerDuty event accepted');
        return reference === undefined ? { status: res.status } : { status: res.status, reference };
      }

      const retryAfter = parseRetryAfter(res.headers.get('retry-after'), Date.now());
      const base = httpError(res.status, what, RECEIVER_CODES, res.status === 429 ? (retryAfter ?? DEFAULT_RATE_LIMIT_WAIT_MS) : retryAfter);
      const refusal = base.code === 'RW_ERR_RECEIVER_REJECTED' ? refusalDetails(json, routingKey) : {};
      if (!refusal.message && !refusal.errors) throw base;
      const explained = [refusal.message, ...(refusal.errors ?? [])].filter(Boolean).join('; ');
      throw new RepwatchError(base.code, `${base.message}: ${explained}`, { retryAfterMs: base.retryAfterMs, details: { ...base.details, ...refusal } });
    },
  };
}
