import { SEVERITIES } from '../config/schema';
import { ALERT_KINDS, type Alert } from './alert';
import type { Case } from './cases';

/**
 * `repwatch report`: per brand, what fired and how fast the team answered it. Pure: alerts and
 * cases come in, figures and text come out.
 */

export interface DurationStats {
  /** Alerts that have the end time (acknowledgedAt / resolvedAt); the others are left out, not counted as zero. */
  count: number;
  medianMs?: number;
  p90Ms?: number;
}

export interface BrandReport {
  brandId: string;
  brandName: string;
  alerts: number;
  /** Every kind and severity is present (0 when none), so tables line up across brands. */
  byKind: Record<string, number>;
  bySeverity: Record<string, number>;
  /** Not resolved yet (triggered or acknowledged). */
  open: number;
  escalated: number;
  timeToAcknowledge: DurationStats;
  timeToResolve: DurationStats;
  cases: number;
  /** rate = recovered / (recovered + notRecovered); undefined until some recovery is decided. */
  recovery: { recovered: number; notRecovered: number; watching: number; rate?: number };
}

/**
 * Nearest-rank percentile: sort ascending and take the value at rank ⌈p/100 × n⌉ (1-based, at
 * least 1). Always one of the values, never interpolated. p is clamped to 0..100; undefined for no values.
 */
export function percentile(values: number[], p: number): number | undefined {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!sorted.length) return undefined;
  const q = Math.min(100, Math.max(0, Number.isFinite(p) ? p : 0));
  const rank = Math.max(1, Math.ceil((q / 100) * sorted.length));
  return sorted[rank - 1];
}

