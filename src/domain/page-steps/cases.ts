import type { Alert, AlertEventType } from '../alert';
import { addPost, findCase, followUp, recoveryCandidates, settleRecovery, type Case, type CasePost, type CaseSettings } from '../cases';
import type { AlertBook } from './book';
import type { JudgedPost, PageContext } from './posts';

export interface CaseStepResult {
  book: AlertBook;
  /** Every case the page read, as it is now (new ones appended). */
  cases: Case[];
  /** The cases this page changed or opened: to write. */
  changed: Map<string, Case>;
  /** Post key → the cases the post is in now, for posts this page added to a case: to write. */
  recorded: Map<string, string[]>;
}

/** What the case steps read besides the cases: the cases each post stored before is in already (by post key). */
export type PostCases = ReadonlyMap<string, readonly string[]>;

/** Cases as a list with the ones changed so far; `put` replaces in place or appends; `record` notes a post added to a case. */
function caseList(read: { cases: readonly Case[]; changed?: ReadonlyMap<string, Case>; recorded?: ReadonlyMap<string, string[]>; postCases: PostCases }) {
  const cases = [...read.cases];
  const changed = new Map(read.changed ?? []);
  const recorded = new Map(read.recorded ?? []);
  const put = (c: Case) => {
    changed.set(c.id, c);
    const i = cases.findIndex((x) => x.id === c.id);
    if (i >= 0) cases[i] = c;
    else cases.push(c);
  };
  const record = (postKey: string, caseId: string) => {
    const inCases = recorded.get(postKey) ?? [...(read.postCases.get(postKey) ?? [])];
    if (!inCases.includes(caseId)) recorded.set(postKey, [...inCases, caseId]);
  };
  return { cases, changed, recorded, put, record };
}

/** The threat alert a post is counted in (none when it was counted in an earlier, resolved generation). */
function caseAlertOf(p: JudgedPost, book: AlertBook): string | undefined {
  return p.signal && p.signal.kind !== 'opportunity' ? book.target(p.signal.fingerprint).alert?.id : undefined;
}

function casePostOf(ctx: PageContext, p: JudgedPost, alertId: string | undefined, postCases: PostCases): CasePost {
  return {
    inCases: postCases.get(p.postKey),
    platform: p.mention.platform,
    postId: p.mention.postId,
    authorId: p.mention.author.id,
    handle: p.mention.author.handle,
    conversationId: p.mention.conversationId,
    at: ctx.now,
    sentiment: p.judgement.sentiment.label,
    score: p.judgement.sentiment.score,
    alertId,
  };
}

/**
 * Step: cases, an author's posts across platforms and a conversation's replies. A post with a
 * threat alert opens or joins a case; any post joins an open case it belongs to. A recheck is the
 * same post again: its case has it already (and a resolved case must not restart), so rechecks
 * are left out. Changes: cases opened or grown, and the case id on alerts changed on this page.
 */
export function gatherCases(ctx: PageContext, posts: readonly JudgedPost[], settings: CaseSettings, read: { cases: readonly Case[]; book: AlertBook; postCases: PostCases }): CaseStepResult {
  const book = read.book.fork();
  const { cases, changed, recorded, put, record } = caseList(read);
  for (const p of posts) {
    if (p.recheck) continue;
    const alertId = caseAlertOf(p, book);
    const post = casePostOf(ctx, p, alertId, read.postCases);
    const open = findCase(cases, ctx.brand.id, post, settings);
    if (alertId || open) {
      const c = addPost(open, ctx.brand.id, post, settings);
      if (c !== open) {
        put(c);
        record(p.postKey, c.id);
      }
      if (alertId) book.setCase(alertId, c.id);
    }
  }
  return { book, cases, changed, recorded };
}

/**
 * Step: recovery after resolution. A watched case whose window has passed is settled
 * ('not-recovered'); a later post by its author within the window is a follow-up (a neutral or
 * positive one: 'recovered'). Resolved cases only, so it does not depend on gatherCases' changes
 * (which touch open ones). Changes: those cases.
 */
export function followRecovery(
  ctx: PageContext,
  posts: readonly JudgedPost[],
  read: { cases: readonly Case[]; changed: ReadonlyMap<string, Case>; recorded: ReadonlyMap<string, string[]>; book: AlertBook; postCases: PostCases },
): { cases: Case[]; changed: Map<string, Case>; recorded: Map<string, string[]> } {
  const { cases, changed, recorded, put, record } = caseList(read);
  for (const c of [...cases]) {
    const settled = settleRecovery(c, ctx.now);
    if (settled !== c && JSON.stringify(settled) !== JSON.stringify(c)) put(settled);
  }
  for (const p of posts) {
    if (p.recheck) continue;
    const post = casePostOf(ctx, p, caseAlertOf(p, read.book), read.postCases);
    const watched = recoveryCandidates(cases, ctx.brand.id, post);
    if (!watched) continue;
    const followed = followUp(watched, post);
    if (followed === watched) continue;
    put(followed);
    record(p.postKey, followed.id);
  }
  return { cases, changed, recorded };
}

/** An alert's change on the stream. */
export interface PageEvent {
  type: AlertEventType;
  alert: Alert;
  at: string;
}

/** Step: one stream event per alert this page changed, named by its first change, in the order they changed. */
export function pageEvents(ctx: PageContext, book: AlertBook): PageEvent[] {
  return book.changes().map(({ alert, kind }) => ({ type: kind === 'storm' ? 'storm.started' : kind === 'triggered' ? 'alert.triggered' : 'alert.updated', alert, at: ctx.at }));
}
