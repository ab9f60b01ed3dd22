/**
 * Splits a shell or script line into words: whitespace separated, with single and double quotes
 * and backslash escapes, and `#` comments outside quotes.
 * @module
 */
import { UsageError } from "./commands/types.ts";

/** Split one line into words; an unterminated quote is a usage error. */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === "\\" && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += ch;
      continue;
    }
    if (ch === "#" && !inWord) break;
    if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === "\\" && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new UsageError(`Unterminated ${quote} quote`);
  if (inWord) words.push(cur);
  return words;
}
