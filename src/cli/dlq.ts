import type { LoadedConfig } from '../config/load';
import { isRepwatchError } from '../domain/errors';
import type { DeadLetter } from '../store/dead-letters';
import type { Repwatch } from '../../workers/app';

/** Runs `fn` with repwatch connected (no workers) and closes it after; main.ts provides it. */
export type WithRepwatch = <T>(args: string[], fn: (app: Repwatch, loaded: LoadedConfig) => Promise<T>) => Promise<T | number>;

export const DLQ_USAGE = `  dlq list [--brand ID] [--queue ingest|deliver] [--all | --skipped]
                             work that failed for good: queue, brand, source or receiver, reason,
                             attempts, age (--all: resolved too; --skipped: posts a platform answered in part)
  dlq retry ID | --all       put dead letters back on their queue now (idempotent)`;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** 90s, 12m, 5h, 3d: how long ago. */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** One line per dead letter, tab-separated (id first, so it can be cut and passed to retry). */
export function formatDeadLetter(d: DeadLetter, now: number): string {
  const where = d.queue === 'deliver' ? `receiver ${d.receiverId ?? '?'}` : `source ${d.sourceId ?? '?'}`;
  const what = d.queue === 'ingest' ? `${d.posts ?? 0} posts` : d.queue === 'poll' ? 'skipped post' : 'delivery';
  const reason = `${d.code}: ${d.reason}`.replace(/\s+/g, ' ').slice(0, 160);
  return [d._id, d.status, d.queue, d.brandId ?? '-', where, what, `${d.attempts} attempts, ${d.retries} retries`, `failed ${age(now - d.firstFailedAt)} ago`, reason].join('\t');
}

/** `repwatch dlq list|retry`: exit 0 ok, 1 a retryable failure (store or Redis down), 2 bad usage or unknown id. */
export async function dlqCommand(verb: 'list' | 'retry', args: string[], withRepwatch: WithRepwatch, now: () => number = Date.now): Promise<number> {
  if (verb === 'retry' && (!args[0] || (args[0].startsWith('--') && args[0] !== '--all'))) {
    process.stderr.write('repwatch: dlq retry needs a dead-letter id or --all (see: repwatch dlq list)\n');
    return 2;
  }
  try {
    return await withRepwatch(args, async (app) => {
      if (verb === 'list') {
        const status = args.includes('--skipped') ? 'skipped' : args.includes('--all') ? undefined : 'open';
        const queue = option(args, '--queue') as DeadLetter['queue'] | undefined;
        const items = (await app.deadLetters.store.list({ status, queue, brandId: option(args, '--brand') }, 500)).filter((d) => status || d.status !== 'skipped');
        for (const d of items) process.stdout.write(`${formatDeadLetter(d, now())}\n`);
        if (items.length === 0) process.stdout.write(status === 'skipped' ? 'no skipped posts\n' : 'no dead letters\n');
        const counts = await app.deadLetters.store.count();
        if (status === 'open' && counts.skipped) process.stdout.write(`(${counts.skipped} posts skipped on platform errors: repwatch dlq list --skipped)\n`);
        return 0;
      }
      const results = args[0] === '--all' ? await app.deadLetters.retryAll(option(args, '--queue') as 'ingest' | 'deliver' | undefined) : [{ id: args[0], outcome: await app.deadLetters.retry(args[0]) }];
      for (const r of results) process.stdout.write(`${r.id}\t${r.outcome}\n`);
      if (results.length === 0) process.stdout.write('no open dead letters\n');
      return 0;
    });
  } catch (err) {
    if (isRepwatchError(err)) {
      process.stderr.write(`repwatch: ${err.code}: ${err.message}\n`);
      return err.retryable ? 1 : 2;
    }
    throw err;
  }
}
