/**
 * The labelled development sets (../shared/data/eval/dev), for training and evaluation only: the
 * product never reads them at run time.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/paths';
import type { SentimentLabel } from '../src/analysis/judgement';

export interface DevRow {
  id: string;
  text: string;
  lang: 'en' | 'nl';
  sentiment?: SentimentLabel;
  complaint?: boolean;
}

export interface DevSet {
  name: string;
  file: string;
  lang: 'en' | 'nl';
  task: 'sentiment-3class' | 'sentiment-binary' | 'complaint';
  /** Validation only: never trained on (data README). */
  validationOnly: boolean;
  rows: DevRow[];
}

/** Which sets exist and how they are used. Order is the order of the eval table. */
export const DEV_SETS = [
  { name: 'en-airline', lang: 'en', task: 'sentiment-3class', validationOnly: false },
  { name: 'en-complaints', lang: 'en', task: 'complaint', validationOnly: false },
  { name: 'en-semeval-val', lang: 'en', task: 'sentiment-3class', validationOnly: true },
  { name: 'en-vader-tweets', lang: 'en', task: 'sentiment-3class', validationOnly: false },
  { name: 'en-sanders', lang: 'en', task: 'sentiment-3class', validationOnly: false },
  { name: 'nl-political-train', lang: 'nl', task: 'sentiment-3class', validationOnly: false },
  { name: 'nl-bolcom', lang: 'nl', task: 'sentiment-binary', validationOnly: false },
] as const;

/** The dev data folder: $REPWATCH_DEV_DATA, else ../shared/data/eval/dev beside the project. */
export function devDataDir(): string {
  const dir = process.env.REPWATCH_DEV_DATA ?? path.join(PROJECT_ROOT, '..', 'shared', 'data', 'eval', 'dev');
  if (!existsSync(dir)) {
    throw new Error(`labelled dev data not found at ${dir}: set REPWATCH_DEV_DATA to the folder holding en-airline.jsonl and the other sets`);
  }
  return dir;
}

const SENTIMENTS = new Set(['negative', 'neutral', 'positive']);

/** Reads one set, checking every row (a bad row names its line). */
/**
 * The rows of a labelled JSONL file: `rowOf` turns each parsed line into a row, or undefined when
 * the line is not one (reported with the file, the line number and `what`).
 */
export function readLabelledRows(file: string, what: string, rowOf: (r: Record<string, unknown>) => DevRow | undefined): DevRow[] {
  const rows: DevRow[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      const row = rowOf(JSON.parse(line) as Record<string, unknown>);
      if (!row) throw new Error(`${file}:${i + 1}: not a labelled row of ${what}`);
      rows.push(row);
    });
  return rows;
}

export function loadDevSet(name: string, dir = devDataDir()): DevSet {
  const meta = DEV_SETS.find((s) => s.name === name);
  if (!meta) throw new Error(`unknown dev set ${name}`);
  const file = path.join(dir, `${name}.jsonl`);
  const rows = readLabelledRows(file, `a ${meta.task} set`, (r) => {
    const ok =
      typeof r.id === 'string' &&
      typeof r.text === 'string' &&
      (r.lang === 'en' || r.lang === 'nl') &&
      (meta.task === 'complaint' ? typeof r.complaint === 'boolean' : SENTIMENTS.has(r.sentiment as string));
    return ok ? { id: r.id as string, text: r.text as string, lang: r.lang as 'en' | 'nl', sentiment: r.sentiment as SentimentLabel | undefined, complaint: r.complaint as boolean | undefined } : undefined;
  });
  return { ...meta, file, rows };
}

export function loadDevSets(dir = devDataDir()): DevSet[] {
  return DEV_SETS.map((s) => loadDevSet(s.name, dir));
}

/** Deterministic fold of a row (a hash of its id), so folds do not depend on file order. */
export function foldOf(id: string, folds: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return (h >>> 0) % folds;
}
