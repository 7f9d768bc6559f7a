import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { type NewEvent, type RecordedEvent, toArray } from '../../../infra/eventStore/eventStore.js';
import { canonicalJson } from '../../../infra/eventStore/hashChain.js';
import { PostgresEventStore } from '../../../infra/eventStore/postgres/postgresEventStore.js';
import { APPEND_LOCK_CLASS } from '../../../infra/eventStore/postgres/schema.js';
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

describe('postgres event store: what holds readers back (decision 0001, addendum 2)', () => {
  const holdOpen = async (db: Awaited<ReturnType<typeof createTestDatabase>>, text: string, values: unknown[] = []) => {
    const client = await db.pool.connect();
    await client.query('BEGIN');
    await client.query(text, values);
    let ended = false;
    return {
      get ended() {
        return ended;
      },
      async commit() {
        ended = true;
        await client.query('COMMIT');
        client.release();
      },
    };
  };

  it('an open transaction that is not an append delays neither readAll nor a subscription', async () => {
    const db = await createTestDatabase(6);
    const store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, pollIntervalMs: 60_000 });
    // A read-model transaction: it holds a transaction id older than the append, and stays open.
    const readModel = await holdOpen(db, 'SELECT pg_current_xact_id()');
    try {
      const before = await store.headPosition();
      const subscription = store.subscribe({ fromPosition: before });
      const stream = `Unrelated-${randomUUID()}`;
      await store.append(stream, [newEvent()], { expectedRevision: 'no_stream' });
      const read = await toArray(store.readAll({ fromPosition: before }));
      expect(read.map((e) => e.streamId)).toEqual([stream]);
      for await (const batch of subscription) {
        if (batch.events.length === 0) continue;
        expect(batch.events.map((e) => e.streamId)).toEqual([stream]);
        break;
      }
      await subscription.close();
      expect(readModel.ended).toBe(false);
    } finally {
      await readModel.commit();
      await store.close();
      await db.drop();
    }
  });

  it('an older append still open holds readAll back until it commits, and then both are read', async () => {
    const db = await createTestDatabase(6);
    const store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, pollIntervalMs: 60_000 });
    const olderStream = `Older-${randomUUID()}`;
    const older = newEvent();
    const append = await holdOpen(
      db,
      'SELECT * FROM event_store.append_batch($1, $2, $3, $4::uuid[], $5, $6, $7, $8)',
      [
        [olderStream],
        [-1],
        [1],
        [older.eventId],
        [older.type],
        [older.schemaVersion],
        [canonicalJson(older.data)],
        [canonicalJson(older.metadata)],
      ],
    );
    try {
      const before = await store.headPosition();
      const newerStream = `Newer-${randomUUID()}`;
      await store.append(newerStream, [newEvent()], { expectedRevision: 'no_stream' });
      setTimeout(() => void append.commit(), 200);
      const read = await toArray(store.readAll({ fromPosition: before }));
      // The newer append waited for the older one: read in position order, the older first.
      expect(append.ended).toBe(true);
      expect(read.map((e) => e.streamId)).toEqual([olderStream, newerStream]);
    } finally {
      if (!append.ended) await append.commit();
      await store.close();
      await db.drop();
    }
  });

  it('an append that holds the append lock before its transaction id shows falls back to the oldest open transaction', async () => {
    const db = await createTestDatabase(6);
    const store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, pollIntervalMs: 60_000 });
    const unrelated = await holdOpen(db, 'SELECT pg_current_xact_id()');
    // The moment inside append_batch between taking the lock and being given an id, held still.
    const starting = await holdOpen(db, 'SELECT pg_advisory_xact_lock_shared($1, 0)', [APPEND_LOCK_CLASS]);
    try {
      const before = await store.headPosition();
      const stream = `Fallback-${randomUUID()}`;
      await store.append(stream, [newEvent()], { expectedRevision: 'no_stream' });
      setTimeout(() => void unrelated.commit(), 200);
      const read = await toArray(store.readAll({ fromPosition: before }));
      expect(unrelated.ended).toBe(true);
      expect(read.map((e) => e.streamId)).toEqual([stream]);
    } finally {
      if (!unrelated.ended) await unrelated.commit();
      await starting.commit();
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

describe('postgres event store: caught-up subscriptions share their reads', () => {
  it('gives each of several differently filtered subscriptions exactly its events, in order, once, under 8 writers', async () => {
    const db = await createTestDatabase(12);
    const store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, pollIntervalMs: 60_000 });
    const writer = new PostgresEventStore({
      pool: new pg.Pool({ connectionString: db.url, max: 8 }),
      connectionString: db.url,
      pollIntervalMs: 60_000,
      ownsPool: true,
    });
    const tag = randomUUID().slice(0, 8);
    const filters = [
      undefined,
      { eventTypes: [`Alpha${tag}`] },
      { eventTypes: [`Beta${tag}`, `Gamma${tag}`] },
      { streamPrefixes: [`Left${tag}-`] },
      { eventTypes: [`Alpha${tag}`], streamPrefixes: [`Right${tag}-`] },
      { streamPrefixes: [] },
    ];
    // Ended in `finally` too: a failed expectation must not leave them reading from a dropped database.
    let loops: Promise<void>[] = [];
    try {
      const before = await store.headPosition();
      const subscriptions = filters.map((filter, i) =>
        // One of them takes at most 3 events a batch: its share of a shared page is cut there.
        store.subscribe({ fromPosition: before, filter, maxBatchSize: i === 2 ? 3 : 500 }),
      );
      const received = filters.map(() => [] as RecordedEvent[]);
      loops = subscriptions.map(async (subscription, i) => {
        for await (const batch of subscription) received[i]!.push(...batch.events);
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      let pageReads = 0;
      const query = db.pool.query.bind(db.pool);
      db.pool.query = ((...args: Parameters<typeof query>) => {
        const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text: string }).text;
        if (text.includes('UNION ALL')) pageReads++;
        return query(...args);
      }) as typeof db.pool.query;
      const types = [`Alpha${tag}`, `Beta${tag}`, `Gamma${tag}`, `Delta${tag}`];
      const sides = [`Left${tag}-`, `Right${tag}-`];
      const appended: RecordedEvent[] = [];
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          for (let k = 0; k < 25; k++) {
            const stream = `${sides[(w + k) % 2]}${randomUUID()}`;
            const events = [newEvent(types[(w * 7 + k) % 4]!), newEvent(types[(w + k * 3) % 4]!)];
            await writer.append(stream, events, { expectedRevision: 'no_stream' });
          }
        }),
      );
      const head = await writer.headPosition();
      for await (const event of store.readAll({ fromPosition: before })) appended.push(event);
      expect(appended).toHaveLength(400);
      const deadline = Date.now() + 10_000;
      const expected = filters.map((filter) =>
        appended.filter(
          (e) =>
            (!filter?.eventTypes || filter.eventTypes.includes(e.type)) &&
            (!filter?.streamPrefixes || filter.streamPrefixes.some((p) => e.streamId.startsWith(p))),
        ),
      );
      while (Date.now() < deadline && received.some((events, i) => events.length < expected[i]!.length)) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (const [i, events] of received.entries()) {
        expect(events.map((e) => e.eventId)).toEqual(expected[i]!.map((e) => e.eventId));
      }
      expect(expected[5]).toEqual([]);
      expect(head).toBe(appended.at(-1)!.position);
      // Quiet now, every subscription caught up and asleep: one more append wakes all six, and they read it in one
      // shared page read instead of six. The writer's last NOTIFYs go out after its appends have returned and can
      // reach the store late on a loaded machine (each wakes everyone for one more read): wait until none has
      // arrived for 300 ms first.
      for (let version = store.changeVersion(), quietSince = Date.now(); Date.now() - quietSince < 300; ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (store.changeVersion() !== version) {
          version = store.changeVersion();
          quietSince = Date.now();
        }
      }
      pageReads = 0;
      await writer.append(`Left${tag}-${randomUUID()}`, [newEvent(`Alpha${tag}`)], { expectedRevision: 'no_stream' });
      const everyone = [0, 1, 3];
      const until = Date.now() + 5_000;
      while (Date.now() < until && everyone.some((i) => received[i]!.length === expected[i]!.length)) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(everyone.map((i) => received[i]!.length - expected[i]!.length)).toEqual([1, 1, 1]);
      expect(pageReads).toBe(1);
      await Promise.all(subscriptions.map((subscription) => subscription.close()));
      await Promise.all(loops);
    } finally {
      await writer.close();
      await store.close();
      await Promise.allSettled(loops);
      await db.drop();
    }
  });
});
