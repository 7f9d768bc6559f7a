import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { Amenities } from '../../domain/rooms/amenities.js';
import { cellsCovering } from '../../domain/search/cells.js';
import { rankingScore } from '../../domain/search/ranking.js';
import { distanceMeters } from '../../domain/shared/geo.js';
import { dayNumber, type GeoPoint as Point } from '../../domain/shared/values.js';
import { InvalidSearchCursor, type RoomSearchQuery, type RoomSort } from '../../infra/search/roomSearchIndex.js';
import { ExamVenueView } from '../../projections/universities/universityViews.js';
import { type CursorCodec, cursorCodec, invalidCursor } from '../cursor.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { dateOnly, honourMinPosition } from '../readModels.js';
import { errors, GeoPoint, IdParams, IsoDate, MinPositionHeaders, Uuid } from '../schemas.js';

const tags = ['search'];
const SEARCH_PROJECTION = 'room-search';
const MAX_STAY_NIGHTS = 60;

const SearchQuery = Type.Object(
  {
    examLocationId: Type.Optional(Uuid),
    lat: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
    lng: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
    radius: Type.Number({ exclusiveMinimum: 0, maximum: 50, default: 5, description: 'km, at most 50' }),
    q: Type.Optional(Type.String({ maxLength: 200 })),
    minPrice: Type.Optional(Type.Integer({ minimum: 0 })),
    maxPrice: Type.Optional(Type.Integer({ minimum: 0 })),
    amenities: Type.Optional(Type.String({ maxLength: 500, description: 'comma list; every one required' })),
    checkIn: Type.Optional(IsoDate),
    checkOut: Type.Optional(IsoDate),
    guests: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
    sort: Type.Union([Type.Literal('ranking'), Type.Literal('distance'), Type.Literal('price')], {
      default: 'ranking',
    }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
type SearchQuery = typeof SearchQuery.static;

const Hit = Type.Object({
  id: Uuid,
  title: Type.String(),
  pricePerNight: Type.Integer(),
  currency: Type.String(),
  location: GeoPoint,
  distanceMeters: Type.Number(),
  rankingScore: Type.Number({ minimum: 0, maximum: 1 }),
  rating: Type.Union([Type.Number(), Type.Null()]),
  reviewCount: Type.Integer(),
  amenities: Type.Array(Type.String()),
  photoUrl: Type.Union([Type.String(), Type.Null()]),
});

const SearchContext = Type.Object({
  examVenue: Type.Union([Type.Object({ id: Uuid, name: Type.String(), location: GeoPoint }), Type.Null()]),
  examSession: Type.Union([
    Type.Object({ id: Uuid, name: Type.String(), startsOn: IsoDate, endsOn: IsoDate }),
    Type.Null(),
  ]),
  /** The nights a candidate of the session needs: the night before the first exam day to the last one. */
  proposedStay: Type.Union([Type.Object({ checkIn: IsoDate, checkOut: IsoDate }), Type.Null()]),
});

interface Venue {
  id: string;
  name: string;
  location: Point;
}

const DAY_MS = 86_400_000;
const shiftDay = (date: string, days: number) =>
  new Date(dayNumber(date) * DAY_MS + days * DAY_MS).toISOString().slice(0, 10);

async function venueById(deps: AppDeps, id: string): Promise<Venue> {
  const venue = await deps.orm.em.fork().findOne(ExamVenueView, { id });
  if (!venue) throw new ApiError(404, 'EXAM_VENUE_NOT_FOUND', 'no exam venue has this id', { examLocationId: id });
  return { id: venue.id, name: venue.name, location: venue.location };
}

/** A tenant's next exam: the assignment whose session has not ended (today by the app's clock), soonest first. */
async function assignedVenue(deps: AppDeps, tenantId: string) {
  const { rows } = await deps.pool.query<{
    venue_id: string;
    venue_name: string;
    lat: number;
    lng: number;
    session_id: string;
    session_name: string;
    starts_on: Date | string;
    ends_on: Date | string;
  }>(
    `SELECT v.id AS venue_id, v.name AS venue_name, ST_Y(v.location) AS lat, ST_X(v.location) AS lng,
            s.id AS session_id, s.name AS session_name, s.starts_on, s.ends_on
       FROM exam_assignments a
       JOIN exam_sessions s ON s.id = a.session_id
       JOIN exam_venues v ON v.id = a.venue_id
      WHERE a.tenant_id = $1 AND s.ends_on >= $2::date
      ORDER BY s.starts_on, s.id LIMIT 1`,
    [tenantId, deps.clock.now().toISOString().slice(0, 10)],
  );
  const row = rows[0];
  if (!row) return null;
  const startsOn = dateOnly(row.starts_on);
  const endsOn = dateOnly(row.ends_on);
  return {
    venue: { id: row.venue_id, name: row.venue_name, location: { lat: row.lat, lng: row.lng } },
    session: { id: row.session_id, name: row.session_name, startsOn, endsOn },
    proposedStay: { checkIn: shiftDay(startsOn, -1), checkOut: shiftDay(endsOn, 1) },
  };
}

function parseAmenities(list: string | undefined): string[] | undefined {
  if (!list) return undefined;
  const amenities = [
    ...new Set(
      list
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean),
    ),
  ];
  const unknown = amenities.filter((a) => !(Amenities as readonly string[]).includes(a));
  if (unknown.length > 0) {
    throw new ApiError(400, 'UNKNOWN_AMENITY', `not in the amenity catalogue: ${unknown.join(', ')}`, {
      unknown,
      catalogue: Amenities,
    });
  }
  return amenities;
}

function parseStay(query: SearchQuery): RoomSearchQuery['stay'] {
  const { checkIn, checkOut } = query;
  if (!checkIn && !checkOut) return undefined;
  if (!checkIn || !checkOut) throw new ApiError(400, 'INCOMPLETE_STAY', 'give both checkIn and checkOut, or neither');
  const from = dayNumber(checkIn);
  const to = dayNumber(checkOut);
  if (Number.isNaN(from) || Number.isNaN(to))
    throw new ApiError(400, 'INVALID_DATE', 'checkIn and checkOut must be real dates');
  if (to <= from) throw new ApiError(400, 'INVALID_STAY', 'checkOut must be after checkIn');
  if (to - from > MAX_STAY_NIGHTS) {
    throw new ApiError(400, 'STAY_TOO_LONG', `a stay covers at most ${MAX_STAY_NIGHTS} nights`);
  }
  return { checkIn, checkOut };
}

/**
 * Sends JSON as it was stored (it passed the response schema when it was made): no parse, no serialisation. The
 * reply is the untyped one because the typed reply takes only the schema's object, not its text.
 */
function sendSerialized(reply: FastifyReply, json: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(json);
}

const searchScope = (sort: RoomSort) => `room-search:${sort}`;

/** A completed search, for the warehouse's `searches` (buffered; never the free text, only whether there was one). */
function logSearch(deps: AppDeps, query: SearchQuery, venueId: string | undefined, count: number, started: number) {
  deps.analytics.searchLog?.record({
    searched_at: deps.clock.now(),
    venue_id: venueId ?? '',
    radius_m: Math.round(query.radius * 1000),
    guests: query.guests ?? 0,
    check_in: query.checkIn ?? null,
    check_out: query.checkOut ?? null,
    parameters: JSON.stringify({
      sort: query.sort,
      limit: query.limit,
      minPrice: query.minPrice ?? null,
      maxPrice: query.maxPrice ?? null,
      amenities: query.amenities ?? null,
      text: Boolean(query.q?.trim()),
      point: query.lat !== undefined && query.lng !== undefined,
      nextPage: Boolean(query.cursor),
    }),
    result_count: count,
    latency_ms: performance.now() - started,
  });
}

/**
 * The index's own cursor, inside the signed one this route gave for the same sort: whatever a client sends,
 * only a cursor the index wrote reaches the index.
 */
function indexCursor(codec: CursorCodec, sort: RoomSort, cursor: string | undefined): string | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const inner = codec.decode(searchScope(sort), cursor);
  if (typeof inner !== 'string') throw invalidCursor();
  return inner;
}

export const searchRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  /**
   * The versions of the map cells the search covers (domain/search/cells.ts): part of its cache key, so a
   * change to any room it could find makes a new key, and changes elsewhere leave it cached. With them, the build
   * of the index (its versions table's oid): a blue/green rebuild switches in tables whose cells may carry the same
   * versions over other rows, and nothing cached from the old build may answer for the new one.
   */
  async function coverVersion(center: Point, radiusMeters: number): Promise<string> {
    const cells = cellsCovering(center, radiusMeters);
    const { rows } = await deps.pool.query<{ build: string; versions: string | null }>({
      name: 'search_cell_versions',
      text: `SELECT 'search_cell_versions'::regclass::oid::text AS build,
                    (SELECT string_agg(cell || '=' || version, ',' ORDER BY cell)
                       FROM search_cell_versions WHERE cell = ANY($1::text[])) AS versions`,
      values: [cells],
    });
    return createHash('sha256')
      .update(`${rows[0]?.build ?? ''}/${rows[0]?.versions ?? ''}`)
      .digest('base64url')
      .slice(0, 16);
  }

  app.get(
    '/api/rooms/search',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary:
          'Rooms near an exam venue (examLocationId) or a point (lat, lng), free on the requested nights, ranked for exam candidates. A signed-in tenant with no location searches around their assigned venue.',
        querystring: SearchQuery,
        headers: MinPositionHeaders,
        response: {
          200: Type.Object({
            items: Type.Array(Hit),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
            context: SearchContext,
          }),
          ...errors(400, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const started = performance.now();
      // The index, and the venues and assignments a search may start from.
      await honourMinPosition(deps, request, [SEARCH_PROJECTION, 'universities']);
      const { query } = request;
      if ((query.lat === undefined) !== (query.lng === undefined)) {
        throw new ApiError(400, 'INCOMPLETE_LOCATION', 'give both lat and lng');
      }
      if (query.minPrice !== undefined && query.maxPrice !== undefined && query.minPrice > query.maxPrice) {
        throw new ApiError(400, 'INVALID_PRICE_RANGE', 'minPrice must not be above maxPrice');
      }
      const amenities = parseAmenities(query.amenities);
      const stay = parseStay(query);
      let center: Point;
      let context: typeof SearchContext.static = { examVenue: null, examSession: null, proposedStay: null };
      if (query.examLocationId) {
        const venue = await venueById(deps, query.examLocationId);
        center = venue.location;
        context.examVenue = venue;
      } else if (query.lat !== undefined && query.lng !== undefined) {
        center = { lat: query.lat, lng: query.lng };
      } else {
        const assigned = request.user?.role === 'tenant' ? await assignedVenue(deps, request.user.sub) : null;
        if (!assigned) {
          throw new ApiError(
            400,
            'LOCATION_REQUIRED',
            'give examLocationId, or lat and lng (a signed-in tenant with an exam assignment may give neither)',
          );
        }
        center = assigned.venue.location;
        context = { examVenue: assigned.venue, examSession: assigned.session, proposedStay: assigned.proposedStay };
      }
      const search: RoomSearchQuery = {
        center,
        radiusMeters: query.radius * 1000,
        q: query.q?.trim() || undefined,
        minPrice: query.minPrice,
        maxPrice: query.maxPrice,
        amenities,
        guests: query.guests,
        stay,
        sort: query.sort,
        limit: query.limit,
        cursor: indexCursor(cursorCodec(deps.config), query.sort, query.cursor),
        ranking: deps.search.ranking,
      };
      const ttl = deps.config.SEARCH_CACHE_SECONDS;
      const key =
        ttl > 0
          ? `roomline:search:${await coverVersion(center, search.radiusMeters)}:${createHash('sha256').update(JSON.stringify(search)).digest('base64url')}`
          : null;
      if (key) {
        const cached = await deps.redis.get(key).catch(() => null);
        if (cached?.endsWith('}')) {
          const count = (JSON.parse(cached) as { items?: unknown[] }).items?.length ?? 0;
          logSearch(deps, query, context.examVenue?.id, count, started);
          return sendSerialized(
            reply.header('x-cache', 'hit'),
            `${cached.slice(0, -1)},"context":${JSON.stringify(context)}}`,
          );
        }
      }
      let page: Awaited<ReturnType<typeof deps.search.reader.search>>;
      try {
        page = await deps.search.reader.search(search);
      } catch (error) {
        if (error instanceof InvalidSearchCursor) throw new ApiError(400, 'INVALID_CURSOR', error.message);
        throw error;
      }
      const body = {
        items: page.items.map((hit) => ({ ...hit, distanceMeters: Math.round(hit.distanceMeters * 10) / 10 })),
        nextCursor:
          page.nextCursor === null ? null : cursorCodec(deps.config).encode(searchScope(search.sort), page.nextCursor),
      };
      if (key) await deps.redis.set(key, JSON.stringify(body), 'EX', ttl).catch(() => undefined);
      void reply.header('x-cache', 'miss');
      logSearch(deps, query, context.examVenue?.id, body.items.length, started);
      return { ...body, context };
    },
  );

  app.get(
    '/api/rooms/:id/ranking-score',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'How a room ranks for an exam venue: the overall score and its parts, each in [0, 1]',
        params: IdParams,
        querystring: Type.Object({ examLocationId: Uuid }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            overall: Type.Number(),
            distance: Type.Number(),
            amenity: Type.Number(),
            review: Type.Number(),
            distanceMeters: Type.Number(),
            weights: Type.Object({ distance: Type.Number(), amenity: Type.Number(), review: Type.Number() }),
            calculatedAt: Type.String({ format: 'date-time' }),
          }),
          ...errors(400, 404),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { examLocationId } = request.query;
      const venue = await venueById(deps, examLocationId);
      // The search projection's own state: the same document whichever index (PostgreSQL, Meilisearch) it feeds.
      const { rows } = await deps.pool.query<{
        amenities: string[];
        review_count: number;
        rating_sum: number;
        lat: number;
        lng: number;
      }>(
        `SELECT ARRAY(SELECT jsonb_array_elements_text(d->'amenities')) AS amenities,
                (d->>'reviewCount')::int AS review_count, (d->>'ratingSum')::float8 AS rating_sum,
                (d->'location'->>'lat')::float8 AS lat, (d->'location'->>'lng')::float8 AS lng
           FROM search_room_state, LATERAL (SELECT state->'document' AS d) AS doc
          WHERE room_id = $1 AND (d->>'published')::boolean`,
        [id],
      );
      const room = rows[0];
      if (!room) throw new ApiError(404, 'ROOM_NOT_FOUND', 'room not found');
      const distance = distanceMeters(venue.location, { lat: room.lat, lng: room.lng });
      const breakdown = rankingScore(
        {
          distanceMeters: distance,
          amenities: room.amenities,
          reviewCount: Number(room.review_count),
          ratingSum: Number(room.rating_sum),
        },
        deps.search.ranking,
      );
      return {
        ...breakdown,
        distanceMeters: Math.round(distance * 10) / 10,
        weights: deps.search.ranking.weights,
        calculatedAt: deps.clock.now().toISOString(),
      };
    },
  );
};
