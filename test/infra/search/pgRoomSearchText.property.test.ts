import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RANKING } from '../../../domain/search/ranking.js';
import { pgRoomSearchReader, pgRoomSearchWriter, poolSql } from '../../../infra/search/postgres/pgRoomSearch.js';
import type { RoomSearchDocument, RoomSearchHit } from '../../../infra/search/roomSearchIndex.js';
import { offset, roomDocument } from '../../contracts/roomIndex.contract.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

/*
 * The specification of text matching, as a plain filter over the rooms:
 * - a text's words are the maximal runs of Unicode letters and digits of its NFC form, lowercased, each cut to its
 *   first 64 code points; a room's words are those of its title, description and address;
 * - a query's words are its first 8 distinct words; a query without words filters nothing;
 * - a room matches when each query word matches one of its words: the same word, or, for the last query word, any
 *   word it begins, or, for a query word without digits of 5 to 40 letters, a word without digits at most one typo
 *   away (two from 9 letters), a typo being an insertion, a deletion, a substitution or a swap of two adjacent
 *   letters (optimal string alignment distance), counted in code points;
 * - only published rooms are found;
 * - the typo vocabulary holds exactly the words without digits, of 3 to 42 letters, of the published rooms.
 */
const WORD = /[\p{L}\p{N}]+/gu;
const wordsOf = (text: string): string[] =>
  (text.normalize('NFC').toLowerCase().match(WORD) ?? []).map((w) => Array.from(w).slice(0, 64).join(''));
const hasDigit = (word: string) => /\p{N}/u.test(word);

function osaDistance(a: readonly string[], b: readonly string[]): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
      }
    }
  }
  return d[a.length]![b.length]!;
}

function wordMatches(queryWord: string, roomWord: string, isLast: boolean): boolean {
  if (queryWord === roomWord) return true;
  if (isLast && roomWord.startsWith(queryWord)) return true;
  const q = Array.from(queryWord);
  if (hasDigit(queryWord) || hasDigit(roomWord) || q.length < 5 || q.length > 40) return false;
  return osaDistance(q, Array.from(roomWord)) <= (q.length >= 9 ? 2 : 1);
}

const roomWords = (room: RoomSearchDocument) => wordsOf(`${room.title} ${room.description ?? ''} ${room.address}`);

function referenceMatches(room: RoomSearchDocument, q: string): boolean {
  if (!room.published) return false;
  const queryWords = [...new Set(wordsOf(q))].slice(0, 8);
  const words = roomWords(room);
  return queryWords.every((t, i) => words.some((w) => wordMatches(t, w, i === queryWords.length - 1)));
}

const referenceVocabulary = (rooms: Iterable<RoomSearchDocument>): string[] =>
  [
    ...new Set(
      [...rooms]
        .filter((r) => r.published)
        .flatMap(roomWords)
        .filter((w) => !hasDigit(w) && Array.from(w).length >= 3 && Array.from(w).length <= 42),
    ),
  ].sort();

/** Words a typo away from each other, accents, scripts where lowercasing is unusual, and words with digits. */
const WORDS = [
  'quiet',
  'quite',
  'quit',
  'room',
  'rooms',
  'library',
  'libary',
  'bright',
  'brigth',
  'accommodation',
  'acommodation',
  'città',
  'citta',
  'straße',
  'STRASSE',
  'ÉTÉ',
  'naïve',
  'nai\u0308ve',
  '東京',
  'İstanbul',
  'ΣΊΣΥΦΟΣ',
  'x1',
  '12',
  'b2b',
];
/** Query syntax of to_tsquery and friends, and text PostgreSQL refuses (NUL). */
const PUNCTUATION = [
  '&',
  '!',
  ':*',
  '|',
  '(',
  ')',
  "'",
  '"',
  '\\',
  '<->',
  ':',
  '*',
  '/',
  '.',
  '-',
  '\u0000',
  '\t',
  ' ',
];

/** A word with one random edit: the typos a tenant makes. */
const typo = fc
  .tuple(
    fc.constantFrom(...WORDS),
    fc.nat(),
    fc.constantFrom('swap', 'drop', 'add', 'change'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  )
  .map(([word, at, edit, char]) => {
    const letters = Array.from(word);
    const i = at % Math.max(1, letters.length);
    if (edit === 'swap' && i + 1 < letters.length) [letters[i], letters[i + 1]] = [letters[i + 1]!, letters[i]!];
    if (edit === 'drop') letters.splice(i, 1);
    if (edit === 'add') letters.splice(i, 0, char);
    if (edit === 'change') letters[i] = char;
    return letters.join('');
  });
const token = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 3, arbitrary: fc.constantFrom(...PUNCTUATION) },
  { weight: 2, arbitrary: typo },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom('example.com/quiet)', 'a'.repeat(70), 'é'.repeat(66)) },
);
const text = fc
  .array(fc.tuple(token, fc.constantFrom(' ', '', ', ')), { maxLength: 8 })
  .map((parts) => parts.map(([t, sep]) => t + sep).join(''));
const roomText = fc.record({ title: text, description: fc.option(text), address: text, published: fc.boolean() });

describe('PostgreSQL room search: text matching, against the specification', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(4);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('never fails, finds what the plain filter finds, and keeps the vocabulary of the published rooms', async () => {
    const writer = pgRoomSearchWriter(poolSql(db.pool));
    const reader = pgRoomSearchReader(poolSql(db.pool));
    const indexed = new Map<string, RoomSearchDocument>();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(roomText, fc.option(roomText)), { minLength: 1, maxLength: 5 }),
        fc.array(text, { minLength: 1, maxLength: 3 }),
        async (rooms, queries) => {
          // Each run in an area of its own; the vocabulary grows over the runs.
          const centre = offset({ lat: 44.4939, lng: 11.3428 }, 10_000 * (run++ % 1_000));
          const first = rooms.map(([v1], i) => roomDocument({ ...v1, location: offset(centre, 10 * i) }));
          await writer.upsertRooms(first);
          const second = rooms.flatMap(([, v2], i) => (v2 ? [{ ...first[i]!, ...v2, version: 2 }] : []));
          await writer.upsertRooms(second);
          const current = new Map(first.map((r) => [r.roomId, r]));
          for (const room of second) current.set(room.roomId, room);
          for (const room of current.values()) indexed.set(room.roomId, room);

          for (const q of queries) {
            const hits: RoomSearchHit[] = [];
            let cursor: string | undefined;
            do {
              const page = await reader.search({
                center: centre,
                radiusMeters: 500,
                sort: 'distance',
                limit: 3,
                ranking: DEFAULT_RANKING,
                q,
                cursor,
              });
              hits.push(...page.items);
              cursor = page.nextCursor ?? undefined;
            } while (cursor);
            const expected = [...current.values()].filter((r) => referenceMatches(r, q)).map((r) => r.roomId);
            expect(hits.map((h) => h.id).sort(), JSON.stringify({ q, rooms: [...current.values()] })).toEqual(
              expected.sort(),
            );
          }
          const { rows } = await db.pool.query('SELECT word FROM search_words');
          expect(rows.map((r) => String(r.word)).sort()).toEqual(referenceVocabulary(indexed.values()));
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);
});
