import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type pg from 'pg';
import { amenityScore } from '../../../domain/search/ranking.js';
import { EARTH_RADIUS_METERS, METERS_PER_DEGREE } from '../../../domain/shared/geo.js';
import { normalizeRanges } from '../../../domain/shared/values.js';
import {
  InvalidSearchCursor,
  type RoomSearchDocument,
  type RoomSearchHit,
  type RoomSearchPage,
  type RoomSearchQuery,
  type RoomSearchReader,
  type RoomSearchWriter,
  type RoomSort,
} from '../roomSearchIndex.js';
import {
  gramsOf,
  isVocabularyWord,
  MAX_QUERY_WORDS,
  typoAllowance,
  typoProbe,
  withinTypos,
  wordsOf,
} from './searchText.js';

/** Runs SQL: a pool, or the projection runner's transaction. */
export type Sql = (text: string, values?: unknown[], name?: string) => Promise<{ rows: Record<string, unknown>[] }>;

/** With a name, the statement is prepared once per connection and its plan reused. */
export const poolSql =
  (pool: pg.Pool): Sql =>
  (text, values, name) =>
    name ? pool.query({ name, text, values }) : pool.query(text, values);

/**
 * SQL on the connection of the entity manager's open transaction (the projection runner's), with pg's own
 * `$n` parameters and arrays: MikroORM's `execute` goes through knex, which spreads array parameters.
 */
export function transactionSql(em: EntityManager): Sql {
  const context = em.getTransactionContext<{ client: { acquireConnection(): Promise<pg.PoolClient> } }>();
  if (!context) throw new Error('transactionSql needs an entity manager inside a transaction');
  const connection = context.client.acquireConnection();
  return async (text, values) => (await connection).query(text, values);
}

/** PostgreSQL text holds no NUL character. */
const storable = (text: string) => text.replaceAll('\u0000', '');

const vocabularyOf = (words: readonly string[]) => new Set(words.filter(isVocabularyWord));

/**
 * The PostgreSQL room search index: `search_rooms` (PostGIS geometry with a GiST index, the room's words),
 * `search_room_unavailable` (unavailable nights as a `datemultirange` per room), `search_words` (the typo vocabulary:
 * the words of published rooms, counted per room) with `search_word_grams` (their numbered bigrams).
 */
/** The tables the writer fills: copied and swapped in by a blue/green rebuild of the search projection. */
export const PG_ROOM_SEARCH_TABLES = ['search_rooms', 'search_room_unavailable', 'search_words', 'search_word_grams'];

