import { analyze } from '../../src/analysis';
import { policySchema } from '../../src/config/schema';
import type { Alert } from '../../src/domain/alert';
import type { Mention } from '../../src/domain/mention';
import {
  AlertBook,
  countedKey,
  fileUnderAlerts,
  followRecovery,
  gatherCases,
  joinOpenTopicAlerts,
  judgePosts,
  pageContext,
  pageEvents,
  stormTopicsOf,
  type PageBrand,
  type PagePost,
} from '../../src/domain/page-steps';
import { DEFAULT_CASE_SETTINGS } from '../../src/domain/cases';

/** The page steps alone: data in, what they changed out; no store, no clock. */
const brand: PageBrand = { id: 'hz', name: 'Hotel Zeezicht', policy: policySchema.parse({}), topics: { rooms: ['kamer'] }, keywords: ['Hotel Zeezicht'], handles: [] };
const NOW = Date.parse('2026-03-10T10:00:00Z');

function item(id: string, text: string, extra: Partial<PagePost> = {}): PagePost {
  const mention: Mention = {
    platform: 'x',
    postId: id,
    brandId: 'hz',
    url: `https://x.com/femke/status/${id}`,
    author: { id: 'u1', handle: 'femkesprint', followers: 312_400, verified: true },
    text,
    langHint: 'nl',
    createdAt: new Date(NOW - 60_000).toISOString(),
    engagement: { likes: 10, reposts: 2, replies: 1, quotes: 0 },
  };
  const [judgement] = analyze([{ text, langHint: 'nl' }]);
  return { mention, judgement, isNew: true, ingestedAt: NOW, ...extra };
}

const ROOMS = 'Hotel Zeezicht: de kamer was vies en waardeloos, nooit meer!';
const GENERAL = 'Hotel Zeezicht, nog steeds geen antwoord. Waardeloos!';
const ctx = pageContext(brand, NOW);
const empty = { trackers: new Map(), stormTopics: stormTopicsOf(brand, []) };

function resolvedAlert(fp: string, id: string): Alert {
  const [p] = judgePosts(brand, [item('1', ROOMS)]);
  const opened = fileUnderAlerts(ctx, [p], { ...empty, counted: new Map(), book: AlertBook.open(new Map(), new Map()) }).book.changes()[0].alert;
  return { ...opened, id, fingerprint: fp, status: 'resolved', resolvedAt: new Date(NOW - 3_600_000).toISOString() };
}

