import { UnrecoverableError, type Job } from 'bullmq';
import type { z } from 'zod';
import { RepwatchError, isRepwatchError } from '../src/domain/errors';

/** Validates a job's data against its schema; a bad payload is permanent, never retried. */
export function parseJob<T extends z.ZodType>(schema: T, job: Job): z.infer<T> {
  const r = schema.safeParse(job.data);
  if (!r.success) {
    const where = r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new UnrecoverableError(`RW_ERR_JOB_INVALID: job ${job.name} ${job.id}: ${where}`);
  }
  return r.data;
}

/**
 * Runs a service call for a worker and translates its failure: a permanent RepwatchError becomes
 * BullMQ's UnrecoverableError (no more attempts); everything else is rethrown as is, so the queue
 * retries it with backoff. Nothing is swallowed.
 */
export async function runJob<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isRepwatchError(err) && !err.retryable) throw new UnrecoverableError(`${err.code}: ${err.message}`);
    throw err;
  }
}

/** Backoff that honours the other side's wait (Retry-After, rate-limit reset), else doubles from `baseMs`. */
export function backoffFor(baseMs: number) {
  return (attemptsMade: number, _type: string | undefined, err: Error | undefined): number => {
    if (err instanceof RepwatchError && err.retryAfterMs !== undefined) return Math.max(err.retryAfterMs, 100);
    return baseMs * 2 ** Math.max(0, attemptsMade - 1);
  };
}
