/**
 * Input lines with a size limit, read as a stream: a line over the limit is never held whole (its
 * bytes past the limit are dropped as they arrive, up to its newline), so a 20 MB line costs at
 * most `maxBytes` of memory rather than the gigabytes readline and JSON.parse take for it.
 */

export type InputLine = { lineNo: number; text: string } | { lineNo: number; tooLong: true };

/** Splits chunks into lines; holds at most `maxBytes` of an unfinished line. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private held = 0;
  private overflow = false;
  private lineNo = 0;

  constructor(private readonly maxBytes: number) {}

  /** Bytes of the current unfinished line held in memory. */
  get buffered(): number {
    return this.held;
  }

  push(chunk: Buffer): InputLine[] {
    const out: InputLine[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      const piece = chunk.subarray(start, nl === -1 ? chunk.length : nl);
      this.take(piece);
      if (nl === -1) break;
      out.push(this.finish());
      start = nl + 1;
    }
    return out;
  }

  /** The last line when the input does not end in a newline. */
  end(): InputLine[] {
    return this.held > 0 || this.overflow ? [this.finish()] : [];
  }

  private take(piece: Buffer): void {
    if (this.overflow || piece.length === 0) return;
    // One byte over the limit is allowed for a '\r' before the newline.
    if (this.held + piece.length > this.maxBytes + 1) {
      this.overflow = true;
      this.parts = [];
      this.held = 0;
      return;
    }
    // A copy: the chunk itself may be large, and a view would keep all of it alive.
    this.parts.push(Buffer.from(piece));
    this.held += piece.length;
  }

  private finish(): InputLine {
    this.lineNo++;
    const lineNo = this.lineNo;
    let line: InputLine;
    if (this.overflow) line = { lineNo, tooLong: true };
    else {
      let text = Buffer.concat(this.parts, this.held).toString('utf8');
      if (text.endsWith('\r')) text = text.slice(0, -1);
      line = Buffer.byteLength(text) > this.maxBytes ? { lineNo, tooLong: true } : { lineNo, text };
    }
    this.parts = [];
    this.held = 0;
    this.overflow = false;
    return line;
  }
}

/** The lines of a stream (stdin), each at most `maxBytes` (UTF-8, without its line ending). */
export async function* boundedLines(input: AsyncIterable<Buffer | string>, maxBytes: number): AsyncGenerator<InputLine> {
  const splitter = new LineSplitter(maxBytes);
  for await (const chunk of input) yield* splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  yield* splitter.end();
}
