import { existsSync } from 'node:fs';
import path from 'node:path';

/** The installed package's root, whether running from src/ (ts-jest) or dist/ (built). */
function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`package.json not found above ${start}`);
    dir = up;
  }
  return dir;
}

export const PROJECT_ROOT = findRoot(__dirname);
export const BUILTIN_CONFIG_DIR = path.join(PROJECT_ROOT, 'config');
