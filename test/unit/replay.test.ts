import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PollContext } from '../../src/connectors/connector';
import { clearReplayCache, replayConnector, replayIndexOf } from '../../src/connectors/replay';
import type { ReplaySourceConfig } from '../../src/config/schema';
import type { ResolvedBrand } from '../../src/config/load';
import { captureLogger } from '../helpers';

const T0 = Date.parse('2026-03-10T09:00:00Z');

function line(i: number, minutes: number, text: string, extra: object = {}): string {
  return JSON.stringify({
    platform: 'x',
    postId: `p${i}`,
    url: `https://x.com/u/status/${i}`,
    author: { id: `u${i}`, handle: `u${i}`, followers: 10, verified: false },
    text,
    createdAt: new Date(T0 + minutes * 60_000).toISOString(),
    engagement: { likes: i },
    ...extra,
  });
}

describe('replay connector (a JSONL file played back; the file is indexed, not held)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'repwatch-replay-'));
  const { logger, lines: logs } = captureLogger();
  const brand = { id: 'zeezicht', keywords: ['Zeezicht'], handles: [] } as unknown as ResolvedBrand;
  const ctx = (file: string, over: Partial<ReplaySourceConfig> = {}, cursor: PollContext['cursor'] = null, now = T0): PollContext<ReplaySourceConfig> => ({
    brand,
    source: { id: 'r', platform: 'replay', file, speed: 'max', pageSize: 3, pollEvery: 1000, ...over } as ReplaySourceConfig,
    cursor,
    now,
    secrets: { get: () => undefined } as never,
    configDir: dir,
    logger,
  });
  beforeEach(() => clearReplayCache());

  it('pages through the posts in createdAt order, skipping other brands and invalid lines with a warning', async () => {
    const file = 'unsorted.jsonl';
    writeFileSync(
      path.join(dir, file),
      [
        line(3, 3, 'Hotel Zeezicht drie'),
        '{"not": "a post"}',
        line(1, 1, 'Hotel Zeezicht één 🌊'),
        'not json at all',
        line(2, 2, 'ander hotel'),
        '',
        line(4, 4, 'Zeezicht vier', { brandId: 'other' }),
        line(5, 5, 'zeezicht vijf'),
        line(6, 5, 'Zeezicht zes (same minute as vijf, later in the file)'),
      ].join('\r\n'),
    );
    const first = await replayConnector.poll(ctx(file));
    expect(first.mentions.map((m) => m.postId)).toEqual(['p1', 'p3', 'p5']);
    expect(first.mentions[0]).toMatchObject({ brandId: 'zeezicht', text: 'Hotel Zeezicht één 🌊', engagement: { likes: 1, reposts: 0, replies: 0, quotes: 0 } });
    expect(first.hasMore).toBe(true);
    const warning = logs.map((l) => JSON.parse(l)).find((l) => l.code === 'RW_ERR_INPUT_INVALID');
    expect(warning).toMatchObject({ lines: [2, 4], count: 2 });
    const second = await replayConnector.poll(ctx(file, {}, first.cursor));
    expect(second.mentions.map((m) => m.postId)).toEqual(['p6']);
    expect(second.cursor.done).toBe(true);
    expect(second.hasMore).toBe(false);
  });

  it('indexes lines across read-chunk boundaries, multi-byte characters and a last line without a newline', async () => {
    const file = 'chunks.jsonl';
    const posts = Array.from({ length: 40 }, (_, i) => line(i, i, `Zeezicht ${'é😀'.repeat(i)} ${i}`));
    writeFileSync(path.join(dir, file), posts.join('\n'));
    for (const chunk of [7, 64, 1000, 1 << 20]) {
      expect(replayIndexOf(path.join(dir, file), chunk)).toEqual({ count: 40, origin: T0, invalidLines: [], invalidCount: 0 });
    }
    replayIndexOf(path.join(dir, file), 7);
    const page = await replayConnector.poll(ctx(file, { pageSize: 40 }));
    expect(page.mentions.map((m) => m.text)).toEqual(Array.from({ length: 40 }, (_, i) => `Zeezicht ${'é😀'.repeat(i)} ${i}`));
  });

  it('follows simulated time at a speed, and reads a changed file again', async () => {
    const file = 'timed.jsonl';
    writeFileSync(path.join(dir, file), [line(1, 0, 'Zeezicht a'), line(2, 10, 'Zeezicht b'), line(3, 20, 'Zeezicht c')].join('\n') + '\n');
    // 60×: ten simulated minutes pass in ten real seconds.
    const start = await replayConnector.poll(ctx(file, { speed: 60 }, null, 1_000_000));
    expect(start.mentions.map((m) => m.postId)).toEqual(['p1']);
    const later = await replayConnector.poll(ctx(file, { speed: 60 }, start.cursor, 1_000_000 + 10_000));
    expect(later.mentions.map((m) => m.postId)).toEqual(['p2']);
    writeFileSync(path.join(dir, file), [line(1, 0, 'Zeezicht a'), line(2, 10, 'Zeezicht b'), line(3, 20, 'Zeezicht c'), line(4, 20, 'Zeezicht d')].join('\n') + '\n');
    const rest = await replayConnector.poll(ctx(file, { speed: 'max' }, later.cursor));
    expect(rest.mentions.map((m) => m.postId)).toEqual(['p3', 'p4']);
  });

  it('gives a recheck the engagement reached on the replay clock, by post id', async () => {
    const file = 'engagement.jsonl';
    writeFileSync(
      path.join(dir, file),
      [line(1, 0, 'Zeezicht a', { engagementLater: [{ after: 5, likes: 50 }, { after: 30, likes: 300 }] }), line(2, 1, 'Zeezicht b'), line(3, 2, 'Zeezicht c')].join('\n'),
    );
    const cursor = { offset: 3, startedAt: 1_000_000 };
    // Ten simulated minutes after the first post: the 5-minute step is reached, the 30-minute one not.
    const seen = await replayConnector.engagement!(ctx(file, { speed: 60 }, cursor, 1_000_000 + 10_000), ['p1', 'p3', 'missing']);
    expect(Object.fromEntries(seen)).toEqual({ p1: { likes: 50, reposts: 0, replies: 0, quotes: 0 }, p3: { likes: 3, reposts: 0, replies: 0, quotes: 0 } });
  });

  it('refuses a missing file with a coded error', async () => {
    await expect(replayConnector.poll(ctx('nope.jsonl'))).rejects.toMatchObject({ code: 'RW_ERR_INPUT_INVALID' });
  });
});
