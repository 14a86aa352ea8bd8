import { UnrecoverableError, type Job } from 'bullmq';
import type { z } from 'zod';
import { ERROR_CODES, RepwatchError, isRepwatchError, type ErrorCode } from '../src/domain/errors';

/** Validates a job's data against its schema; a bad payload is permanent, never retried. */
export function parseJob<T extends z.ZodType>(schema: T, job: Job): z.infer<T> {
  const r = schema.safeParse(job.data);
  if (!r.success) {
    const where = r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw coded(new UnrecoverableError(`RW_ERR_JOB_INVALID: job ${job.name} ${job.id}: ${where}`), 'RW_ERR_JOB_INVALID');
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
    if (isRepwatchError(err) && !err.retryable) throw coded(new UnrecoverableError(`${err.code}: ${err.message}`), err.code);
    throw err;
  }
}

/** The error code travels with the UnrecoverableError, so a failed job is classified by code, not by its text. */
function coded(err: UnrecoverableError, code: string): UnrecoverableError & { code: string } {
  return Object.assign(err, { code });
}

/** The coded cause of a job's failure: the RepwatchError code, else the error's name. */
export function failureCodeOf(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('RW_ERR_') ? code : err.name || 'Error';
}

/**
 * Whether a job that failed has no attempt left: BullMQ set its finishedOn (it moved to the failed
 * set), its attempts ran out, or it failed with an UnrecoverableError (a permanent error, or
 * stalled more often than maxStalledCount).
 */
export function failedForGood(job: Pick<Job, 'finishedOn' | 'attemptsMade' | 'opts'>, err: Error): boolean {
  return !!job.finishedOn || job.attemptsMade >= (job.opts.attempts ?? 1) || err instanceof UnrecoverableError || err.name === 'UnrecoverableError';
}

/**
 * Whether retrying the job can help: not when it failed on a permanent RepwatchError (bad data, a
 * brand no longer configured). A stall or an exhausted run of retryable failures can.
 */
export function recoverableFailure(err: Error): boolean {
  const code = failureCodeOf(err);
  return !(code in ERROR_CODES) || ERROR_CODES[code as ErrorCode].retryable;
}

/** Backoff that honours the other side's wait (Retry-After, rate-limit reset), else doubles from `baseMs`. */
export function backoffFor(baseMs: number) {
  return (attemptsMade: number, _type: string | undefined, err: Error | undefined): number => {
    if (err instanceof RepwatchError && err.retryAfterMs !== undefined) return Math.max(err.retryAfterMs, 100);
    return baseMs * 2 ** Math.max(0, attemptsMade - 1);
  };
}
