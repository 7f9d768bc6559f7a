import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { createSavedSearch, deleteSavedSearch } from '../../commands/savedSearches.js';
import { Amenities, isAmenity } from '../../domain/rooms/amenities.js';
import { MAX_NAME_LENGTH, MAX_RADIUS_KM, MAX_STAY_NIGHTS } from '../../domain/savedSearches/decider.js';
import type { SavedSearchCriteria } from '../../domain/savedSearches/events.js';
import { dayNumber, hasLoneSurrogate, type GeoPoint as Point } from '../../domain/shared/values.js';
import { savedSearchesProjectionName } from '../../projections/savedSearches/savedSearchesProjection.js';
import { createSavedSearchQueries } from '../../projections/savedSearches/savedSearchQueries.js';
import { ExamVenueView } from '../../projections/universities/universityViews.js';
import { positionOf } from '../answers.js';
import { commandFrom, newAggregateId } from '../commandContext.js';
import { cursorCodec, decodeKeyset, encodeKeyset } from '../cursor.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { honourMinPosition } from '../readModels.js';
import {
  errors,
  GeoPoint,
  IdempotencyHeaders,
  IdParams,
  IsoDate,
  IsoInstant,
  MinPositionHeaders,
  Position,
  Uuid,
} from '../schemas.js';

const tags = ['saved searches'];
const LIST = 'saved-searches';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

