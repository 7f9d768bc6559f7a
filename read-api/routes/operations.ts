import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { projectionStatuses } from '../../projections/status.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { errors, Position } from '../schemas.js';

const ProjectionStatus = Type.Object({
  name: Type.String(),
  version: Type.Integer(),
  status: Type.Union([
    Type.Literal('live'),
    Type.Literal('catching_up'),
    Type.Literal('rebuilding'),
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
});

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
};
