/**
 * Counting the commands the pipeline sends to MongoDB and Redis, per part of it, from outside the
 * code under measurement (nothing in src/ or workers/ knows it is counted):
 *
 *   - MongoDB: the driver's command monitoring (`commandStarted`, one event per command sent, so per
 *     round trip). It is switched on by `monitorCommands=true` in the connection string
 *     (`withMonitoring`), and every connection mongoose creates is listened to from its creation
 *     (`mongoose.events` 'createConnection'), so start-up commands are seen too.
 *   - Redis: ioredis's diagnostics channel `ioredis:command` (one `start` per command written,
 *     pipelined or not, never twice for a resent command; an EVALSHA is one). Not INFO
 *     commandstats: the server also counts every command a Lua script runs (BullMQ's scripts made
 *     it over three times the commands sent, in a run on a private Redis), and the local Redis is
 *     shared with whatever else runs on the machine.
 *
 * Who sent a command is told by an AsyncLocalStorage label: code started inside `runAs(label, …)`
 * (a startRepwatch call: its workers' loops, their jobs, their connections' callbacks) keeps the
 * label through every await. Commands sent outside any label (the bench's own progress checks)
 * count as 'other'.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import mongoose, { type Connection } from 'mongoose';

const origin = new AsyncLocalStorage<string>();

/** Runs `fn` (and everything it starts) as `label`: its commands are counted under that label. */
export function runAs<T>(label: string, fn: () => T): T {
  return origin.run(label, fn);
}

/** The connection string with the driver's command monitoring switched on. */
export function withMonitoring(uri: string): string {
  if (/[?&]monitorCommands=/i.test(uri)) return uri.replace(/([?&]monitorCommands=)[^&]*/i, '$1true');
  const [base, query] = uri.split('?', 2);
  // A `?` after the hosts needs the `/` before it (mongodb://host:port/?opts).
  const hostsOnly = !/^mongodb(\+srv)?:\/\/[^/]*\//i.test(base);
  return `${base}${hostsOnly ? '/' : ''}?${query ? `${query}&` : ''}monitorCommands=true`;
}

export interface LabelCounts {
  mongo: number;
  redis: number;
  /** MongoDB commands by `command collection` (e.g. `insert mentions`). */
  mongoByOp: Record<string, number>;
  /** Redis commands by name (`evalsha`, `hget`, …). */
  redisByCommand: Record<string, number>;
  /**
   * Documents written, by `command collection`: an insert's documents, an update's or delete's
   * statements. The store's work grows with these, not only with the round trips.
   */
  mongoDocsByOp: Record<string, number>;
}

type Bucket = { mongo: Map<string, number>; redis: Map<string, number>; docs: Map<string, number> };

const bump = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
/** The statements a write command carries (0 for a read). */
const WRITE_LISTS: Record<string, string> = { insert: 'documents', update: 'updates', delete: 'deletes' };
const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
const sortedObject = (m: Map<string, number>) => Object.fromEntries([...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));

interface CommandStartedLike {
  commandName: string;
  command: Record<string, unknown>;
}

/**
 * Counts commands per label between `reset()` and `snapshot()`. One at a time per process (the
 * hooks are process-wide); `stop()` removes them.
 */
export class CommandCounter {
  private buckets = new Map<string, Bucket>();
  private readonly listened = new WeakSet<object>();
  private readonly redisChannel = diagnostics.tracingChannel('ioredis:command');
  private readonly onRedis = {
    start: (msg: unknown) => {
      const name = String((msg as { command?: unknown }).command ?? '?').toLowerCase();
      bump(this.bucket().redis, name);
    },
  };
  private readonly onMongo = (e: CommandStartedLike) => {
    const target = e.command[e.commandName];
    const collection = typeof target === 'string' ? target : typeof e.command.collection === 'string' ? e.command.collection : '';
    const op = collection ? `${e.commandName} ${collection}` : e.commandName;
    const bucket = this.bucket();
    bump(bucket.mongo, op);
    const written = e.command[WRITE_LISTS[e.commandName] ?? ''];
    if (Array.isArray(written)) bump(bucket.docs, op, written.length);
  };
  private readonly onConnection = (conn: Connection) => {
    // The client exists once createConnection has begun opening it (synchronously), and it sends
    // nothing before its connect() resolves; a connection opened later is caught when it connects.
    process.nextTick(() => this.listen(conn));
    conn.once('connected', () => this.listen(conn));
  };

  constructor() {
    // Typed as a method-free object in mongoose's typings; it is an EventEmitter (mongoose.js).
    (mongoose as unknown as { events: NodeJS.EventEmitter }).events.on('createConnection', this.onConnection);
    this.redisChannel.subscribe(this.onRedis as never);
  }

  /** Also counts a connection created before this counter (its earlier commands are not seen). */
  listen(conn: Connection): void {
    let client;
    try {
      client = conn.getClient();
    } catch {
      return;
    }
    if (!client || this.listened.has(client)) return;
    this.listened.add(client);
    // A client without monitorCommands=true (see withMonitoring) emits nothing: it is not counted.
    client.on('commandStarted', this.onMongo as never);
  }

  private bucket(): Bucket {
    const label = origin.getStore() ?? 'other';
    let b = this.buckets.get(label);
    if (!b) this.buckets.set(label, (b = { mongo: new Map(), redis: new Map(), docs: new Map() }));
    return b;
  }

  reset(): void {
    this.buckets = new Map();
  }

  /** Counts per label since the last reset. */
  snapshot(): Record<string, LabelCounts> {
    return Object.fromEntries(
      [...this.buckets].map(([label, b]) => [label, { mongo: sum(b.mongo), redis: sum(b.redis), mongoByOp: sortedObject(b.mongo), redisByCommand: sortedObject(b.redis), mongoDocsByOp: sortedObject(b.docs) }]),
    );
  }

  stop(): void {
    (mongoose as unknown as { events: NodeJS.EventEmitter }).events.off('createConnection', this.onConnection);
    this.redisChannel.unsubscribe(this.onRedis as never);
  }
}

/** Adds up the counts of several labels (absent labels count zero). */
export function combine(counts: Record<string, LabelCounts>, labels: string[]): LabelCounts {
  const out: LabelCounts = { mongo: 0, redis: 0, mongoByOp: {}, redisByCommand: {}, mongoDocsByOp: {} };
  for (const label of labels) {
    const c = counts[label];
    if (!c) continue;
    out.mongo += c.mongo;
    out.redis += c.redis;
    for (const [k, v] of Object.entries(c.mongoByOp)) out.mongoByOp[k] = (out.mongoByOp[k] ?? 0) + v;
    for (const [k, v] of Object.entries(c.redisByCommand)) out.redisByCommand[k] = (out.redisByCommand[k] ?? 0) + v;
    for (const [k, v] of Object.entries(c.mongoDocsByOp)) out.mongoDocsByOp[k] = (out.mongoDocsByOp[k] ?? 0) + v;
  }
  out.mongoByOp = Object.fromEntries(Object.entries(out.mongoByOp).sort((a, b) => b[1] - a[1]));
  out.redisByCommand = Object.fromEntries(Object.entries(out.redisByCommand).sort((a, b) => b[1] - a[1]));
  out.mongoDocsByOp = Object.fromEntries(Object.entries(out.mongoDocsByOp).sort((a, b) => b[1] - a[1]));
  return out;
}
