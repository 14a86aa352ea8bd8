import { closeSync, openSync, readSync, statSync } from 'node:fs';
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

/**
 * What is kept of a replay file: where each valid line is, in createdAt order, not the posts
 * themselves. A page reads its lines from the file, so a poll process stays small however long
 * the file (a million-post backfill is about 28 MB of index).
 */
interface ReplayIndex {
  mtimeMs: number;
  size: number;
  count: number;
  /** Byte offset and length of the n-th post in createdAt order (file order among equal times). */
  starts: Float64Array;
  lengths: Uint32Array;
  times: Float64Array;
  /** A 32-bit hash of each post's id (same order): rechecks find their post without a map of ids. */
  idHashes: Uint32Array;
  /** createdAt of the first post, ms: the origin of simulated time. */
  origin: number;
  /** The first invalid lines (1-based) and how many there are. */
  invalidLines: number[];
  invalidCount: number;
}

// Indexes are cached by path, size and mtime: a cache only, the position lives in the cursor.
const indexCache = new Map<string, ReplayIndex>();
const INVALID_LINES_KEPT = 20;
/** Bytes read at a time while indexing; a line longer than this is put together from several reads. */
export const REPLAY_READ_CHUNK = 1 << 20;

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** FNV-1a over the id's UTF-16 code units. */
function idHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Calls `onLine(text, start, length, lineNumber)` for every line of the file, reading it in chunks. */
function eachLine(file: string, chunkSize: number, onLine: (text: string, start: number, length: number, lineNo: number) => void): void {
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(chunkSize);
    let pending: Buffer[] = [];
    let lineStart = 0;
    let position = 0;
    let lineNo = 0;
    const emit = (bytes: Buffer, end: number) => {
      lineNo++;
      onLine(bytes.toString('utf8'), lineStart, end - lineStart, lineNo);
      lineStart = end + 1;
    };
    for (;;) {
      const read = readSync(fd, chunk, 0, chunkSize, position);
      if (read === 0) break;
      let from = 0;
      for (let nl = chunk.indexOf(10, 0); nl !== -1 && nl < read; nl = chunk.indexOf(10, from)) {
        const piece = chunk.subarray(from, nl);
        emit(pending.length ? Buffer.concat([...pending, piece]) : piece, position + nl);
        pending = [];
        from = nl + 1;
      }
      if (from < read) pending.push(Buffer.from(chunk.subarray(from, read)));
      position += read;
    }
    if (pending.length) emit(Buffer.concat(pending), position);
  } finally {
    closeSync(fd);
  }
}

function grown<T extends Float64Array | Uint32Array>(column: T, capacity: number): T {
  const next = new (column.constructor as new (n: number) => T)(capacity);
  next.set(column);
  return next;
}

function indexFile(file: string, chunkSize = REPLAY_READ_CHUNK): ReplayIndex {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    throw new RepwatchError('RW_ERR_INPUT_INVALID', `replay file not found: ${file}`);
  }
  const cached = indexCache.get(file);
  if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached;
  // Typed columns grown by doubling: a million lines take about 28 MB, not the hundreds a JS array
  // of numbers would hold on to while the file is read.
  let capacity = 1024;
  let starts = new Float64Array(capacity);
  let lengths = new Uint32Array(capacity);
  let times = new Float64Array(capacity);
  let hashes = new Uint32Array(capacity);
  let count = 0;
  const invalidLines: number[] = [];
  let invalidCount = 0;
  eachLine(file, chunkSize, (text, start, length, lineNo) => {
    if (!text.trim()) return;
    const value = safeJson(text);
    const r = value === undefined ? undefined : replayLineSchema.safeParse(value);
    const time = r?.success ? Date.parse(r.data.createdAt) : NaN;
    if (!r?.success || Number.isNaN(time)) {
      invalidCount++;
      if (invalidLines.length < INVALID_LINES_KEPT) invalidLines.push(lineNo);
      return;
    }
    if (count === capacity) {
      capacity *= 2;
      starts = grown(starts, capacity);
      lengths = grown(lengths, capacity);
      times = grown(times, capacity);
      hashes = grown(hashes, capacity);
    }
    starts[count] = start;
    lengths[count] = length;
    times[count] = time;
    hashes[count] = idHash(r.data.postId);
    count++;
  });
  // createdAt order; equal times keep the file's order.
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  order.sort((a, b) => times[a] - times[b] || a - b);
  const index: ReplayIndex = {
    mtimeMs: stat.mtimeMs,
    size: stat.size,
    count,
    starts: Float64Array.from(order, (i) => starts[i]),
    lengths: Uint32Array.from(order, (i) => lengths[i]),
    times: Float64Array.from(order, (i) => times[i]),
    idHashes: Uint32Array.from(order, (i) => hashes[i]),
    origin: count ? times[order[0]] : 0,
    invalidLines,
    invalidCount,
  };
  indexCache.set(file, index);
  return index;
}

