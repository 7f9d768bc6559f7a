import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gramsOf, typoAllowance, typoProbe, withinTypos, wordsOf } from '../../../infra/search/postgres/searchText.js';

/** Optimal string alignment distance, the plain dynamic programme: the reference. */
function osaDistance(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  const d = Array.from({ length: x.length + 1 }, (_, i) =>
    Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) {
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
      }
    }
  }
  return d[x.length]![y.length]!;
}

/** Few letters, so that random words are often a typo or two apart; one outside the BMP. */
const letter = fc.constantFrom('a', 'b', 'c', 'é', '𝒳');
const word = fc.string({ unit: letter, minLength: 0, maxLength: 12 });
/** A word of 5 to 12 letters and the same with up to two random edits. */
const typoed = fc
  .tuple(
    fc.string({ unit: letter, minLength: 5, maxLength: 12 }),
    fc.array(fc.tuple(fc.constantFrom('swap', 'drop', 'add', 'change'), fc.nat(), letter), { maxLength: 2 }),
  )
  .map(([a, edits]) => {
    const letters = Array.from(a);
    for (const [edit, at, char] of edits) {
      const i = at % Math.max(1, letters.length);
      if (edit === 'swap' && i + 1 < letters.length) [letters[i], letters[i + 1]] = [letters[i + 1]!, letters[i]!];
      if (edit === 'drop') letters.splice(i, 1);
      if (edit === 'add') letters.splice(i, 0, char);
      if (edit === 'change') letters[i] = char;
    }
    return [a, letters.join('')] as const;
  });

describe('search text', () => {
  it('counts a swap of two adjacent letters as one typo, and allows one from 5 letters, two from 9', () => {
    expect(withinTypos('quite', 'quiet', 1)).toBe(true);
    expect(withinTypos('quite', 'qutie', 0)).toBe(false);
    expect(withinTypos('ca', 'abc', 1)).toBe(false); // OSA: 3 (Damerau would say 2)
    expect([typoAllowance('room'), typoAllowance('quite'), typoAllowance('accommodation')]).toEqual([0, 1, 2]);
    expect(typoAllowance('40126')).toBe(0);
    expect(wordsOf('Quiet room: example.com/QUIET) & !x:*')).toEqual(['quiet', 'room', 'example', 'com', 'quiet', 'x']);
  });

  it('decides the distance bound exactly as the reference', () => {
    fc.assert(
      fc.property(word, word, fc.integer({ min: 0, max: 3 }), (a, b, k) => {
        expect(withinTypos(a, b, k)).toBe(osaDistance(a, b) <= k);
      }),
      { numRuns: 2_000 },
    );
  });

  it('never filters out a word within the allowance: it shares the numbered bigrams the lookup requires', () => {
    fc.assert(
      fc.property(typoed, ([a, b]) => {
        const allowance = typoAllowance(a);
        fc.pre(allowance > 0 && osaDistance(a, b) <= allowance);
        const probe = typoProbe(a);
        const length = Array.from(b).length;
        expect(length).toBeGreaterThanOrEqual(probe.minLength);
        expect(length).toBeLessThanOrEqual(probe.maxLength);
        const theirs = new Set(gramsOf(b));
        expect(probe.grams.filter((g) => theirs.has(g)).length).toBeGreaterThanOrEqual(probe.mustShare);
      }),
      { numRuns: 2_000 },
    );
  });
});
