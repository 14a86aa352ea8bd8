import { z } from 'zod';
import { ALERT_KINDS } from '../domain/alert';
import { durationSchema, severitySchema, type Severity } from './schema';
import type { AlertKind } from '../domain/alert';

const idSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _');
const nonEmptyList = <T extends z.ZodType>(item: T) => z.array(item).min(1, 'an empty list would match nothing; leave the field out instead');

export const DEFAULT_GROUP_WAIT = 30_000;
export const DEFAULT_GROUP_INTERVAL = 5 * 60_000;
export const DEFAULT_REPEAT_INTERVAL = 4 * 3_600_000;

/** Every given field must match; a list matches any of its values. */
export interface Matcher {
  brand?: string[];
  kind?: AlertKind[];
  severity?: Severity[];
  minSeverity?: Severity;
  lang?: string[];
  platform?: string[];
  topic?: string[];
  /** Author handles, with or without @, compared case-insensitively. */
  author?: string[];
}

const matcherSchema = z
  .object({
    brand: nonEmptyList(idSchema).optional(),
    kind: nonEmptyList(z.enum(ALERT_KINDS)).optional(),
    severity: nonEmptyList(severitySchema).optional(),
    minSeverity: severitySchema.optional(),
    lang: nonEmptyList(z.string().regex(/^[a-z]{2}$/, 'a two-letter language code such as nl')).optional(),
    platform: nonEmptyList(z.string().min(1)).optional(),
    topic: nonEmptyList(z.string().min(1)).optional(),
    author: nonEmptyList(z.string().regex(/^@?\w{1,50}$/, 'a handle such as @someone')).optional(),
  })
  .strict()
  .refine((m) => !(m.severity && m.minSeverity), { message: 'give severity or minSeverity, not both', path: ['minSeverity'] });

export interface RouteConfig {
  /** Absent: matches every alert. Ignored on the root, which always matches. */
  match?: Matcher;
  /** Absent: inherited from the parent (as in Alertmanager); [] sends nowhere. */
  receivers?: string[];
  groupWait?: number;
  groupInterval?: number;
  repeatInterval?: number;
  /** Name of a quietHours entry; absent inherits the parent's, null switches inherited quiet hours off. */
  quietHours?: string | null;
  /** Keep trying the following siblings after this route matched. */
  continue?: boolean;
  routes?: RouteConfig[];
}

/** The root has every timer set, so children always have something to inherit. */
export interface RootRouteConfig extends RouteConfig {
  receivers: string[];
  groupWait: number;
  groupInterval: number;
  repeatInterval: number;
  quietHours?: string;
  routes: RouteConfig[];
}

const routeSchema: z.ZodType<RouteConfig, unknown> = z.lazy(() =>
  z
    .object({
      match: matcherSchema.optional(),
      receivers: z.array(idSchema).optional(),
      groupWait: durationSchema.optional(),
      groupInterval: durationSchema.optional(),
      repeatInterval: durationSchema.optional(),
      quietHours: idSchema.nullable().optional(),
      continue: z.boolean().optional(),
      routes: z.array(routeSchema).optional(),
    })
    .strict(),
);

// Root: no match or continue (it matches everything and has no siblings), so strict() rejects them.
const rootRouteSchema = z
  .object({
    receivers: z.array(idSchema),
    groupWait: durationSchema.default(DEFAULT_GROUP_WAIT),
    groupInterval: durationSchema.default(DEFAULT_GROUP_INTERVAL),
    repeatInterval: durationSchema.default(DEFAULT_REPEAT_INTERVAL),
    quietHours: idSchema.optional(),
    routes: z.array(routeSchema).default([]),
  })
  .strict();

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const clockSchema = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a local time such as "07:00" (00:00 to 23:59)');

export const quietHoursSchema = z
  .object({
    /** IANA name such as Europe/Amsterdam (checked by checkRouting). */
    timezone: z.string().min(1),
    start: clockSchema,
    /** Before start means the quiet period runs over midnight. */
    end: clockSchema,
    /** Days on which a quiet period starts (a night from fri 22:00 to sat 07:00 belongs to fri). */
    days: z.array(z.enum(WEEKDAYS)).min(1).default([...WEEKDAYS]),
    /** This severity and above are sent anyway; the default keeps critical alerts paging at night. */
    except: severitySchema.default('critical'),
  })
  .strict();
export type QuietHours = z.infer<typeof quietHoursSchema>;