export function pgRoomSearchWriter(sql: Sql): RoomSearchWriter {
  return {
    async upsertRooms(documents) {
      if (documents.length === 0) return;
      const newest = new Map<string, RoomSearchDocument>();
      for (const d of documents) {
        const seen = newest.get(d.roomId);
        if (!seen || seen.version < d.version) newest.set(d.roomId, d);
      }
      // The stored rooms, locked: their words leave the vocabulary as the new ones enter it.
      const { rows: storedRows } = await sql(
        `SELECT room_id, version, published, words FROM search_rooms WHERE room_id = ANY($1::uuid[])
          ORDER BY room_id FOR UPDATE`,
        [[...newest.keys()]],
      );
      const stored = new Map(
        storedRows.map((row) => [
          String(row.room_id),
          { version: Number(row.version), published: Boolean(row.published), words: row.words as string[] },
        ]),
      );
      const fresh = [...newest.values()].filter((d) => (stored.get(d.roomId)?.version ?? -1) < d.version);
      if (fresh.length === 0) return;
      const words = new Map(
        fresh.map((d) => [d.roomId, [...new Set(wordsOf(`${d.title} ${d.description ?? ''} ${d.address}`))]]),
      );
      const column = <T>(pick: (d: RoomSearchDocument) => T) => fresh.map(pick);
      await sql(
        `INSERT INTO search_rooms (room_id, landlord_id, title, description, address, lat, lng, geom, price_per_night,
           currency, max_occupants, amenities, amenity_score, published, review_count, rating_sum, photo_url, version,
           words)
         SELECT d.room_id, d.landlord_id, d.title, d.description, d.address, d.lat, d.lng,
                ST_SetSRID(ST_MakePoint(d.lng, d.lat), 4326), d.price, d.currency, d.max_occupants,
                ARRAY(SELECT jsonb_array_elements_text(d.amenities)), d.amenity_score, d.published, d.review_count,
                d.rating_sum, d.photo_url, d.version, ARRAY(SELECT jsonb_array_elements_text(d.words))
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[],
                       $8::int[], $9::text[], $10::int[], $11::jsonb[], $12::float8[], $13::bool[], $14::int[],
                       $15::float8[], $16::text[], $17::int[], $18::jsonb[])
             AS d(room_id, landlord_id, title, description, address, lat, lng, price, currency, max_occupants,
                  amenities, amenity_score, published, review_count, rating_sum, photo_url, version, words)
         ON CONFLICT (room_id) DO UPDATE SET
           landlord_id = excluded.landlord_id, title = excluded.title, description = excluded.description,
           address = excluded.address, lat = excluded.lat, lng = excluded.lng, geom = excluded.geom,
           price_per_night = excluded.price_per_night,
           currency = excluded.currency, max_occupants = excluded.max_occupants, amenities = excluded.amenities,
           amenity_score = excluded.amenity_score, published = excluded.published,
           review_count = excluded.review_count, rating_sum = excluded.rating_sum, photo_url = excluded.photo_url,
           version = excluded.version, words = excluded.words
         WHERE search_rooms.version < excluded.version`,
        [
          column((d) => d.roomId),
          column((d) => d.landlordId),
          column((d) => storable(d.title)),
          column((d) => (d.description === null ? null : storable(d.description))),
          column((d) => storable(d.address)),
          column((d) => d.location.lat),
          column((d) => d.location.lng),
          column((d) => d.pricePerNight),
          column((d) => d.currency),
          column((d) => d.maxOccupants),
          column((d) => JSON.stringify(d.amenities)),
          column((d) => amenityScore(d.amenities)),
          column((d) => d.published),
          column((d) => d.reviewCount),
          column((d) => d.ratingSum),
          column((d) => d.photoUrl),
          column((d) => d.version),
          column((d) => JSON.stringify(words.get(d.roomId))),
        ],
      );
      // The vocabulary: each published room counts once for each of its words.
      const delta = new Map<string, number>();
      const count = (set: Iterable<string>, by: number) => {
        for (const word of set) delta.set(word, (delta.get(word) ?? 0) + by);
      };
      for (const d of fresh) {
        const before = stored.get(d.roomId);
        if (before?.published) count(vocabularyOf(before.words), -1);
        if (d.published) count(vocabularyOf(words.get(d.roomId)!), 1);
      }
      const changes = [...delta].filter(([, by]) => by !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      if (changes.length === 0) return;
      // Plain statements, no ON CONFLICT: it costs ten times as much per row, and the search projection is the one
      // writer (a lease). Two writers adding the same new word at once would fail on its primary key, not corrupt it.
      const changedWords = changes.map(([word]) => word);
      const counts = changes.map(([, by]) => by);
      const { rows: updated } = await sql(
        `UPDATE search_words AS w SET rooms = w.rooms + d.by FROM unnest($1::text[], $2::int[]) AS d(word, by)
          WHERE w.word = d.word RETURNING w.word, w.rooms`,
        [changedWords, counts],
      );
      const known = new Set(updated.map((r) => String(r.word)));
      const entered = changes.filter(([word, by]) => !known.has(word) && by > 0).map(([word]) => word);
      const left = updated.filter((r) => Number(r.rooms) <= 0).map((r) => String(r.word));
      if (entered.length > 0) {
        await sql('INSERT INTO search_words (word, rooms) SELECT * FROM unnest($1::text[], $2::int[])', [
          entered,
          entered.map((word) => delta.get(word)!),
        ]);
      }
      const gramRows = (list: readonly string[]) => {
        const rows = list.flatMap((word) =>
          gramsOf(word).map((gram) => [gram, Array.from(word).length, word] as const),
        );
        return [rows.map((g) => g[0]), rows.map((g) => g[1]), rows.map((g) => g[2])];
      };
      if (left.length > 0) {
        await sql('DELETE FROM search_words WHERE word = ANY($1::text[])', [left]);
        await sql(
          `DELETE FROM search_word_grams AS g USING unnest($1::text[], $2::int[], $3::text[]) AS d(gram, length, word)
            WHERE g.gram = d.gram AND g.length = d.length AND g.word = d.word`,
          gramRows(left),
        );
      }
      if (entered.length > 0) {
        await sql(
          `INSERT INTO search_word_grams (gram, length, word)
           SELECT * FROM unnest($1::text[], $2::int[], $3::text[]) ORDER BY 1, 2, 3`,
          gramRows(entered),
        );
      }
    },

    async setUnavailableRanges(roomId, ranges) {
      const merged = normalizeRanges(ranges, 'ranges');
      if (merged.length === 0) {
        await sql('DELETE FROM search_room_unavailable WHERE room_id = $1', [roomId]);
        return;
      }
      await sql(
        `INSERT INTO search_room_unavailable (room_id, nights)
         SELECT $1, range_agg(daterange(r.from_day, r.to_day)) FROM unnest($2::date[], $3::date[]) AS r(from_day, to_day)
         ON CONFLICT (room_id) DO UPDATE SET nights = excluded.nights`,
        [roomId, merged.map((r) => r.from), merged.map((r) => r.to)],
      );
    },

    async clear() {
      await sql('TRUNCATE search_rooms, search_room_unavailable, search_words, search_word_grams');
    },
  };
}

interface CursorKey {
  sort: RoomSort;
  key: string;
  id: string;
}

function encodeCursor(cursor: CursorKey): string {
  return Buffer.from(JSON.stringify([cursor.sort, cursor.key, cursor.id])).toString('base64url');
}

function decodeCursor(cursor: string, sort: RoomSort): CursorKey {
  try {
    const [s, key, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    if (
      s === sort &&
      typeof key === 'string' &&
      /^-?\d+(\.\d+)?$/.test(key) &&
      typeof id === 'string' &&
      /^[0-9a-f-]{36}$/i.test(id)
    ) {
      return { sort, key, id };
    }
  } catch {
    // fall through
  }
  throw new InvalidSearchCursor('cursor is not one this search gave (or it belongs to another sort)');
}

/** A query word and what it may match: itself, the vocabulary words a typo away, and a prefix when it is last. */
interface QueryWord {
  word: string;
  alternatives: string[];
  prefix: boolean;
}

/**
 * The query's words (searchText.ts), each with the vocabulary words within its typo allowance: candidates sharing
 * enough numbered bigrams (an index lookup that misses none), then the exact distance in process. Looked up before
 * the search, so the words reach it as values: nothing a tenant or a landlord types is ever query syntax.
 */
async function queryWords(sql: Sql, q: string): Promise<QueryWord[]> {
  const words = [...new Set(wordsOf(q))].slice(0, MAX_QUERY_WORDS);
  const probes = words.flatMap((word, i) => (typoAllowance(word) > 0 ? [{ i, ...typoProbe(word) }] : []));
  const near = new Map<number, string[]>();
  if (probes.length > 0) {
    const grams = probes.flatMap((p) => p.grams.map((gram) => [p.i, gram] as const));
    const { rows } = await sql(
      `SELECT p.i, g.word
         FROM unnest($1::int[], $2::text[]) AS q(i, gram)
         JOIN unnest($3::int[], $4::int[], $5::int[], $6::int[]) AS p(i, min_length, max_length, must_share) USING (i)
         JOIN search_word_grams g ON g.gram = q.gram AND g.length BETWEEN p.min_length AND p.max_length
        GROUP BY p.i, g.word, p.must_share
       HAVING count(*) >= p.must_share`,
      [
        grams.map((g) => g[0]),
        grams.map((g) => g[1]),
        probes.map((p) => p.i),
        probes.map((p) => p.minLength),
        probes.map((p) => p.maxLength),
        probes.map((p) => p.mustShare),
      ],
      'room_search_typos',
    );
    for (const row of rows) {
      const i = Number(row.i);
      const candidate = String(row.word);
      if (withinTypos(words[i]!, candidate, typoAllowance(words[i]!))) near.set(i, [...(near.get(i) ?? []), candidate]);
    }
  }
  return words.map((word, i) => ({
    word,
    alternatives: [...new Set([word, ...(near.get(i) ?? [])])],
    prefix: i === words.length - 1,
  }));
}

/** Keys are compared as numerics rounded like this in SQL and in the cursor, so pagination is exact. */
const SORT_KEYS: Record<RoomSort, { expression: string; direction: 'ASC' | 'DESC' }> = {
  ranking: { expression: 'round(score::numeric, 12)', direction: 'DESC' },
  distance: { expression: 'round(distance::numeric, 3)', direction: 'ASC' },
  price: { expression: 'price_per_night::numeric', direction: 'ASC' },
};

export function pgRoomSearchReader(sql: Sql): RoomSearchReader {
  return {
    async search(query: RoomSearchQuery): Promise<RoomSearchPage> {
      const values: unknown[] = [];
      const param = (value: unknown) => {
        values.push(value);
        return `$${values.length}`;
      };
      const { ranking } = query;
      // A bounding box on the GiST index, then the exact radius on the distance: cheap arithmetic on lat and lng
      // (equirectangular, the formula of domain/shared/geo.ts), several times faster than geography functions.
      const { lat: lat0, lng: lng0 } = query.center;
      const lat = param(lat0);
      const lng = param(lng0);
      const distance = `(${EARTH_RADIUS_METERS}::float8 * sqrt(power(radians(lat - ${lat}::float8), 2)
        + power(cos(radians(${lat}::float8)) * radians(lng - ${lng}::float8), 2)))`;
      // The box and the radius are the ring being searched (see below); set per ring.
      const ringAt = values.length;
      const where = ['published', `geom && ST_MakeEnvelope(${param(0)}, ${param(0)}, ${param(0)}, ${param(0)}, 4326)`];
      const radius = param(0);
      const setRing = (meters: number) => {
        const latDelta = meters / METERS_PER_DEGREE;
        const lngDelta = latDelta / Math.max(0.01, Math.cos((lat0 * Math.PI) / 180));
        values.splice(ringAt, 5, lng0 - lngDelta, lat0 - latDelta, lng0 + lngDelta, lat0 + latDelta, meters);
      };
      const text = query.q ? await queryWords(sql, query.q) : [];
      // A filter over the rooms in the box (the words have no index): each query word matches one of the room's.
      for (const { word, alternatives, prefix } of text) {
        const exact = `words && ${param(alternatives)}::text[]`;
        where.push(
          prefix
            ? `(${exact} OR EXISTS (SELECT 1 FROM unnest(words) AS w WHERE starts_with(w, ${param(word)}::text)))`
            : exact,
        );
      }
      if (query.minPrice !== undefined) where.push(`price_per_night >= ${param(query.minPrice)}`);
      if (query.maxPrice !== undefined) where.push(`price_per_night <= ${param(query.maxPrice)}`);
      if (query.amenities && query.amenities.length > 0) where.push(`amenities @> ${param(query.amenities)}::text[]`);
      if (query.guests !== undefined) where.push(`max_occupants >= ${param(query.guests)}`);
      if (query.stay) {
        where.push(
          `NOT EXISTS (SELECT 1 FROM search_room_unavailable u WHERE u.room_id = search_rooms.room_id
             AND u.nights && daterange(${param(query.stay.checkIn)}::date, ${param(query.stay.checkOut)}::date))`,
        );
      }
      const weights = ranking.weights;
      const total = weights.distance + weights.amenity + weights.review;
      const prior = ranking.reviewPrior;
      const score = `(${param(weights.distance / total)}::float8 * power(0.5, distance / ${param(ranking.halfDistanceMeters)}::float8)
        + ${param(weights.amenity / total)}::float8 * amenity_score
        + ${param(weights.review / total)}::float8 * ((${param(prior.weight)}::float8 * ${param(prior.mean)}::float8 + rating_sum) / (${param(prior.weight)}::float8 + review_count) - 1) / 4)`;
      const sort = SORT_KEYS[query.sort];
      const after = query.cursor ? decodeCursor(query.cursor, query.sort) : null;
      const afterClause = after
        ? `WHERE (${sort.expression} ${sort.direction === 'ASC' ? '>' : '<'} ${param(after.key)}::numeric
             OR (${sort.expression} = ${param(after.key)}::numeric AND room_id > ${param(after.id)}::uuid))`
        : '';
      const statement = `SELECT *, ${sort.expression}::text AS sort_key FROM (
           SELECT *, ${score} AS score FROM (
             SELECT room_id, title, price_per_night, currency, lat, lng, amenities, amenity_score, review_count,
                    rating_sum, photo_url, ${distance} AS distance
               FROM search_rooms WHERE ${where.join(' AND ')}
           ) AS near WHERE distance <= ${radius}
         ) AS hits ${afterClause}
         ORDER BY ${sort.expression} ${sort.direction}, room_id ASC
         LIMIT ${param(query.limit + 1)}`;
      // One prepared statement per shape of query (which filters, which sort): plans are reused.
      const name = `room_search_${createHash('sha1').update(statement).digest('hex').slice(0, 16)}`;
      // Rings: the nearest fifth of the radius first, then half, then all of it. A ring settles the page when
      // the row after it (limit + 1) beats every room outside the ring: by distance, any such row does; by
      // ranking, its score must exceed the best a room beyond the ring could reach (the distance score at the
      // ring's edge plus the highest amenity score indexed and a perfect review score). Most searches then
      // score a few hundred rooms instead of thousands. Price order has no such bound: one pass.
      const radiusMeters = query.radiusMeters;
      // With filters, the rooms that pass rarely reach the bound (it assumes the best amenities anywhere), so a
      // ranking with filters goes straight to the whole radius.
      const filtered =
        text.length > 0 ||
        (query.amenities?.length ?? 0) > 0 ||
        query.stay !== undefined ||
        query.minPrice !== undefined ||
        query.maxPrice !== undefined;
      const rings =
        query.sort === 'price' || (query.sort === 'ranking' && filtered)
          ? [radiusMeters]
          : [...new Set([0.2, 0.5, 1].map((f) => f * radiusMeters))];
      let bestBeyond: ((ring: number) => number) | undefined;
      if (query.sort === 'ranking' && rings.length > 1) {
        const { rows: top } = await sql(
          'SELECT coalesce(max(amenity_score), 0) AS amenity FROM search_rooms WHERE published',
          [],
          'room_search_top_amenity',
        );
        const amenity = Number(top[0]?.amenity ?? 1);
        bestBeyond = (ring) =>
          (weights.distance * 0.5 ** (ring / ranking.halfDistanceMeters) +
            weights.amenity * amenity +
            weights.review * 1) /
          total;
      }
      let rows: Record<string, unknown>[] = [];
      for (const ring of rings) {
        setRing(ring);
        ({ rows } = await sql(statement, values, name));
        if (ring === radiusMeters || rows.length <= query.limit) continue;
        const edge = rows[query.limit]!;
        if (query.sort === 'distance') break;
        if (bestBeyond && Number(edge.score) > bestBeyond(ring) + 1e-9) break;
      }
      const page = rows.slice(0, query.limit);
      const items: RoomSearchHit[] = page.map((row) => {
        const reviewCount = Number(row.review_count);
        return {
          id: String(row.room_id),
          title: String(row.title),
          pricePerNight: Number(row.price_per_night),
          currency: String(row.currency),
          location: { lat: Number(row.lat), lng: Number(row.lng) },
          distanceMeters: Number(row.distance),
          rankingScore: Number(row.score),
          rating: reviewCount > 0 ? Number(row.rating_sum) / reviewCount : null,
          reviewCount,
          amenities: row.amenities as string[],
          photoUrl: (row.photo_url as string | null) ?? null,
        };
      });
      const last = page[page.length - 1];
      let nextCursor: string | null = null;
      if (rows.length > query.limit && last) {
        // The key exactly as SQL rounded it, so the next page starts exactly after this row.
        nextCursor = encodeCursor({ sort: query.sort, key: String(last.sort_key), id: String(last.room_id) });
      }
      return { items, nextCursor };
    },
  };
}
