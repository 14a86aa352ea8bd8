import type { Judgement } from '../../src/analysis/judgement';
import type { Alert } from '../../src/domain/alert';
import type { Mention } from '../../src/domain/mention';
import { startRepwatch, type Repwatch } from '../../workers/app';
import { newWebhookSecret } from '../../scripts/webhook-receiver';
import { fixtureEvent } from '../fixtures/alert-event';
import { MONGODB_URI, REDIS_URL, captureLogger, makeConfig, uniqueName } from '../helpers';

/** Two people's keys; the tests check that neither ever shows up in a log line. */
export const KEYS = { anna: 'anna-secret-0123456789abcdef', ben: 'ben-secret-fedcba9876543210' };
export const T0 = Date.parse('2026-11-30T12:00:00.000Z');
export const MINUTE = 60_000;

export interface TestApi {
  app: Repwatch;
  url: string;
  clock: { now: number };
  logLines: string[];
  /** fetch with Anna's key unless `key` says otherwise (null: no key). */
  call(method: string, path: string, options?: { key?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

/** The api role on a free loopback port, with real Redis and the MongoDB-compatible server; no workers. */
export async function startTestApi(options: { heartbeatMs?: number; consoleDir?: string; metrics?: boolean } = {}): Promise<TestApi> {
  const loaded = makeConfig(
    {
      brands: {
        brands: [
          { id: 'snelpost', name: 'SnelPost', keywords: ['snelpost'], topics: { delivery: ['pakket'] }, sources: [{ id: 's', platform: 'replay', file: 'p.jsonl' }] },
          { id: 'volta-bank', name: 'Volta Bank', keywords: ['volta'], sources: [{ id: 's', platform: 'replay', file: 'p.jsonl' }] },
        ],
      },
      receivers: {
        receivers: [
          { id: 'hook', type: 'webhook', urlEnv: 'HOOK_URL', secretEnv: 'HOOK_SECRET' },
          { id: 'oncall', type: 'pagerduty', routingKeyEnv: 'PD_KEY' },
        ],
      },
      extra: { 'p.jsonl': '' },
    },
    { HOOK_URL: 'http://127.0.0.1:9/hook', HOOK_SECRET: newWebhookSecret(), PD_KEY: 'R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12' },
  );
  // No secrets given to the log scrubber: the API itself must never write a key.
  const log = captureLogger();
  const clock = { now: T0 };
  const app = await startRepwatch({
    ...loaded,
    logger: log.logger,
    redisUrl: REDIS_URL(),
    mongoUri: MONGODB_URI(),
    dbName: uniqueName('api'),
    queuePrefix: `{${uniqueName('api')}}`,
    roles: ['api'],
    now: () => clock.now,
    api: {
      listen: { host: '127.0.0.1', port: 0 },
      apiKeys: new Map(Object.entries(KEYS)),
      stream: { heartbeatMs: options.heartbeatMs ?? 15_000, pollMs: 50 },
      ...(options.consoleDir ? { consoleDir: options.consoleDir } : {}),
      ...(options.metrics ? { metrics: { render: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'repwatch_up 1\n' }) } } : {}),
    },
  });
  const url = app.api!.url;
  return {
    app,
    url,
    clock,
    logLines: log.lines,
    async call(method, path, { key = KEYS.anna, body, headers = {} } = {}) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { ...(key ? { Authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: kept as text
      }
      return { status: res.status, body: parsed as any, headers: res.headers };
    },
    async close() {
      await app.store.conn.dropDatabase().catch(() => undefined);
      await app.close();
    },
  };
}

/** An alert shaped like the pipeline's, `minutesAgo` before T0. */
export function makeAlert(n: number, over: Partial<Alert> & { minutesAgo?: number } = {}): Alert {
  const base = fixtureEvent().alert;
  const { minutesAgo = n, ...rest } = over;
  const brandId = rest.brandId ?? 'snelpost';
  const id = `${brandId}/x/${1000 + n}`;
  const at = new Date(T0 - minutesAgo * MINUTE).toISOString();
  return {
    ...base,
    id,
    fingerprint: id,
    brandId,
    brandName: brandId === 'snelpost' ? 'SnelPost' : 'Volta Bank',
    severity: 'high',
    createdAt: at,
    updatedAt: at,
    slaDeadline: undefined,
    post: { ...base.post, postId: String(1000 + n) },
    ...rest,
  } as Alert;
}

/** Writes alerts as the pipeline does: a triggered event on the stream, then the alert. */
export async function seedAlerts(app: Repwatch, alerts: Alert[]): Promise<void> {
  const clean = alerts.map((a) => JSON.parse(JSON.stringify(a)) as Alert);
  await app.store.appendEvents(clean.map((a) => ({ type: a.kind === 'storm' ? 'storm.started' : 'alert.triggered', alert: a, at: a.createdAt })));
  await app.store.saveAlerts(clean);
}

export function judgement(label: 'negative' | 'neutral' | 'positive', complaint = false): Judgement {
  return {
    lang: 'nl',
    langConfidence: 0.9,
    sentiment: { label, score: label === 'negative' ? -0.8 : label === 'positive' ? 0.8 : 0, confidence: 0.9 },
    complaint: { label: complaint, score: complaint ? 0.9 : 0.1 },
    evidence: { negative: [], positive: [], complaint: [] },
  } as unknown as Judgement;
}

export function mention(brandId: string, postId: string, createdAt: number, text = 'over snelpost'): Mention {
  return {
    platform: 'x',
    postId,
    url: `https://x.com/someone/status/${postId}`,
    brandId,
    author: { id: `u${postId}`, handle: `someone${postId}`, followers: 100, verified: false },
    text,
    createdAt: new Date(createdAt).toISOString(),
    engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
  };
}
