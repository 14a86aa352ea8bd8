/**
 * Whether a source still hears: pure rules over what the workers recorded about it
 * (src/store/source-health.ts). A blind source raises a `coverage` alert (src/services/coverage.ts)
 * and clears it when it hears again.
 */

/** Error codes that mean the platform refused us (expired token, revoked access): no retry will help. */
const REFUSED_CODES = new Set(['RW_ERR_PLATFORM_REJECTED', 'RW_ERR_SECRET_MISSING']);

export interface SourceHealthRecord {
  brandId: string;
  sourceId: string;
  /** ms since epoch; undefined when never. */
  lastAttemptAt?: number;
  lastSuccessAt?: number;
  /** Failed polls (or dropped stream connections) since the last success. */
  consecutiveFailures: number;
  lastError?: { code: string; message: string; at: number };
  /** Posts handed on in the current hour and the three before it. */
  postsRecent: number;
  /** Hours of history the usual volume is taken over (at most a week). */
  historyHours: number;
  /** Mean posts per hour over the history, before the recent hours. */
  usualPerHour: number;
  /** Streams: whether the connection is up now, and since when (ms). */
  stream?: { connected: boolean; since: number };
}

export type Blindness =
  | { blind: false }
  | { blind: true; why: 'refused' | 'failing' | 'stale' | 'silent' | 'disconnected'; reason: string };

export interface HealthLimits {
  /** The source's poll interval (ms). */
  pollEvery: number;
  /** Failures in a row that make a source blind (refusals count at once). */
  failures: number;
  /** Below this share of its usual volume over the recent hours, a busy source counts as silent. */
  silentShare: number;
  /** A source counts as busy (and can go silent) from this many posts an hour, over at least a day of history. */
  busyPerHour: number;
  /** A stream down longer than this is blind. */
  streamDownMs: number;
}

export const DEFAULT_HEALTH_LIMITS: Omit<HealthLimits, 'pollEvery'> = { failures: 3, silentShare: 0.1, busyPerHour: 3, streamDownMs: 120_000 };

/** The recent window (current hour and the three before). */
export const RECENT_HOURS = 4;

export function blindnessOf(h: SourceHealthRecord, limits: HealthLimits, now: number): Blindness {
  const err = h.lastError;
  if (err && h.consecutiveFailures > 0 && REFUSED_CODES.has(err.code)) {
    return { blind: true, why: 'refused', reason: `the platform refused the source (${err.code}: ${err.message.slice(0, 200)}); check its credentials and access` };
  }
  if (h.consecutiveFailures >= limits.failures) {
    const since = h.lastSuccessAt ? `since ${new Date(h.lastSuccessAt).toISOString()}` : 'and it never succeeded';
    return { blind: true, why: 'failing', reason: `${h.consecutiveFailures} polls in a row failed ${since}; last error ${err?.code ?? 'unknown'}: ${(err?.message ?? '').slice(0, 200)}` };
  }
  if (h.stream && !h.stream.connected && now - h.stream.since > limits.streamDownMs) {
    return { blind: true, why: 'disconnected', reason: `the live connection has been down since ${new Date(h.stream.since).toISOString()}` };
  }
  // Polls stopped altogether (no scheduler, no worker): nothing else would notice.
  const staleAfter = Math.max(10 * limits.pollEvery, 15 * 60_000);
  const last = Math.max(h.lastAttemptAt ?? 0, h.stream?.connected ? now : 0);
  if (h.lastAttemptAt !== undefined && now - last > staleAfter) {
    return { blind: true, why: 'stale', reason: `no poll since ${new Date(h.lastAttemptAt).toISOString()} (it polls every ${Math.round(limits.pollEvery / 1000)} s)` };
  }
  if (h.historyHours >= 24 && h.usualPerHour >= limits.busyPerHour) {
    const expected = h.usualPerHour * RECENT_HOURS;
    if (h.postsRecent < expected * limits.silentShare) {
      return {
        blind: true,
        why: 'silent',
        reason: `${h.postsRecent} posts in the last ${RECENT_HOURS} hours against a usual ${h.usualPerHour.toFixed(1)} an hour (${Math.round(expected)} expected): the source may have stopped hearing (query, access or platform change)`,
      };
    }
  }
  return { blind: false };
}
