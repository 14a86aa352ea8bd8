import {
  acknowledgeCase,
  addPost,
  authorKeyOf,
  caseIdFor,
  conversationKeyOf,
  DEFAULT_CASE_SETTINGS,
  findCase,
  followUp,
  recoveryCandidates,
  resolveCase,
  settleRecovery,
  TIMELINE_HEAD,
  TIMELINE_TAIL,
  type Case,
  type CasePost,
} from '../../src/domain/cases';
import { RepwatchError } from '../../src/domain/errors';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const T0 = Date.parse('2026-03-10T08:00:00Z');
const BRAND = 'snelpost';
const settings = DEFAULT_CASE_SETTINGS;

let seq = 0;
function post(over: Partial<CasePost> = {}): CasePost {
  seq += 1;
  return { platform: 'x', postId: `p${seq}`, authorId: `u-${over.handle ?? 'jan_jansen'}`, handle: 'jan_jansen', at: T0, sentiment: 'negative', score: -0.8, ...over };
}

/** A case opened by `first` with the rest added in order. */
function caseOf(first: CasePost, ...rest: CasePost[]): Case {
  return rest.reduce((c, p) => addPost(c, BRAND, p, settings), addPost(undefined, BRAND, first, settings));
}

/** Every value of a stored document, for the MongoDB-compatibility checks. */
function walk(value: unknown, visit: (v: unknown, key: string | undefined, parentIsArray: boolean) => void, key?: string, parentIsArray = false): void {
  visit(value, key, parentIsArray);
  if (Array.isArray(value)) value.forEach((v) => walk(v, visit, undefined, true));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, visit, k, false);
}

describe('defaults', () => {
  it('joins within 48 hours and watches recovery for 7 days', () => {
    expect(DEFAULT_CASE_SETTINGS).toEqual({ windowMs: 48 * H, recoveryWindowMs: 7 * D });
  });
});

describe('authorKeyOf: one person across platforms', () => {
  test.each([
    ['Sanne_Sprint', 'sanne.sprint'],
    ['@Sanne_Sprint', 'sanne-sprint'],
    ['SANNE.SPRINT', 'sannesprint'],
    ['jan_jansen', 'Jan.Jansen'],
  ])('%s and %s are one author', (a, b) => {
    expect(authorKeyOf(a)).toBe(authorKeyOf(b));
  });

  test.each([
    ['Sanne_Sprint', 'sannesprint'],
    ['@piet_p', 'pietp'],
    ['a.b-c_d', 'abcd'],
  ])('%s → %s', (handle, key) => expect(authorKeyOf(handle)).toBe(key));

  test.each([
    ['sanne_sprint', 'sanne_sprint2'],
    ['jan_jansen', 'jan_janssen'],
  ])('%s and %s are different authors', (a, b) => expect(authorKeyOf(a)).not.toBe(authorKeyOf(b)));
});

describe('conversationKeyOf', () => {
  test.each([
    ['x', '123', 'x/123'],
    ['bluesky', 'at://did:plc:abc/post/1', 'bluesky/at://did:plc:abc/post/1'],
    ['x', undefined, undefined],
    ['x', '', undefined],
  ])('%s %s → %s', (platform, id, key) => expect(conversationKeyOf(platform, id)).toBe(key));

  it('keeps platforms apart', () => {
    expect(conversationKeyOf('x', '1')).not.toBe(conversationKeyOf('mastodon', '1'));
  });
});

describe('caseIdFor', () => {
  it('is deterministic for a retried post, and differs by brand, author and time', () => {
    const p = post({ handle: 'Sanne_Sprint' });
    expect(caseIdFor(BRAND, p)).toBe(caseIdFor(BRAND, { ...p }));
    expect(caseIdFor(BRAND, p)).toBe(`snelpost/case/sannesprint/${T0}`);
    expect(caseIdFor('other', p)).not.toBe(caseIdFor(BRAND, p));
    expect(caseIdFor(BRAND, { ...p, handle: 'piet_p' })).not.toBe(caseIdFor(BRAND, p));
    expect(caseIdFor(BRAND, { ...p, at: T0 + 1 })).not.toBe(caseIdFor(BRAND, p));
  });
});

