import type { Redis } from 'ioredis';
import type { Config } from '../config/load';
import type { Alert } from '../domain/alert';
import { RepwatchError } from '../domain/errors';
import type { Logger } from '../logger';
import type { SilenceStore } from '../store/silences';
import type { ReceiverState } from '../store/receiver-state';
import type { SourceHealth } from '../store/source-health';
import type { WebhookDeps } from './webhooks';
import type { Store } from '../store/store';

/** Everything the HTTP API needs; the `api` role builds it from the running Repwatch (workers/app.ts). */
export interface ApiDeps {
  config: Config;
  logger: Logger;
  store: Store;
  redis: Redis;
  /** The queue prefix: the alert-stream counter and its pending reservations live under it. */
  prefix: string;
  /** name -> secret (parseApiKeys(env.REPWATCH_API_KEYS)). */
  apiKeys: ReadonlyMap<string, string>;
  alerts: {
    acknowledge(id: string, by: string, comment?: string): Promise<Alert>;
    resolve(id: string, by: string, comment?: string): Promise<Alert>;
  };
  silences: SilenceStore;
  /** What the workers saw of each source (GET /sources); without it the route is not offered. */
  sourceHealth?: Pick<SourceHealth, 'get'>;
  /** Receivers disabled after 410 Gone (GET /receivers, POST /receivers/:id/enable). */
  receivers?: Pick<ReceiverState, 'list' | 'enable'>;
  /** Platform webhooks (Meta): secrets and the queue; without it POST /webhooks/* is not offered. */
  webhooks?: WebhookDeps;
  metrics?: { render(): Promise<{ contentType: string; body: string }> };
  /** From SLACK_SIGNING_SECRET / SLACK_BOT_TOKEN: enables POST /slack/actions. */
  slack?: { signingSecret: string; botToken?: string };
  /** The built console (dist/console), served at / when the folder exists. */
  consoleDir?: string;
  now: () => number;
  /** SSE timing; tests shorten it. */
  stream?: { heartbeatMs?: number; pollMs?: number };
}

const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** Long enough that guessing is hopeless (e.g. `openssl rand -hex 16` gives 32). */
export const MIN_SECRET_LENGTH = 16;

/**
 * REPWATCH_API_KEYS: `name=secret,name2=secret2`. The name is recorded as who acted. Every
 * problem is reported at once, naming the entry and never the secret.
 */
export function parseApiKeys(value: string | undefined): Map<string, string> {
  const keys = new Map<string, string>();
  if (!value || !value.trim()) return keys;
  const problems: string[] = [];
  const secrets = new Set<string>();
  value.split(',').forEach((raw, i) => {
    const entry = raw.trim();
    const at = `entry ${i + 1}`;
    if (!entry) return problems.push(`${at} is empty (a stray comma?)`);
    const eq = entry.indexOf('=');
    if (eq < 0) return problems.push(`${at} has no "=" (write name=secret)`);
    const name = entry.slice(0, eq).trim();
    const secret = entry.slice(eq + 1).trim();
    if (!KEY_NAME.test(name)) return problems.push(`${at}: the name must be 1-64 letters, digits, . _ @ - (starting with a letter or digit)`);
    if (secret.length < MIN_SECRET_LENGTH) return problems.push(`${at} (${name}): the secret must be at least ${MIN_SECRET_LENGTH} characters`);
    if (/\s/.test(secret)) return problems.push(`${at} (${name}): the secret contains white space`);
    if (keys.has(name)) return problems.push(`${at}: the name "${name}" is used twice`);
    if (secrets.has(secret)) return problems.push(`${at} (${name}): the same secret as an earlier key (who acted would be ambiguous)`);
    keys.set(name, secret);
    secrets.add(secret);
  });
  if (problems.length) throw new RepwatchError('RW_ERR_CONFIG_INVALID', `REPWATCH_API_KEYS: ${problems.join('; ')}`);
  return keys;
}

/** REPWATCH_HTTP: `host:port` (default 127.0.0.1:8080); `[::1]:8080` for IPv6. */
export function parseListen(value: string | undefined): { host: string; port: number } {
  const text = (value ?? '').trim() || '127.0.0.1:8080';
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new RepwatchError('RW_ERR_CONFIG_INVALID', `REPWATCH_HTTP: "${text}" is not host:port (such as 127.0.0.1:8080 or 0.0.0.0:8080)`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}
