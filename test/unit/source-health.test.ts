import { DEFAULT_HEALTH_LIMITS, blindnessOf, type SourceHealthRecord } from '../../src/domain/source-health';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const LIMITS = { ...DEFAULT_HEALTH_LIMITS, pollEvery: 60_000 };
const healthy: SourceHealthRecord = { brandId: 'b', sourceId: 's', lastAttemptAt: NOW - 30_000, lastSuccessAt: NOW - 30_000, consecutiveFailures: 0, postsRecent: 40, historyHours: 48, usualPerHour: 10 };

describe('whether a source still hears', () => {
  const cases: [string, Partial<SourceHealthRecord>, false | string][] = [
    ['polling and hearing as usual', {}, false],
    ['a refusal (expired token) is blind at once', { consecutiveFailures: 1, lastError: { code: 'RW_ERR_PLATFORM_REJECTED', message: '401 Unauthorized', at: NOW } }, 'refused'],
    ['a missing secret is a refusal too', { consecutiveFailures: 1, lastError: { code: 'RW_ERR_SECRET_MISSING', message: 'X_TOKEN is not set', at: NOW } }, 'refused'],
    ['two outages in a row are not blindness yet', { consecutiveFailures: 2, lastError: { code: 'RW_ERR_PLATFORM_UNAVAILABLE', message: '503', at: NOW } }, false],
    ['three in a row are', { consecutiveFailures: 3, lastError: { code: 'RW_ERR_PLATFORM_UNAVAILABLE', message: '503', at: NOW } }, 'failing'],
    ['a refusal that was followed by a success is over', { consecutiveFailures: 0, lastError: { code: 'RW_ERR_PLATFORM_REJECTED', message: '401', at: NOW - 60_000 } }, false],
    ['no poll for 20 minutes (scheduler gone)', { lastAttemptAt: NOW - 20 * 60_000 }, 'stale'],
    ['no poll for 10 minutes is still within the margin', { lastAttemptAt: NOW - 10 * 60_000 }, false],
    ['a busy source gone nearly silent', { postsRecent: 2, usualPerHour: 10 }, 'silent'],
    ['a quiet source with few posts is not called silent', { postsRecent: 0, usualPerHour: 1 }, false],
    ['without a day of history nobody is called silent', { postsRecent: 0, historyHours: 5 }, false],
    ['a stream down for three minutes', { stream: { connected: false, since: NOW - 180_000 } }, 'disconnected'],
    ['a stream down for a few seconds (reconnecting)', { stream: { connected: false, since: NOW - 5_000 } }, false],
  ];
  it.each(cases)('%s', (_what, change, expected) => {
    const b = blindnessOf({ ...healthy, ...change }, LIMITS, NOW);
    if (expected === false) expect(b).toEqual({ blind: false });
    else {
      expect(b).toMatchObject({ blind: true, why: expected });
      expect(b.blind && b.reason.length).toBeGreaterThan(20);
    }
  });
});
