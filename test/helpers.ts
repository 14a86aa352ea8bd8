import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { loadConfig, type LoadedConfig } from '../src/config/load';
import { RepwatchError } from '../src/domain/errors';
import { createLogger, type Logger } from '../src/logger';
import type { Repwatch } from '../workers/app';

export const REDIS_URL = () => process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const MONGODB_URI = () => {
  const uri = process.env.MONGODB_URI;
  if (!uri) throw new Error('MONGODB_URI is not set: the jest globalSetup (scripts/services.sh) should have set it');
  return uri;
};

/** A unique name per test, for queue prefixes and database names. */
export function uniqueName(label: string): string {
  return `rwtest-${label}-${randomUUID().slice(0, 8)}`;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Writes a config folder (brands.yaml, receivers.yaml, optional files) and loads it. */
export function makeConfig(files: { brands: unknown; receivers?: unknown; defaults?: unknown; extra?: Record<string, string> }, env: NodeJS.ProcessEnv): LoadedConfig & { dir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'repwatch-config-'));
  writeFileSync(path.join(dir, 'brands.yaml'), stringify(files.brands));
  writeFileSync(path.join(dir, 'receivers.yaml'), stringify(files.receivers ?? { receivers: [] }));
  if (files.defaults) writeFileSync(path.join(dir, 'defaults.yaml'), stringify(files.defaults));
  for (const [name, content] of Object.entries(files.extra ?? {})) writeFileSync(path.join(dir, name), content);
  return { ...loadConfig({ dir, env }), dir };
}

/** A logger whose lines are kept in memory, for asserting what was (and was not) logged. */
export function captureLogger(secrets: () => readonly string[] = () => []): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: createLogger({ level: 'debug', destination, secrets, pretty: false }), lines };
}

/** Awaits a promise that must reject with a RepwatchError, and returns that error. */
export async function failure(p: Promise<unknown>): Promise<RepwatchError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RepwatchError);
    return err as RepwatchError;
  }
  throw new Error('expected a RepwatchError');
}

/** The RepwatchError a synchronous call throws (fails the test when it throws nothing or something else). */
export function thrown(fn: () => unknown): RepwatchError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RepwatchError);
    return err as RepwatchError;
  }
  throw new Error('expected a RepwatchError');
}

/** A Poisson-distributed count with mean `lambda` (Knuth's method), from a seeded `random`: simulated post counts. */
export function poisson(random: () => number, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

/** Deletes every Redis key under a test's queue prefix. */
export async function forgetPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL());
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
}

/** Ends a test's app and what it left: its database dropped (while connected), the app closed, its Redis keys deleted. */
export async function discardApp(app: Repwatch | undefined, prefix: string): Promise<void> {
  await app?.store.conn.dropDatabase().catch(() => undefined);
  await app?.close();
  await forgetPrefix(prefix);
}
