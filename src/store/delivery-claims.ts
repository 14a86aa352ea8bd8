import type { Redis } from 'ioredis';

/** How long a claim lasts after it was last taken: far longer than one send (receiver timeouts are seconds). */
export const DELIVERY_CLAIM_TTL_MS = 15 * 60_000;
/** How long a finished delivery is remembered for the events that wait for it. */
const DELIVERY_DONE_TTL_MS = 60 * 60_000;

// Taken when free or already this claimant's (a retry of the same job), in one round trip.
const CLAIM = `local held = redis.call('get', KEYS[1])
if (not held) or held == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/**
 * Who is sending one (event, receiver) now: the first job to claim it. In Redis, so a delivery
 * costs no store write before it is sent. A job's retries carry its id and claim it again;
 * another job (a coalesced one, or the outbox's re-plan) finds it taken and leaves it. A claim
 * lapses after DELIVERY_CLAIM_TTL_MS, so a job lost for good does not hold the delivery for ever;
 * a Redis that lost its claims can at worst let two jobs send one event, which the receiver sees
 * as the same webhook-id twice (the documented at-least-once).
 */
export class DeliveryClaims {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs = DELIVERY_CLAIM_TTL_MS,
  ) {}

  /**
   * The delivery is finished (sent, superseded or failed for good), written after the store says
   * so: a later event of the alert waiting for it learns it from Redis instead of reading the
   * delivery records. Kept an hour; without it (Redis lost it) the waiter reads the records.
   */
  async finish(eventId: string, receiverId: string): Promise<void> {
    await this.redis.set(this.doneKey(eventId, receiverId), '1', 'PX', DELIVERY_DONE_TTL_MS);
  }

  /** Which of these events' deliveries to the receiver are known finished: one round trip. */
  async finished(eventIds: string[], receiverId: string): Promise<Set<string>> {
    if (eventIds.length === 0) return new Set();
    const marks = await this.redis.mget(eventIds.map((e) => this.doneKey(e, receiverId)));
    return new Set(eventIds.filter((_, i) => marks[i] !== null));
  }

  private doneKey(eventId: string, receiverId: string): string {
    return `${this.prefix}:delivery-done:${eventId}|${receiverId}`;
  }

  /** True when `claimant` holds the delivery now (newly, or again); false when another job does. */
  async claim(eventId: string, receiverId: string, claimant: string): Promise<boolean> {
    return (await this.redis.eval(CLAIM, 1, `${this.prefix}:delivery-claim:${eventId}|${receiverId}`, claimant, String(this.ttlMs))) === 1;
  }
}
