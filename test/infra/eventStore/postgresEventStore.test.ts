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

describe('postgres event store: whole-stream reads asked for at once', () => {
  it('share queries, and each caller gets its own stream whole and in order, past one page too', async () => {
    const db = await createTestDatabase(8);
    const store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, pollIntervalMs: 60_000 });
    try {
      // 300 streams (more than one batch takes) of 0 to 4 events, one of 2,500 events (beyond a page), one missing.
      const lengths = new Map<string, number>();
      for (let i = 0; i < 300; i++) lengths.set(`Batched-${randomUUID()}`, i % 5);
      const long = `Batched-long-${randomUUID()}`;
      lengths.set(long, 2_500);
      await Promise.all(
        [...lengths].map(async ([streamId, length]) => {
          for (let from = 0; from < length; from += 1_000) {
            const events = Array.from({ length: Math.min(1_000, length - from) }, (_, k) =>
              newEvent('Counted', { streamId, k: from + k }),
            );
            await store.append(streamId, events, { expectedRevision: from === 0 ? 'no_stream' : BigInt(from - 1) });
          }
        }),
      );
      const missing = `Batched-missing-${randomUUID()}`;
      lengths.set(missing, 0);
      let statements = 0;
      const query = db.pool.query.bind(db.pool);
      db.pool.query = ((...args: Parameters<typeof query>) => {
        statements++;
        return query(...args);
      }) as typeof db.pool.query;
      // The same stream asked for twice at once is answered twice.
      const asked = [...lengths.keys(), long];
      const read = await Promise.all(asked.map((streamId) => toArray(store.readStream(streamId))));
      asked.forEach((streamId, index) => {
        const events = read[index]!;
        expect(events.map((e) => e.streamId).every((id) => id === streamId)).toBe(true);
        expect(events.map((e) => Number(e.revision))).toEqual(
          Array.from({ length: lengths.get(streamId)! }, (_, k) => k),
        );
        expect(events.map((e) => (e.data as { k: number }).k)).toEqual(
          Array.from({ length: lengths.get(streamId)! }, (_, k) => k),
        );
      });
      // 302 streams in batches of at most 128: 3 batched queries, then the long stream's further pages (twice).
      expect(statements).toBeLessThanOrEqual(3 + 2 * 2);
    } finally {
      await store.close();
      await db.drop();
    }
  });
});
