import type { Redis } from 'ioredis';

/** One case as the index knows it: the keys posts reach it by, until when (ms); no `until` drops it. */
export interface CaseIndexEntry {
  caseId: string;
  keys: string[];
  until?: number;
}

/**
 * Which cases a post may join, by author and conversation key, per brand, in Redis. Evaluation
 * reads only the cases its page's posts name, instead of scanning the brand's cases on every page
 * (a full collection scan per page on FerretDB). The index is derived data: the cases collection
 * is the record, and a brand whose index is missing (first start, Redis flushed) is rebuilt from
 * it. Writers hold the brand's lock, so read-merge-write needs no transaction.
 *
 * Layout: a hash of key → {caseId: until} and a sorted set of key → latest until, by which
 * expired keys are pruned; a marker says the brand's index is complete.
 */
export class CaseIndex {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private names(brandId: string) {
    const base = `${this.prefix}:case-index:${brandId}`;
    return { hash: base, expiry: `${base}:expiry`, ready: `${base}:ready` };
  }

  /** Ids of the cases these keys reach at `now`; undefined when the brand's index is not built. */
  async lookup(brandId: string, keys: string[], now: number): Promise<string[] | undefined> {
    const n = this.names(brandId);
    const unique = [...new Set(keys)];
    const [ready, values] = await Promise.all([this.redis.exists(n.ready), unique.length ? this.redis.hmget(n.hash, ...unique) : []]);
    if (ready !== 1) return undefined;
    const ids = new Set<string>();
    for (const value of values) {
      for (const [caseId, until] of Object.entries(parse(value))) if (until >= now) ids.add(caseId);
    }
    return [...ids];
  }

  /** Replaces the brand's index with these cases and marks it complete. */
  async rebuild(brandId: string, entries: CaseIndexEntry[], now: number): Promise<void> {
    const n = this.names(brandId);
    await this.redis.del(n.hash, n.expiry, n.ready);
    await this.record(brandId, entries, now);
    await this.redis.set(n.ready, '1');
  }

  /** Records cases as they are now (new reach, longer reach, or none), and prunes expired keys. */
  async record(brandId: string, entries: CaseIndexEntry[], now: number): Promise<void> {
    const n = this.names(brandId);
    const expired = await this.redis.zrangebyscore(n.expiry, '-inf', `(${now}`, 'LIMIT', 0, 1000);
    const fields = [...new Set(entries.flatMap((e) => e.keys))];
    const current = fields.length ? await this.redis.hmget(n.hash, ...fields) : [];
    const next = new Map(fields.map((f, i) => [f, parse(current[i])]));
    for (const e of entries) {
      for (const key of e.keys) {
        const reach = next.get(key)!;
        if (e.until === undefined) delete reach[e.caseId];
        else reach[e.caseId] = e.until;
      }
    }
    const tx = this.redis.multi();
    const stale = expired.filter((k) => !next.has(k));
    if (stale.length) tx.hdel(n.hash, ...stale).zrem(n.expiry, ...stale);
    for (const [key, reach] of next) {
      for (const [caseId, until] of Object.entries(reach)) if (until < now) delete reach[caseId];
      const untils = Object.values(reach);
      if (untils.length === 0) tx.hdel(n.hash, key).zrem(n.expiry, key);
      else tx.hset(n.hash, key, JSON.stringify(reach)).zadd(n.expiry, Math.max(...untils), key);
    }
    const results = await tx.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
  }
}

function parse(value: string | null | undefined): Record<string, number> {
  if (!value) return {};
  try {
    const parsed = JSON.parse(value) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, number>) : {};
  } catch {
    return {};
  }
}