function stats(values: number[]): DurationStats {
  const out: DurationStats = { count: values.length };
  // No undefined keys: reports may be written as JSON or stored.
  if (values.length) {
    out.medianMs = percentile(values, 50);
    out.p90Ms = percentile(values, 90);
  }
  return out;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const pad2 = (n: number) => String(n).padStart(2, '0');

/** The two largest units, truncated: "45s", "2m 30s", "3h 05m", "2d 4h". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 0) return `-${formatDuration(-ms)}`;
  const s = Math.floor(ms / SECOND);
  if (ms < MINUTE) return `${s}s`;
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)}m ${pad2(s % 60)}s`;
  if (ms < DAY) return `${Math.floor(ms / HOUR)}h ${pad2(Math.floor(ms / MINUTE) % 60)}m`;
  return `${Math.floor(ms / DAY)}d ${Math.floor(ms / HOUR) % 24}h`;
}

/** Milliseconds from one ISO time to another; negative spans (clock skew) count as 0. */
function span(fromIso: string, toIso: string | undefined): number | undefined {
  if (!toIso) return undefined;
  const d = Date.parse(toIso) - Date.parse(fromIso);
  return Number.isFinite(d) ? Math.max(0, d) : undefined;
}

/** `from` inclusive, `to` exclusive, so consecutive ranges do not count anything twice. */
function inRange(t: number, range?: { from?: number; to?: number }): boolean {
  if (!range) return true;
  if (range.from !== undefined && !(t >= range.from)) return false;
  if (range.to !== undefined && !(t < range.to)) return false;
  return true;
}

function zeros(keys: readonly string[]): Record<string, number> {
  return Object.fromEntries(keys.map((k) => [k, 0]));
}

/** One report per brand that has alerts or cases in the range, sorted by brand id. */
export function buildReport(alerts: Alert[], cases: Case[], range?: { from?: number; to?: number }): BrandReport[] {
  const byBrand = new Map<string, { name?: string; alerts: Alert[]; cases: Case[] }>();
  const group = (brandId: string) => {
    let g = byBrand.get(brandId);
    if (!g) byBrand.set(brandId, (g = { alerts: [], cases: [] }));
    return g;
  };
  for (const a of alerts) {
    if (!inRange(Date.parse(a.createdAt), range)) continue;
    const g = group(a.brandId);
    g.alerts.push(a);
    g.name ??= a.brandName;
  }
  for (const c of cases) if (inRange(c.openedAt, range)) group(c.brandId).cases.push(c);

  return [...byBrand.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([brandId, g]) => {
      const byKind = zeros(ALERT_KINDS);
      const bySeverity = zeros(SEVERITIES);
      const ack: number[] = [];
      const res: number[] = [];
      for (const a of g.alerts) {
        byKind[a.kind] = (byKind[a.kind] ?? 0) + 1;
        bySeverity[a.severity] = (bySeverity[a.severity] ?? 0) + 1;
        const toAck = span(a.createdAt, a.acknowledgedAt);
        if (toAck !== undefined) ack.push(toAck);
        const toResolve = span(a.createdAt, a.resolvedAt);
        if (toResolve !== undefined) res.push(toResolve);
      }
      const recovered = g.cases.filter((c) => c.recovery?.state === 'recovered').length;
      const notRecovered = g.cases.filter((c) => c.recovery?.state === 'not-recovered').length;
      const watching = g.cases.filter((c) => c.recovery?.state === 'watching').length;
      const recovery: BrandReport['recovery'] = { recovered, notRecovered, watching };
      if (recovered + notRecovered > 0) recovery.rate = recovered / (recovered + notRecovered);
      return {
        brandId,
        brandName: g.name ?? brandId,
        alerts: g.alerts.length,
        byKind,
        bySeverity,
        open: g.alerts.filter((a) => a.status !== 'resolved').length,
        escalated: g.alerts.filter((a) => !!a.escalatedAt).length,
        timeToAcknowledge: stats(ack),
        timeToResolve: stats(res),
        cases: g.cases.length,
        recovery,
      };
    });
}

const MISSING = '—';
const dur = (ms: number | undefined) => (ms === undefined ? MISSING : formatDuration(ms));

/**
 * A plain-text table for a terminal: one row per figure, one column per brand (there are few
 * brands and many figures, so this stays narrow). "—" marks a figure that cannot be computed.
 */
export function formatReport(reports: BrandReport[]): string {
  if (!reports.length) return 'No alerts or cases in this period.';
  const rows: [string, ...string[]][] = [];
  const row = (label: string, cell: (r: BrandReport) => string) => rows.push([label, ...reports.map(cell)]);
  const keys = (pick: (r: BrandReport) => Record<string, number>, known: readonly string[]) => {
    // Known order first, then anything unexpected a newer version may have written.
    const extra = [...new Set(reports.flatMap((r) => Object.keys(pick(r))))].filter((k) => !known.includes(k)).sort();
    return [...known, ...extra];
  };

  row('Brand', (r) => r.brandName);
  row('', (r) => (r.brandName === r.brandId ? '' : `(${r.brandId})`));
  row('Alerts', (r) => String(r.alerts));
  row('By kind', () => '');
  for (const k of keys((r) => r.byKind, ALERT_KINDS)) row(`  ${k}`, (r) => String(r.byKind[k] ?? 0));
  row('By severity', () => '');
  for (const s of keys((r) => r.bySeverity, SEVERITIES)) row(`  ${s}`, (r) => String(r.bySeverity[s] ?? 0));
  row('Still open', (r) => String(r.open));
  row('Escalated', (r) => String(r.escalated));
  row('Time to acknowledge', (r) => `${r.timeToAcknowledge.count} alerts`);
  row('  median', (r) => dur(r.timeToAcknowledge.medianMs));
  row('  p90', (r) => dur(r.timeToAcknowledge.p90Ms));
  row('Time to resolve', (r) => `${r.timeToResolve.count} alerts`);
  row('  median', (r) => dur(r.timeToResolve.medianMs));
  row('  p90', (r) => dur(r.timeToResolve.p90Ms));
  row('Cases', (r) => String(r.cases));
  row('  recovered', (r) => String(r.recovery.recovered));
  row('  not recovered', (r) => String(r.recovery.notRecovered));
  row('  still watching', (r) => String(r.recovery.watching));
  row('  recovery rate', (r) => (r.recovery.rate === undefined ? MISSING : `${Math.round(r.recovery.rate * 100)}%`));

  const widths = rows[0].map((_, i) => Math.max(...rows.map((cells) => cells[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('   ')
      .trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('   ');
  return [line(rows[0]), ...(rows[1].slice(1).some(Boolean) ? [line(rows[1])] : []), rule, ...rows.slice(2).map(line)].join('\n');
}
