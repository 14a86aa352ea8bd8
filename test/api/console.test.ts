import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Mention } from '../../src/domain/mention';
import { startRepwatch, type Repwatch } from '../../workers/app';
import { MONGODB_URI, REDIS_URL, captureLogger, makeConfig, uniqueName, waitFor } from '../helpers';

/**
 * The on-call console in a real browser (Debian's chromium, driven by playwright-core) against the
 * api role with real Redis and the MongoDB-compatible server: sign in, watch the athlete's
 * complaint arrive through the ingest pipeline without a reload, open it, acknowledge it.
 */

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ROOT = path.resolve(__dirname, '../..');
const SCREENSHOT = path.join(ROOT, '.local', 'console.png');
const KEYS = { anna: 'anna-console-secret-0123456789', ben: 'ben-console-secret-9876543210' };
const ATHLETE_TEXT =
  "Wat een teleurstelling bij Hotel Zeezicht @hotelzeezicht: de kamer was vies, veel kleiner dan op de foto's en geen zeezicht. Personeel onbeschoft. Nooit meer!";

function post(i: number, text: string, author: Mention['author'], minutesAgo: number, lang = 'nl'): Mention {
  const id = String(1_890_000_000_000_000_000n + BigInt(i));
  return {
    platform: 'x',
    postId: id,
    url: `https://x.com/${author.handle}/status/${id}`,
    brandId: 'hotel-zeezicht',
    author,
    text,
    langHint: lang,
    createdAt: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
    engagement: { likes: 3, reposts: 1, replies: 0, quotes: 0 },
  } as Mention;
}

