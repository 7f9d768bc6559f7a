import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { blockedDatesOf, runRoomCommand, setBlockedDates } from '../../commands/rooms.js';
import type { RoomState } from '../../domain/rooms/decider.js';
import { RoomView } from '../../projections/rooms/roomView.js';
import { positionOf } from '../answers.js';
import { commandFrom, ifMatchRevision, newAggregateId } from '../commandContext.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { locate } from '../geocode.js';
import { honourMinPosition } from '../readModels.js';
import {
  AvailabilityBody,
  CreateRoomBody,
  errors,
  IdempotencyHeaders,
  IdParams,
  IfMatchHeaders,
  IsoDate,
  MinPositionHeaders,
  Position,
  Room,
  RoomAccepted,
  type RoomStatus,
  UpdateRoomBody,
} from '../schemas.js';
import { calendarPath } from './roomCalendar.js';

const tags = ['rooms'];
const writeErrors = errors(400, 401, 403, 404, 409, 412, 422, 429);

function accepted(roomId: string, state: RoomState, position: bigint | null, revision: bigint | null) {
  return {
    id: roomId,
    status: state.status === 'none' ? ('draft' as const) : state.status,
    position: positionOf({ position }),
    revision: revision?.toString() ?? '0',
  };
}

/** The room routes: create, change, publish, block dates, read. */
export const roomRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  const run = (
    request: FastifyRequest,
    build: (ctx: ReturnType<typeof commandFrom>['context']) => Parameters<typeof runRoomCommand>[1],
  ) => {
    const { context, envelope } = commandFrom(request, deps.clock);
    return runRoomCommand(deps.eventStore, build(context), envelope, {
      maxRetries: deps.config.COMMAND_MAX_RETRIES,
      ifRevision: ifMatchRevision(request),
    });
  };

  app.post(
    '/api/rooms',
    {
      config: { access: ['landlord'] },
      schema: {
        tags,
        summary: 'Create a room (a draft until published)',
        headers: IdempotencyHeaders,
        body: CreateRoomBody,
        response: { 201: RoomAccepted, ...writeErrors },
      },
    },
    async (request, reply) => {
      const roomId = newAggregateId(request, 'room');
      const body = request.body;
      const location = body.location ?? (await locate(deps, body.address));
      const result = await run(request, (context) => ({
        type: 'CreateRoom',
        data: { roomId, ...body, location },
        context,
      }));
      return reply
        .code(201)
        .header('location', `/api/rooms/${roomId}`)
        .send(accepted(roomId, result.state, result.position, result.revision));
    },
  );

  app.put(
    '/api/rooms/:id',
    {
      config: { access: ['landlord', 'admin'] },
      schema: {
        tags,
        summary: 'Change a room (its landlord or an admin)',
        params: IdParams,
        headers: IfMatchHeaders,
        body: UpdateRoomBody,
        response: { 200: RoomAccepted, ...writeErrors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const changes = request.body;
      const result = await run(request, (context) => ({ type: 'UpdateRoom', data: { roomId: id, changes }, context }));
      return accepted(id, result.state, result.position, result.revision);
    },
  );

  for (const action of ['publish', 'unpublish'] as const) {
    app.post(
      `/api/rooms/:id/${action}`,
      {
        config: { access: ['landlord', 'admin'] },
        schema: {
          tags,
          summary:
            action === 'publish' ? 'Show the room to tenants (422 when incomplete)' : 'Hide the room from tenants',
          params: IdParams,
          headers: IfMatchHeaders,
          response: { 200: RoomAccepted, ...writeErrors },
        },
      },
      async (request) => {
        const { id } = request.params;
        const result = await run(request, (context) =>
          action === 'publish'
            ? { type: 'PublishRoom', data: { roomId: id }, context }
            : { type: 'UnpublishRoom', data: { roomId: id }, context },
        );
        return accepted(id, result.state, result.position, result.revision);
      },
    );
  }

  app.put(
    '/api/rooms/:id/availability',
    {
      config: { access: ['landlord', 'admin'] },
      schema: {
        tags,
        summary:
          'Set the dates the room is not available (`to` exclusive). New blocks start today or later (422 BLOCK_IN_PAST) and end within AVAILABILITY_HORIZON_DAYS (422 BLOCK_BEYOND_HORIZON); blocks already in the past stay as they were',
        params: IdParams,
        headers: IfMatchHeaders,
        body: AvailabilityBody,
        response: {
          200: Type.Object({
            id: Type.String(),
            blocked: Type.Array(Type.Object({ from: IsoDate, to: IsoDate })),
            position: Type.Union([Position, Type.Null()]),
            revision: Type.String(),
          }),
          ...writeErrors,
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { blocked } = request.body;
      const { context, envelope } = commandFrom(request, deps.clock);
      const result = await setBlockedDates(
        deps.eventStore,
        {
          type: 'SetBlockedDates',
          data: { roomId: id, blocked, horizonDays: deps.config.AVAILABILITY_HORIZON_DAYS },
          context,
        },
        envelope,
        {
          maxRetries: deps.config.COMMAND_MAX_RETRIES,
          ifRevision: ifMatchRevision(request),
          snapshots: deps.snapshots,
        },
      );
      return {
        id,
        blocked: [...blockedDatesOf(result.state)],
        position: result.position?.toString() ?? null,
        revision: result.revision?.toString() ?? '0',
      };
    },
  );

  app.get(
    '/api/rooms/:id',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'A room; drafts and unpublished rooms only for their landlord and admins',
        params: IdParams,
        headers: MinPositionHeaders,
        response: { 200: Room, ...errors(400, 401, 404, 503) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await honourMinPosition(deps, request, 'rooms');
      const room = await deps.orm.em.fork().findOne(RoomView, { id });
      const user = request.user;
      const mayseeHidden =
        user && (user.role === 'admin' || (user.role === 'landlord' && user.sub === room?.landlordId));
      if (!room || (room.status !== 'published' && !mayseeHidden)) {
        throw new ApiError(404, 'ROOM_NOT_FOUND', 'room not found');
      }
      void reply.header('etag', `"${room.revision}"`);
      const isOwner = user && (user.role === 'admin' || user.sub === room.landlordId);
      return {
        ...(isOwner ? { calendarUrl: calendarPath(deps.calendarLinkKey, room.id) } : {}),
        ...room,
        status: room.status as typeof RoomStatus.static,
        createdAt: room.createdAt.toISOString(),
        updatedAt: room.updatedAt.toISOString(),
        publishedAt: room.publishedAt?.toISOString() ?? null,
        revision: room.revision.toString(),
      };
    },
  );
};
