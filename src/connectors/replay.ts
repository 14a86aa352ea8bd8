import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ReplaySourceConfig } from '../config/schema';
import type { ResolvedBrand } from '../config/load';
import { RepwatchError } from '../domain/errors';
import { z } from 'zod';
import { engagementSchema, mentionSchema, type Engagement, type Mention } from '../domain/mention';
import type { Connector, PollContext, PollResult } from './connector';

/**
 * A replay line: a Mention, where brandId is optional (then keywords and handles decide), and
 * optionally how its engagement grows (`engagementLater`, minutes after the post), which is what
 * rechecks of the post see.
 */
const replayLineSchema = mentionSchema
  .extend({
    brandId: mentionSchema.shape.brandId.optional(),
    engagementLater: z.array(engagementSchema.extend({ after: z.number().nonnegative() })).max(50).optional(),
  })
  .passthrough();

type ReplayPost = Mention & { brandId?: string; engagementLater?: (Engagement & { after: number })[] };

interface ParsedFile {
  mtimeMs: number;
  posts: ReplayPost[];
  /** createdAt of the first post, ms: the origin of simulated time. */
  origin: number;
  invalidLines: number[];
}

// Parsed files are cached by path and mtime: a cache only, the position lives in the cursor.
const fileCache = new Map<string, ParsedFile>();

function parseFile(file: string): ParsedFile {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    throw new RepwatchError('RW_ERR_INPUT_INVALID', `replay file not found: ${file}`);
  }
  const cached = fileCache.get(file);
  if (cached && cached.mtimeMs === stat.mtimeMs) return cached;
  const posts: ParsedFile['posts'] = [];
  const invalidLines: number[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        invalidLines.push(i + 1);
        return;
      }
      const r = replayLineSchema.safeParse(value);
      if (r.success && !Number.isNaN(Date.parse(r.data.createdAt))) posts.push(r.data as ParsedFile['posts'][number]);
      else invalidLines.push(i + 1);
    });
  posts.sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
  const parsed = { mtimeMs: stat.mtimeMs, posts, origin: posts.length ? Date.parse(posts[0].createdAt) : 0, invalidLines };
  fileCache.set(file, parsed);
  return parsed;
}

/** Whether a post without a brandId is about this brand: any keyword or handle, case-insensitive. */
export function matchesBrand(text: string, brand: Pick<ResolvedBrand, 'keywords' | 'handles'>): boolean {
  const lower = text.toLowerCase();
  return (
    brand.keywords.some((k) => lower.includes(k.toLowerCase())) ||
    brand.handles.some((h) => lower.includes(`@${h.replace(/^@/, '').toLowerCase()}`))
  );
}

/**
 * Replays posts from a JSONL file (demos, tests, benchmarks, backfills). Simulated time starts at
 * the first post; with `speed` N, a post becomes available (its offset from the first post) / N
 * after the replay started. The cursor holds the line position and the start time, so a restart
 * continues where it stopped.
 */
export const replayConnector: Connector<ReplaySourceConfig> = {
  platform: 'replay',
  async poll(ctx: PollContext<ReplaySourceConfig>): Promise<PollResult> {
    const file = path.resolve(ctx.configDir, ctx.source.file);
    const parsed = parseFile(file);
    const offset = Number(ctx.cursor?.offset ?? 0);
    const startedAt = Number(ctx.cursor?.startedAt ?? ctx.now);
    if (offset === 0 && parsed.invalidLines.length) {
      ctx.logger.warn({ file, lines: parsed.invalidLines.slice(0, 20), count: parsed.invalidLines.length, code: 'RW_ERR_INPUT_INVALID' }, 'replay file has invalid lines; they are skipped');
    }
    const simulatedNow = simulatedNowOf(ctx, parsed, startedAt);
    const mentions: Mention[] = [];
    let i = offset;
    for (; i < parsed.posts.length && mentions.length < ctx.source.pageSize; i++) {
      const post = parsed.posts[i];
      if (Date.parse(post.createdAt) > simulatedNow) break;
      if (post.brandId ? post.brandId !== ctx.brand.id : !matchesBrand(post.text, ctx.brand)) continue;
      const { engagementLater: _later, ...mention } = post;
      mentions.push({ ...mention, brandId: ctx.brand.id });
    }
    const more = i < parsed.posts.length;
    return {
      mentions,
      cursor: { offset: i, startedAt, done: !more },
      hasMore: more && (mentions.length === ctx.source.pageSize || simulatedNow === Infinity),
    };
  },
};

function simulatedNowOf(ctx: PollContext<ReplaySourceConfig>, parsed: ParsedFile, startedAt: number): number {
  return ctx.source.speed === 'max' ? Infinity : parsed.origin + (ctx.now - startedAt) * ctx.source.speed;
}

/** What a recheck sees: the last `engagementLater` step reached on the replay's clock, else the engagement at posting. */
export function replayEngagement(post: ReplayPost, simulatedNow: number): Engagement {
  const age = (simulatedNow - Date.parse(post.createdAt)) / 60_000;
  const reached = (post.engagementLater ?? []).filter((e) => e.after <= age).sort((a, b) => a.after - b.after);
  const last = reached[reached.length - 1];
  return last ? { likes: last.likes, reposts: last.reposts, replies: last.replies, quotes: last.quotes } : post.engagement;
}

replayConnector.engagement = async (ctx, postIds) => {
  const parsed = parseFile(path.resolve(ctx.configDir, ctx.source.file));
  const wanted = new Set(postIds);
  // Before the replay's first poll there is no replay clock yet: the service clock stands in.
  const simulatedNow = ctx.cursor?.startedAt !== undefined ? simulatedNowOf(ctx, parsed, Number(ctx.cursor.startedAt)) : ctx.now;
  const out = new Map<string, Engagement>();
  for (const post of parsed.posts) if (wanted.has(post.postId)) out.set(post.postId, replayEngagement(post, simulatedNow));
  return out;
};

/** Test and benchmark helper: forget cached files. */
export function clearReplayCache(): void {
  fileCache.clear();
}
