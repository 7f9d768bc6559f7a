import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TProperties, Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { assignCandidate, runUniversityCommand, universityContext } from '../../commands/universities.js';
import type { UniversityCommand } from '../../domain/universities/commands.js';
import {
  ExamAssignmentView,
  ExamSessionView,
  ExamVenueView,
  UniversityView,
} from '../../projections/universities/universityViews.js';
import { positionOf } from '../answers.js';
import { commandFrom, newAggregateId } from '../commandContext.js';
import { cursorCodec, decodeKeyset, encodeKeyset } from '../cursor.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { locate } from '../geocode.js';
import { dateOnly, honourMinPosition } from '../readModels.js';
import {
  errors,
  GeoPoint,
  IdempotencyHeaders,
  IdParams,
  IsoDate,
  MinPositionHeaders,
  Position,
  Uuid,
} from '../schemas.js';

const tags = ['universities'];
const writeErrors = errors(400, 401, 403, 404, 409, 422, 429);

const University = Type.Object({
  id: Uuid,
  name: Type.String(),
  city: Type.String(),
  country: Type.String(),
  location: GeoPoint,
});
const Venue = Type.Object({
  id: Uuid,
  universityId: Uuid,
  name: Type.String(),
  address: Type.String(),
  location: GeoPoint,
  capacity: Type.Union([Type.Integer(), Type.Null()]),
});
const Session = Type.Object({
  id: Uuid,
  universityId: Uuid,
  name: Type.String(),
  startsOn: IsoDate,
  endsOn: IsoDate,
  venueIds: Type.Array(Uuid),
  venues: Type.Array(Venue),
});
const Accepted = <T extends TProperties>(fields: T) =>
  Type.Object({ id: Uuid, ...fields, position: Type.Union([Position, Type.Null()]) });
const Assignment = Type.Object({
  tenantId: Uuid,
  sessionId: Uuid,
  universityId: Uuid,
  venueId: Uuid,
  assignedAt: Type.String({ format: 'date-time' }),
});
const List = <T extends ReturnType<typeof Type.Object>>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });
const Name = Type.String({ minLength: 1, maxLength: 200 });

const venueOut = (v: ExamVenueView) => ({
  id: v.id,
  universityId: v.universityId,
  name: v.name,
  address: v.address,
  location: v.location,
  capacity: v.capacity,
});

/** Keyset pagination by (name, id): the cursor is the last row's pair, signed for the list that gave it. */
function nameCursor(deps: AppDeps, list: string, cursor: string | undefined): { name: string; id: string } | null {
  const after = decodeKeyset(cursorCodec(deps.config), list, cursor);
  return after && { name: after[0], id: after[1] };
}
const nextNameCursor = (deps: AppDeps, list: string, rows: Array<{ name: string; id: string }>, limit: number) => {
  const last = rows[limit - 1];
  return rows.length > limit && last ? encodeKeyset(cursorCodec(deps.config), list, last.name, last.id) : null;
};

