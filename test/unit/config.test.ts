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
      env: { DEMO_WEBHOOK_URL: 'http://127.0.0.1:9/x', DEMO_WEBHOOK_SECRET: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0', DEMO_PAGERDUTY_URL: 'http://127.0.0.1:9/v2/enqueue', DEMO_PAGERDUTY_KEY: 'K'.repeat(32) },
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
              { id: 'ok', name: 'Ok again', keywords: ['ok'], sources: [{ id: 'r', platform: 'myspace' }] },
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
        { HOOK_SECRET: 'whsec_dGhpcyBpcyBhIHNlY3JldCB2YWx1ZSwgMzIgYnl0ZXM=' },
      ),
    );
    expect(problems.map((p) => `${path.basename(p.file)} ${p.path}: ${p.message}`)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^routing\.yaml route\.routes\.0\.receivers\.0: .*oncall/), expect.stringMatching(/^routing\.yaml silences.*s2.*overlaps|s1.*overlaps/)]),
    );
  });

  describe('receivers', () => {
    const brands = { brands: [{ id: 'b', name: 'B', keywords: ['b'], sources: [replaySource] }] };
    const secret = (bytes: number, fill = 7) => `whsec_${Buffer.alloc(bytes, fill).toString('base64')}`;

    it('gives each receiver type its delivery mode by default (webhook every, slack latest, pagerduty every), and takes one given', () => {
      const receivers = {
        receivers: [
          { id: 'hook', type: 'webhook', url: 'https://crm.example.com/hook', secretEnv: 'HOOK_SECRET' },
          { id: 'hook-latest', type: 'webhook', url: 'https://crm.example.com/hook2', secretEnv: 'HOOK_SECRET', deliveryMode: 'latest' },
          { id: 'chat', type: 'slack', webhookUrlEnv: 'SLACK_URL' },
          { id: 'oncall', type: 'pagerduty', routingKeyEnv: 'PD_KEY' },
        ],
      };
      const { config } = makeConfig({ brands, receivers, extra: { 'posts.jsonl': '' } }, { HOOK_SECRET: secret(32), SLACK_URL: 'https://hooks.slack.com/services/T/B/x', PD_KEY: 'K'.repeat(32) });
      expect(Object.fromEntries(config.receivers.map((r) => [r.id, r.deliveryMode]))).toEqual({ hook: 'every', 'hook-latest': 'latest', chat: 'latest', oncall: 'every' });
      const problems = problemsOf(() =>
        makeConfig({ brands, receivers: { receivers: [{ ...receivers.receivers[0], deliveryMode: 'sometimes' }] }, extra: { 'posts.jsonl': '' } }, { HOOK_SECRET: secret(32) }),
      );
      expect(problems.map((p) => p.path)).toEqual(['receivers.0.deliveryMode']);
    });

    it('refuses Standard Webhooks secrets shorter than 24 bytes, naming the variable and never the value', () => {
      const receivers = { receivers: [{ id: 'hook', type: 'webhook', url: 'https://crm.example.com/hook', secretEnv: 'HOOK_SECRET', optional: true }] };
      for (const [value, says] of [
        [secret(3, 65), '3 bytes long'],
        [secret(23, 65), '23 bytes long'],
        ['not-a-whsec-secret-value', 'does not start with whsec_'],
        ['whsec_***not*base64***', 'not whsec_ followed by base64'],
      ]) {
        const problems = problemsOf(() => makeConfig({ brands, receivers, extra: { 'posts.jsonl': '' } }, { HOOK_SECRET: value }));
        expect(problems).toEqual([expect.objectContaining({ path: 'receivers.0.secretEnv', message: expect.stringContaining('HOOK_SECRET') })]);
        expect(problems[0].message).toContain(says);
        expect(JSON.stringify(problems)).not.toContain(value.slice(6));
      }
      expect(makeConfig({ brands, receivers, extra: { 'posts.jsonl': '' } }, { HOOK_SECRET: secret(24) }).config.receivers.map((r) => r.id)).toEqual(['hook']);
    });

    it('takes several secrets for rotation: a list of variables, and several in one variable; each must be long enough and set', () => {
      const receivers = { receivers: [{ id: 'hook', type: 'webhook', url: 'https://crm.example.com/hook', secretEnv: ['HOOK_SECRET_OLD', 'HOOK_SECRETS'] }] };
      const loaded = makeConfig({ brands, receivers, extra: { 'posts.jsonl': '' } }, { HOOK_SECRET_OLD: secret(24, 1), HOOK_SECRETS: `${secret(32, 2)} ${secret(32, 3)}` });
      expect(loaded.config.receivers[0]).toMatchObject({ secretEnv: ['HOOK_SECRET_OLD', 'HOOK_SECRETS'] });
      // The log redactor knows each secret of a variable holding several.
      expect(loaded.secrets.values()).toEqual(expect.arrayContaining([secret(32, 2), secret(32, 3)]));

      const short = problemsOf(() => makeConfig({ brands, receivers, extra: { 'posts.jsonl': '' } }, { HOOK_SECRET_OLD: secret(24, 1), HOOK_SECRETS: `${secret(32, 2)} ${secret(10, 3)}` }));
      expect(short.map((p) => p.message)).toEqual([expect.stringMatching(/the 2nd secret in HOOK_SECRETS is 10 bytes long/)]);
      const unset = problemsOf(() => makeConfig({ brands, receivers, extra: { 'posts.jsonl': '' } }, { HOOK_SECRETS: secret(32, 2) }));
      expect(unset.map((p) => p.message)).toEqual([expect.stringContaining('HOOK_SECRET_OLD is not set')]);
      expect(problemsOf(() => makeConfig({ brands, receivers: { receivers: [{ ...receivers.receivers[0], secretEnv: [] }] }, extra: { 'posts.jsonl': '' } }, {})).map((p) => p.path)).toEqual([
        'receivers.0.secretEnv',
      ]);
    });
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

  it('reads a brand\'s digest with its defaults, and reports unknown or unsuitable digest receivers and bad times', () => {
    const receivers = {
      receivers: [
        { id: 'hook', type: 'webhook', url: 'https://crm.example.com/hook', secretEnv: 'HOOK_SECRET' },
        { id: 'oncall', type: 'pagerduty', routingKeyEnv: 'PD_KEY' },
      ],
    };
    const env = { HOOK_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`, PD_KEY: 'K'.repeat(32) };
    const { config } = makeConfig({ brands: { brands: [{ id: 'b', name: 'B', keywords: ['b'], sources: [replaySource], digest: { receivers: ['hook'], timeZone: 'Europe/Amsterdam' } }] }, receivers, extra: { 'posts.jsonl': '' } }, env);
    expect(config.brands[0].digest).toEqual({ receivers: ['hook'], schedule: 'daily', at: '09:00', timeZone: 'Europe/Amsterdam' });

    const withDigest = (digest: unknown) =>
      problemsOf(() => makeConfig({ brands: { brands: [{ id: 'b', name: 'B', keywords: ['b'], sources: [replaySource], digest }] }, receivers, extra: { 'posts.jsonl': '' } }, env)).map(
        (p) => `${p.path}: ${p.message}`,
      );
    expect(withDigest({ receivers: ['hook', 'nobody', 'oncall'], schedule: 'hourly' })).toEqual([
      expect.stringMatching(/^brands\.0\.digest\.receivers\.1: unknown receiver "nobody" \(receivers\.yaml has: hook, oncall\)/),
      expect.stringMatching(/^brands\.0\.digest\.receivers\.2: .*pagerduty/),
    ]);
    expect(withDigest({ receivers: ['hook'], at: '9am', timeZone: 'Mars/Olympus', schedule: 'weekly' })).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^brands\.0\.digest\.at: .*09:00/),
        expect.stringMatching(/^brands\.0\.digest\.timeZone: .*IANA/),
        expect.stringMatching(/^brands\.0\.digest\.schedule: /),
      ]),
    );
    expect(withDigest({ receivers: [] })).toEqual([expect.stringMatching(/^brands\.0\.digest\.receivers: /)]);
  });

  it('never puts secret values in the config object', () => {
    const { config, secrets } = makeConfig(
      {
        brands: { brands: [{ id: 'b', name: 'B', keywords: ['b'], sources: [replaySource] }] },
        receivers: { receivers: [{ id: 'hook', type: 'webhook', url: 'https://crm.example.com/hook', secretEnv: 'HOOK_SECRET' }] },
        extra: { 'posts.jsonl': '' },
      },
      { HOOK_SECRET: 'whsec_dGhpcyBpcyBhIHNlY3JldCB2YWx1ZSwgMzIgYnl0ZXM=' },
    );
    expect(JSON.stringify(config)).not.toContain('whsec_dGhpcyBp');
    expect(JSON.stringify({ secrets })).not.toContain('whsec_dGhpcyBp');
    expect(secrets.get('HOOK_SECRET')).toBe('whsec_dGhpcyBpcyBhIHNlY3JldCB2YWx1ZSwgMzIgYnl0ZXM=');
    expect(() => secrets.get('NOPE')).toThrow(/NOPE is not set/);
  });
});

describe('brand keywords and exclusions', () => {
  it('reports a malformed boolean keyword and exclusion with their paths', () => {
    const problems = problemsOf(() =>
      makeConfig({ brands: { brands: [{ id: 'acme', name: 'Acme', keywords: ['acme', 'acme AND'], exclude: ['""'], sources: [{ id: 'r', platform: 'replay', file: 'p.jsonl' }] }] }, extra: { 'p.jsonl': '' } }, {}),
    );
    expect(problems.map((p) => p.path)).toEqual(expect.arrayContaining(['brands.0.keywords.1', 'brands.0.exclude.0']));
    expect(problems.find((p) => p.path === 'brands.0.keywords.1')?.message).toContain('AND');
  });
});

describe('a source of every platform', () => {
  const SOURCES = [
    { id: 'x', platform: 'x', bearerTokenEnv: 'X_TOKEN' },
    { id: 'bsky', platform: 'bluesky', identifierEnv: 'BSKY_ID', appPasswordEnv: 'BSKY_APP_PASSWORD' },
    { id: 'masto', platform: 'mastodon', instance: 'https://mastodon.social', hashtags: ['acmebank'], accessTokenEnv: 'MASTO_TOKEN' },
    { id: 'news', platform: 'rss', googleNews: { hl: 'nl', gl: 'NL' } },
    { id: 'feed', platform: 'rss', url: 'https://feeds.nos.nl/nosnieuwsalgemeen', pollEvery: '5m' },
    { id: 'yt', platform: 'youtube', apiKeyEnv: 'YT_KEY', channelId: 'UC_x5XG1OV2P6uZZ5FSM9Ttw' },
    { id: 'reddit', platform: 'reddit', clientIdEnv: 'REDDIT_ID', clientSecretEnv: 'REDDIT_SECRET', userAgent: 'repwatch/0.1 (by /u/acme_social)', subreddits: ['thenetherlands'] },
    { id: 'ig', platform: 'instagram', igUserId: '17841405309211844', accessTokenEnv: 'IG_TOKEN', appSecretEnv: 'META_APP_SECRET', verifyTokenEnv: 'META_VERIFY' },
    { id: 'fb', platform: 'facebook', pageId: '104334178245619', accessTokenEnv: 'FB_TOKEN', appSecretEnv: 'META_APP_SECRET', verifyTokenEnv: 'META_VERIFY' },
    { id: 'tp', platform: 'trustpilot', apiKeyEnv: 'TP_KEY', businessUnitId: '507f191e810c19729de860ea' },
    { id: 'gbp', platform: 'google-reviews', clientIdEnv: 'G_ID', clientSecretEnv: 'G_SECRET', refreshTokenEnv: 'G_REFRESH', accountId: '1234567890', locationIds: ['9876543210'] },
  ];
  const ENV = Object.fromEntries(
    ['X_TOKEN', 'BSKY_ID', 'BSKY_APP_PASSWORD', 'MASTO_TOKEN', 'YT_KEY', 'REDDIT_ID', 'REDDIT_SECRET', 'IG_TOKEN', 'META_APP_SECRET', 'META_VERIFY', 'FB_TOKEN', 'TP_KEY', 'G_ID', 'G_SECRET', 'G_REFRESH'].map((n) => [n, `value-of-${n.toLowerCase()}-0123456789`]),
  );

  it('accepts it, with every credential named by environment variable and kept out of the config', () => {
    const { config, secrets } = makeConfig({ brands: { brands: [{ id: 'acme', name: 'Acme Bank', keywords: ['acme bank'], handles: ['@acmebank'], sources: SOURCES }] } }, ENV);
    expect(config.brands[0].sources.map((s) => s.platform).sort()).toEqual(['bluesky', 'facebook', 'google-reviews', 'instagram', 'mastodon', 'reddit', 'rss', 'rss', 'trustpilot', 'x', 'youtube']);
    expect(secrets.get('G_REFRESH')).toBe(ENV.G_REFRESH);
    expect(JSON.stringify(config)).not.toContain(ENV.G_REFRESH);
  });

  it('reports every problem of a wrong one, each with its path', () => {
    const wrong = [
      { id: 'bsky', platform: 'bluesky', identifierEnv: 'BSKY_ID' },
      { id: 'masto', platform: 'mastodon', instance: 'http://mastodon.social', search: true },
      { id: 'news', platform: 'rss', url: 'https://example.nl/feed', pollEvery: '10s' },
      { id: 'yt', platform: 'youtube', apiKeyEnv: 'YT_KEY', channelId: 'UC_x5XG1OV2P6uZZ5FSM9Ttw', pollEvery: '10s' },
      { id: 'reddit', platform: 'reddit', clientIdEnv: 'REDDIT_ID', clientSecretEnv: 'REDDIT_SECRET', userAgent: 'repwatch/0.1 (by /u/acme_social)', search: false },
      { id: 'ig', platform: 'instagram', igUserId: 'acme', accessTokenEnv: 'IG_TOKEN', appSecretEnv: 'META_APP_SECRET', verifyTokenEnv: 'META_VERIFY' },
      { id: 'tp', platform: 'trustpilot', apiKeyEnv: 'TP_KEY', businessUnitId: '507f191e810c19729de860ea' },
    ];
    const problems = problemsOf(() => makeConfig({ brands: { brands: [{ id: 'acme', name: 'Acme Bank', keywords: ['acme bank'], sources: wrong }] } }, { ...ENV, TP_KEY: '' }));
    const paths = problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'brands.0.sources.0.appPasswordEnv',
        'brands.0.sources.1.instance',
        'brands.0.sources.2.pollEvery',
        'brands.0.sources.3.pollEvery',
        'brands.0.sources.1.search',
        'brands.0.sources.4.subreddits',
        'brands.0.sources.5.igUserId',
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(6);
  });
});
