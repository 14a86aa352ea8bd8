import type { Redis } from 'ioredis';

/** How long a brand's record of posts evaluated by a page that did not store them lives after its last use. */
const KEEP_MS = 60 * 60_000;

/**
 * Posts a page evaluated though another page (or its own earlier attempt) had stored them.
 *
 * A page does not look up whether the posts it stored itself were counted in an alert or a case:
 * nobody can have counted them yet, since counting happens after storing, under the brand's lock.
 * That fails when two pages carry the same post at once (a stream and a poll of one source, a
 * webhook and a poll): page A stores it, page B finds it stored, and B may be evaluated first and
 * count it; A would then count it again. So a page records, under the brand's lock, the posts it
 * evaluated that it had not stored, and asks about those it stored: one Redis round trip a page,
 * per brand a set that holds only such posts and expires an hour after its last use.
 */
export class PostsSeenTwice {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Records `storedBefore` as evaluated; returns which of `storedNow` another page evaluated already. */
  async exchange(brandId: string, storedBefore: readonly string[], storedNow: readonly string[]): Promise<Set<string>> {
    if (storedBefore.length === 0 && storedNow.length === 0) return new Set();
    const key = `${this.prefix}:posts-seen-twice:${brandId}`;
    const tx = this.redis.multi();
    if (storedBefore.length) tx.sadd(key, ...storedBefore).pexpire(key, KEEP_MS);
    if (storedNow.length) tx.smismember(key, ...storedNow);
    const replies = (await tx.exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed) throw failed[0];
    if (!storedNow.length) return new Set();
    const flags = replies[replies.length - 1][1] as number[];
    return new Set(storedNow.filter((_, i) => flags[i] === 1));
  }
}
