import type { Redis } from 'ioredis';
import { currentRedisLife } from './redis-life';

/** How many events are remembered (about 150 bytes each); the oldest are forgotten first. */
const REMEMBERED_EVENTS = 20_000;

/**
 * The events this process handed on (delivery jobs queued, outbox marker cleared), with the life
 * of Redis the jobs went to. A page whose alert's previous event is among
 * them need not read it back to see whether it is still marked: that read was one MongoDB round
 * trip per page. Only events are re-marked after a Redis loss (the schedule role's heal), and a
 * loss starts a new life, so an entry of another life is not trusted and the event is read.
 * Per process and bounded; an event handed on elsewhere is read as before.
 */
export class HandedOnMemory {
  private readonly events = new Map<string, string>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limit = REMEMBERED_EVENTS,
  ) {}

  /** The life of Redis now: read before handing on, so a restart meanwhile is seen as another life. */
  life(): Promise<string> {
    return currentRedisLife(this.redis, this.prefix);
  }

  /** Whether this process handed on the event in this life of Redis. */
  knows(eventId: string, life: string): boolean {
    return this.events.get(eventId) === life;
  }

  remember(eventIds: readonly string[], life: string): void {
    for (const id of eventIds) {
      this.events.delete(id);
      this.events.set(id, life);
    }
    for (const oldest of this.events.keys()) {
      if (this.events.size <= this.limit) break;
      this.events.delete(oldest);
    }
  }
}