describe('addPost: a new case', () => {
  it('opens with the post, its keys and an alert entry', () => {
    const p = post({ handle: 'Sanne_Sprint', conversationId: 'c1', alertId: 'a1' });
    const c = addPost(undefined, BRAND, p, settings);
    expect(c).toMatchObject({
      id: caseIdFor(BRAND, p),
      brandId: BRAND,
      authorKeys: ['sannesprint'],
      conversationKeys: ['x/c1'],
      handles: ['Sanne_Sprint'],
      platforms: ['x'],
      state: 'open',
      openedAt: T0,
      lastPostAt: T0,
      posts: 1,
    });
    expect(c.timeline.map((e) => e.type)).toEqual(['post', 'alert']);
    expect(c.timeline[0]).toEqual({ at: T0, type: 'post', platform: 'x', postId: p.postId, handle: 'Sanne_Sprint', sentiment: 'negative', alertId: 'a1' });
    expect(c.recovery).toBeUndefined();
  });

  it('uses a post without a conversation id as the start of its own conversation', () => {
    const c = addPost(undefined, BRAND, post({ postId: 'root' }), settings);
    expect(c.conversationKeys).toEqual(['x/root']);
  });
});

describe('findCase: joining posts into one case', () => {
  const open = caseOf(post({ handle: 'Sanne_Sprint', platform: 'x', postId: 'root' }));

  test.each<[string, Partial<CasePost>, boolean]>([
    ['the same author on another platform under a varied handle', { handle: 'sanne.sprint', platform: 'instagram', at: T0 + H }, true],
    ['the same author on the same platform', { handle: 'Sanne_Sprint', at: T0 + 5 * M }, true],
    ['another author replying in the conversation', { handle: 'piet_p', conversationId: 'root', at: T0 + M }, true],
    ['another author, conversation of the same id on another platform', { handle: 'piet_p', platform: 'mastodon', conversationId: 'root', at: T0 + M }, false],
    ['another author in another conversation', { handle: 'piet_p', conversationId: 'elsewhere', at: T0 + M }, false],
    ['another author with no conversation', { handle: 'piet_p', at: T0 + M }, false],
    ['the same author just inside the window', { handle: 'sanne_sprint', at: T0 + settings.windowMs }, true],
    ['the same author just outside the window', { handle: 'sanne_sprint', at: T0 + settings.windowMs + 1 }, false],
    ['a reply just outside the window', { handle: 'piet_p', conversationId: 'root', at: T0 + settings.windowMs + 1 }, false],
  ])('%s → joins: %s', (_label, over, joins) => {
    expect(findCase([open], BRAND, post(over), settings)?.id).toBe(joins ? open.id : undefined);
  });

  it('measures the window from the last post, not the first', () => {
    const grown = addPost(open, BRAND, post({ handle: 'Sanne_Sprint', at: T0 + 40 * H }), settings);
    const later = post({ handle: 'sanne.sprint', platform: 'instagram', at: T0 + 80 * H });
    expect(findCase([open], BRAND, later, settings)).toBeUndefined();
    expect(findCase([grown], BRAND, later, settings)?.id).toBe(open.id);
  });

  it('honours a configured window', () => {
    const p = post({ handle: 'Sanne_Sprint', at: T0 + 2 * H });
    expect(findCase([open], BRAND, p, { ...settings, windowMs: H })).toBeUndefined();
    expect(findCase([open], BRAND, p, { ...settings, windowMs: 2 * H })?.id).toBe(open.id);
  });

  it('never matches another brand', () => {
    expect(findCase([open], 'other-brand', post({ handle: 'Sanne_Sprint', at: T0 + M }), settings)).toBeUndefined();
  });

  it('matches an acknowledged case but never reopens a resolved one', () => {
    const later = post({ handle: 'Sanne_Sprint', at: T0 + H });
    expect(findCase([acknowledgeCase(open, 'anna', T0 + M)], BRAND, later, settings)?.state).toBe('acknowledged');
    expect(findCase([resolveCase(open, 'anna', T0 + M, settings)], BRAND, later, settings)).toBeUndefined();
  });

  it('prefers the most recently active of several matches', () => {
    const byAuthor = caseOf(post({ handle: 'piet_p', postId: 'p-a', at: T0 }));
    const byThread = caseOf(post({ handle: 'klaas_k', postId: 'thread', at: T0 + H }));
    const reply = post({ handle: 'piet_p', conversationId: 'thread', at: T0 + 2 * H });
    expect(findCase([byAuthor, byThread], BRAND, reply, settings)?.id).toBe(byThread.id);
  });

  it('joins a thread: starter and two replies make one case of three posts', () => {
    const starter = post({ handle: 'jan_jansen', postId: 'first', alertId: 'a-jan' });
    let cases = [addPost(undefined, BRAND, starter, settings)];
    for (const reply of [
      post({ handle: 'piet_p', postId: 'reply1', conversationId: 'first', at: T0 + 10 * S, alertId: 'a-thread' }),
      post({ handle: 'klaas_k', postId: 'reply2', conversationId: 'first', at: T0 + 20 * S, alertId: 'a-thread' }),
      post({ handle: 'piet_p', postId: 'reply1', conversationId: 'first', at: T0 + 20 * S, alertId: 'a-thread' }),
    ]) {
      const found = findCase(cases, BRAND, reply, settings);
      expect(found).toBeDefined();
      cases = [addPost(found, BRAND, reply, settings)];
    }
    expect(cases[0]).toMatchObject({ posts: 3, authorKeys: ['janjansen', 'pietp', 'klaask'], conversationKeys: ['x/first'], alertIds: ['a-jan', 'a-thread'] });
    expect(cases[0].timeline.filter((e) => e.type === 'alert').map((e) => e.alertId)).toEqual(['a-jan', 'a-thread']);
  });
});

