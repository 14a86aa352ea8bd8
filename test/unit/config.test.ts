import path from 'node:path';
import { loadConfig } from '../../src/config/load';
import { RepwatchError } from '../../src/domain/errors';
import { makeConfig } from '../helpers';

function problemsOf(fn: () => unknown): { file: string; path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RepwatchError);
    expect((err as RepwatchError).code).toBe('RW_ERR_CONFIG_INVALID');
    return (err as RepwatchError).details!.problems as { file: string; path: string; message: string }[];
  }
  throw new Error('expected the configuration to be rejected');
}

const replaySource = { id: 'scenario', platform: 'replay', file: 'posts.jsonl' };

describe('configuration', () => {
  it('loads the shipped example and the demo configuration', () => {
    const example = loadConfig({ dir: path.join(__dirname, '../../config'), env: { X_BEARER_TOKEN: 'token-value' } });
    expect(example.config.brands[0].effectivePolicy.criticalFollowers).toBe(50_000);
    expect(example.config.disabledReceivers.map((r) => r.id)).toEqual(['comms-slack', 'crm']);
    const demo = loadConfig({
      dir: path.join(__dirname, '../../config/demo'),
      env: { DEMO_WEBHOOK_URL: 'http://127.0.0.1:9/x', DEMO_WEBHOOK_SECRET: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0', DEMO_PAGERDUTY_URL: 'http://127.0.0.1:9/v2/enqueue', DEMO_PAGERDUTY_KEY: 'K'.repeat(32) },
    });
    expect(demo.config.brands.map((b) => b.id)).toEqual(['hotel-zeezicht', 'snelpost', 'voltabank']);
    expect(demo.config.receivers.map((r) => r.id)).toEqual(['demo-webhook', 'demo-oncall']);
    expect(demo.config.routing.route.receivers).toContain('demo-oncall');
    expect(demo.config.brands[1].topics.delivery).toContain('pakket');
  });

  it('applies defaults and freezes the result', () => {
    const { config } = makeConfig({ brands: { brands: [{ id: 'b', name: 'B', keywords: ['b'], sources: [replaySource] }] }, extra: { 'posts.jsonl': '' } }, {});
    expect(config.settings.policy.criticalFollowers).toBe(100_000);
    expect(config.brands[0].sources[0].pollEvery).toBe(1000);
    expect(Object.isFrozen(config.brands[0])).toBe(true);
    expect(() => {
      (config.settings as any).ingestConcurrency = 99;
    }).toThrow(TypeError);
  });

  it('reports every problem at once, each with its path', () => {
    const problems = problemsOf(() =>
      makeConfig(
        {
          brands: {
            brands: [
              { id: 'Bad Id', name: '', keywords: [], sources: [{ id: 'x', platform: 'x', bearerTokenEnv: 'X_TOKEN', pollEvery: 'soon' }] },
              { id: 'ok', name: 'Ok', keywords: ['ok'], sources: [{ id: 'r', platform: 'replay', file: 'missing.jsonl' }] },
              { id: 'ok', name: 'Ok again', keywords: ['ok'], sources: [{ id: 'r', platform: 'mastodon' }] },
            ],
          },
          receivers: { receivers: [{ id: 'hook', type: 'webhook', url: 'ftp://x', secretEnv: 'lower' }, { id: 'slack', type: 'slack' }] },
        },
        {},
      ),
    );
    const paths = problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining(['brands.0.id', 'brands.0.name', 'brands.0.sources.0.pollEvery', 'brands.2.sources.0.platform', 'receivers.0.secretEnv', 'receivers.1.webhookUrlEnv']),
    );
    expect(problems.length).toBeGreaterThanOrEqual(6);
  });

  it('reports cross-file problems: duplicate ids, missing replay files, unset credentials', () => {
    const problems = problemsOf(() =>
      makeConfig(
        {
          brands: {
            brands: [
              { id: 'a', name: 'A', keywords: ['a'], sources: [{ id: 'r', platform: 'replay', file: 'missing.jsonl' }, { id: 'x', platform: 'x', bearerTokenEnv: 'X_TOKEN' }] },
              { id: 'a', name: 'A2', keywords: ['a'], sources: [replaySource] },
            ],
          },
          receivers: { receivers: [{ id: 'hook', type: 'webhook', urlEnv: 'HOOK_URL', secretEnv: 'HOOK_SECRET' }] },
          extra: { 'posts.jsonl': '' },
        },
        {},
      ),
    );
    const messages = problems.map((p) => p.message).join('\n');
    expect(messages).toContain('brand id "a" is used more than once');
    expect(messages).toContain('replay file not found');
    expect(messages).toContain('X_TOKEN is not set');
    expect(messages).toContain('HOOK_URL is not set');
    expect(messages).toContain('HOOK_SECRET is not set');
  });

  it('reports routing problems at start-up, every one at once: unknown receivers, overlapping silences', () => {
    const silence = (id: string, startsAt: string, endsAt: string) => ({ id, match: { brand: ['b'] }, startsAt, endsAt, createdBy: 'anna@example.com' });
    const problems = problemsOf(() =>
      makeConfig(
        {
          brands: { brands: [{ id: 'b', name: 'B', keywords: ['b'], sources: [replaySource] }] },
          receivers: { receivers: [{ id: 'hook', type: 'webhook', url: 'https://crm.example.com/hook', secretEnv: 'HOOK_SECRET' }] },
          extra: {
            'posts.jsonl': '',
            'routing.yaml': JSON.stringify({
              route: { receivers: ['hook'], routes: [{ match: { kind: ['storm'] }, receivers: ['oncall'] }] },
              silences: [silence('s1', '2026-03-10T08:00:00Z', '2026-03-10T12:00:00Z'), silence('s2', '2026-03-10T11:00:00Z', '2026-03-10T13:00:00Z')],
            }),
          },
        },
        { HOOK_SECRET: 'whsec_dGhpcyBpcyBhIHNlY3JldCB2YWx1ZQ==' },
      ),
    );
    expect(problems.map((p) => `${path.basename(p.file)} ${p.path}: ${p.message}`)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^routing\.yaml route\.routes\.0\.receivers\.0: .*oncall/), expect.stringMatching(/^routing\.yaml silences.*s2.*overlaps|s1.*overlaps/)]),
    );
  });

  it('reads compound durations, and says what a duration looks like when one is wrong', () => {
    const { config } = makeConfig(
      { brands: { brands: [{ id: 'b', name: 'B', keywords: ['b'], sources: [replaySource], policy: { criticalAckSla: '2m30s', recoveryWindow: '7d' } }] }, extra: { 'posts.jsonl': '' } },
      {},
    );
    expect(config.brands[0].effectivePolicy).toMatchObject({ criticalAckSla: 150_000, recoveryWindow: 7 * 86_400_000 });
    const problems = problemsOf(() =>
      makeConfig({ brands: { brands: [{ id: 'b', name: 'B', keywords: ['b'], sources: [replaySource], policy: { criticalAckSla: 'soon' } }] }, extra: { 'posts.jsonl': '' } }, {}),
    );
    expect(problems).toEqual([expect.objectContaining({ path: 'brands.0.policy.criticalAckSla', message: expect.stringContaining('2m30s') })]);
  });

  it('never puts secret values in the config object', () => {
    const { config, secrets } = makeConfig(
      {
        brands: { brands: [{ id: 'b', name: 'B', keywords: ['b'], sources: [replaySource] }] },
        receivers: { receivers: [{ id: 'hook', type: 'webhook', url: 'https://crm.example.com/hook', secretEnv: 'HOOK_SECRET' }] },
        extra: { 'posts.jsonl': '' },
      },
      { HOOK_SECRET: 'whsec_dGhpcyBpcyBhIHNlY3JldCB2YWx1ZQ==' },
    );
    expect(JSON.stringify(config)).not.toContain('whsec_dGhpcyBp');
    expect(JSON.stringify({ secrets })).not.toContain('whsec_dGhpcyBp');
    expect(secrets.get('HOOK_SECRET')).toBe('whsec_dGhpcyBpcyBhIHNlY3JldCB2YWx1ZQ==');
    expect(() => secrets.get('NOPE')).toThrow(/NOPE is not set/);
  });
});
