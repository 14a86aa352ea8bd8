import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main';
import { makeConfig } from '../helpers';
import { startTestApi, type TestApi } from './setup';

describe('the console and /metrics', () => {
  let api: TestApi;
  const dir = mkdtempSync(path.join(tmpdir(), 'repwatch-console-'));

  beforeAll(async () => {
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>repwatch console</title><script type="module" src="/assets/app-B2x9kQ1z.js"></script>');
    writeFileSync(path.join(dir, 'assets', 'app-B2x9kQ1z.js'), 'console.log("console")');
    writeFileSync(path.join(tmpdir(), 'outside-the-console.txt'), 'private');
    api = await startTestApi({ consoleDir: dir, metrics: true });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('serves the built console at / without a key, and index.html for its own paths', async () => {
    const index = await api.call('GET', '/', { key: null });
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.body).toContain('repwatch console');
    expect(index.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");

    const asset = await api.call('GET', '/assets/app-B2x9kQ1z.js', { key: null });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');

    // A deep link of the single-page app gets index.html, so a reload works.
    const deep = await api.call('GET', '/alerts/snelpost%2Fx%2F1', { key: null });
    expect([deep.status, deep.body]).toEqual([200, expect.stringContaining('repwatch console')]);
  });

  it('keeps API paths JSON and files outside the console folder out of reach', async () => {
    const unknownApi = await api.call('GET', '/api/v1/nothing-here');
    expect([unknownApi.status, unknownApi.body.error?.code]).toEqual([404, 'RW_ERR_UNKNOWN_REFERENCE']);
    const escape = await api.call('GET', '/..%2Foutside-the-console.txt', { key: null });
    expect(escape.body).not.toContain('private');
    const post = await api.call('POST', '/somewhere', { key: null, body: {} });
    expect([post.status, post.body.error?.code]).toEqual([404, 'RW_ERR_UNKNOWN_REFERENCE']);
  });

  it('serves /metrics from the metrics registry without a key', async () => {
    const res = await api.call('GET', '/metrics', { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.body).toBe('repwatch_up 1\n');
  });
});

describe('repwatch run --roles …,api', () => {
  const saved = { ...process.env };
  let stderr = '';
  let spy: jest.SpyInstance;
  beforeEach(() => {
    stderr = '';
    spy = jest.spyOn(process.stderr, 'write').mockImplementation((s: any) => ((stderr += String(s)), true));
    const { dir } = makeConfig({ brands: { brands: [{ id: 'snelpost', name: 'SnelPost', keywords: ['snelpost'], sources: [{ id: 's', platform: 'replay', file: 'p.jsonl' }] }] }, extra: { 'p.jsonl': '' } }, {});
    process.env.REPWATCH_CONFIG = dir;
    process.env.LOG_LEVEL = 'silent';
  });
  afterEach(() => {
    spy.mockRestore();
    process.env = { ...saved };
  });

  it('refuses a malformed REPWATCH_API_KEYS before starting, without quoting the secret', async () => {
    process.env.REPWATCH_API_KEYS = 'anna=tooshort-secret';
    expect(await main(['run', '--roles', 'api'])).toBe(2);
    expect(stderr).toContain('RW_ERR_CONFIG_INVALID');
    expect(stderr).toContain('REPWATCH_API_KEYS');
    expect(stderr).not.toContain('tooshort-secret');
  });

  it('refuses a bad REPWATCH_HTTP and unknown roles', async () => {
    process.env.REPWATCH_HTTP = 'everywhere';
    expect(await main(['run', '--roles', 'api'])).toBe(2);
    expect(stderr).toContain('REPWATCH_HTTP');
    expect(await main(['run', '--roles', 'api,web'])).toBe(2);
    expect(stderr).toMatch(/unknown role\(s\) web; known: .*api/);
  });
});