describe('addPost: joining and idempotency', () => {
  it('collects handles and platforms of one customer', () => {
    const c = caseOf(post({ handle: 'Sanne_Sprint' }), post({ handle: 'sanne.sprint', platform: 'instagram', at: T0 + H }));
    expect(c).toMatchObject({ posts: 2, authorKeys: ['sannesprint'], handles: ['Sanne_Sprint', 'sanne.sprint'], platforms: ['x', 'instagram'], lastPostAt: T0 + H, openedAt: T0 });
  });

  it('changes nothing when the same platform + post id arrives again', () => {
    const p = post({ alertId: 'a1' });
    const c = addPost(undefined, BRAND, p, settings);
    const again = addPost(c, BRAND, { ...p, at: T0 + 5 * S }, settings);
    expect(again).toBe(c);
    expect(again.posts).toBe(1);
  });

  it('counts the same post id on another platform as another post', () => {
    const p = post({ postId: '42' });
    const c = addPost(addPost(undefined, BRAND, p, settings), BRAND, { ...p, platform: 'instagram', handle: 'jan.jansen' }, settings);
    expect(c.posts).toBe(2);
  });

  it('does not mutate its input', () => {
    const c = caseOf(post());
    const before = JSON.stringify(c);
    const next = addPost(c, BRAND, post({ handle: 'jan.jansen', platform: 'instagram', at: T0 + M, alertId: 'a2' }), settings);
    expect(JSON.stringify(c)).toBe(before);
    expect(next).not.toBe(c);
    expect(next.timeline).not.toBe(c.timeline);
  });

  it('keeps the timeline in time order when a post arrives late', () => {
    const c = caseOf(post({ at: T0 + 2 * H }), post({ at: T0 + H }));
    expect(c.timeline.map((e) => e.at)).toEqual([T0 + 2 * H, T0 + H].sort((a, b) => a - b));
    expect(c.lastPostAt).toBe(T0 + 2 * H);
  });

  it('refuses to add a post to a resolved case (posts after resolution are follow-ups)', () => {
    const c = resolveCase(caseOf(post()), 'anna', T0 + H, settings);
    expect(() => addPost(c, BRAND, post({ at: T0 + 2 * H }), settings)).toThrow(RepwatchError);
  });
});

