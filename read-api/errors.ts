import { type Static, Type } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConcurrencyConflict, PreconditionFailed } from '../commands/handleCommand.js';
import { DomainError, type ErrorKind } from '../domain/shared/errors.js';
import { DuplicateEventId, WrongExpectedVersion } from '../infra/eventStore/eventStore.js';
import { FileStoreFull } from '../infra/fileStore/fileStore.js';
import { GeocoderUnavailable } from '../infra/geocoding/geocoder.js';
import { MinPositionTimeout } from '../projections/status.js';

export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'machine-readable code, e.g. ROOM_NOT_FOUND' }),
    message: Type.String({ description: 'for people' }),
    details: Type.Optional(Type.Unknown()),
  },
  { $id: 'Error', description: 'every error answer has this shape' },
);
export type ErrorBody = Static<typeof ErrorBody>;

/** An HTTP answer a route decides on directly (404, 412, 503, ...). */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const statusOfKind: Record<ErrorKind, number> = {
  validation: 422,
  forbidden: 403,
  not_found: 404,
  illegal_state: 422,
  conflict: 409,
};

const fastifyCodes: Record<string, [number, string, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'PAYLOAD_TOO_LARGE', 'the request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE', 'send JSON with Content-Type: application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'BAD_REQUEST', 'Content-Length does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'VALIDATION_FAILED', 'the JSON body is empty'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'MALFORMED_JSON', 'the body is not valid JSON'],
};

const frameworkCodes: Record<string, [string, string]> = {
  FST_ERR_BAD_URL: ['BAD_URL', 'the URL is not valid (bad percent-encoding?)'],
  FST_ERR_MAX_PARAM_LENGTH: ['URI_TOO_LONG', 'a path parameter is too long'],
};

/**
 * Errors Fastify meets before any route is chosen (a bad URL, an overlong path parameter): the same
 * `{ error, message }` shape, with our codes, as everything else.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const [code, message] = frameworkCodes[error.code] ?? ['BAD_REQUEST', 'the request could not be read'];
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  void reply.code(status).send({ error: code, message });
}

/** The one place errors become HTTP answers (API.md: `{ error, message, details? }`). */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send({ error: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    const send = (status: number, body: ErrorBody) => reply.code(status).send(body);
    if (error instanceof ApiError) {
      for (const [name, value] of Object.entries(error.headers)) void reply.header(name, value);
      return send(error.statusCode, { error: error.code, message: error.message, details: error.details });
    }
    if (error instanceof DomainError) {
      return send(statusOfKind[error.kind], { error: error.code, message: error.message, details: error.details });
    }
    if (error instanceof ConcurrencyConflict || error instanceof WrongExpectedVersion) {
      return send(409, {
        error: 'CONCURRENCY_CONFLICT',
        message: 'the resource changed while the request ran; try again',
      });
    }
    if (error instanceof PreconditionFailed) {
      return send(412, {
        error: 'PRECONDITION_FAILED',
        message: 'the resource changed since the ETag you sent',
        details: { currentRevision: error.actual?.toString() ?? null },
      });
    }
    if (error instanceof DuplicateEventId) {
      return send(409, { error: 'DUPLICATE_REQUEST', message: 'this request was already applied differently' });
    }
    if (error instanceof GeocoderUnavailable) {
      void reply.header('retry-after', String(error.retryAfterSeconds));
      return send(503, {
        error: 'GEOCODER_UNAVAILABLE',
        message: 'the address could not be located right now: try again, or give the location ({ lat, lng })',
      });
    }
    if (error instanceof FileStoreFull) {
      request.log.error({ err: error }, 'file store full');
      void reply.header('retry-after', '60');
      return send(507, {
        error: 'INSUFFICIENT_STORAGE',
        message: 'there is no room to store the file right now: nothing was saved, try again later',
      });
    }
    if (error instanceof MinPositionTimeout) {
      void reply.header('retry-after', '1');
      return send(503, { error: 'NOT_CAUGHT_UP', message: error.message, details: { projection: error.projection } });
    }
    const fastifyError = error as FastifyError;
    if (fastifyError.validation) {
      return send(400, {
        error: 'VALIDATION_FAILED',
        message: `${fastifyError.validationContext ?? 'request'}: ${fastifyError.message}`,
        details: fastifyError.validation.map((v) => ({
          in: fastifyError.validationContext,
          path: v.instancePath || (v.params as { missingProperty?: string })?.missingProperty || '',
          message: v.message,
        })),
      });
    }
    const known = fastifyError.code ? fastifyCodes[fastifyError.code] : undefined;
    if (known) return send(known[0], { error: known[1], message: known[2] });
    if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
      return send(fastifyError.statusCode, {
        error: fastifyError.code ?? 'BAD_REQUEST',
        message: fastifyError.message,
      });
    }
    if (isUnavailable(error)) {
      request.log.error({ err: error }, 'dependency unavailable');
      void reply.header('retry-after', '5');
      return send(503, { error: 'SERVICE_UNAVAILABLE', message: 'a dependency is unavailable; try again shortly' });
    }
    request.log.error({ err: error }, 'unhandled error');
    return send(500, { error: 'INTERNAL', message: 'something went wrong on our side' });
  });
}

function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  // ioredis gives up on a command while Redis is away with this error, which has no code.
  if ((error as Error).name === 'MaxRetriesPerRequestError') return true;
  if ((error as Error).message?.startsWith("Stream isn't writeable and enableOfflineQueue")) return true;
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '53300'].includes(code);
}
