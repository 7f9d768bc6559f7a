import { randomUUID } from 'node:crypto';
import type { NewEvent } from '../../../infra/eventStore/eventStore.js';

/** An event as a command of `actorId` would append it now, for tests that write the store directly. */
export function newEvent(type: string, data: unknown, actorId: string, actorRole = 'landlord'): NewEvent {
  return {
    eventId: randomUUID(),
    type,
    schemaVersion: 1,
    data,
    metadata: {
      correlationId: randomUUID(),
      causationId: null,
      actorId,
      actorRole,
      occurredAt: new Date().toISOString(),
      requestId: null,
    },
  };
}
