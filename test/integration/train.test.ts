import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MODELS_DIR, modelFileName, SHIPPED_MODELS } from '../../src/analysis/model';
import { devDataDir } from '../../scripts/dev-data';
import { trainAll } from '../../scripts/train';

// Training every shipped model from the dev data takes a minute or two on these machines.
jest.setTimeout(15 * 60_000);

test('`npm run train` reproduces the shipped models byte for byte', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'repwatch-train-'));
  const lines: string[] = [];
  const written = trainAll(out, devDataDir(), (l) => lines.push(l));
  expect(written.map((f) => path.basename(f)).sort()).toEqual(SHIPPED_MODELS.map(([task, lang]) => modelFileName(task, lang)).sort());
  for (const file of written) {
    const shipped = readFileSync(path.join(MODELS_DIR, path.basename(file)));
    expect({ file: path.basename(file), same: readFileSync(file).equals(shipped) }).toEqual({ file: path.basename(file), same: true });
  }
  // Progress is reported per model.
  expect(lines.filter((l) => / KiB, /.test(l))).toHaveLength(SHIPPED_MODELS.length);
});