export const universityRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  const run = async (
    request: FastifyRequest,
    build: (context: Awaited<ReturnType<typeof universityContext>>) => UniversityCommand,
  ) => {
    const { context, envelope } = commandFrom(request, deps.clock);
    const command = build(await universityContext(deps.eventStore, context));
    return runUniversityCommand(deps.eventStore, command, envelope, deps.config.COMMAND_MAX_RETRIES);
  };

  app.post(
    '/api/universities',
    {
      config: { access: ['admin'] },
      schema: {
        tags,
        summary: 'Register a university (admins)',
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            name: Name,
            city: Name,
            country: Type.String({ pattern: '^[A-Za-z]{2}$', description: 'ISO 3166-1 alpha-2' }),
            location: GeoPoint,
          },
          { additionalProperties: false },
        ),
        response: {
          201: Accepted({ name: Type.String(), city: Type.String(), country: Type.String(), location: GeoPoint }),
          ...writeErrors,
        },
      },
    },
    async (request, reply) => {
      const { body } = request;
      const universityId = newAggregateId(request, 'university');
      const result = await run(request, (context) => ({
        type: 'RegisterUniversity',
        data: { universityId, ...body },
        context,
      }));
      const event = result.events[0];
      const data =
        event?.type === 'UniversityRegistered' ? event.data : { ...body, country: body.country.toUpperCase() };
      return reply.code(201).send({
        id: universityId,
        name: data.name,
        city: data.city,
        country: data.country,
        location: data.location,
        position: positionOf(result),
      });
    },
  );

  app.get(
    '/api/universities',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Universities, by name',
        headers: MinPositionHeaders,
        querystring: Type.Object(
          {
            limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
            cursor: Type.Optional(Type.String({ maxLength: 2000 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: List(University), ...errors(400, 503) },
      },
    },
    async (request) => {
      await honourMinPosition(deps, request, 'universities');
      const { limit, cursor } = request.query;
      const after = nameCursor(deps, 'universities', cursor);
      const rows = await deps.orm.em
        .fork()
        .find(
          UniversityView,
          after ? { $or: [{ name: { $gt: after.name } }, { name: after.name, id: { $gt: after.id } }] } : {},
          { orderBy: { name: 'asc', id: 'asc' }, limit: limit + 1 },
        );
      return {
        items: rows
          .slice(0, limit)
          .map(({ id, name, city, country, location }) => ({ id, name, city, country, location })),
        nextCursor: nextNameCursor(deps, 'universities', rows, limit),
      };
    },
  );

  app.post(
    '/api/exam-venues',
    {
      config: { access: ['official', 'admin'] },
      schema: {
        tags,
        summary: 'Add an exam venue to a university (its officials, admins)',
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            universityId: Uuid,
            name: Name,
            address: Type.String({ minLength: 1, maxLength: 300 }),
            location: Type.Optional(GeoPoint),
            capacity: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()])),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Accepted({
            universityId: Uuid,
            name: Type.String(),
            address: Type.String(),
            location: GeoPoint,
            capacity: Type.Union([Type.Integer(), Type.Null()]),
          }),
          ...errors(400, 401, 403, 404, 409, 422, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const { body } = request;
      const location = body.location ?? (await locate(deps, body.address));
      const venueId = newAggregateId(request, 'venue');
      const result = await run(request, (context) => ({
        type: 'AddExamVenue',
        data: { ...body, location, venueId },
        context,
      }));
      return reply.code(201).send({
        id: venueId,
        universityId: body.universityId,
        name: body.name.trim(),
        address: body.address.trim(),
        location,
        capacity: body.capacity ?? null,
        position: positionOf(result),
      });
    },
  );

  app.get(
    '/api/exam-venues',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Exam venues, of one university or all, by name',
        headers: MinPositionHeaders,
        querystring: Type.Object(
          {
            universityId: Type.Optional(Uuid),
            limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
            cursor: Type.Optional(Type.String({ maxLength: 2000 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: List(Venue), ...errors(400, 503) },
      },
    },
    async (request) => {
      await honourMinPosition(deps, request, 'universities');
      const { universityId, limit, cursor } = request.query;
      const after = nameCursor(deps, 'exam-venues', cursor);
      const where: Record<string, unknown> = universityId ? { universityId } : {};
      if (after) where.$or = [{ name: { $gt: after.name } }, { name: after.name, id: { $gt: after.id } }];
      const rows = await deps.orm.em
        .fork()
        .find(ExamVenueView, where, { orderBy: { name: 'asc', id: 'asc' }, limit: limit + 1 });
      return {
        items: rows.slice(0, limit).map(venueOut),
        nextCursor: nextNameCursor(deps, 'exam-venues', rows, limit),
      };
    },
  );

  app.post(
    '/api/exam-sessions',
    {
      config: { access: ['official', 'admin'] },
      schema: {
        tags,
        summary: 'Schedule an exam session at some of the university’s venues (its officials, admins)',
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            universityId: Uuid,
            name: Name,
            startsOn: IsoDate,
            endsOn: IsoDate,
            venueIds: Type.Array(Uuid, { minItems: 1, maxItems: 100 }),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Accepted({
            universityId: Uuid,
            name: Type.String(),
            startsOn: IsoDate,
            endsOn: IsoDate,
            venueIds: Type.Array(Uuid),
          }),
          ...writeErrors,
        },
      },
    },
    async (request, reply) => {
      const { body } = request;
      const sessionId = newAggregateId(request, 'exam-session');
      const result = await run(request, (context) => ({
        type: 'ScheduleExamSession',
        data: { ...body, sessionId },
        context,
      }));
      return reply.code(201).send({
        id: sessionId,
        universityId: body.universityId,
        name: body.name.trim(),
        startsOn: body.startsOn,
        endsOn: body.endsOn,
        venueIds: [...new Set(body.venueIds)],
        position: positionOf(result),
      });
    },
  );

  app.get(
    '/api/universities/:id/exam-sessions',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'A university’s exam sessions, soonest first, each with its venues',
        params: IdParams,
        headers: MinPositionHeaders,
        response: { 200: List(Session), ...errors(400, 404, 503) },
      },
    },
    async (request) => {
      await honourMinPosition(deps, request, 'universities');
      const { id } = request.params;
      const em = deps.orm.em.fork();
      if (!(await em.findOne(UniversityView, { id })))
        throw new ApiError(404, 'UNIVERSITY_NOT_FOUND', 'university not found');
      const sessions = await em.find(
        ExamSessionView,
        { universityId: id },
        { orderBy: { startsOn: 'asc', id: 'asc' } },
      );
      const venues = new Map(
        (await em.find(ExamVenueView, { universityId: id })).map((venue) => [venue.id, venueOut(venue)]),
      );
      return {
        items: sessions.map((s) => ({
          id: s.id,
          universityId: s.universityId,
          name: s.name,
          startsOn: dateOnly(s.startsOn),
          endsOn: dateOnly(s.endsOn),
          venueIds: s.venueIds,
          venues: s.venueIds.flatMap((venueId) => venues.get(venueId) ?? []),
        })),
        nextCursor: null,
      };
    },
  );

  app.post(
    '/api/exam-sessions/:id/assignments',
    {
      config: { access: ['tenant', 'official', 'admin'] },
      schema: {
        tags,
        summary:
          'Where candidates sit the session: a tenant records their own venue ({ venueId }); officials of the university and admins assign candidates in bulk ({ assignments })',
        params: IdParams,
        // X-Min-Position: the session is found through the read model, so a session just scheduled needs it.
        headers: Type.Composite([IdempotencyHeaders, MinPositionHeaders]),
        body: Type.Union([
          Type.Object({ venueId: Uuid }, { additionalProperties: false }),
          Type.Object(
            {
              assignments: Type.Array(Type.Object({ tenantId: Uuid, venueId: Uuid }, { additionalProperties: false }), {
                minItems: 1,
                maxItems: 500,
              }),
            },
            { additionalProperties: false },
          ),
        ]),
        response: {
          200: Type.Object({ assignments: Type.Array(Assignment), position: Type.Union([Position, Type.Null()]) }),
          ...writeErrors,
        },
      },
    },
    async (request) => {
      const { id: sessionId } = request.params;
      const { body } = request;
      await honourMinPosition(deps, request, 'universities');
      const session = await deps.orm.em.fork().findOne(ExamSessionView, { id: sessionId });
      if (!session) throw new ApiError(404, 'EXAM_SESSION_NOT_FOUND', 'exam session not found');
      const { context, envelope } = commandFrom(request, deps.clock);
      const actor = await universityContext(deps.eventStore, context);
      let wanted: Array<{ tenantId: string; venueId: string }>;
      if ('venueId' in body) {
        if (context.actorRole !== 'tenant') {
          throw new ApiError(
            400,
            'ASSIGNMENTS_EXPECTED',
            'officials and admins send { assignments: [{ tenantId, venueId }] }',
          );
        }
        wanted = [{ tenantId: context.actorId, venueId: body.venueId }];
      } else {
        if (context.actorRole === 'tenant') {
          throw new ApiError(403, 'SELF_ONLY', 'a tenant records their own venue: send { venueId }');
        }
        wanted = body.assignments;
      }
      const assignments = [];
      let position: bigint | null = null;
      for (const { tenantId, venueId } of wanted) {
        const result = await assignCandidate(
          deps.eventStore,
          { tenantId, universityId: session.universityId, sessionId, venueId },
          actor,
          envelope,
        );
        if (result.position !== null && (position === null || result.position > position)) position = result.position;
        assignments.push({
          tenantId,
          sessionId,
          universityId: session.universityId,
          venueId,
          assignedAt: context.now,
        });
      }
      return { assignments, position: positionOf({ position }) };
    },
  );

  app.get(
    '/api/user/exam-assignments',
    {
      config: { access: ['tenant'] },
      schema: {
        tags,
        summary: 'Where you sit your exams: each session with its venue',
        headers: MinPositionHeaders,
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                session: Type.Omit(Session, ['venues']),
                venue: Venue,
              }),
            ),
          }),
          ...errors(400, 401, 403, 503),
        },
      },
    },
    async (request) => {
      await honourMinPosition(deps, request, 'universities');
      const em = deps.orm.em.fork();
      const rows = await em.find(
        ExamAssignmentView,
        { tenantId: request.user!.sub },
        { orderBy: { assignedAt: 'desc' } },
      );
      const sessions = new Map(
        (await em.find(ExamSessionView, { id: { $in: rows.map((r) => r.sessionId) } })).map((s) => [s.id, s]),
      );
      const venues = new Map(
        (await em.find(ExamVenueView, { id: { $in: rows.map((r) => r.venueId) } })).map((v) => [v.id, v]),
      );
      return {
        items: rows.flatMap((row) => {
          const session = sessions.get(row.sessionId);
          const venue = venues.get(row.venueId);
          if (!session || !venue) return [];
          return [
            {
              session: {
                id: session.id,
                universityId: session.universityId,
                name: session.name,
                startsOn: dateOnly(session.startsOn),
                endsOn: dateOnly(session.endsOn),
                venueIds: session.venueIds,
              },
              venue: venueOut(venue),
            },
          ];
        }),
      };
    },
  );
};