describe('acknowledge and resolve', () => {
  const c = caseOf(post());

  it('acknowledges an open case and records who', () => {
    const a = acknowledgeCase(c, 'anna@example.com', T0 + 20 * M);
    expect(a).toMatchObject({ state: 'acknowledged', acknowledgedAt: T0 + 20 * M, acknowledgedBy: 'anna@example.com' });
    expect(a.timeline.at(-1)).toEqual({ at: T0 + 20 * M, type: 'acknowledged', by: 'anna@example.com' });
    expect(c.state).toBe('open');
  });

  it('leaves an acknowledged or resolved case as it is when acknowledged again', () => {
    const a = acknowledgeCase(c, 'anna', T0 + M);
    expect(acknowledgeCase(a, 'ben', T0 + 2 * M)).toBe(a);
    const r = resolveCase(a, 'anna', T0 + H, settings);
    expect(acknowledgeCase(r, 'ben', T0 + 2 * H)).toBe(r);
  });

  test.each([
    ['an open case', c],
    ['an acknowledged case', acknowledgeCase(c, 'anna', T0 + M)],
  ])('resolves %s and starts watching for recovery', (_label, from) => {
    const r = resolveCase(from, 'ben', T0 + 3 * H, settings);
    expect(r).toMatchObject({ state: 'resolved', resolvedAt: T0 + 3 * H, resolvedBy: 'ben', recovery: { state: 'watching', until: T0 + 3 * H + 7 * D } });
    expect(r.timeline.at(-1)).toEqual({ at: T0 + 3 * H, type: 'resolved', by: 'ben' });
  });

  it('uses the configured recovery window, and resolving twice changes nothing', () => {
    const r = resolveCase(c, 'ben', T0 + H, { ...settings, recoveryWindowMs: 2 * D });
    expect(r.recovery?.until).toBe(T0 + H + 2 * D);
    expect(resolveCase(r, 'anna', T0 + 2 * H, settings)).toBe(r);
  });
});

