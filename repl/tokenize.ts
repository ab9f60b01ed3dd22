/**
 * Splits a shell or script line into words: whitespace separated, with single and double quotes
 * and backslash escapes, and `#` comments outside quotes. The same scanner serves Tab
 * completion, which needs the unfinished last word instead of an error.
 * @module
 */
import { UsageError } from "./commands/types.ts";

/** What scanning a line found. */
export interface ScannedLine {
  /** Finished words. */
  words: string[];
  /** The word still being typed at the end of the line ("" after whitespace). */
  partial: string;
  /** Whether the partial word has started (so "" is an empty quoted word, not nothing). */
  inWord: boolean;
  /** The quote left open at the end of the line, if any. */
  openQuote: '"' | "'" | null;
}

/** Scan a line into words; `comments` stops at a `#` that starts a word. */
export function scanWords(line: string, comments = true): ScannedLine {
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
    if (comments && ch === "#" && !inWord) break;
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
  return { words, partial: cur, inWord, openQuote: quote };
}

/** Split one line into words; an unterminated quote is a usage error. */
export function tokenize(line: string): string[] {
  const s = scanWords(line);
  if (s.openQuote) throw new UsageError(`Unterminated ${s.openQuote} quote`);
  if (s.inWord) s.words.push(s.partial);
  return s.words;
}
