import type { Alert } from '../alert';

/** Where a fingerprint's posts go: the alert id of its current generation (`fp`, `fp~2`, …). */
export interface AlertHead {
  alertId: string;
  generation: number;
}

/** What the first change of an alert on this page was; it names the alert's stream event. */
export type ChangeKind = 'triggered' | 'updated' | 'storm';

/** The alert a fingerprint's posts go to now: the open one, or the id and generation of the next one. */
export interface Target {
  alert?: Alert;
  id: string;
  generation: number;
}

/**
 * The alerts of one page: what was read (heads and alerts) and what the steps changed. Steps
 * never change the book they are given: each works on a `fork()` and returns it, so the page's
 * changes are the book the last step returns. Insertion order is kept: it is the order of the
 * page's events on the stream.
 */
export class AlertBook {
  private constructor(
    private readonly heads: ReadonlyMap<string, AlertHead>,
    private readonly stored: ReadonlyMap<string, Alert>,
    private readonly working: Map<string, Alert>,
    private readonly firstChange: Map<string, ChangeKind>,
    private readonly newHeads: Map<string, AlertHead>,
  ) {}

  static open(heads: ReadonlyMap<string, AlertHead>, stored: ReadonlyMap<string, Alert>): AlertBook {
    return new AlertBook(heads, stored, new Map(), new Map(), new Map());
  }

  fork(): AlertBook {
    return new AlertBook(this.heads, this.stored, new Map(this.working), new Map(this.firstChange), new Map(this.newHeads));
  }

  /** The open alert of a fingerprint, or the id of the alert its next post would open. */
  target(fp: string): Target {
    const head = this.newHeads.get(fp) ?? this.heads.get(fp);
    if (!head) return { id: fp, generation: 1 };
    const alert = this.working.get(head.alertId) ?? this.stored.get(head.alertId);
    if (alert && alert.status !== 'resolved') return { alert, id: alert.id, generation: head.generation };
    if (!alert && this.newHeads.has(fp)) return { id: head.alertId, generation: head.generation };
    return { id: `${fp}~${head.generation + 1}`, generation: head.generation + 1 };
  }

  /** The stored head of a fingerprint (as read, before this page). */
  storedHead(fp: string): AlertHead | undefined {
    return this.heads.get(fp);
  }

  /** An alert as this page left it so far (changed, else as stored). */
  get(id: string): Alert | undefined {
    return this.working.get(id) ?? this.stored.get(id);
  }

  /** An alert as it was read, before this page. */
  asRead(id: string): Alert | undefined {
    return this.stored.get(id);
  }

  /** Whether this page changed the alert already. */
  changed(id: string): boolean {
    return this.working.has(id);
  }

  /** Records an alert's new state; the first change of each alert names its event, a new alert moves its fingerprint's head. */
  change(alert: Alert, kind: ChangeKind, fp: string, generation: number): void {
    this.working.set(alert.id, alert);
    if (!this.firstChange.has(alert.id)) this.firstChange.set(alert.id, kind);
    if (!this.heads.has(fp) || this.heads.get(fp)!.alertId !== alert.id) this.newHeads.set(fp, { alertId: alert.id, generation });
  }

  /** Notes the case of an alert this page changed (no new version: it is part of the same change). */
  setCase(alertId: string, caseId: string): void {
    const alert = this.working.get(alertId);
    if (alert && !alert.caseId) this.working.set(alertId, { ...alert, caseId });
  }

  /** The changed alerts in the order they were first changed, each with its first change. */
  changes(): { alert: Alert; kind: ChangeKind }[] {
    return [...this.working.values()].map((alert) => ({ alert, kind: this.firstChange.get(alert.id)! }));
  }

  /**
   * Every head this page writes: the ones that moved, and the ones whose alert it changed, each
   * with its alert as the page left it (the head keeps a copy, read with it by the next page).
   */
  headWrites(): ({ fingerprint: string; alert: Alert } & AlertHead)[] {
    const out: ({ fingerprint: string; alert: Alert } & AlertHead)[] = [];
    for (const [fingerprint, head] of new Map([...this.heads, ...this.newHeads])) {
      const alert = this.working.get(head.alertId);
      if (alert) out.push({ fingerprint, alertId: head.alertId, generation: head.generation, alert });
    }
    return out;
  }

  storedAlertIds(): Set<string> {
    return new Set(this.stored.keys());
  }
}