describe('the on-call console in chromium', () => {
  let app: Repwatch | undefined;
  let context: BrowserContext | undefined;
  let redis: Redis | undefined;
  const prefix = `{${uniqueName('console')}}`;
  const dbName = uniqueName('console');
  const consoleDir = mkdtempSync(path.join(tmpdir(), 'repwatch-console-build-'));
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'repwatch-chromium-'));
  const log = captureLogger(() => Object.values(KEYS));

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: the console test drives Debian's chromium (apt-get install chromium; .ci/run installs it)`);
    }
    // Built from console/ now, so the test never runs an old dist/console.
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', 'console', '--outDir', consoleDir, '--emptyOutDir', '--logLevel', 'error'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, VITE_CONFIG_NATIVE_IGNORE_WARNING: 'true' },
    });
    const loaded = makeConfig(
      {
        brands: {
          brands: [{ id: 'hotel-zeezicht', name: 'Hotel Zeezicht', keywords: ['Hotel Zeezicht', 'zeezicht'], handles: ['@hotelzeezicht'], sources: [{ id: 's', platform: 'replay', file: 'p.jsonl' }] }],
        },
        receivers: { receivers: [{ id: 'oncall', type: 'pagerduty', routingKeyEnv: 'PD_KEY' }] },
        extra: { 'p.jsonl': '' },
      },
      { PD_KEY: 'R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12' },
    );
    app = await startRepwatch({
      config: loaded.config,
      secrets: loaded.secrets,
      logger: log.logger,
      redisUrl: REDIS_URL(),
      mongoUri: MONGODB_URI(),
      dbName,
      queuePrefix: prefix,
      // Ingest judges and alerts on the posts the test hands it; nothing is polled or delivered.
      roles: ['ingest', 'api'],
      api: { listen: { host: '127.0.0.1', port: 0 }, apiKeys: new Map(Object.entries(KEYS)), consoleDir, stream: { heartbeatMs: 5_000, pollMs: 100 } },
    });
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      args: CHROMIUM_FLAGS,
      headless: true,
      viewport: { width: 1100, height: 900 },
      deviceScaleFactor: 1,
      colorScheme: 'light',
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    if (app) {
      await app.store.conn.dropDatabase().catch(() => undefined);
      await app.close();
    }
    redis = new Redis(REDIS_URL());
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    rmSync(consoleDir, { recursive: true, force: true });
    rmSync(userDataDir, { recursive: true, force: true });
  });

  async function api(pathname: string): Promise<any> {
    const res = await fetch(`${app!.api!.url}${pathname}`, { headers: { Authorization: `Bearer ${KEYS.ben}` } });
    expect(res.status).toBe(200);
    return res.json();
  }

  it('signs in, shows the athlete\'s complaint live, opens it and acknowledges it', async () => {
    const page: Page = context!.pages()[0] ?? (await context!.newPage());
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/401 \(Unauthorized\)/.test(msg.text())) problems.push(`console error: ${msg.text()}`);
    });

    await page.goto(app!.api!.url);

    // A wrong key: the coded error, and no session.
    await page.getByLabel('API key').fill('not-a-key-of-anyone-here');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expectText(page.getByRole('alert'), /RW_ERR_UNAUTHORIZED/);

    await page.getByLabel('API key').fill(KEYS.anna);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: /Open alerts/ }).waitFor();
    await page.getByText('Nothing open').waitFor();
    await waitForLive(page);

    // Posts arrive through the pipeline while the page is open: the alert appears without a reload.
    const athlete = post(3, ATHLETE_TEXT, { id: 'femke', handle: 'femkesprint', name: 'Femke de Vries', followers: 312_400, verified: true }, 2);
    await app!.queues.ingest.add('ingest', {
      brandId: 'hotel-zeezicht',
      sourceId: 's',
      polledAt: Date.now(),
      mentions: [
        post(1, 'Heerlijk ontbijt gehad bij Hotel Zeezicht, echt een aanrader!', { id: 'u1', handle: 'jan_ontbijt', followers: 800, verified: false }, 9),
        post(2, 'Slechtste hotel ooit, Hotel Zeezicht. Vies en duur, waardeloos.', { id: 'u2', handle: 'reiziger_kees', followers: 4_200, verified: false }, 6),
        athlete,
        post(4, 'Hotel Zeezicht was terrible, dirty room and rude staff. Never again.', { id: 'u4', handle: 'tom_travels', followers: 40, verified: false }, 1, 'en'),
      ],
    });
    const row = page.locator('.alert-row', { hasText: '@femkesprint' });
    await row.waitFor({ timeout: 15_000 });
    await expectText(row.locator('.sev'), /critical/);
    await expectText(row.getByTestId('status'), /triggered/);
    // Most severe first: the athlete's critical complaint heads the list.
    await expectText(page.locator('.alert-row').first(), /@femkesprint/);
    const alertId = await row.getAttribute('data-alert-id');
    expect(alertId).toMatch(/^hotel-zeezicht\//);

    await row.locator('a').click();
    await page.waitForURL(`**/alerts/${encodeURIComponent(alertId!)}`);
    await expectText(page.locator('.reason'), /@femkesprint \(312,400 followers, verified\)/);
    await expectText(page.locator('.post-text').first(), /teleurstelling bij Hotel Zeezicht/);
    await expectText(page.getByTestId('pagerduty-state'), /not paged/);
    await expectText(page.getByTestId('state-line'), /pages on-call at/i);

    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await expectText(page.locator('.detail-head').getByTestId('status'), /^acknowledged$/);
    await expectText(page.getByTestId('state-line'), /Acknowledged by anna/);
    await expectText(page.locator('.timeline').last(), /Acknowledged by anna/);
    await expect(page.getByRole('button', { name: 'Acknowledge' }).count()).resolves.toBe(0);

    // The API agrees, and the stream recorded who did it.
    const detail = await api(`/api/v1/alerts/${encodeURIComponent(alertId!)}`);
    expect(detail.alert).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'anna', severity: 'critical' });
    expect(detail.events.map((e: any) => e.type)).toEqual(['alert.triggered', 'alert.acknowledged']);
    expect(detail.events[1].by).toBe('anna');

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // Back on the list, the acknowledged state is there too (the stream carried the change).
    await page.getByRole('link', { name: '← Open alerts' }).click();
    await expectText(page.locator('.alert-row', { hasText: '@femkesprint' }).getByTestId('status'), /acknowledged/);
    await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, '-list.png') });

    // On a phone: the same alert, laid out in one column.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('.alert-row', { hasText: '@femkesprint' }).locator('a').click();
    await expectText(page.locator('.detail-head').getByTestId('status'), /^acknowledged$/);
    await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, '-phone.png') });

    // Sources: a refused source says so, in red, with the reason.
    await page.setViewportSize({ width: 1280, height: 900 });
    await app!.sourceHealth.failed('hotel-zeezicht', 's', { code: 'RW_ERR_PLATFORM_REJECTED', message: '401 Unauthorized' }, Date.now());
    await page.getByRole('link', { name: 'Sources' }).click();
    await expectText(page.getByTestId('sources').locator('tr', { hasText: 'hotel-zeezicht' }), /refused.*credentials/s);

    // Signing out clears the cookie: a reload shows the sign-in page again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    await page.reload();
    await page.getByLabel('API key').waitFor();

    expect(problems).toEqual([]);
    // The keys never reach a log line.
    for (const secret of Object.values(KEYS)) expect(log.lines.join('\n')).not.toContain(secret);
  }, 45_000);
});

async function expectText(locator: ReturnType<Page['locator']>, pattern: RegExp, timeoutMs = 10_000): Promise<void> {
  await waitFor(`text ${pattern} in ${locator.toString()}`, async () => pattern.test((await locator.first().textContent({ timeout: 1_000 })) ?? ''), timeoutMs).catch(async (err) => {
    const seen = await locator.first().textContent({ timeout: 500 }).catch(() => '(not on the page)');
    throw new Error(`${(err as Error).message}; saw: ${JSON.stringify(seen)}`);
  });
}

async function waitForLive(page: Page): Promise<void> {
  await page.locator('.live[data-live="live"]').waitFor({ timeout: 10_000 });
}
