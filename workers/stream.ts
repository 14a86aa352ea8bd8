import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config, Secrets } from '../src/config/load';
import type { SourceConfig } from '../src/config/schema';
import { connectorFor } from '../src/connectors';
import type { Cursor, StreamConnector } from '../src/connectors/connector';
import { isRepwatchError } from '../src/domain/errors';
import type { Mention } from '../src/domain/mention';
import { scrubSecrets, type Logger } from '../src/logger';
import { pageKeyOf } from '../src/services/poll';
import type { Dispatch } from '../src/services/ports';
import type { SourceHealth } from '../src/store/source-health';
import type { SourceState } from '../src/store/source-state';

/**
 * The `stream` role: one live connection per streaming source (Bluesky Jetstream, Mastodon
 * streaming), held by exactly one process at a time under a Redis lock that the holder renews.
 * Posts are batched into ingest pages (by size or time), the stream's cursor is kept after each
 * page is handed on (Redis, checkpointed in MongoDB), and a dropped connection is opened again from
 * that cursor with backoff. The platform's polling connector keeps running beside it and fills
 * whatever a gap let through; the store drops the repeats.
 */
export interface StreamOptions {
  config: Config;
  secrets: Secrets;
  redis: Redis;
  prefix: string;
  dispatch: Pick<Dispatch, 'ingest'>;
  sourceState: SourceState;
  sourceHealth: SourceHealth;
  logger: Logger;
  now: () => number;
  /** A page goes to ingest at this many posts or this long after its first post. */
  batch?: { maxPosts?: number; maxWaitMs?: number };
  /** Lock lifetime; renewed at a third of it. A holder that dies frees the source after this long. */
  lockTtlMs?: number;
  /** First reconnect wait (doubling to 60 s); a refusal (bad credentials) waits 5 minutes. */
  backoffMs?: number;
}

export interface StreamRole {
  /** Sources whose connection this process holds now. */
  held(): string[];
  close(): Promise<void>;
}

/** The stream's own cursor is kept apart from the poller's, under this source id. */
export const streamStateId = (sourceId: string) => `${sourceId}~stream`;

/** Whether a source streams: its connector has a live connection and the config allows it (Mastodon needs a token). */
export function streams(source: SourceConfig): boolean {
  if (!connectorFor(source).streaming) return false;
  if (source.platform === 'mastodon') return !!source.accessTokenEnv;
  return true;
}

const REFUSED_WAIT_MS = 5 * 60_000;
/** Takes the lock, or keeps it when this holder has it already (between two connections). */
const ACQUIRE = `
if redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 end
return 0`;
const MAX_BACKOFF_MS = 60_000;

