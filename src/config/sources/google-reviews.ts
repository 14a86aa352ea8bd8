import { z } from 'zod';
import { baseUrlFields, durationSchema, envName, sourceIdSchema } from '../fields';

/** Account and location ids go into the URL path: digits and letters only (the `accounts/`/`locations/` prefixes are added). */
const gbpId = (what: string) => z.string().regex(/^[A-Za-z0-9]{1,64}$/, `a Google Business Profile ${what} id (digits, without the "${what}s/" prefix)`);

/**
 * Google Business Profile reviews of the brand's own verified locations (My Business API v4
 * `accounts.locations.reviews.list`, scope business.manage), read with an OAuth 2 refresh token.
 */
export const googleReviewsSourceSchema = z
  .object({
    id: sourceIdSchema,
    platform: z.literal('google-reviews'),
    /** Environment variables holding the OAuth client id, client secret and the owner's refresh token. */
    clientIdEnv: envName,
    clientSecretEnv: envName,
    refreshTokenEnv: envName,
    accountId: gbpId('account'),
    locationIds: z
      .array(gbpId('location'))
      .min(1)
      .max(100)
      .refine((ids) => new Set(ids).size === ids.length, 'a location is listed more than once'),
    /** Reviews per page (Google allows up to 50). */
    pageSize: z.number().int().min(1).max(50).default(50),
    pollEvery: durationSchema.refine((ms) => ms >= 60_000, 'Google review sources poll at most once a minute').default(900_000),
    /** Where access tokens are got from the refresh token (a local server in tests). */
    tokenUrl: z.url({ protocol: /^https?$/ }).default('https://oauth2.googleapis.com/token'),
    ...baseUrlFields,
  })
  .strict();

export type GoogleReviewsSourceConfig = z.infer<typeof googleReviewsSourceSchema>;