const CreateBody = Type.Object(
  {
    name: Type.Optional(Nullable(Type.String({ maxLength: MAX_NAME_LENGTH, description: 'trimmed, NFC' }))),
    examLocationId: Type.Optional(Uuid),
    lat: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
    lng: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
    radius: Type.Number({
      exclusiveMinimum: 0,
      maximum: MAX_RADIUS_KM,
      default: 5,
      description: `km, at most ${MAX_RADIUS_KM}`,
    }),
    checkIn: Type.Optional(IsoDate),
    checkOut: Type.Optional(IsoDate),
    guests: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
    minPrice: Type.Optional(Type.Integer({ minimum: 0, description: 'per night, minor units' })),
    maxPrice: Type.Optional(Type.Integer({ minimum: 0, description: 'per night, minor units' })),
    amenities: Type.Optional(
      Type.Array(Type.String({ maxLength: 50 }), { maxItems: Amenities.length, description: 'every one required' }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Around an exam venue (examLocationId) or a point (lat and lng): one of the two.',
  },
);

const Criteria = Type.Object({
  location: GeoPoint,
  radiusKm: Type.Number(),
  examLocationId: Nullable(Uuid),
  checkIn: Nullable(IsoDate),
  checkOut: Nullable(IsoDate),
  guests: Nullable(Type.Integer()),
  minPrice: Nullable(Type.Integer()),
  maxPrice: Nullable(Type.Integer()),
  amenities: Type.Array(Type.String()),
});
const SavedSearch = Type.Object({
  id: Uuid,
  name: Nullable(Type.String()),
  criteria: Criteria,
  matchCount: Type.Integer({ minimum: 0, description: 'rooms that matched so far (each announced once)' }),
  createdAt: IsoInstant,
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

function checkedStay(checkIn: string | undefined, checkOut: string | undefined) {
  if (!checkIn && !checkOut) return { checkIn: null, checkOut: null };
  if (!checkIn || !checkOut) throw new ApiError(400, 'INCOMPLETE_STAY', 'give both checkIn and checkOut, or neither');
  const from = dayNumber(checkIn);
  const to = dayNumber(checkOut);
  if (Number.isNaN(from) || Number.isNaN(to)) {
    throw new ApiError(400, 'INVALID_DATE', 'checkIn and checkOut must be real dates');
  }
  if (to <= from) throw new ApiError(400, 'INVALID_STAY', 'checkOut must be after checkIn');
  if (to - from > MAX_STAY_NIGHTS) {
    throw new ApiError(400, 'STAY_TOO_LONG', `a stay covers at most ${MAX_STAY_NIGHTS} nights`);
  }
  return { checkIn, checkOut };
}

export const savedSearchRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  const queries = createSavedSearchQueries(deps.pool);
  const commandDeps = { store: deps.eventStore, maxRetries: deps.config.COMMAND_MAX_RETRIES };

  /** The venue's location as the universities read model has it (as `GET /api/rooms/search` finds it). */
  async function venueLocation(id: string): Promise<Point> {
    const venue = await deps.orm.em.fork().findOne(ExamVenueView, { id });
    if (!venue) throw new ApiError(404, 'EXAM_VENUE_NOT_FOUND', 'no exam venue has this id', { examLocationId: id });
    return venue.location;
  }

  app.post(
    '/api/saved-searches',
    {
      config: { access: ['tenant'] },
      schema: {
        tags,
        summary:
          'Save a search (a venue or a point, a radius, optional dates and filters): each room newly published or ' +
          'freed that matches it is announced once',
        // X-Min-Position: the venue is found through the read model, so a venue just added needs it.
        headers: Type.Composite([IdempotencyHeaders, MinPositionHeaders]),
        body: CreateBody,
        response: {
          201: Type.Object({ id: Uuid, position: Type.Union([Position, Type.Null()]) }),
          ...errors(400, 401, 403, 404, 409, 422, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const { body } = request;
      const hasPoint = body.lat !== undefined || body.lng !== undefined;
      if ((body.lat === undefined) !== (body.lng === undefined)) {
        throw new ApiError(400, 'INCOMPLETE_LOCATION', 'give both lat and lng');
      }
      if (body.examLocationId && hasPoint) {
        throw new ApiError(400, 'AMBIGUOUS_LOCATION', 'give examLocationId, or lat and lng, not both');
      }
      if (!body.examLocationId && !hasPoint) {
        throw new ApiError(400, 'LOCATION_REQUIRED', 'give examLocationId, or lat and lng');
      }
      if (body.minPrice !== undefined && body.maxPrice !== undefined && body.minPrice > body.maxPrice) {
        throw new ApiError(400, 'INVALID_PRICE_RANGE', 'minPrice must not be above maxPrice');
      }
      const amenities = [...new Set(body.amenities ?? [])];
      const unknown = amenities.filter((a) => !isAmenity(a));
      if (unknown.length > 0) {
        throw new ApiError(400, 'UNKNOWN_AMENITY', `not in the amenity catalogue: ${unknown.join(', ')}`, {
          unknown,
          catalogue: Amenities,
        });
      }
      const name = body.name ?? null;
      if (name !== null && (CONTROL.test(name) || hasLoneSurrogate(name))) {
        throw new ApiError(400, 'INVALID_NAME', 'the name may not hold control characters or lone surrogates');
      }
      const stay = checkedStay(body.checkIn, body.checkOut);
      await honourMinPosition(deps, request, ['universities', savedSearchesProjectionName]);
      const location = body.examLocationId
        ? await venueLocation(body.examLocationId)
        : { lat: body.lat!, lng: body.lng! };
      const criteria: SavedSearchCriteria = {
        location,
        radiusKm: body.radius,
        examLocationId: body.examLocationId ?? null,
        ...stay,
        guests: body.guests ?? null,
        minPrice: body.minPrice ?? null,
        maxPrice: body.maxPrice ?? null,
        amenities,
      };
      const { context, envelope } = commandFrom(request, deps.clock);
      const searchId = newAggregateId(request, 'saved-search');
      const result = await createSavedSearch(
        commandDeps,
        { searchId, criteria, name, activeSearches: await queries.activeCount(context.actorId) },
        context,
        envelope,
      );
      return reply.code(201).send({ id: searchId, position: positionOf(result) });
    },
  );

  app.get(
    '/api/saved-searches',
    {
      config: { access: ['tenant'] },
      schema: {
        tags,
        summary: 'Your saved searches, newest first (deleted ones are gone)',
        headers: MinPositionHeaders,
        querystring: Type.Object(
          {
            limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
            cursor: Type.Optional(Type.String({ maxLength: 2000 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ items: Type.Array(SavedSearch), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
          ...errors(400, 401, 403, 503),
        },
      },
    },
    async (request) => {
      await honourMinPosition(deps, request, savedSearchesProjectionName);
      const { limit, cursor } = request.query;
      const codec = cursorCodec(deps.config);
      const after = decodeKeyset(codec, LIST, cursor);
      const rows = await queries.listForTenant(
        request.user!.sub,
        after && { createdAt: after[0], id: after[1] },
        limit + 1,
      );
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map(({ id, name, criteria, matchCount, createdAt }) => ({
          id,
          name,
          criteria,
          matchCount,
          createdAt,
        })),
        nextCursor: rows.length > limit && last ? encodeKeyset(codec, LIST, last.createdAt, last.id) : null,
      };
    },
  );

  app.delete(
    '/api/saved-searches/:id',
    {
      config: { access: ['tenant'] },
      schema: {
        tags,
        summary:
          'Delete one of your saved searches: it announces nothing more. Deleting it again answers 204 and changes ' +
          'nothing; another tenant’s search, or none, is 404',
        params: IdParams,
        headers: IdempotencyHeaders,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const { context, envelope } = commandFrom(request, deps.clock);
      const result = await deleteSavedSearch(commandDeps, request.params.id, context, envelope);
      // No body: the position for X-Min-Position comes as a header.
      const position = positionOf(result);
      if (position) void reply.header('x-position', position);
      return reply.code(204).send(null);
    },
  );
};
