/**
 * The words of the PostgreSQL room search, computed here rather than by PostgreSQL's text parser (which reads
 * `example.com/quiet)` as a URL, and whose tsquery syntax a word must never reach): a text's words are the maximal
 * runs of Unicode letters and digits of its NFC form, lowercased, each cut to its first MAX_WORD_LENGTH code points.
 * Rooms store their words; a query's words are matched against them as values, never as query syntax.
 */

const WORD = /[\p{L}\p{N}]+/gu;
const DIGIT = /\p{N}/u;

/** Longer words are cut: an array element of this size always fits an index entry. */
export const MAX_WORD_LENGTH = 64;
/** A query matches on its first words only. */
export const MAX_QUERY_WORDS = 8;
/** Typo tolerance, as Meilisearch's defaults: one typo from 5 letters, two from 9. */
export const ONE_TYPO_FROM = 5;
export const TWO_TYPOS_FROM = 9;
/** Longer query words match exactly (or as a prefix): no room word is that long by mistake. */
export const MAX_TYPO_WORD_LENGTH = 40;

export function wordsOf(text: string): string[] {
  const words = text.normalize('NFC').toLowerCase().match(WORD) ?? [];
  return words.map((word) => {
    const points = Array.from(word);
    return points.length > MAX_WORD_LENGTH ? points.slice(0, MAX_WORD_LENGTH).join('') : word;
  });
}

const lengthOf = (word: string) => Array.from(word).length;

/** How many typos a query word may have: 0 for words with digits (house numbers, postcodes), or too short or long. */
export function typoAllowance(word: string): 0 | 1 | 2 {
  const length = lengthOf(word);
  if (DIGIT.test(word) || length < ONE_TYPO_FROM || length > MAX_TYPO_WORD_LENGTH) return 0;
  return length >= TWO_TYPOS_FROM ? 2 : 1;
}

/**
 * Whether a room word may be a typo target, so belongs to the typo vocabulary: no digits, and a length some query
 * word with typos can reach.
 */
export function isVocabularyWord(word: string): boolean {
  const length = lengthOf(word);
  return !DIGIT.test(word) && length >= ONE_TYPO_FROM - 2 && length <= MAX_TYPO_WORD_LENGTH + 2;
}

/**
 * The word's bigrams, with `^` and `$` at its ends, each numbered by its occurrence (`ab1`, `ab2`): a set whose
 * intersection with another word's is the intersection of their bigram multisets. One edit (an insertion, a
 * deletion, a substitution or a swap of two adjacent letters) removes at most 3 of a word's bigrams, so a word
 * within `k` typos of a query word of `n` letters shares at least `n + 1 - 3k` of these with it.
 */
export function gramsOf(word: string): string[] {
  const points = ['^', ...Array.from(word), '$'];
  const seen = new Map<string, number>();
  const grams: string[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const bigram = points[i]! + points[i + 1]!;
    const occurrence = (seen.get(bigram) ?? 0) + 1;
    seen.set(bigram, occurrence);
    grams.push(`${bigram}${occurrence}`);
  }
  return grams;
}

/** What a candidate lookup needs: the grams, the lengths a match can have and the grams it must share. */
export function typoProbe(word: string): { grams: string[]; minLength: number; maxLength: number; mustShare: number } {
  const allowance = typoAllowance(word);
  const length = lengthOf(word);
  return {
    grams: gramsOf(word),
    minLength: length - allowance,
    maxLength: length + allowance,
    mustShare: length + 1 - 3 * allowance,
  };
}

/**
 * Whether the optimal string alignment distance (insertions, deletions, substitutions and swaps of two adjacent
 * letters, in code points) between `a` and `b` is at most `max`.
 */
export function withinTypos(a: string, b: string, max: number): boolean {
  const x = Array.from(a);
  const y = Array.from(b);
  if (Math.abs(x.length - y.length) > max) return false;
  let before = new Array<number>(y.length + 1).fill(0);
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = new Array<number>(y.length + 1);
    current[0] = i;
    let best = current[0];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      current[j] = d;
      best = Math.min(best, d);
    }
    // A row's minimum never decreases further down: no alignment can come back under the bound.
    if (best > max) return false;
    before = previous;
    previous = current;
  }
  return previous[y.length]! <= max;
}