// The yaml package leaves timestamps as strings, but accept Date too for other YAML schemas.
const instantSchema = z.union([z.iso.datetime({ offset: true }), z.date()]).transform((v) => (typeof v === 'string' ? Date.parse(v) : v.getTime()));

export const silenceSchema = z
  .object({
    id: idSchema,
    match: matcherSchema.refine((m) => Object.keys(m).length > 0, 'a silence needs at least one matcher (it would silence everything)'),
    startsAt: instantSchema,
    /** Required: a forgotten silence must expire on its own. */
    endsAt: instantSchema,
    createdBy: z.string().min(1),
    comment: z.string().optional(),
  })
  .strict();
export type Silence = z.infer<typeof silenceSchema>;

export const routingFileSchema = z
  .object({
    route: rootRouteSchema,
    quietHours: z.record(idSchema, quietHoursSchema).default({}),
    silences: z.array(silenceSchema).default([]),
  })
  .strict();

export interface RoutingConfig {
  route: RootRouteConfig;
  quietHours: Record<string, QuietHours>;
  silences: Silence[];
}

// Compile-time check that the parsed file fits the hand-written type the domain uses.
const _fits: (v: z.infer<typeof routingFileSchema>) => RoutingConfig = (v) => v;
void _fits;

/** Without a routing file: every receiver gets everything, the first notification at once. */
export function defaultRouting(receiverIds: string[]): RoutingConfig {
  return {
    route: {
      receivers: [...receiverIds],
      groupWait: 0,
      groupInterval: DEFAULT_GROUP_INTERVAL,
      repeatInterval: DEFAULT_REPEAT_INTERVAL,
      routes: [],
    },
    quietHours: {},
    silences: [],
  };
}

function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Order-independent form of a matcher, to find silences that say the same thing. */
function canonicalMatcher(m: Matcher): string {
  const norm = (k: keyof Matcher, v: unknown): unknown => {
    if (!Array.isArray(v)) return v;
    const items = k === 'author' ? v.map((h: string) => h.replace(/^@/, '').toLowerCase()) : [...v];
    return [...new Set(items)].sort();
  };
  const keys = (Object.keys(m) as (keyof Matcher)[]).filter((k) => m[k] !== undefined).sort();
  return JSON.stringify(keys.map((k) => [k, norm(k, m[k])]));
}

/** Cross-reference checks the schema cannot make; every problem at once, each with its path. */
export function checkRouting(doc: RoutingConfig, receiverIds: string[]): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const known = new Set(receiverIds);
  const quietNames = Object.keys(doc.quietHours);

  const visit = (route: RouteConfig, at: string): void => {
    route.receivers?.forEach((id, i) => {
      if (!known.has(id)) problems.push({ path: `${at}.receivers.${i}`, message: `unknown receiver "${id}"` });
    });
    if (typeof route.quietHours === 'string' && !(route.quietHours in doc.quietHours)) {
      const defined = quietNames.length ? quietNames.join(', ') : 'none';
      problems.push({ path: `${at}.quietHours`, message: `unknown quiet hours "${route.quietHours}" (defined: ${defined})` });
    }
    route.routes?.forEach((child, i) => visit(child, `${at}.routes.${i}`));
  };
  visit(doc.route, 'route');

  for (const [name, q] of Object.entries(doc.quietHours)) {
    if (!validTimezone(q.timezone)) problems.push({ path: `quietHours.${name}.timezone`, message: `"${q.timezone}" is not an IANA time zone such as Europe/Amsterdam` });
    if (q.start === q.end) problems.push({ path: `quietHours.${name}.end`, message: `start and end are both ${q.start}: the quiet period would be empty or endless` });
  }

  const seen = new Map<string, number>();
  doc.silences.forEach((s, i) => {
    if (seen.has(s.id)) problems.push({ path: `silences.${i}.id`, message: `silence id "${s.id}" is used more than once` });
    else seen.set(s.id, i);
    if (!(s.endsAt > s.startsAt)) problems.push({ path: `silences.${i}.endsAt`, message: `silence "${s.id}" ends at or before it starts` });
  });
  const keys = doc.silences.map((s) => canonicalMatcher(s.match));
  for (let j = 0; j < doc.silences.length; j++) {
    for (let i = 0; i < j; i++) {
      const a = doc.silences[i];
      const b = doc.silences[j];
      if (keys[i] === keys[j] && a.startsAt < b.endsAt && b.startsAt < a.endsAt) {
        problems.push({ path: `silences.${j}`, message: `silence ${b.id} overlaps silence ${a.id}` });
      }
    }
  }
  return problems;
}
