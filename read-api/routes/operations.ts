import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import {
  type ParkedEvent,
  parkedEvent,
  parkedEvents,
  requestParked,
  requestRebuild,
  requestStreamRebuild,
  setPaused,
  streamRebuild,
} from '../../projections/operations.js';
import { type PgProjection, rebuildsBeside } from '../../projections/projection.js';
import { projectionStatuses } from '../../projections/status.js';
import { type CursorCodec, cursorCodec, invalidCursor } from '../cursor.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { errors, IdParams, IsoInstant, Position, StreamIdParams } from '../schemas.js';

const OPERATORS = ['support', 'admin'] as const;

const RebuildProgress = Type.Object({
  status: Type.Union([
    Type.Literal('requested'),
    Type.Literal('running'),
    Type.Literal('done'),
    Type.Literal('failed'),
  ]),
  version: Type.Integer(),
  startedAt: IsoInstant,
  updatedAt: IsoInstant,
  finishedAt: Type.Union([IsoInstant, Type.Null()]),
  position: Position,
  targetPosition: Position,
  progress: Type.Number({ minimum: 0, maximum: 1 }),
  eventsApplied: Type.Integer(),
  eventsPerSecond: Type.Integer(),
  etaSeconds: Type.Union([Type.Integer(), Type.Null()], { description: 'at the rate so far' }),
  error: Type.Union([Type.String(), Type.Null()]),
});