describe('page steps', () => {
  it('judgePosts: a signalled post lists its own fingerprint, then the author topic fingerprints it may join', () => {
    const [rooms, general] = judgePosts(brand, [item('1', ROOMS), item('2', GENERAL)]);
    expect(rooms.topic).toBe('rooms');
    expect(rooms.fingerprints).toEqual(['hz/threat/author/femkesprint/rooms']);
    expect(general.topic).toBe('general');
    expect(general.fingerprints).toEqual(['hz/threat/author/femkesprint/general', 'hz/threat/author/femkesprint/rooms']);
  });

  it('fileUnderAlerts: a new post triggers its alert and is a member; the book given is left as it was', () => {
    const posts = judgePosts(brand, [item('1', ROOMS)]);
    const book = AlertBook.open(new Map(), new Map());
    const filed = fileUnderAlerts(ctx, posts, { ...empty, counted: new Map(), book });
    expect(filed.members).toEqual([{ fingerprint: 'hz/threat/author/femkesprint/rooms', postKey: 'x-1', alertId: 'hz/threat/author/femkesprint/rooms' }]);
    expect(pageEvents(ctx, filed.book).map((e) => [e.type, e.alert.id, e.alert.count])).toEqual([['alert.triggered', 'hz/threat/author/femkesprint/rooms', 1]]);
    expect(book.changes()).toEqual([]);
  });

  it('fileUnderAlerts: a post counted in a resolved generation opens no next generation and counts nowhere', () => {
    const fp = 'hz/threat/author/femkesprint/rooms';
    const book = AlertBook.open(new Map([[fp, { alertId: fp, generation: 1 }]]), new Map([[fp, resolvedAlert(fp, fp)]]));
    const counted = new Map([[countedKey(fp, 'x-1'), fp]]);
    const filed = fileUnderAlerts(ctx, judgePosts(brand, [item('1', ROOMS, { isNew: false })]), { ...empty, counted, book });
    expect(filed.members).toEqual([]);
    expect(filed.book.changes()).toEqual([]);
    expect(filed.toRecheck).toEqual([]);
    // …while a post never counted opens fp~2.
    const fresh = fileUnderAlerts(ctx, judgePosts(brand, [item('2', ROOMS)]), { ...empty, counted, book });
    expect(fresh.members).toEqual([{ fingerprint: fp, postKey: 'x-2', alertId: `${fp}~2` }]);
    expect(fresh.book.headWrites().map(({ fingerprint, alertId, generation }) => ({ fingerprint, alertId, generation }))).toEqual([{ fingerprint: fp, alertId: `${fp}~2`, generation: 2 }]);
  });

  it('fileUnderAlerts: a post counted under the topic alert it joined is not counted again under its own fingerprint once that alert is resolved', () => {
    const topicFp = 'hz/threat/author/femkesprint/rooms';
    const book = AlertBook.open(new Map([[topicFp, { alertId: topicFp, generation: 1 }]]), new Map([[topicFp, resolvedAlert(topicFp, topicFp)]]));
    const posts = joinOpenTopicAlerts(brand, judgePosts(brand, [item('2', GENERAL, { isNew: false })]), book);
    expect(posts[0].signal!.fingerprint).toBe('hz/threat/author/femkesprint/general');
    const filed = fileUnderAlerts(ctx, posts, { ...empty, counted: new Map([[countedKey(topicFp, 'x-2'), topicFp]]), book });
    expect(filed.book.changes()).toEqual([]);
  });

  it('joinOpenTopicAlerts: a post on no topic joins the author\'s open topic alert', () => {
    const topicFp = 'hz/threat/author/femkesprint/rooms';
    const open = { ...resolvedAlert(topicFp, topicFp), status: 'triggered' as const };
    const book = AlertBook.open(new Map([[topicFp, { alertId: topicFp, generation: 1 }]]), new Map([[topicFp, open]]));
    const [joined] = joinOpenTopicAlerts(brand, judgePosts(brand, [item('2', GENERAL)]), book);
    expect(joined.signal).toMatchObject({ fingerprint: topicFp, topic: 'rooms' });
  });

  it('gatherCases and followRecovery: a post whose alert is a resolved generation opens no case for a phantom alert', () => {
    const fp = 'hz/threat/author/femkesprint/rooms';
    const book = AlertBook.open(new Map([[fp, { alertId: fp, generation: 1 }]]), new Map([[fp, resolvedAlert(fp, fp)]]));
    const posts = judgePosts(brand, [item('1', ROOMS, { isNew: false })]);
    const cases = gatherCases(ctx, posts, DEFAULT_CASE_SETTINGS, { cases: [], book, postCases: new Map() });
    expect(cases.changed.size).toBe(0);
    const recovery = followRecovery(ctx, posts, { ...cases, book: cases.book, postCases: new Map() });
    expect(recovery.changed.size).toBe(0);

    // A new post with its alert opens a case, and the alert carries the case id without a new version.
    const filed = fileUnderAlerts(ctx, judgePosts(brand, [item('3', ROOMS)]), { ...empty, counted: new Map(), book });
    const withCase = gatherCases(ctx, judgePosts(brand, [item('3', ROOMS)]), DEFAULT_CASE_SETTINGS, { cases: [], book: filed.book, postCases: new Map() });
    const [opened] = [...withCase.changed.values()];
    expect(opened.alertIds).toEqual([`${fp}~2`]);
    const [alert] = withCase.book.changes();
    expect(alert.alert).toMatchObject({ caseId: opened.id, version: 1 });
    // The post's case is recorded apart (the case document keeps no list of post keys).
    const [post3] = judgePosts(brand, [item('3', ROOMS)]);
    expect(Object.fromEntries(withCase.recorded)).toEqual({ [post3.postKey]: [opened.id] });
    expect(opened.postKeys).toBeUndefined();

    // The same page again (a retry: its post stored before) finds the post recorded in the case and adds nothing.
    const retried = judgePosts(brand, [item('3', ROOMS, { isNew: false })]);
    const again = gatherCases(ctx, retried, DEFAULT_CASE_SETTINGS, { cases: [opened], book: filed.book, postCases: new Map([[post3.postKey, [opened.id]]]) });
    expect(again.changed.size).toBe(0);
    expect(again.recorded.size).toBe(0);
    // Without the record (beyond the capped timeline) it would count the post twice: the record is what holds.
    const capped = { ...opened, timeline: [] };
    expect(gatherCases(ctx, retried, DEFAULT_CASE_SETTINGS, { cases: [capped], book: filed.book, postCases: new Map([[post3.postKey, [opened.id]]]) }).changed.size).toBe(0);
    expect([...gatherCases(ctx, retried, DEFAULT_CASE_SETTINGS, { cases: [capped], book: filed.book, postCases: new Map() }).changed.values()][0].posts).toBe(2);
  });
});
