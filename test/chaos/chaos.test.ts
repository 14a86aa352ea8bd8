import { rmSync } from 'node:fs';
import { runChaos } from '../../scripts/chaos';

/**
 * The short version of `npm run chaos` (issue #11): separate worker processes from the built CLI
 * on their own Redis and FerretDB, a replay of a few hundred posts, a kill -9 of an ingest
 * process, a Redis restart that keeps nothing and a kill -9 of a deliver process, then the
 * independent checks: every post stored once, every post that should alert in one alert, every
 * routed event received by the signed-webhook receiver in order and accepted once, no delivery
 * left pending, escalations made and PagerDuty told in order.
 */
test('a short chaos run loses nothing, doubles nothing and keeps order through kill -9, a Redis restart and a lost deliver process', async () => {
  const lines: string[] = [];
  const result = await runChaos({
    seed: 11,
    posts: 300,
    faults: 3,
    kinds: ['kill-ingest', 'redis-restart', 'kill-deliver'],
    replaySeconds: 20,
    settleSeconds: 100,
    log: (l) => lines.push(l),
  });
  // The run was a real one: every fault happened, and alerts reached both receivers.
  expect(result.faults.map((f) => f.kind)).toEqual(['kill-ingest', 'redis-restart', 'kill-deliver']);
  expect(result.webhooks).toBeGreaterThan(20);
  expect(result.pagerduty).toBeGreaterThan(0);
  const failed = result.checks.filter((c) => !c.ok).map((c) => c.name);
  if (failed.length) throw new Error(`chaos checks failed: ${failed.join(', ')}\n${result.summary.join('\n')}\n(run folder kept: ${result.runDir})`);
  expect(result.checks.filter((c) => c.name !== 'dead-letters').length).toBeGreaterThanOrEqual(10);
  rmSync(result.runDir, { recursive: true, force: true });
}, 300_000);