describe('recovery after resolution', () => {
  const resolvedAt = T0 + 3 * H;
  const resolved = resolveCase(caseOf(post({ handle: 'jan_jansen' })), 'anna', resolvedAt, settings);
  const until = resolvedAt + 7 * D;

  test.each<[string, Partial<CasePost>, 'watching' | 'recovered', boolean]>([
    ['a positive post the next day', { sentiment: 'positive', at: resolvedAt + D }, 'recovered', true],
    ['a neutral post on another platform', { sentiment: 'neutral', platform: 'instagram', handle: 'jan.jansen', at: resolvedAt + D }, 'recovered', true],
    ['a positive post at the end of the window', { sentiment: 'positive', at: until }, 'recovered', true],
    ['a negative post', { sentiment: 'negative', at: resolvedAt + D }, 'watching', true],
    ['a positive post after the window', { sentiment: 'positive', at: until + 1 }, 'watching', false],
    ['a positive post before the resolution', { sentiment: 'positive', at: resolvedAt - M }, 'watching', false],
    ['a positive post by someone else', { sentiment: 'positive', handle: 'piet_p', at: resolvedAt + D }, 'watching', false],
  ])('%s → %s (recorded: %s)', (_label, over, state, recorded) => {
    const p = post(over);
    const next = followUp(resolved, p);
    expect(next.recovery?.state).toBe(state);
    expect(next.timeline.some((e) => e.type === 'follow-up' && e.postId === p.postId)).toBe(recorded);
    if (!recorded) expect(next).toBe(resolved);
    expect(recoveryCandidates([resolved], BRAND, p)?.id).toBe(recorded ? resolved.id : undefined);
  });

  it('names the post that decided the recovery', () => {
    const p = post({ sentiment: 'positive', postId: 'jan2', at: resolvedAt + D });
    const next = followUp(resolved, p);
    expect(next.recovery).toEqual({ state: 'recovered', until, decidedAt: resolvedAt + D, because: 'positive post x/jan2 by @jan_jansen' });
    expect(next.timeline.slice(-2).map((e) => e.type)).toEqual(['follow-up', 'recovered']);
    expect(next.state).toBe('resolved');
  });

  it('records a negative follow-up, then recovers on a later neutral one', () => {
    const neg = post({ sentiment: 'negative', at: resolvedAt + D });
    const after = followUp(resolved, neg);
    expect(after.recovery?.state).toBe('watching');
    expect(followUp(after, neg)).toBe(after);
    const recovered = followUp(after, post({ sentiment: 'neutral', at: resolvedAt + 2 * D }));
    expect(recovered.recovery?.state).toBe('recovered');
    expect(recovered.timeline.filter((e) => e.type === 'follow-up').map((e) => e.sentiment)).toEqual(['negative', 'neutral']);
  });

  it('ignores follow-ups once recovery is decided, and on a case not resolved', () => {
    const recovered = followUp(resolved, post({ sentiment: 'positive', at: resolvedAt + D }));
    expect(followUp(recovered, post({ sentiment: 'negative', at: resolvedAt + 2 * D }))).toBe(recovered);
    const open = caseOf(post());
    expect(followUp(open, post({ sentiment: 'positive', at: T0 + H }))).toBe(open);
  });

  test.each<[string, (c: Case) => Case, number, 'watching' | 'recovered' | 'not-recovered']>([
    ['still inside the window', (c) => c, until, 'watching'],
    ['window passed with no follow-up', (c) => c, until + 1, 'not-recovered'],
    ['window passed after only a negative follow-up', (c) => followUp(c, post({ sentiment: 'negative', at: resolvedAt + D })), until + D, 'not-recovered'],
    ['window passed after recovering', (c) => followUp(c, post({ sentiment: 'positive', at: resolvedAt + D })), until + D, 'recovered'],
  ])('settleRecovery: %s → %s', (_label, before, now, state) => {
    expect(settleRecovery(before(resolved), now).recovery?.state).toBe(state);
  });

  it('settles as of the end of the window, with the reason, and only once', () => {
    const settled = settleRecovery(resolved, until + 2 * D);
    expect(settled.recovery).toEqual({ state: 'not-recovered', until, decidedAt: until, because: 'no neutral or positive post within 7 days' });
    expect(settled.timeline.at(-1)).toEqual({ at: until, type: 'not-recovered', note: 'no neutral or positive post within 7 days' });
    expect(settleRecovery(settled, until + 3 * D)).toBe(settled);
    expect(settleRecovery(resolved, until + 5 * D)).toEqual(settled);
  });

  it('names a configured window in the reason', () => {
    const r = resolveCase(caseOf(post()), 'anna', T0, { ...settings, recoveryWindowMs: 36 * H });
    expect(settleRecovery(r, T0 + 37 * H).recovery?.because).toBe('no neutral or positive post within 36 hours');
  });

  it('leaves open and acknowledged cases alone', () => {
    const open = caseOf(post());
    expect(settleRecovery(open, T0 + 30 * D)).toBe(open);
  });

  it('recoveryCandidates: only resolved, watching cases of this brand and author; the latest resolution wins', () => {
    const p = post({ sentiment: 'positive', handle: 'Jan.Jansen', platform: 'instagram', at: resolvedAt + 2 * D });
    const open = caseOf(post({ at: resolvedAt + D }));
    const older = resolveCase(caseOf(post({ at: T0 - 2 * D })), 'anna', T0 - D, settings);
    expect(recoveryCandidates([open, older, resolved], BRAND, p)?.id).toBe(resolved.id);
    expect(recoveryCandidates([open], BRAND, p)).toBeUndefined();
    expect(recoveryCandidates([resolved], 'other-brand', p)).toBeUndefined();
    expect(recoveryCandidates([settleRecovery(resolved, until + 1)], BRAND, p)).toBeUndefined();
  });
});

