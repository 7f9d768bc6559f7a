import type { FastifyRequest } from 'fastify';
import { v5 as uuidv5, v7 as uuidv7 } from 'uuid';
import type { CommandEnvelope } from '../commands/handleCommand.js';
import type { CommandContext } from '../domain/shared/decider.js';
import type { Clock } from '../infra/clock/clock.js';
import { ApiError } from './errors.js';

const ID_NAMESPACE = '0b7e5a52-19f5-4a0c-8d0e-6f3b8c2a9e41';

/** What every command from this request carries: actor, time, ids, and the idempotency seed. */
export function commandFrom(
  request: FastifyRequest,
  clock: Clock,
): { context: CommandContext; envelope: CommandEnvelope } {
  const user = request.user;
  if (!user) throw new ApiError(401, 'UNAUTHENTICATED', 'sign in first');
  const now = clock.now().toISOString();
  const idSeed = request.idempotency ? `${request.idempotency.scope}|${request.idempotency.key}` : undefined;
  return {
    context: { actorId: user.sub, actorRole: user.role, now },
    envelope: {
      now,
      idSeed,
      // Time-ordered ids keep the event-id index append-mostly (random ids touch a new leaf per event).
      newId: uuidv7,
      metadata: {
        correlationId: request.correlationId,
        causationId: null,
        actorId: user.sub,
        actorRole: user.role,
        requestId: request.id,
      },
    },
  };
}

/** A new aggregate id; with an Idempotency-Key, the same one for every retry of the request. */
export function newAggregateId(request: FastifyRequest, purpose: string): string {
  return request.idempotency
    ? uuidv5(`${request.idempotency.scope}|${request.idempotency.key}|${purpose}`, ID_NAMESPACE)
    : uuidv7();
}

/** `If-Match: "<revision>"` as a revision, or undefined. */
export function ifMatchRevision(request: FastifyRequest): bigint | undefined {
  const header = request.headers['if-match'];
  if (header === undefined) return undefined;
  const match = typeof header === 'string' ? /^(?:W\/)?"?(\d{1,19})"?$/.exec(header.trim()) : null;
  if (!match) throw new ApiError(400, 'INVALID_IF_MATCH', 'If-Match must be an ETag from this API, e.g. "3"');
  return BigInt(match[1]!);
}