export function startStreams(options: StreamOptions): StreamRole {
  const { config, logger } = options;
  const maxPosts = options.batch?.maxPosts ?? 100;
  const maxWaitMs = options.batch?.maxWaitMs ?? 1_000;
  const lockTtl = options.lockTtlMs ?? 30_000;
  const firstBackoff = options.backoffMs ?? 1_000;
  const stop = new AbortController();
  const held = new Set<string>();
  const loops: Promise<void>[] = [];

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stop.signal.aborted) return resolve();
      const t = setTimeout(resolve, ms);
      stop.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });

  for (const brand of config.brands) {
    for (const source of brand.sources) {
      if (!streams(source)) continue;
      loops.push(holdSource(brand.id, source));
    }
  }

  async function holdSource(brandId: string, source: SourceConfig): Promise<void> {
    const name = `${brandId}/${source.id}`;
    const lockKey = `${options.prefix}:stream-lock:${brandId}:${source.id}`;
    const token = randomUUID();
    const log = logger.child({ brand: brandId, source: source.id, platform: source.platform, role: 'stream' });
    let backoff = firstBackoff;
    while (!stop.signal.aborted) {
      try {
        if ((await options.redis.eval(ACQUIRE, 1, lockKey, token, String(lockTtl))) !== 1) {
          // Another process holds it: look again within a lock lifetime.
          await sleep(lockTtl / 3);
          continue;
        }
        held.add(name);
        const outcome = await connectOnce(brandId, source, lockKey, token, log);
        if (outcome === 'opened') backoff = firstBackoff;
        if (stop.signal.aborted) break;
        if (outcome === 'refused') {
          await sleep(REFUSED_WAIT_MS);
        } else {
          await sleep(backoff);
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        }
      } catch (err) {
        // Redis or the store away: try again after a pause; the lock expires by itself.
        log.warn({ err: (err as Error).message }, 'stream: could not hold the source; trying again');
        await sleep(backoff);
      } finally {
        held.delete(name);
      }
    }
    await options.redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0", 1, lockKey, token).catch(() => undefined);
  }

  /** One connection, from the kept cursor, until it drops, the lock is lost or the role stops. */
  async function connectOnce(brandId: string, source: SourceConfig, lockKey: string, token: string, log: Logger): Promise<'opened' | 'dropped' | 'refused' | 'lost-lock'> {
    const brand = config.brands.find((b) => b.id === brandId)!;
    const stateId = streamStateId(source.id);
    const state = await options.sourceState.get(brandId, stateId);
    const connection = new AbortController();
    const onStop = () => connection.abort();
    stop.signal.addEventListener('abort', onStop, { once: true });
    // Stopped while the cursor was read: the listener came too late to hear it, and the connection
    // would stay open (close() waiting on it for ever).
    if (stop.signal.aborted) connection.abort();
    let opened = false;
    let lostLock = false;

    // Renews the lock; losing it (another process took over after a pause) closes this connection.
    const renew = setInterval(() => {
      options.redis
        .eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0", 1, lockKey, token, String(lockTtl))
        .then((ok) => {
          if (ok !== 1) {
            lostLock = true;
            connection.abort();
          }
        })
        .catch(() => undefined);
    }, Math.max(50, Math.floor(lockTtl / 3)));

    // Pages leave in order, one at a time: a page's cursor is kept only after it was handed on.
    let buffer: Mention[] = [];
    let lastCursor: Cursor | null = state.cursor;
    let savedCursor: Cursor | null = state.cursor;
    let timer: NodeJS.Timeout | undefined;
    let chain: Promise<void> = Promise.resolve();
    let failure: Error | undefined;
    const flush = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      const mentions = buffer;
      const cursor = lastCursor;
      buffer = [];
      chain = chain.then(async () => {
        if (failure) return;
        try {
          const now = options.now();
          if (mentions.length) await options.dispatch.ingest({ brandId, sourceId: source.id, polledAt: now, mentions }, `stream-${pageKeyOf(cursor, mentions)}`);
          if (cursor && JSON.stringify(cursor) !== JSON.stringify(savedCursor)) {
            await options.sourceState.save(brandId, stateId, { cursor, resumeAt: 0, hasMore: false });
            savedCursor = cursor;
          }
          if (mentions.length) await options.sourceHealth.succeeded(brandId, source.id, mentions.length, now);
        } catch (err) {
          // Redis or the store failed: the connection is closed and opened again from the last kept cursor.
          failure = err as Error;
          connection.abort();
        }
      });
    };
    const schedule = () => {
      if (buffer.length >= maxPosts) flush();
      else if (!timer) timer = setTimeout(flush, maxWaitMs);
    };

    const streaming = connectorFor(source).streaming as StreamConnector;
    try {
      await streaming.stream(
        { brand, source, cursor: state.cursor, now: options.now, secrets: options.secrets, configDir: config.dir, logger: log, signal: connection.signal },
        {
          opened() {
            opened = true;
            log.info({ cursor: state.cursor }, 'stream connected');
            void options.sourceHealth.streamState(brandId, source.id, true, options.now()).catch(() => undefined);
          },
          post(mention, cursor) {
            buffer.push(mention);
            lastCursor = cursor;
            schedule();
          },
          position(cursor) {
            lastCursor = cursor;
            schedule();
          },
        },
      );
      flush();
      await chain;
      if (failure) throw failure;
      return lostLock ? 'lost-lock' : 'opened';
    } catch (err) {
      // What arrived before the drop still goes on as a page.
      flush();
      await chain;
      const code = isRepwatchError(err) ? err.code : 'RW_ERR_PLATFORM_UNAVAILABLE';
      const message = scrubSecrets((err as Error).message, options.secrets.values());
      if (stop.signal.aborted || lostLock) return lostLock ? 'lost-lock' : 'opened';
      await options.sourceHealth.streamState(brandId, source.id, false, options.now()).catch(() => undefined);
      await options.sourceHealth.failed(brandId, source.id, { code, message }, options.now()).catch(() => undefined);
      log.warn({ code, err: message }, 'stream dropped; reconnecting with backoff');
      if (code === 'RW_ERR_PLATFORM_REJECTED' || code === 'RW_ERR_SECRET_MISSING') return 'refused';
      return opened ? 'opened' : 'dropped';
    } finally {
      clearInterval(renew);
      if (timer) clearTimeout(timer);
      stop.signal.removeEventListener('abort', onStop);
    }
  }

  return {
    held: () => [...held].sort(),
    async close() {
      stop.abort();
      await Promise.allSettled(loops);
    },
  };
}
