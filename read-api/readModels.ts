import type { FastifyRequest } from 'fastify';
import { waitForCheckpoint } from '../projections/status.js';
import type { AppDeps } from './deps.js';
import { ApiError } from './errors.js';

/** Helpers of the routes that read read models. */

/** Waits for X-Min-Position on each of the given projections (read-your-writes). */
export async function honourMinPosition(
  deps: AppDeps,
  request: FastifyRequest,
  names: string | readonly string[],
): Promise<void> {
  const header = request.headers['x-min-position'];
  if (typeof header !== 'string') return;
  if (!/^\d{1,19}$/.test(header)) {
    throw new ApiError(400, 'INVALID_MIN_POSITION', 'X-Min-Position is an event store position (a decimal string)');
  }
  const position = BigInt(header);
  // A position no write has reached yet can only be a mistake (or another store's): waiting would end in a 503.
  const head = await deps.eventStore.headPosition();
  if (position > head) {
    throw new ApiError(400, 'MIN_POSITION_AHEAD', `X-Min-Position ${header} is beyond the newest event (${head})`, {
      headPosition: head.toString(),
    });
  }
  for (const name of typeof names === 'string' ? [names] : names) {
    const projection = deps.projections.find((p) => p.name === name);
    if (!projection) throw new Error(`no projection named ${name}`);
    await waitForCheckpoint(deps.pool, projection, position, deps.config.MIN_POSITION_WAIT_MS);
  }
}

/** A calendar date column as `YYYY-MM-DD`, whether the driver gave a Date or a string. */
export const dateOnly = (value: unknown): string =>
  (value instanceof Date ? value.toISOString() : String(value)).slice(0, 10);
