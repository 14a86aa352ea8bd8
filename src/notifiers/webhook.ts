import { Webhook } from 'standardwebhooks';
import type { Secrets } from '../config/load';
import type { WebhookReceiverConfig } from '../config/schema';
import type { AlertEvent } from '../domain/alert';
import { RepwatchError } from '../domain/errors';
import { redactUrl, type Logger } from '../logger';
import { RECEIVER_CODES, httpError, networkError, parseRetryAfter } from './http';
import type { DeliveryReceipt, Notifier } from './notifier';

/** The Standard Webhooks envelope: {type, timestamp, data}. */
export interface WebhookPayload {
  type: AlertEvent['type'];
  timestamp: string;
  /** `reminder`: the n-th reminder of this event (the alert is still not acknowledged); eventId then ends in `/reminder-n`. */
  data: { eventId: string; seq: number; alert: AlertEvent['alert']; reminder?: number };
}

export function webhookPayload(event: AlertEvent): WebhookPayload {
  return { type: event.type, timestamp: event.at, data: { eventId: event.id, seq: event.seq, alert: event.alert, ...(event.reminder ? { reminder: event.reminder } : {}) } };
}

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

/**
 * Checks a delivery the way a receiver should: signature over the raw body, webhook-id and
 * webhook-timestamp (±5 minutes, fixed by the library). Returns the parsed payload or throws
 * standardwebhooks' WebhookVerificationError.
 */
export function verifyWebhook(secret: string, rawBody: string | Buffer, headers: HeaderBag): WebhookPayload {
  const flat: Record<string, string> = {};
  if (typeof (headers as Headers).forEach === 'function' && typeof (headers as Headers).get === 'function') {
    (headers as Headers).forEach((value, key) => (flat[key.toLowerCase()] = value));
  } else {
    for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
      if (value !== undefined) flat[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return new Webhook(secret).verify(rawBody, flat) as WebhookPayload;
}

/**
 * Signed outgoing webhooks (Standard Webhooks). One POST per send; webhook-id is the event id on
 * every attempt so receivers can drop duplicates, and the timestamp (hence the signature) is
 * fresh on each attempt so a retry is never rejected as too old.
 */
export function createWebhookNotifier(config: WebhookReceiverConfig, secrets: Secrets): Notifier {
  const what = `webhook receiver "${config.id}"`;
  const url = config.url ?? secrets.get(config.urlEnv!);
  try {
    new URL(url);
  } catch {
    // Neither the value nor the parser's message: the URL may carry credentials.
    throw new RepwatchError('RW_ERR_CONFIG_INVALID', `${what}: the URL in ${config.urlEnv ?? 'url'} is not a valid URL`);
  }
  let signer: Webhook;
  try {
    signer = new Webhook(secrets.get(config.secretEnv));
  } catch (err) {
    if (err instanceof RepwatchError) throw err;
    throw new RepwatchError('RW_ERR_CONFIG_INVALID', `${what}: ${config.secretEnv} is not a Standard Webhooks secret (whsec_ + base64)`);
  }
  const target = redactUrl(url);

  return {
    receiverId: config.id,
    type: 'webhook',
    async send(event: AlertEvent, logger: Logger): Promise<DeliveryReceipt> {
      const body = JSON.stringify(webhookPayload(event));
      const attemptAt = new Date();
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'repwatch',
        'webhook-id': event.id,
        'webhook-timestamp': String(Math.floor(attemptAt.getTime() / 1000)),
        'webhook-signature': signer.sign(event.id, attemptAt, body),
      };

      let res: Response;
      try {
        // redirect 'manual': a signed payload is never forwarded to another host; a 3xx counts as a refusal.
        res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(config.timeout) });
      } catch (err) {
        throw networkError(err, what, RECEIVER_CODES);
      }
      // Free the connection; the receiver's body carries nothing we use.
      await res.body?.cancel().catch(() => undefined);

      if (res.status >= 200 && res.status < 300) {
        logger.debug({ target, status: res.status }, 'webhook delivered');
        return { status: res.status };
      }
      const base = httpError(res.status, what, RECEIVER_CODES, parseRetryAfter(res.headers.get('retry-after'), Date.now()));
      if (res.status === 410) {
        // Standard Webhooks: 410 Gone means the endpoint asks to be disabled.
        throw new RepwatchError('RW_ERR_RECEIVER_REJECTED', `${base.message} (Gone: the endpoint asks to be disabled)`, {
          details: { ...base.details, gone: true },
        });
      }
      throw base;
    },
  };
}
