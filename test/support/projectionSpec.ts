import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll } from 'vitest';
import type { DomainEvent } from '../../domain/shared/decider.js';
import { openOrm } from '../../infra/db/orm.js';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import type { PgProjection } from '../../projections/projection.js';
import { createTestDatabase, type TestDatabase } from './database.js';

let nextPosition = 1000n;

/** A domain event as the store would deliver it, at the next position of this test run. */
export function recordedEvent(streamId: string, revision: number, event: DomainEvent): RecordedEvent {
  nextPosition += 1n;
  return {
    eventId: randomUUID(),
    streamId,
    revision: BigInt(revision),
    position: nextPosition,
    type: event.type,
    schemaVersion: 1,
    data: event.data,
    metadata: {
      correlationId: randomUUID(),
      causationId: null,
      actorId: null,
      actorRole: null,
      occurredAt: '2027-01-05T10:00:00.000Z',
      requestId: null,
    },
    recordedAt: '2027-01-05T10:00:00.000Z',
    hash: 'x',
    previousHash: 'x',
  };
}

/**
 * A projection spec: a database of its own for the file, and `apply` / `reset` in a transaction as the
 * runner would run them ("given these events, then these rows").
 */
export function projectionSpec(projection: PgProjection) {
  let db: TestDatabase;
  let orm: MikroORM;
  beforeAll(async () => {
    db = await createTestDatabase(4);
    orm = await openOrm(db.url, 4);
  });
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
  });
  return {
    get db() {
      return db;
    },
    get orm() {
      return orm;
    },
    apply: (events: RecordedEvent[]) => orm.em.fork().transactional((tx) => projection.apply(tx, events)),
    reset: () => orm.em.fork().transactional((tx) => projection.reset(tx)),
  };
}
