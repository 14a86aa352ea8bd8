import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Secrets } from '../config/load';
import type { FacebookSourceConfig } from '../config/sources/facebook';
import type { InstagramSourceConfig } from '../config/sources/instagram';
import { connectorFor } from '../connectors';
import type { WebhookItem } from '../connectors/connector';
import { metaChallenge, verifyMetaSignature } from '../connectors/meta';
import { isRepwatchError, type ErrorCode } from '../domain/errors';
import type { ApiDeps } from './deps';

/** Platforms whose push notifications come to POST /webhooks/{platform} (Meta's signed webhooks). */
export const WEBHOOK_PLATFORMS = ['instagram', 'facebook'] as const;
type WebhookPlatform = (typeof WEBHOOK_PLATFORMS)[number];
type MetaSource = InstagramSourceConfig | FacebookSourceConfig;

/** Meta batches many changes into one POST; a few MB is generous. */
const BODY_LIMIT = 4 * 1024 * 1024;

export interface WebhookDeps {
  secrets: Secrets;
  /** Queues one source's items to be fetched and ingested (the poll role does it); rejects when Redis is away. */
  enqueue(brandId: string, sourceId: string, items: WebhookItem[]): Promise<void>;
  /** Counts each POST's outcome (repwatch_webhook_requests_total): a body dropped as malformed must not be only a log line. */
  count?(platform: string, outcome: 'accepted' | 'refused' | 'malformed' | 'unowned' | 'unqueued', n?: number): Promise<void>;
}

/**
 * Meta webhooks for the Instagram and Facebook accounts a brand owns:
 * - GET answers the subscription check (`hub.challenge`) when `hub.verify_token` is one of the
 *   platform's sources' verify tokens;
 * - POST checks `X-Hub-Signature-256` over the raw body with the sources' app secrets (any of them:
 *   several apps may point here), parses the changes, hands each source its own items as a queue
 *   job and answers 200 at once. The job fetches the posts through the Graph API and ingests them;
 *   the polling fallback of the same sources catches whatever arrives while this endpoint is down.
 * A body that is signed but not understood is logged and answered 200: Meta would only send it again.
 * When the queue cannot take the items (Redis away), 503 makes Meta retry later.
 */
export async function metaWebhooks(app: FastifyInstance, deps: ApiDeps & { webhooks: WebhookDeps }): Promise<void> {
  const { config, logger } = deps;
  const { secrets, enqueue } = deps.webhooks;
  const count = (platform: string, outcome: Parameters<NonNullable<WebhookDeps['count']>>[1], n = 1) =>
    deps.webhooks.count?.(platform, outcome, n).catch((err: Error) => logger.warn({ err: err.message }, 'could not count a webhook request'));
  const sourcesOf = (platform: WebhookPlatform) =>
    config.brands.flatMap((brand) => brand.sources.filter((s): s is MetaSource => s.platform === platform).map((source) => ({ brandId: brand.id, source })));
  const secretOf = (name: string) => (secrets.has(name) ? secrets.get(name) : '');
  const refuse = (reply: FastifyReply, status: number, code: ErrorCode, message: string) => reply.code(status).send({ error: { code, message } });

  // This plugin's scope only: the signature covers the exact bytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_request, body, done) => done(null, body));

  for (const platform of WEBHOOK_PLATFORMS) {
    app.get(`/${platform}`, async (request, reply) => {
      for (const { source } of sourcesOf(platform)) {
        const challenge = metaChallenge(request.query, secretOf(source.verifyTokenEnv));
        if (challenge !== undefined) return reply.code(200).type('text/plain').send(challenge);
      }
      logger.warn({ platform, ip: request.ip }, 'webhook subscription check refused: unknown verify token');
      return refuse(reply, 403, 'RW_ERR_UNAUTHORIZED', 'unknown verify token');
    });

    app.post(`/${platform}`, async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const header = request.headers['x-hub-signature-256'];
      const sources = sourcesOf(platform);
      const appSecrets = [...new Set(sources.map(({ source }) => secretOf(source.appSecretEnv)).filter(Boolean))];
      if (!appSecrets.some((secret) => verifyMetaSignature(raw, typeof header === 'string' ? header : undefined, secret))) {
        logger.warn({ platform, ip: request.ip, signed: typeof header === 'string' }, 'webhook refused: signature missing or wrong');
        await count(platform, 'refused');
        return refuse(reply, 401, 'RW_ERR_UNAUTHORIZED', 'X-Hub-Signature-256 missing or not valid for this app');
      }
      const receiver = connectorFor(sources[0].source).webhook!;
      let items: WebhookItem[];
      try {
        items = receiver.parse(JSON.parse(raw.toString('utf8')));
      } catch (err) {
        logger.error({ platform, code: isRepwatchError(err) ? err.code : 'RW_ERR_PAYLOAD_MALFORMED', err: (err as Error).message.slice(0, 300) }, 'webhook body not understood; answered 200 (Meta would only resend it)');
        await count(platform, 'malformed');
        return reply.code(200).send({ accepted: 0 });
      }
      const bySource = new Map<string, { brandId: string; sourceId: string; items: WebhookItem[] }>();
      let unowned = 0;
      for (const item of items) {
        const owners = sources.filter(({ source }) => receiver.ownsAccount(source as never, item.accountId));
        if (owners.length === 0) unowned++;
        for (const { brandId, source } of owners) {
          const key = `${brandId}/${source.id}`;
          const entry = bySource.get(key) ?? { brandId, sourceId: source.id, items: [] };
          entry.items.push(item);
          bySource.set(key, entry);
        }
      }
      try {
        for (const { brandId, sourceId, items: own } of bySource.values()) await enqueue(brandId, sourceId, own);
      } catch (err) {
        logger.error({ platform, err: (err as Error).message }, 'webhook items could not be queued; answered 503 so Meta retries');
        await count(platform, 'unqueued');
        return refuse(reply, 503, 'RW_ERR_STORE_UNAVAILABLE', 'could not queue the notification; try again');
      }
      if (unowned) {
        logger.warn({ platform, unowned }, 'webhook items for accounts no source watches were ignored');
        await count(platform, 'unowned', unowned);
      }
      await count(platform, 'accepted');
      return reply.code(200).send({ accepted: items.length - unowned });
    });
  }
}
