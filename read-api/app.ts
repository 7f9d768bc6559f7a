import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { hasLoneSurrogate } from '../domain/shared/values.js';
import type { AppDeps } from './deps.js';
import { ApiError, frameworkErrors, registerErrorHandler } from './errors.js';
import { feedRoutes } from './feed/feedRoutes.js';
import { type Access, registerAuth } from './plugins/auth.js';
import { registerIdempotency } from './plugins/idempotency.js';
import { registerRequestContext, requestIdFrom } from './plugins/requestContext.js';
import { analyticsRoutes } from './routes/analytics.js';
import { auditRoutes } from './routes/audit.js';
import { bookingRoutes } from './routes/bookings.js';
import { identityRoutes } from './routes/identity.js';
import { messagingRoutes } from './routes/messaging.js';
import { notificationRoutes } from './routes/notifications.js';
import { operationRoutes } from './routes/operations.js';
import { pageRoutes } from './routes/pages.js';
import { photoRoutes } from './routes/photos.js';
import { reviewRoutes } from './routes/reviews.js';
import { roomCalendarRoutes } from './routes/roomCalendar.js';
import { roomRoutes } from './routes/rooms.js';
import { savedSearchRoutes } from './routes/savedSearches.js';
import { searchRoutes } from './routes/search.js';
import { universityRoutes } from './routes/universities.js';
import { errors } from './schemas.js';

function describeAccess(access: Access): string {
  if (access === 'public') return 'Access: anyone.';
  if (access === 'authenticated') return 'Access: any signed-in user.';
  return `Access: ${access.join(', ')}.`;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Routes the rate limit skips (see its allowList). */
const UNLIMITED = /^\/(health|metrics|docs)(\/|$)/;

/**
 * The error answers the app's plugins can give on a route, whatever its handler does, so that the OpenAPI
 * document lists them: 400 (validation), 414 (a path parameter too long), 401 (a bad token, even on a public route), 403 (roles), 413/415 (bodies),
 * 429 (the global rate limit), 500, and 503 (a dependency down, a read not caught up, shutting down).
 */
function commonErrorStatuses(
  url: string,
  methods: string[],
  access: Access,
  schema: { params?: unknown; querystring?: unknown; headers?: unknown; body?: unknown },
): number[] {
  const hasBody = methods.some((m) => BODY_METHODS.has(m));
  const statuses = [401, 500, 503];
  if (hasBody || schema.params || schema.querystring || schema.headers || schema.body) statuses.push(400);
  if (Array.isArray(access)) statuses.push(403);
  if (url.includes(':')) statuses.push(414); // a path parameter longer than the router takes
  if (hasBody) statuses.push(413, 415);
  if (!UNLIMITED.test(url)) statuses.push(429);
  return statuses;
}

/**
 * OpenAPI fixes for what @fastify/swagger writes from the TypeBox schemas: a query parameter with a default is
 * optional (the server fills it in), and each operation gets an id (`get_api_rooms_id`) for clients and validators.
 */
function documentTruthfully<T>(openapiObject: T): T {
  const paths = (openapiObject as { paths?: Record<string, Record<string, Record<string, unknown>>> }).paths ?? {};
  for (const [path, operations] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const parameters = (operation.parameters ?? []) as Array<{ required?: boolean; schema?: { default?: unknown } }>;
      for (const parameter of parameters) {
        if (parameter.schema?.default !== undefined) parameter.required = false;
      }
      operation.operationId ??= `${method}_${path
        .replace(/[{}]/g, '')
        .replace(/[^A-Za-z0-9]+/g, '_')
        .replace(/^_|_$/g, '')}`;
    }
  }
  return openapiObject;
}

/** Text PostgreSQL cannot hold: U+0000, or a UTF-16 surrogate without its pair (no character at all). */
function unstorable(text: string): boolean {
  return text.includes('\u0000') || hasLoneSurrogate(text);
}

/** Whether a parsed request part holds a string (or key) PostgreSQL cannot store, however deep (bounded). */
function containsUnstorable(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return unstorable(value);
  if (depth > 32 || value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return false;
  if (Array.isArray(value)) return value.some((item) => containsUnstorable(item, depth + 1));
  return Object.entries(value).some(([key, item]) => unstorable(key) || containsUnstorable(item, depth + 1));
}

/** The names of a querystring schema's number and integer parameters. */
function numericQueryNames(schema: unknown): Set<string> {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> } | undefined)?.properties ?? {};
  return new Set(
    Object.entries(properties)
      .filter(([, property]) => property.type === 'integer' || property.type === 'number')
      .map(([name]) => name),
  );
}