/** Reads posts by their place in the index. */
function readPosts(file: string, index: ReplayIndex, positions: number[]): ReplayPost[] {
  if (positions.length === 0) return [];
  const fd = openSync(file, 'r');
  try {
    return positions.map((n) => {
      const bytes = Buffer.allocUnsafe(index.lengths[n]);
      readSync(fd, bytes, 0, bytes.length, index.starts[n]);
      // Parsed as when indexed (defaults filled in, unknown nested fields dropped).
      const r = safeJson(bytes.toString('utf8'));
      const post = r === undefined ? undefined : replayLineSchema.safeParse(r);
      if (!post?.success) throw new RepwatchError('RW_ERR_INPUT_INVALID', `replay file changed while it was read: ${file}`);
      return post.data as ReplayPost;
    });
  } finally {
    closeSync(fd);
  }
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
    const index = indexFile(file);
    const offset = Number(ctx.cursor?.offset ?? 0);
    const startedAt = Number(ctx.cursor?.startedAt ?? ctx.now);
    if (offset === 0 && index.invalidCount) {
      ctx.logger.warn({ file, lines: index.invalidLines, count: index.invalidCount, code: 'RW_ERR_INPUT_INVALID' }, 'replay file has invalid lines; they are skipped');
    }
    const simulatedNow = simulatedNowOf(ctx, index, startedAt);
    const mentions: Mention[] = [];
    let i = offset;
    // Read in runs of a page's size: most lines of a run are the brand's in a replay made for it.
    while (i < index.count && mentions.length < ctx.source.pageSize) {
      const run: number[] = [];
      for (let n = i; n < index.count && run.length < ctx.source.pageSize - mentions.length && index.times[n] <= simulatedNow; n++) run.push(n);
      if (run.length === 0) break;
      for (const post of readPosts(file, index, run)) {
        i++;
        if (post.brandId ? post.brandId !== ctx.brand.id : !matchesBrand(post.text, ctx.brand)) continue;
        const { engagementLater: _later, ...mention } = post;
        mentions.push({ ...mention, brandId: ctx.brand.id });
      }
    }
    const more = i < index.count;
    return {
      mentions,
      cursor: { offset: i, startedAt, done: !more },
      hasMore: more && (mentions.length === ctx.source.pageSize || simulatedNow === Infinity),
    };
  },
};

function simulatedNowOf(ctx: PollContext<ReplaySourceConfig>, index: ReplayIndex, startedAt: number): number {
  return ctx.source.speed === 'max' ? Infinity : index.origin + (ctx.now - startedAt) * ctx.source.speed;
}

/** What a recheck sees: the last `engagementLater` step reached on the replay's clock, else the engagement at posting. */
export function replayEngagement(post: ReplayPost, simulatedNow: number): Engagement {
  const age = (simulatedNow - Date.parse(post.createdAt)) / 60_000;
  const reached = (post.engagementLater ?? []).filter((e) => e.after <= age).sort((a, b) => a.after - b.after);
  const last = reached[reached.length - 1];
  return last ? { likes: last.likes, reposts: last.reposts, replies: last.replies, quotes: last.quotes } : post.engagement;
}

replayConnector.engagement = async (ctx, postIds) => {
  const file = path.resolve(ctx.configDir, ctx.source.file);
  const index = indexFile(file);
  const wanted = new Set(postIds);
  const hashes = new Set(postIds.map(idHash));
  const candidates: number[] = [];
  for (let n = 0; n < index.count; n++) if (hashes.has(index.idHashes[n])) candidates.push(n);
  // Before the replay's first poll there is no replay clock yet: the service clock stands in.
  const simulatedNow = ctx.cursor?.startedAt !== undefined ? simulatedNowOf(ctx, index, Number(ctx.cursor.startedAt)) : ctx.now;
  const out = new Map<string, Engagement>();
  for (const post of readPosts(file, index, candidates)) if (wanted.has(post.postId)) out.set(post.postId, replayEngagement(post, simulatedNow));
  return out;
};

/** Test and benchmark helper: forget cached files. */
export function clearReplayCache(): void {
  indexCache.clear();
}

/** Test helper: the index of a file read in chunks of `chunkSize` bytes (lines across chunk boundaries). */
export function replayIndexOf(file: string, chunkSize?: number): { count: number; origin: number; invalidLines: number[]; invalidCount: number } {
  indexCache.delete(file);
  const { count, origin, invalidLines, invalidCount } = indexFile(file, chunkSize);
  return { count, origin, invalidLines, invalidCount };
}
