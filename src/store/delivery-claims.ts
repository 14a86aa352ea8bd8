import type { Redis } from 'ioredis';

/** How long a claim lasts after it was last taken: far longer than one send (receiver timeouts are seconds). */
export const DELIVERY_CLAIM_TTL_MS = 15 * 60_000;

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

  /** True when `claimant` holds the delivery now (newly, or again); false when another job does. */
  async claim(eventId: string, receiverId: string, claimant: string): Promise<boolean> {
    return (await this.redis.eval(CLAIM, 1, `${this.prefix}:delivery-claim:${eventId}|${receiverId}`, claimant, String(this.ttlMs))) === 1;
  }
}
