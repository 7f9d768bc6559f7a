import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type pg from 'pg';
import { amenityScore } from '../../../domain/search/ranking.js';
import { EARTH_RADIUS_METERS, METERS_PER_DEGREE } from '../../../domain/shared/geo.js';
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

/**
 * The PostgreSQL room search index: `search_rooms` (PostGIS geography with a GiST index, a generated
 * tsvector), `search_room_nights` (unavailable nights), `search_words` (the vocabulary, for typos).
 */
export function pgRoomSearchWriter(sql: Sql): RoomSearchWriter {
  return {
    async upsertRooms(documents) {
      if (documents.length === 0) return;
      const column = <T>(pick: (d: RoomSearchDocument) => T) => documents.map(pick);
      await sql(
        `INSERT INTO search_rooms (room_id, landlord_id, title, description, address, lat, lng, geom, price_per_night,
           currency, max_occupants, amenities, amenity_score, published, review_count, rating_sum, photo_url, version)
         SELECT d.room_id, d.landlord_id, d.title, d.description, d.address, d.lat, d.lng,
                ST_SetSRID(ST_MakePoint(d.lng, d.lat), 4326), d.price, d.currency, d.max_occupants,
                ARRAY(SELECT jsonb_array_elements_text(d.amenities)), d.amenity_score, d.published, d.review_count,
                d.rating_sum, d.photo_url, d.version
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[],
                       $8::int[], $9::text[], $10::int[], $11::jsonb[], $12::float8[], $13::bool[], $14::int[],
                       $15::float8[], $16::text[], $17::int[])
             AS d(room_id, landlord_id, title, description, address, lat, lng, price, currency, max_occupants,
                  amenities, amenity_score, published, review_count, rating_sum, photo_url, version)
         ON CONFLICT (room_id) DO UPDATE SET
           landlord_id = excluded.landlord_id, title = excluded.title, description = excluded.description,
           address = excluded.address, lat = excluded.lat, lng = excluded.lng, geom = excluded.geom,
           price_per_night = excluded.price_per_night,
           currency = excluded.currency, max_occupants = excluded.max_occupants, amenities = excluded.amenities,
           amenity_score = excluded.amenity_score, published = excluded.published,
           review_count = excluded.review_count, rating_sum = excluded.rating_sum, photo_url = excluded.photo_url,
           version = excluded.version
         WHERE search_rooms.version < excluded.version`,
        [
          column((d) => d.roomId),
          column((d) => d.landlordId),
          column((d) => d.title),
          column((d) => d.description),
          column((d) => d.address),
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
        ],
      );
      await sql(
        `INSERT INTO search_words (word)
         SELECT DISTINCT lexeme FROM unnest($1::text[]) AS t(doc), unnest(to_tsvector('simple', doc)) AS w
          WHERE length(lexeme) BETWEEN 3 AND 40 AND lexeme !~ '[[:digit:]]'
         ON CONFLICT DO NOTHING`,
        [documents.map((d) => `${d.title} ${d.description ?? ''} ${d.address}`)],
      );
    },

    async setUnavailableNights(roomId, nights) {
      await sql('DELETE FROM search_room_nights WHERE room_id = $1', [roomId]);
      if (nights.length > 0) {
        await sql(
          'INSERT INTO search_room_nights (room_id, night) SELECT $1, unnest($2::date[]) ON CONFLICT DO NOTHING',
          [roomId, nights],
        );
      }
    },

    async clear() {
      await sql('TRUNCATE search_rooms, search_room_nights, search_words');
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

const WORD = /[\p{L}\p{N}]+/gu;

/**
 * The query's words, each widened with the three indexed words most similar to it (pg_trgm's `%`, similarity
 * above 0.3), as a tsquery text: "quite" also matches "quiet". Looked up before the search, so the planner sees
 * the tsquery as a constant and can weigh it against the radius (a query word found in most rooms must not
 * make it scan the text index).
 */
async function textQuery(sql: Sql, q: string): Promise<string | null> {
  // Letters and digits only: safe inside a tsquery text. Words with digits (house numbers) are not in the
  // vocabulary and are matched as typed.
  const words = [...new Set((q.toLowerCase().match(WORD) ?? []).filter((w) => w.length <= 40))].slice(0, 8);
  if (words.length === 0) return null;
  const { rows } = await sql(
    `SELECT t.word AS typed, w.word AS near
       FROM unnest($1::text[]) AS t(word)
       CROSS JOIN LATERAL (
         SELECT word FROM search_words WHERE length(t.word) >= 4 AND word % t.word
          ORDER BY similarity(word, t.word) DESC LIMIT 3) AS w`,
    [words],
    'room_search_words',
  );
  const near = new Map<string, string[]>();
  for (const row of rows) near.set(String(row.typed), [...(near.get(String(row.typed)) ?? []), String(row.near)]);
  return words.map((w) => `(${[`${w}:*`, ...(near.get(w) ?? [])].join(' | ')})`).join(' & ');
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
      const text = query.q ? await textQuery(sql, query.q) : null;
      // A filter over the rooms in the box, never the text index: the planner cannot estimate prefix matches
      // (`room:*` matched every room in the benchmark while it expected 50) and would scan the whole text index.
      if (text) where.push(`coalesce(tsv @@ to_tsquery('simple', ${param(text)}), false)`);
      if (query.minPrice !== undefined) where.push(`price_per_night >= ${param(query.minPrice)}`);
      if (query.maxPrice !== undefined) where.push(`price_per_night <= ${param(query.maxPrice)}`);
      if (query.amenities && query.amenities.length > 0) where.push(`amenities @> ${param(query.amenities)}::text[]`);
      if (query.guests !== undefined) where.push(`max_occupants >= ${param(query.guests)}`);
      if (query.stay) {
        where.push(
          `NOT EXISTS (SELECT 1 FROM search_room_nights n WHERE n.room_id = search_rooms.room_id
             AND n.night >= ${param(query.stay.checkIn)}::date AND n.night < ${param(query.stay.checkOut)}::date)`,
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
        text !== null ||
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
