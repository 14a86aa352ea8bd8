import { Readable } from 'node:stream';
import { MAX_ANALYZE_LINE_BYTES, analyzeCommand } from '../../src/cli/main';
import { LineSplitter, boundedLines } from '../../src/cli/lines';

/** `repwatch analyze` reads stdin as a stream and refuses lines over 64 KiB without holding them. */
describe('repwatch analyze input lines', () => {
  const collect = async (chunks: (string | Buffer)[], max: number) => {
    const out = [];
    for await (const l of boundedLines(Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))), max)) out.push(l);
    return out;
  };

  it('splits lines across chunks (CRLF, multi-byte characters cut by a chunk boundary, no final newline)', async () => {
    const euro = Buffer.from('€');
    expect(await collect(['ab', 'c\r\nd', Buffer.concat([Buffer.from('\n'), euro.subarray(0, 1)]), euro.subarray(1), '\n\nlast'], 16)).toEqual([
      { lineNo: 1, text: 'abc' },
      { lineNo: 2, text: 'd' },
      { lineNo: 3, text: '€' },
      { lineNo: 4, text: '' },
      { lineNo: 5, text: 'last' },
    ]);
  });

  it('refuses a line over the limit, keeps its line number and goes on with the next', async () => {
    expect(await collect(['123456', '789\nok\n', 'x'.repeat(9)], 8)).toEqual([
      { lineNo: 1, tooLong: true },
      { lineNo: 2, text: 'ok' },
      { lineNo: 3, tooLong: true },
    ]);
    expect(await collect(['12345678\n'], 8)).toEqual([{ lineNo: 1, text: '12345678' }]);
  });

  it('never holds more than the limit of a 20 MB line', () => {
    const splitter = new LineSplitter(MAX_ANALYZE_LINE_BYTES);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let most = 0;
    for (let i = 0; i < 320; i++) {
      expect(splitter.push(chunk)).toEqual([]);
      most = Math.max(most, splitter.buffered);
    }
    expect(most).toBeLessThanOrEqual(MAX_ANALYZE_LINE_BYTES);
    expect(splitter.push(Buffer.from('\n{"id":"2","text":"ok"}\n'))).toEqual([
      { lineNo: 1, tooLong: true },
      { lineNo: 2, text: '{"id":"2","text":"ok"}' },
    ]);
  });

  it('the command reports an oversized line with RW_ERR_INPUT_INVALID and its number, judges the rest and exits 2', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const spies = [
      jest.spyOn(process.stdout, 'write').mockImplementation((s: any) => (out.push(String(s)), true)),
      jest.spyOn(process.stderr, 'write').mockImplementation((s: any) => (err.push(String(s)), true)),
    ];
    try {
      const huge = `{"id":"big","text":"${'waardeloos '.repeat(2_000_000)}"}\n`; // about 22 MB
      const input = Readable.from([Buffer.from('{"id":"1","text":"Great stay, lovely staff!","lang":"en"}\n'), Buffer.from(huge), Buffer.from('{"id":"3","text":"Nooit meer, waardeloos.","lang":"nl"}\n')]);
      expect(await analyzeCommand(input)).toBe(2);
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
    const judged = out.join('').trim().split('\n').map((l) => JSON.parse(l));
    expect(judged.map((j) => j.id)).toEqual(['1', '3']);
    expect(judged[1].sentiment.label).toBe('negative');
    expect(err.join('')).toContain('RW_ERR_INPUT_INVALID: line 2: longer than 64 KiB');
  });

  it('takes the brand languages (per line or --languages) and a review rating, and refuses malformed ones with their line', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const spies = [
      jest.spyOn(process.stdout, 'write').mockImplementation((s: any) => (out.push(String(s)), true)),
      jest.spyOn(process.stderr, 'write').mockImplementation((s: any) => (err.push(String(s)), true)),
    ];
    const lines = [
      { id: 'short', text: 'pakket nog niet' },
      { id: 'review', text: 'Jammer.', rating: { stars: 1, outOf: 5 } },
      { id: 'badLang', text: 'x', languages: 'nl' },
      { id: 'badRating', text: 'x', rating: { stars: 1 } },
    ];
    try {
      const input = Readable.from(lines.map((l) => Buffer.from(`${JSON.stringify(l)}\n`)));
      expect(await analyzeCommand(input, ['nl', 'en'])).toBe(2);
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
    const judged = new Map(out.join('').trim().split('\n').map((l) => JSON.parse(l)).map((j) => [j.id, j]));
    expect([...judged.keys()]).toEqual(['short', 'review']);
    expect(judged.get('short').lang).toBe('nl');
    expect(judged.get('review')).toMatchObject({ sentiment: { label: 'negative' }, complaint: { label: true }, situation: { kind: 'rating' } });
    expect(err.join('')).toContain('RW_ERR_INPUT_INVALID: line 3: "languages" must be a list');
    expect(err.join('')).toContain('RW_ERR_INPUT_INVALID: line 4: "rating" must be');
  });
});