describe('timeline cap', () => {
  it(`keeps the first ${TIMELINE_HEAD} and the last ${TIMELINE_TAIL} entries, and still counts every post`, () => {
    let c = caseOf(post({ postId: 'post-0', at: T0 }));
    for (let i = 1; i < 250; i++) c = addPost(c, BRAND, post({ postId: `post-${i}`, at: T0 + i * M }), settings);
    expect(c.posts).toBe(250);
    expect(c.timeline).toHaveLength(TIMELINE_HEAD + TIMELINE_TAIL);
    const ids = c.timeline.map((e) => e.postId);
    expect(ids.slice(0, TIMELINE_HEAD)).toEqual(['post-0', 'post-1', 'post-2', 'post-3', 'post-4']);
    expect(ids.at(-1)).toBe('post-249');
    expect(ids[TIMELINE_HEAD]).toBe(`post-${250 - TIMELINE_TAIL}`);
  });

  it('stays idempotent for a post that fell out of the timeline: by the record of its cases, or the post keys of an older case', () => {
    let c = caseOf(post({ postId: 'post-0', at: T0 }));
    for (let i = 1; i < 150; i++) c = addPost(c, BRAND, post({ postId: `post-${i}`, at: T0 + i * M }), settings);
    expect(c.timeline.some((e) => e.postId === 'post-50')).toBe(false);
    // The page read where the post is recorded (a retried page: the post was stored before).
    expect(addPost(c, BRAND, { ...post({ postId: 'post-50', at: T0 + 50 * M }), inCases: [c.id] }, settings)).toBe(c);
    // A case written by an earlier version kept its post keys in the document.
    const older = { ...c, postKeys: ['x/post-50'] };
    expect(addPost(older, BRAND, post({ postId: 'post-50', at: T0 + 50 * M }), settings)).toBe(older);
    // A post in another case only is not in this one.
    expect(addPost(c, BRAND, { ...post({ postId: 'post-50', at: T0 + 50 * M }), inCases: ['other-case'] }, settings).posts).toBe(c.posts + 1);
    // The document stays small: no list of its posts, the timeline capped.
    expect(c.postKeys).toBeUndefined();
    expect(c.timeline.length).toBe(TIMELINE_HEAD + TIMELINE_TAIL);
  });

  it('caps the key lists of a large thread but keeps the case origin', () => {
    let c = caseOf(post({ handle: 'starter', postId: 'root' }));
    for (let i = 0; i < 300; i++) c = addPost(c, BRAND, post({ handle: `replier${i}`, conversationId: 'root', at: T0 + i * S }), settings);
    expect(c.posts).toBe(301);
    expect(c.authorKeys.length).toBeLessThanOrEqual(100);
    expect(c.authorKeys[0]).toBe('starter');
    expect(c.authorKeys.at(-1)).toBe('replier299');
  });
});

describe('stored document', () => {
  function story(): Case {
    let c = caseOf(
      post({ handle: 'Sanne_Sprint', postId: 'sanne1', conversationId: 'sanne1', alertId: 'snelpost/threat/author/sannesprint/general' }),
      post({ handle: 'sanne.sprint', platform: 'instagram', postId: 'sanne2', at: T0 + H }),
    );
    c = acknowledgeCase(c, 'anna@example.com', T0 + 2 * H);
    c = resolveCase(c, 'anna@example.com', T0 + 3 * H, settings);
    c = followUp(c, post({ handle: 'sanne_sprint', postId: 'sanne3', sentiment: 'negative', at: T0 + D }));
    return settleRecovery(c, T0 + 10 * D);
  }

  it('survives a JSON round trip exactly (no undefined fields)', () => {
    const c = story();
    expect(JSON.parse(JSON.stringify(c))).toStrictEqual(c);
  });

  it('keeps working after a round trip: idempotency and follow-ups', () => {
    const open = JSON.parse(JSON.stringify(caseOf(post({ postId: 'a' })))) as Case;
    expect(addPost(open, BRAND, post({ postId: 'a' }), settings)).toBe(open);
    const resolved = JSON.parse(JSON.stringify(resolveCase(open, 'anna', T0 + H, settings))) as Case;
    expect(followUp(resolved, post({ sentiment: 'positive', at: T0 + D })).recovery?.state).toBe('recovered');
  });

  it('is MongoDB-compatible: no nested arrays, no keys with "." or leading "$", no undefined values', () => {
    walk(story(), (v, key, parentIsArray) => {
      if (key !== undefined) expect(key.includes('.') || key.startsWith('$')).toBe(false);
      if (parentIsArray) expect(Array.isArray(v)).toBe(false);
      expect(v).not.toBeUndefined();
    });
  });
});
