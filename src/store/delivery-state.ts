import type { Redis } from 'ioredis';

/** An event handed on to a receiver and not finished yet (sent, superseded or failed for good). */
export interface OpenDelivery {
  eventId: string;
  seq: number;
  /** When it was handed on (ms, service clock): later events stop waiting for it after a limit. */
  at: number;
}

/** The grouping timers of one (alert, receiver), as far as Redis knows them. */
export interface GroupingTimers {
  /** ms since epoch of the first event routed to the receiver. */
  firstEventAt?: number;
  /** ms since epoch of the last send. */
  lastSentAt?: number;
}

/** What Redis holds of one (alert, receiver). */
export interface PairState extends GroupingTimers {
  /** Handed-on events not finished yet, oldest first. */
  open: OpenDelivery[];
}

/**
 * Kept this long after the last write. It outlives anything that reads it: a later event waits
 * for an open one at most two hours (ORDER_WAIT_LIMIT_MS), grouping intervals and reminders are
 * hours. What has lapsed is read from the notification log instead (the planner's fallback).
 */
export const DELIVERY_STATE_TTL_MS = 7 * 24 * 3600_000;

const FIRST = 'first';
const SENT = 'sent';
const OPEN = 'o:';

// Sets `first` unless an earlier start is there already: a grouping timer never moves later.
const EARLIEST = `local v = redis.call('hget', KEYS[1], 'first')
if (not v) or tonumber(v) > tonumber(ARGV[1]) then redis.call('hset', KEYS[1], 'first', ARGV[1]) end
redis.call('pexpire', KEYS[1], ARGV[2])
return 0`;

/**
 * What is in flight between the outbox and the delivery jobs, per (alert, receiver): the events
 * handed on and not finished (so a later event's job waits for an earlier one), and the grouping
 * timers (first event, last send) the planner reads. It lives in Redis beside the jobs it
 * describes, so handing on a page costs no MongoDB round trip for it: a Redis that comes back
 * empty loses the jobs and this together, and the outbox plans the events again (open entries
 * included). What must survive anything (what was sent, for at-most-once and order) stays in
 * MongoDB's notification log, which also records the timers of every send: the planner falls
 * back on it when Redis has nothing for a pair that may have been told before.
 */
export class DeliveryState {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs = DELIVERY_STATE_TTL_MS,
  ) {}

  private key(alertId: string, receiverId: string): string {
    return `${this.prefix}:delivery-state:${alertId}|${receiverId}`;
  }

  /** The grouping timers of these pairs, by `alertId|receiverId`; pairs Redis has nothing of are left out. One round trip. */
  async timers(pairs: { alertId: string; receiverId: string }[]): Promise<Map<string, GroupingTimers>> {
    const out = new Map<string, GroupingTimers>();
    if (pairs.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const p of pairs) pipeline.hgetall(this.key(p.alertId, p.receiverId));
    const replies = (await pipeline.exec()) ?? [];
    pairs.forEach((p, i) => {
      const [err, fields] = replies[i] ?? [];
      if (err) throw err;
      const state = fields as Record<string, string>;
      // An empty hash is a key Redis does not have: nothing known of the pair.
      if (Object.keys(state).length === 0) return;
      out.set(`${p.alertId}|${p.receiverId}`, timersOf(state));
    });
    return out;
  }

  /**
   * Records events as open for their (alert, receiver), before their jobs exist, and starts the
   * grouping timers of the pairs that start now (never moving an earlier start). One round trip.
   */
  async open(items: { alertId: string; receiverId: string; open: OpenDelivery }[], firstEvents: { alertId: string; receiverId: string; at: number }[] = []): Promise<void> {
    if (items.length === 0 && firstEvents.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const { alertId, receiverId, open } of items) {
      const key = this.key(alertId, receiverId);
      pipeline.hset(key, `${OPEN}${open.seq}`, JSON.stringify(open));
      pipeline.pexpire(key, this.ttlMs);
    }
    for (const { alertId, receiverId, at } of firstEvents) pipeline.eval(EARLIEST, 1, this.key(alertId, receiverId), String(at), String(this.ttlMs));
    await execAll(pipeline);
  }

  /** The open events and grouping timers of one pair: one round trip. */
  async of(alertId: string, receiverId: string): Promise<PairState> {
    const fields = await this.redis.hgetall(this.key(alertId, receiverId));
    const open: OpenDelivery[] = [];
    for (const [field, value] of Object.entries(fields)) {
      if (!field.startsWith(OPEN)) continue;
      try {
        open.push(JSON.parse(value) as OpenDelivery);
      } catch {
        // Not ours to keep: an entry that does not parse is no event to wait for.
      }
    }
    open.sort((a, b) => a.seq - b.seq);
    return { open, ...timersOf(fields) };
  }

  /** Takes finished events (sent, superseded, failed for good) off the pair's open list. */
  async close(alertId: string, receiverId: string, seqs: number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.redis.hdel(this.key(alertId, receiverId), ...seqs.map((s) => `${OPEN}${s}`));
  }

  /** An event went out at `at`: the grouping timers restart from it and it leaves the open list. One round trip. */
  async sent(alertId: string, receiverId: string, seq: number, at: number): Promise<void> {
    const key = this.key(alertId, receiverId);
    const pipeline = this.redis.pipeline();
    pipeline.hset(key, SENT, String(at));
    pipeline.hdel(key, `${OPEN}${seq}`);
    pipeline.eval(EARLIEST, 1, key, String(at), String(this.ttlMs));
    await execAll(pipeline);
  }
}

function timersOf(fields: Record<string, string>): GroupingTimers {
  return { ...(fields[FIRST] ? { firstEventAt: Number(fields[FIRST]) } : {}), ...(fields[SENT] ? { lastSentAt: Number(fields[SENT]) } : {}) };
}

/** Runs a pipeline and throws the first command's error (ioredis reports them per command). */
async function execAll(pipeline: ReturnType<Redis['pipeline']>): Promise<void> {
  const results = (await pipeline.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0];
}
