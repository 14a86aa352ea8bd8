import { z } from 'zod';

/**
 * The one shape every connector normalises a platform's post into. Everything downstream
 * (analysis, policy, storage, delivery) sees only this.
 */
export const authorSchema = z.object({
  id: z.string().min(1),
  handle: z.string().min(1),
  name: z.string().optional(),
  followers: z.number().int().nonnegative(),
  verified: z.boolean(),
  /** X: none | blue | business | government. */
  verifiedType: z.string().optional(),
});

export const engagementSchema = z.object({
  likes: z.number().int().nonnegative().default(0),
  reposts: z.number().int().nonnegative().default(0),
  replies: z.number().int().nonnegative().default(0),
  quotes: z.number().int().nonnegative().default(0),
});

export const mentionSchema = z.object({
  platform: z.string().min(1),
  postId: z.string().min(1),
  url: z.string(),
  brandId: z.string().min(1),
  author: authorSchema,
  text: z.string().max(100_000),
  /** The platform's own language tag, when it gives one (BCP 47, or 'und'). */
  langHint: z.string().optional(),
  /** ISO 8601. */
  createdAt: z.string(),
  engagement: engagementSchema,
  replyToId: z.string().optional(),
  conversationId: z.string().optional(),
  /** Reviews (Trustpilot, Google): the stars given. A one-star review is negative even in mild words. */
  rating: z.object({ stars: z.number().min(0), outOf: z.number().positive() }).optional(),
});

export type Author = z.infer<typeof authorSchema>;
export type Engagement = z.infer<typeof engagementSchema>;
export type Mention = z.infer<typeof mentionSchema>;

/** Stable key of a post across the whole system: never all digits, no ':' (BullMQ job ids). */
export function mentionKey(m: Pick<Mention, 'platform' | 'postId'>): string {
  return `${m.platform}-${m.postId}`;
}
