import { isRepwatchError } from '../domain/errors';
import { describeSources, type SourceOverview } from '../services/sources';
import { age, type WithRepwatch } from './dlq';

export const SOURCES_USAGE = `  sources [--brand ID]        every source with its state: ok or why it is not hearing, last
                             successful poll, failures in a row, posts in the last 4 h against
                             its usual, quota, open coverage alert
  receivers                  receivers repwatch stopped sending to (410 Gone), with why and since
  receivers enable ID [--by NAME]
                             send to a disabled receiver again`;

/** One line per source, tab-separated. */
export function formatSource(s: SourceOverview, now: number): string {
  const h = s.health;
  return [
    `${s.brandId}/${s.sourceId}`,
    s.platform,
    s.state,
    h.lastSuccessAt ? `ok ${age(now - h.lastSuccessAt)} ago` : 'never ok',
    `${h.consecutiveFailures} failures`,
    `${h.postsRecent} posts/4h (usual ${h.usualPerHour.toFixed(1)}/h)`,
    s.quota ? `quota ${s.quota.used}/${s.quota.limit} ${s.quota.unit}/day` : '-',
    s.coverageAlertId ?? '-',
    (s.reason ?? (h.lastError ? `last error ${h.lastError.code}` : '')).replace(/\s+/g, ' ').slice(0, 200),
  ].join('\t');
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** `repwatch sources` and `repwatch receivers [enable ID]`: exit 0 ok (1 when a source is blind), 2 bad usage. */
export async function sourcesCommand(args: string[], withRepwatch: WithRepwatch, now: () => number = Date.now): Promise<number> {
  try {
    return await withRepwatch(args, async (app, loaded) => {
      const brand = option(args, '--brand');
      const rows = (await describeSources({ config: loaded.config, store: app.store, sourceHealth: app.sourceHealth, now })).filter((r) => !brand || r.brandId === brand);
      for (const r of rows) process.stdout.write(`${formatSource(r, now())}\n`);
      if (rows.length === 0) process.stdout.write('no sources\n');
      return rows.some((r) => r.state !== 'ok') ? 1 : 0;
    });
  } catch (err) {
    if (isRepwatchError(err)) {
      process.stderr.write(`repwatch: ${err.code}: ${err.message}\n`);
      return err.retryable ? 1 : 2;
    }
    throw err;
  }
}

export async function receiversCommand(args: string[], withRepwatch: WithRepwatch, now: () => number = Date.now): Promise<number> {
  const enabling = args[0] === 'enable';
  if (enabling && (!args[1] || args[1].startsWith('--'))) {
    process.stderr.write('repwatch: receivers enable needs a receiver id\n');
    return 2;
  }
  try {
    return await withRepwatch(args, async (app, loaded) => {
      if (enabling) {
        const id = args[1];
        if (!loaded.config.receivers.some((r) => r.id === id)) {
          process.stderr.write(`repwatch: RW_ERR_UNKNOWN_REFERENCE: no receiver "${id}" in receivers.yaml\n`);
          return 2;
        }
        const state = await app.receivers.enable(id, option(args, '--by') ?? process.env.USER ?? 'cli', now());
        process.stdout.write(`${state.receiverId}\t${state.state}\t${state.reason}\n`);
        return 0;
      }
      const states = new Map((await app.receivers.list()).map((s) => [s.receiverId, s]));
      for (const r of loaded.config.receivers) {
        const s = states.get(r.id);
        process.stdout.write([r.id, r.type, s?.state ?? 'enabled', s?.since ? `since ${new Date(s.since).toISOString()}` : '-', (s?.state === 'disabled' ? `${s.code ?? ''} ${s.reason}` : '').trim().slice(0, 200)].join('\t') + '\n');
      }
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
