/**
 * npm run train [-- --out DIR] [--data DIR]
 *
 * Trains the shipped models (scripts/recipe.ts) on the labelled dev sets and writes them to
 * models/ (or --out). Deterministic: the same data and code give byte-identical files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MODELS_DIR, modelFileName } from '../src/analysis/model';
import { encodeModel } from '../src/analysis/model/linear';
import { devDataDir } from './dev-data';
import { featurize, loadSet, RECIPES, trainRecipe, type FeaturedRow } from './recipe';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export function trainAll(outDir: string, dataDir: string, log: (line: string) => void): string[] {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const recipe of RECIPES) {
    const started = Date.now();
    const rows = new Map<string, FeaturedRow[]>();
    for (const { name } of recipe.sets) rows.set(name, featurize(loadSet(name, dataDir), recipe));
    const label = `${recipe.task}-${recipe.lang}`;
    const model = trainRecipe(recipe, rows, undefined, (it, loss) => {
      if (it % 25 === 0) log(`  ${label}: iteration ${it}, loss ${loss.toFixed(4)}`);
    });
    const file = path.join(outDir, modelFileName(recipe.task, recipe.lang));
    const bytes = encodeModel(model);
    writeFileSync(file, bytes);
    written.push(file);
    log(`${label}: ${JSON.stringify(model.meta.trainedOn)} → ${path.relative(process.cwd(), file)} (${(bytes.length / 1024).toFixed(0)} KiB, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  return written;
}

if (require.main === module) {
  try {
    const dataDir = option('--data') ?? devDataDir();
    const outDir = option('--out') ?? MODELS_DIR;
    console.log(`training on ${dataDir}`);
    trainAll(outDir, dataDir, (line) => console.log(line));
  } catch (err) {
    console.error(`npm run train: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
