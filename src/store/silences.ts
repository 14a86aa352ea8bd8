import { randomBytes } from 'node:crypto';
import type { Collection } from 'mongodb';
import { z } from 'zod';
import { silenceSchema, type Silence } from '../config/routing-schema';
import { RepwatchError } from '../domain/errors';
import type { Store } from './store';

/** A silence created at run time (API, Slack), kept in MongoDB beside routing.yaml's silences. */
export interface StoredSilence extends Silence {
  createdAt: number;
  expiredAt?: number;
  expiredBy?: string;
}

export type SilenceState = 'active' | 'pending' | 'expired';

/** A forgotten silence must not hide alerts for long: it ends on its own within this. */
export const MAX_SILENCE_MS = 30 * 24 * 3_600_000;

/** The same matcher routing.yaml's silences use (at least one field; lists non-empty). */
export const silenceMatchSchema = silenceSchema.shape.match;

export const silenceInputSchema = z
  .object({
    match: silenceMatchSchema,
    /** ms since epoch; default now. */
    startsAt: z.number().int().nonnegative().optional(),
    /** ms since epoch; required. */
    endsAt: z.number().int().positive(),
    createdBy: z.string().min(1).max(200),
    comment: z.string().max(1000).optional(),
  })
  .strict();
export type SilenceInput = z.infer<typeof silenceInputSchema>;

export function silenceState(s: StoredSilence, now: number): SilenceState {
  if (s.expiredAt !== undefined || s.endsAt <= now) return 'expired';
  return s.startsAt > now ? 'pending' : 'active';
}

/** Printable and short: it is shown in Slack and the console. */
function clean(text: string, max: number): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, ' ').trim().slice(0, max);
}

function fromDoc(doc: any): StoredSilence {
  const { _id, ...rest } = doc;
  return rest as StoredSilence;
}

/**
 * How long a process plans with the silences it read: planning reads them once per page, and a
 * silence made in another process (the API, Slack) holds back alerts at most this much later.
 * The process that makes or ends one sees it at once.
 */
export const SILENCE_CACHE_MS = 2_000;
const cached = new WeakMap<Store, { readAt: number; silences: StoredSilence[] }>();

export class SilenceStore {
  private readonly coll: Collection<any>;

  constructor(private readonly store: Store) {
    this.coll = store.conn.collection('silences');
  }

  async create(input: SilenceInput, now: number): Promise<StoredSilence> {
    const parsed = silenceInputSchema.safeParse(input);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'silence'}: ${i.message}`).join('; ');
      throw new RepwatchError('RW_ERR_INPUT_INVALID', `invalid silence: ${problems}`);
    }
    const { match, endsAt, comment } = parsed.data;
    const startsAt = parsed.data.startsAt ?? now;
    const createdBy = clean(parsed.data.createdBy, 200);
    if (!createdBy) throw new RepwatchError('RW_ERR_INPUT_INVALID', 'invalid silence: createdBy: say who creates it');
    if (!(endsAt > startsAt)) throw new RepwatchError('RW_ERR_INPUT_INVALID', 'invalid silence: endsAt: must be after startsAt');
    if (!(endsAt > now)) throw new RepwatchError('RW_ERR_INPUT_INVALID', 'invalid silence: endsAt: must be in the future');
    if (endsAt - startsAt > MAX_SILENCE_MS) throw new RepwatchError('RW_ERR_INPUT_INVALID', 'invalid silence: endsAt: a silence lasts at most 30 days');
    const silence: StoredSilence = {
      id: `sil-${randomBytes(8).toString('hex')}`,
      match,
      startsAt,
      endsAt,
      createdBy,
      ...(comment !== undefined && clean(comment, 1000) ? { comment: clean(comment, 1000) } : {}),
      createdAt: now,
    };
    await this.coll.insertOne({ _id: silence.id, ...silence });
    cached.delete(this.store);
    return silence;
  }

  /** Newest first; a silence store stays small (each lasts at most 30 days), so this scans. */
  async list(now: number, state?: SilenceState): Promise<(StoredSilence & { state: SilenceState })[]> {
    const docs = await this.coll.find({}).toArray();
    return docs
      .map((d) => fromDoc(d))
      .map((s) => ({ ...s, state: silenceState(s, now) }))
      .filter((s) => !state || s.state === state)
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1));
  }

  async get(id: string): Promise<StoredSilence | undefined> {
    const doc = await this.coll.findOne({ _id: id });
    return doc ? fromDoc(doc) : undefined;
  }

  /** Ends a silence now. Expiring an expired silence changes nothing and returns it as it is. */
  async expire(id: string, by: string, now: number): Promise<StoredSilence> {
    const found = await this.get(id);
    if (!found) throw new RepwatchError('RW_ERR_UNKNOWN_REFERENCE', `no silence "${clean(id, 100)}"`);
    if (silenceState(found, now) === 'expired') return found;
    const expiredBy = clean(by, 200) || 'unknown';
    // Only the first of two concurrent expiries records itself.
    await this.coll.updateOne({ _id: id, expiredAt: { $exists: false } }, { $set: { expiredAt: now, expiredBy } });
    cached.delete(this.store);
    return (await this.get(id))!;
  }

  /**
   * Silences in force at `now`, in the shape routing consults (routing.yaml's silences beside
   * them). Read at most every SILENCE_CACHE_MS (wall clock) per process; each is judged at `now`.
   */
  async active(now: number): Promise<Silence[]> {
    let read = cached.get(this.store);
    if (!read || Date.now() - read.readAt >= SILENCE_CACHE_MS) {
      const readAt = Date.now();
      const docs = await this.coll.find({ expiredAt: { $exists: false }, endsAt: { $gt: now } }).toArray();
      read = { readAt, silences: docs.map((d) => fromDoc(d)) };
      cached.set(this.store, read);
    }
    return read.silences
      .filter((s) => silenceState(s, now) === 'active')
      .map(({ createdAt: _c, expiredAt: _e, expiredBy: _b, ...silence }) => silence);
  }
}
