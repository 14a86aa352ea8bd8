import { Webhook } from 'standardwebhooks';
import type { Secrets } from '../config/load';
import type { WebhookReceiverConfig } from '../config/schema';
import { secretEnvsOf, splitSecrets, webhookSecretProblem } from '../config/webhook-secrets';
import type { AlertEvent } from '../domain/alert';
import type { Digest } from '../domain/digest';
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

/** A brand's digest (src/domain/digest.ts), signed like every event; webhook-id is the digest's id (brand + period). */
export interface DigestWebhookPayload {
  type: 'digest.created';
  timestamp: string;
  data: { digest: Digest };
}

export function digestWebhookPayload(digest: Digest): DigestWebhookPayload {
  return { type: 'digest.created', timestamp: digest.period.to, data: { digest } };
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
  // Several secrets while one is rotated out: each signs every delivery.
  const signers = secretEnvsOf(config).flatMap((envName) =>
    splitSecrets(secrets.get(envName)).map((secret) => {
      const problem = webhookSecretProblem(secret);
      // The variable's name, never its value.
      if (problem) throw new RepwatchError('RW_ERR_CONFIG_INVALID', `${what}: a secret in ${envName} ${problem}`);
      return new Webhook(secret);
    }),
  );
  if (signers.length === 0) throw new RepwatchError('RW_ERR_SECRET_MISSING', `${what}: ${secretEnvsOf(config).join(', ')} hold(s) no signing secret`);
  const target = redactUrl(url);

  /** One signed POST: the id is the same on every attempt, the timestamp (hence signature) fresh. */
  async function post(id: string, body: string, logger: Logger): Promise<DeliveryReceipt> {
    const attemptAt = new Date();
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'repwatch',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(attemptAt.getTime() / 1000)),
      // Standard Webhooks: space-separated signatures; a receiver accepts the delivery when any verifies.
      'webhook-signature': signers.map((signer) => signer.sign(id, attemptAt, body)).join(' '),
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
      // Standard Webhooks: 410 Gone means the endpoint asks to be disabled. Not retried; the
      // delivery service disables the receiver on this code.
      throw new RepwatchError('RW_ERR_RECEIVER_GONE', `${base.message} (Gone: the endpoint asks to be disabled)`, {
        details: { ...base.details, gone: true },
      });
    }
    throw base;
  }

  return {
    receiverId: config.id,
    type: 'webhook',
    send: (event: AlertEvent, logger: Logger) => post(event.id, JSON.stringify(webhookPayload(event)), logger),
    sendDigest: (digest: Digest, logger: Logger) => post(digest.id, JSON.stringify(digestWebhookPayload(digest)), logger),
  };
}