/** The HTTP app: plugins, then routes. Listening is the caller's business (infra/main.ts, tests). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    genReqId: (request) => requestIdFrom(request.headers['x-request-id']) ?? randomUUID(),
    bodyLimit: config.BODY_LIMIT_BYTES,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true } },
    return503OnClosing: true,
    frameworkErrors,
    // One line per request, when it is answered (the hook below), instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
  });

  // Framework routes (the OpenAPI UI) are public; every route of ours must say who may call it.
  app.addHook('onRoute', (route) => {
    const framework = route.url.startsWith('/docs') || route.method === 'OPTIONS';
    if (!route.config?.access && framework) route.config = { ...route.config, access: 'public' };
    const access = route.config?.access;
    if (access && route.schema && !route.url.startsWith('/docs')) {
      const note = describeAccess(access);
      // GET and its HEAD share one schema object: the note goes in once.
      if (!route.schema.description?.endsWith(note)) {
        route.schema.description = route.schema.description ? `${route.schema.description}\n\n${note}` : note;
      }
      if (access !== 'public') route.schema.security = [{ bearerAuth: [] }];
      route.schema.response = {
        ...errors(...commonErrorStatuses(route.url, [route.method].flat(), access, route.schema)),
        ...(route.schema.response as Record<string, unknown> | undefined),
      };
    }
  });

  // PostgreSQL text cannot hold U+0000 nor an unpaired surrogate: an event carrying one is stored (the store's json
  // column keeps the escape as written), then fails every projection that writes it to a text column. Refused at
  // the door, for every route.
  app.addHook('preValidation', async (request) => {
    // Ajv coerces "Infinity" and "1e400" to a number that passes `integer` and `maximum` checks (Infinity % 1 is
    // NaN, which it does not catch) and reached SQL as 'Infinity': a numeric query parameter must be finite.
    const numeric = numericQueryNames(request.routeOptions.schema?.querystring);
    for (const [name, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
      if (!numeric.has(name)) continue;
      for (const text of [value].flat()) {
        if (typeof text === 'string' && !Number.isFinite(Number(text))) {
          throw new ApiError(400, 'VALIDATION_FAILED', `querystring: ${name} must be a finite number`);
        }
      }
    }
    const where = [request.params, request.query, request.body].findIndex((part) => containsUnstorable(part, 0));
    if (where >= 0) {
      throw new ApiError(
        400,
        'VALIDATION_FAILED',
        `${['params', 'querystring', 'body'][where]}: text may not contain U+0000 or an unpaired UTF-16 surrogate`,
      );
    }
  });

  // JSON only: anything else is 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');
  registerErrorHandler(app);
  registerRequestContext(app);
  registerAuth(
    app,
    {
      secret: config.JWT_SECRET,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    },
    (token) => deps.identity.denyList.isDenied(token),
  );

  // Graceful shutdown: requests in flight finish; their keep-alive connections then close, so
  // server.close() does not wait for idle sockets (Fastify's keep-alive timeout is 72 s).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) void reply.header('connection', 'close');
    return payload;
  });

  await app.register(helmet, {
    // The API answers JSON; only the documentation page needs scripts and styles of its own.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", 'https:', "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
      },
    },
  });
  const allowedOrigins = config.CORS_ORIGINS.split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  await app.register(cors, {
    origin: allowedOrigins.length > 0 ? allowedOrigins : false,
    credentials: true,
    exposedHeaders: ['etag', 'location', 'retry-after', 'x-request-id', 'x-correlation-id', 'idempotent-replayed'],
  });
  // After authentication (preHandler), so a signed-in user is counted as themselves, not as an address.
  await app.register(rateLimit, {
    hook: 'preHandler',
    max: config.RATE_LIMIT_PER_MINUTE,
    timeWindow: '1 minute',
    redis: deps.redis,
    nameSpace: 'roomline:rate-limit:',
    skipOnError: true,
    keyGenerator: (request) => (request.user ? `user:${request.user.sub}` : `ip:${request.ip}`),
    allowList: (request) => /^\/(health|metrics|docs)(\/|$)/.test(request.url),
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      code: 'RATE_LIMITED',
      message: `at most ${context.max} requests per minute; try again in ${Math.ceil(context.ttl / 1000)} s`,
    }),
  });

  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        req: request,
        res: { statusCode: reply.statusCode },
        userId: request.user?.sub,
        responseTime: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request completed',
    );
    deps.metrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Roomline API',
        version: '0.1.0',
        description:
          'Event-sourced room booking for exam candidates. Errors are `{ error, message, details? }`. ' +
          'Writes answer with `position`; send it back as `X-Min-Position` to read your own writes.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    transformObject: (documentObject) =>
      'openapiObject' in documentObject
        ? documentTruthfully(documentObject.openapiObject)
        : documentObject.swaggerObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  registerIdempotency(app, deps.pool);
  // Route plugins come after every hook above (auth, access notes, rate limit, idempotency, swagger): each
  // encapsulated context inherits the hooks its parent has when it loads, so they see every route.
  await app.register(operationRoutes, deps);
  await app.register(auditRoutes, deps);
  await app.register(identityRoutes, deps);
  await app.register(roomRoutes, deps);
  await app.register(photoRoutes, deps);
  await app.register(bookingRoutes, deps);
  await app.register(roomCalendarRoutes, deps);
  await app.register(universityRoutes, deps);
  await app.register(searchRoutes, deps);
  await app.register(messagingRoutes, deps);
  await app.register(feedRoutes, deps);
  await app.register(notificationRoutes, deps);
  await app.register(savedSearchRoutes, deps);
  await app.register(reviewRoutes, deps);
  await app.register(analyticsRoutes, deps);
  await app.register(pageRoutes);
  return app;
}
