import { z } from 'zod';

/** Small field schemas shared by the main config schema and the per-platform source schemas (src/config/sources/). */

const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_HINT = 'a duration like "500ms", "30s", "2m30s", "2h" or "7d", or a number of milliseconds';

/** Durations are written as "250ms", "30s", "2m30s", "2h", "7d" or a number of milliseconds. */
export const durationSchema = z.union([z.number(), z.string()], { error: DURATION_HINT }).transform((value, ctx) => {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0) return value;
  } else if (/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(value.trim())) {
    let total = 0;
    for (const [, num, unit] of value.trim().matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(num) * DURATION_UNITS[unit as keyof typeof DURATION_UNITS];
    return Math.round(total);
  }
  ctx.addIssue({ code: 'custom', message: DURATION_HINT });
  return z.NEVER;
});

/** Name of an environment variable: it holds the secret, the config never does. */
export const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name such as X_BEARER_TOKEN');

/** A source's id within its brand. */
export const sourceIdSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _');

/**
 * Where a platform's API is, overridable so that a source can be pointed at a local server (a
 * proxy, a test double): `baseUrl`, or `baseUrlEnv` naming the environment variable that holds it.
 */
export const baseUrlFields = {
  baseUrl: z.url({ protocol: /^(https?|wss?)$/ }).optional(),
  baseUrlEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name').optional(),
};
