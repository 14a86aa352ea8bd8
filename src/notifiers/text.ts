/** Cuts on code points (never through an emoji's surrogate pair), stays within `max` UTF-16 units, and marks the cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > max - 1) break;
    out += ch;
  }
  return `${out}…`;
}
