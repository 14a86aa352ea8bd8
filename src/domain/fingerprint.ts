import type { Mention } from './mention';

/**
 * Which alert a post belongs to. A reply inside someone else's conversation belongs to that
 * thread; otherwise the author and topic decide, so the same post, a thread, or one author
 * going on about one topic each give one alert that is updated rather than many. Threats and
 * opportunities never share an alert.
 */
export type FingerprintScope = 'thread' | 'author';

export interface Fingerprint {
  value: string;
  scope: FingerprintScope;
}

/** Lower case, without '@' and the separators people vary across platforms ("Sanne_Sprint" = "sanne.sprint"). */
export function authorKeyOf(handle: string): string {
  return handle.toLowerCase().replace(/^@/, '').replace(/[._-]/g, '');
}

/** True when the post answers a conversation that another post started. */
export function isReply(m: Pick<Mention, 'postId' | 'replyToId' | 'conversationId'>): boolean {
  return !!m.replyToId || (!!m.conversationId && m.conversationId !== m.postId);
}

export function fingerprintOf(
  brandId: string,
  m: Pick<Mention, 'platform' | 'postId' | 'replyToId' | 'conversationId' | 'author'>,
  topic: string,
  polarity: 'threat' | 'opportunity',
): Fingerprint {
  if (isReply(m) && m.conversationId) return { value: `${brandId}/${polarity}/thread/${m.platform}/${m.conversationId}`, scope: 'thread' };
  return { value: `${brandId}/${polarity}/author/${authorKeyOf(m.author.handle)}/${topic}`, scope: 'author' };
}

/** The storm fingerprint of a brand (and topic): one storm alert per brand and topic at a time. */
export function stormFingerprintOf(brandId: string, topic: string): string {
  return `${brandId}/storm/${topic}`;
}
