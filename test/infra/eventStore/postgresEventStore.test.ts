import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { type NewEvent, toArray } from '../../../infra/eventStore/eventStore.js';
import { canonicalJson } from '../../../infra/eventStore/hashChain.js';
import { PostgresEventStore } from '../../../infra/eventStore/postgres/postgresEventStore.js';
import { eventStoreContract, newEvent } from '../../contracts/eventStore.contract.js';
import { createTestDatabase } from '../../support/database.js';

eventStoreContract('postgres', async () => {
  const db = await createTestDatabase(30);
  // The fallback poll is set far above what the tests allow, so only LISTEN/NOTIFY can deliver live events.
  const open = () => new PostgresEventStore({ pool: db.pool, connectionString: db.url, pollIntervalMs: 60_000 });
  const store = open();
  const others: PostgresEventStore[] = [];
  return {
    store,
    eventIdsUniqueAcrossStreams: true,
    async openAnother() {
      const pool = new pg.Pool({ connectionString: db.url, max: 4 });
      const other = new PostgresEventStore({ pool, connectionString: db.url, pollIntervalMs: 60_000, ownsPool: true });
      others.push(other);
      return other;
    },
    async appendHeldOpen(streamId: string, events: NewEvent[], holdMs: number) {
      // The adapter's own append, inside a transaction that stays open after positions are taken.
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT * FROM event_store.append_batch($1, $2, $3, $4::uuid[], $5, $6, $7, $8)', [
          [streamId],
          [-2],
          [events.length],
          events.map((e) => e.eventId),
          events.map((e) => e.type),
          events.map((e) => e.schemaVersion),
          events.map((e) => canonicalJson(e.data)),
          events.map((e) => canonicalJson(e.metadata)),
        ]);
        await client.query('SELECT pg_sleep($1)', [holdMs / 1000]);
        await client.query('COMMIT');
        await client.query("SELECT pg_notify('roomline_events', '')");
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async cleanup() {
      await Promise.all(others.map((o) => o.close()));
      await store.close();
      await db.drop();
    },
  };
});

describe('postgres event store: readAll while an older transaction is open', () => {
  it('includes an event appended before the call, once the older transaction ends', async () => {
    const db = await createTestDatabase(4);
    const store = new PostgresEventStore({ pool: db.pool });
    const blocker = await db.pool.connect();
    try {
      const before = await store.headPosition();
      // An unrelated transaction with a transaction id, older than the append, still open.
      await blocker.query('BEGIN');
      await blocker.query('SELECT pg_current_xact_id()');
      const stream = `Open-${randomUUID()}`;
      await store.append(stream, [newEvent()], { expectedRevision: 'no_stream' });
      setTimeout(() => void blocker.query('COMMIT'), 200);
      const started = Date.now();
      const read = await toArray(store.readAll({ fromPosition: before }));
      expect(read.map((e) => e.streamId)).toContain(stream);
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    } finally {
      blocker.release();
      await store.close();
      await db.drop();
    }
  });
});