const ProjectionStatus = Type.Object({
  name: Type.String(),
  version: Type.Integer(),
  status: Type.Union([
    Type.Literal('live'),
    Type.Literal('catching_up'),
    Type.Literal('rebuilding'),
    Type.Literal('paused'),
    Type.Literal('no_runner'),
    Type.Literal('error'),
  ]),
  checkpoint: Position,
  headPosition: Position,
  lagEvents: Type.Integer({ description: 'events not yet applied, counted up to 10,000' }),
  lagMs: Type.Integer({ description: 'age of the oldest event not yet applied' }),
  parkedEvents: Type.Integer(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  active: Type.Boolean({ description: 'a runner holds the lease' }),
  rebuildable: Type.Boolean({ description: 'rebuilds blue/green while its tables serve' }),
  streamRebuildable: Type.Boolean({ description: 'rebuilds the rows of one stream' }),
  onPoison: Type.Union([Type.Literal('skip'), Type.Literal('stop')], {
    description: 'at an event it cannot apply: parks it and goes past, or parks it and stops there',
  }),
  rebuild: Type.Optional(RebuildProgress),
});

const NameParams = Type.Object({ name: Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$', maxLength: 63 }) });

const StreamRebuild = Type.Object({
  id: Type.String(),
  projection: Type.String(),
  streamId: Type.String(),
  status: Type.Union([Type.Literal('requested'), Type.Literal('done'), Type.Literal('failed')]),
  requestedAt: IsoInstant,
  finishedAt: Type.Union([IsoInstant, Type.Null()]),
  position: Type.Union([Position, Type.Null()], { description: 'the checkpoint the rows were made at' }),
  events: Type.Union([Type.Integer(), Type.Null()], { description: 'events applied' }),
  error: Type.Union([Type.String(), Type.Null()]),
});

const ParkedStatus = Type.Union(
  [
    Type.Literal('parked'),
    Type.Literal('retry'),
    Type.Literal('retrying'),
    Type.Literal('retried'),
    Type.Literal('skip'),
    Type.Literal('skipped'),
    Type.Literal('rebuilt'),
  ],
  {
    description:
      'parked: waits for support; retry/skip: asked, the runner not there yet; retrying: a stopped projection applies it again; retried, skipped, rebuilt (a rebuild applied it): resolved',
  },
);

const Parked = Type.Object({
  id: Type.String(),
  projection: Type.String(),
  position: Position,
  eventId: Type.String(),
  streamId: Type.String(),
  type: Type.String(),
  error: Type.String(),
  status: ParkedStatus,
  attempts: Type.Integer(),
  parkedAt: IsoInstant,
  resolvedAt: Type.Union([IsoInstant, Type.Null()]),
});

const ParkedQuery = Type.Object(
  {
    projection: Type.Optional(NameParams.properties.name),
    status: Type.Optional(
      Type.Union([Type.Literal('open'), Type.Literal('all')], { default: 'open', description: 'open: not resolved' }),
    ),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  },
  { additionalProperties: false },
);

/** The page's last [projection, position], from a cursor this list signed. */
function parkedAfter(codec: CursorCodec, scope: string, cursor: string | undefined): [string, string] | null {
  if (!cursor) return null;
  const value = codec.decode(scope, cursor);
  if (
    Array.isArray(value) &&
    value.length === 2 &&
    typeof value[0] === 'string' &&
    typeof value[1] === 'string' &&
    /^\d{1,19}$/.test(value[1])
  ) {
    return [value[0], value[1]];
  }
  throw invalidCursor();
}

/** How long a retry or a skip waits for the runner's answer before it answers with the event as it stands. */
const PARKED_ANSWER_MS = 5000;

/** Status only: what went wrong goes to the log, never to an anonymous caller. */
const Check = Type.Object({ status: Type.Union([Type.Literal('ok'), Type.Literal('down')]) });

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Whether the request carries `Authorization: Bearer <token>`; compared in constant time. */
function carriesToken(request: FastifyRequest, token: string): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  return match !== null && timingSafeEqual(digest(match[1]!), digest(token));
}

export const operationRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  const metricsToken = deps.config.METRICS_TOKEN;
  app.get(
    '/health/live',
    {
      config: { access: 'public' },
      schema: {
        tags: ['operations'],
        summary: 'The process is up',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/health/ready',
    {
      config: { access: 'public' },
      schema: {
        tags: ['operations'],
        summary: 'Every dependency answers (PostgreSQL, Redis)',
        response: {
          200: Type.Object({ status: Type.Literal('ready'), checks: Type.Record(Type.String(), Check) }),
          503: Type.Object({ status: Type.Literal('unavailable'), checks: Type.Record(Type.String(), Check) }),
        },
      },
    },
    async (request, reply) => {
      const withTimeout = async (name: string, check: () => Promise<unknown>): Promise<typeof Check.static> => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            check(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error('no answer within 2 s')), 2000);
            }),
          ]);
          return { status: 'ok' };
        } catch (error) {
          request.log.warn({ dependency: name, err: (error as Error).message }, 'readiness check failed');
          return { status: 'down' };
        } finally {
          clearTimeout(timer);
        }
      };
      const [postgres, redis] = await Promise.all([
        withTimeout('postgres', () => deps.pool.query('SELECT 1')),
        withTimeout('redis', () => deps.redis.ping()),
      ]);
      const checks = { postgres, redis };
      if (postgres.status === 'ok' && redis.status === 'ok') return { status: 'ready' as const, checks };
      return reply
        .code(503)
        .header('retry-after', '5')
        .send({ status: 'unavailable' as const, checks });
    },
  );

  app.get(
    '/metrics',
    {
      // The metrics token is no access token: the handler checks it, not the auth plugin.
      config: { access: 'public', ownBearerToken: Boolean(metricsToken) },
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics',
        description:
          'A fixed number of small queries whatever the projections lag (projection_lag_positions). With METRICS_TOKEN set, it needs `Authorization: Bearer <METRICS_TOKEN>`.',
        hide: false,
        response: {
          200: {
            description: 'Prometheus text exposition format',
            content: { 'text/plain': { schema: Type.String() } },
          },
          ...errors(401),
        },
      },
    },
    async (request, reply) => {
      if (metricsToken && !carriesToken(request, metricsToken)) {
        throw new ApiError(401, 'UNAUTHENTICATED', 'use Authorization: Bearer <METRICS_TOKEN>');
      }
      const text = await deps.metrics.registry.metrics();
      return reply.type(deps.metrics.registry.contentType).send(text);
    },
  );

  app.get(
    '/api/ops/projections',
    {
      config: { access: ['support', 'admin'] },
      schema: {
        tags: ['operations'],
        summary: 'Every projection: checkpoint, head, lag, parked events',
        response: { 200: Type.Array(ProjectionStatus), ...errors(401, 403) },
      },
    },
    async () => projectionStatuses(deps.pool, deps.eventStore, deps.projections),
  );

  const named = (name: string): PgProjection => {
    const projection = deps.projections.find((p) => p.name === name);
    if (!projection) throw new ApiError(404, 'PROJECTION_NOT_FOUND', `no projection is named ${name}`);
    return projection;
  };

  app.post(
    '/api/ops/projections/:name/rebuild',
    {
      config: { access: [...OPERATORS], idempotent: false },
      schema: {
        tags: ['operations'],
        summary: 'Rebuild a projection beside the live one (blue/green); reads keep working',
        description:
          'The new version builds in copies of its tables from the first event, catches up with the head and is switched in at once; progress shows in GET /api/ops/projections. Asked again while one runs, it starts no second one.',
        params: NameParams,
        response: {
          202: Type.Object({
            name: Type.String(),
            status: Type.Union([Type.Literal('requested'), Type.Literal('already')]),
          }),
          ...errors(401, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const projection = named(request.params.name);
      if (!rebuildsBeside(projection)) {
        throw new ApiError(
          409,
          'NOT_REBUILDABLE',
          `${projection.name} keeps no tables of its own to build beside (a process manager, a publisher, or a store outside PostgreSQL); bump its version to rebuild it in place`,
        );
      }
      const status = await requestRebuild(deps.pool, projection, request.user!.sub);
      return reply.code(202).send({ name: projection.name, status });
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post(
      `/api/ops/projections/:name/${action}`,
      {
        config: { access: [...OPERATORS], idempotent: false },
        schema: {
          tags: ['operations'],
          summary:
            action === 'pause'
              ? 'Pause a projection: it applies nothing until resumed; its reads go on'
              : 'Resume a paused projection',
          params: NameParams,
          response: {
            202: Type.Object({ name: Type.String(), paused: Type.Boolean() }),
            ...errors(401, 403, 404),
          },
        },
      },
      async (request, reply) => {
        const projection = named(request.params.name);
        await setPaused(deps.pool, projection.name, action === 'pause', request.user!.sub);
        return reply.code(202).send({ name: projection.name, paused: action === 'pause' });
      },
    );
  }

  app.post(
    '/api/ops/projections/:name/streams/:streamId/rebuild',
    {
      config: { access: [...OPERATORS], idempotent: false },
      schema: {
        tags: ['operations'],
        summary: "Rebuild one stream's rows (one booking, one room) without replaying everything",
        description: 'Done by the runner between two batches; follow it at GET /api/ops/stream-rebuilds/{id}.',
        params: Type.Composite([NameParams, StreamIdParams]),
        response: { 202: StreamRebuild, ...errors(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const projection = named(request.params.name);
      if (!projection.streamRows) {
        throw new ApiError(409, 'STREAM_REBUILD_UNSUPPORTED', `${projection.name} does not rebuild one stream's rows`);
      }
      const queued = await requestStreamRebuild(
        deps.pool,
        randomUUID(),
        projection.name,
        request.params.streamId,
        request.user!.sub,
      );
      return reply.code(202).header('location', `/api/ops/stream-rebuilds/${queued.id}`).send(queued);
    },
  );

  app.get(
    '/api/ops/stream-rebuilds/:id',
    {
      config: { access: [...OPERATORS] },
      schema: {
        tags: ['operations'],
        summary: 'How a rebuild of one stream went',
        params: IdParams,
        response: { 200: StreamRebuild, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const found = await streamRebuild(deps.pool, request.params.id);
      if (!found) throw new ApiError(404, 'STREAM_REBUILD_NOT_FOUND', 'no stream rebuild has this id');
      return found;
    },
  );

  app.get(
    '/api/ops/parked-events',
    {
      config: { access: [...OPERATORS] },
      schema: {
        tags: ['operations'],
        summary: 'Events a projection could not apply, with their error, by projection and position',
        querystring: ParkedQuery,
        response: {
          200: Type.Object({ items: Type.Array(Parked), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
          ...errors(400, 401, 403),
        },
      },
    },
    async (request) => {
      const { projection, status = 'open', cursor, limit = 100 } = request.query;
      const scope = `parked:${projection ?? '*'}:${status}`;
      const codec = cursorCodec(deps.config);
      const after = parkedAfter(codec, scope, cursor);
      const items = await parkedEvents(deps.pool, {
        ...(projection ? { projection } : {}),
        open: status === 'open',
        after,
        limit: limit + 1,
      });
      const page = items.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page,
        nextCursor: items.length > limit && last ? codec.encode(scope, [last.projection, last.position]) : null,
      };
    },
  );

  for (const action of ['retry', 'skip'] as const) {
    app.post(
      `/api/ops/parked-events/:id/${action}`,
      {
        config: { access: [...OPERATORS], idempotent: false },
        schema: {
          tags: ['operations'],
          summary:
            action === 'retry'
              ? 'Apply a parked event again (its stream rebuilt, where the projection can)'
              : 'Leave a parked event out for good',
          description: `Answers once the runner has (within ${PARKED_ANSWER_MS / 1000} s; else with status ${action}, still to be done).`,
          params: IdParams,
          response: { 200: Parked, ...errors(401, 403, 404, 409) },
        },
      },
      async (request) => {
        const asked = await requestParked(deps.pool, request.params.id, action, request.user!.sub);
        if (!asked) throw new ApiError(404, 'PARKED_EVENT_NOT_FOUND', 'no parked event has this id');
        if (asked.status !== action) {
          throw new ApiError(409, 'PARKED_EVENT_NOT_WAITING', `this event is ${asked.status}, not waiting`, {
            status: asked.status,
          });
        }
        return awaitAnswer(asked, action);
      },
    );
  }

  /** The event once the runner has taken the request up (retried, parked again, skipped), or as it stands. */
  async function awaitAnswer(asked: ParkedEvent, action: 'retry' | 'skip'): Promise<ParkedEvent> {
    const deadline = Date.now() + PARKED_ANSWER_MS;
    let current = asked;
    for (let delay = 20; Date.now() < deadline; delay = Math.min(delay * 2, 250)) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      current = (await parkedEvent(deps.pool, asked.id)) ?? current;
      if (current.status !== action) return current;
    }
    return current;
  }
};
