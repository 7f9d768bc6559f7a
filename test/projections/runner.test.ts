import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import { createRuntime, type Runtime } from '../../infra/runtime.js';
import type { PgProjection } from '../../projections/projection.js';
import { ProjectionRunner } from '../../projections/runner.js';
import { projectionStatuses, waitForCheckpoint } from '../../projections/status.js';
import { newEvent } from '../contracts/eventStore.contract.js';
import { testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
let runtime: Runtime;

beforeAll(async () => {
  db = await createTestDatabase(4);
  runtime = await createRuntime(testConfig(db.url), pino({ level: 'silent' }));
  await runtime.pool.query('CREATE TABLE seen (projection text, event_id uuid, value int)');
});
afterAll(async () => {
  await runtime?.close();
  await db?.drop();
});

/** A projection that records what it applies, and fails on events whose data says so. */
function recorder(name: string, version: number, prefix: string): PgProjection {
  return {
    name,
    version,
    filter: { streamPrefixes: [prefix] },
    async apply(em: EntityManager, events: readonly RecordedEvent[]) {
      for (const event of events) {
        const data = event.data as { n: number; poison?: boolean };
        if (data.poison) throw new Error(`cannot apply event ${data.n}`);
        await em.execute('INSERT INTO seen (projection, event_id, value) VALUES (?, ?, ?)', [
          name,
          event.eventId,
          data.n,
        ]);
      }
    },
    async reset(em: EntityManager) {
      await em.execute('DELETE FROM seen WHERE projection = ?', [name]);
    },
  };
}

const seen = async (name: string) =>
  (
    await runtime.pool.query<{ value: number }>('SELECT value FROM seen WHERE projection = $1 ORDER BY value', [name])
  ).rows.map((r) => r.value);

function runnerFor(projections: PgProjection[]): ProjectionRunner {
  return new ProjectionRunner({
    orm: runtime.orm,
    store: runtime.eventStore,
    databaseUrl: db.url,
    projections,
    logger: runtime.logger,
    standbyRetryMs: 100,
    retryDelayMs: 10,
  });
}

describe('projection runner', () => {
  it('retries a failing batch, then parks the poison event and applies the rest', async () => {
    const prefix = `Poison${randomUUID().slice(0, 6)}-`;
    const projection = recorder('poison_test', 1, prefix);
    const runner = runnerFor([projection]);
    await runner.start();
    try {
      let last = 0n;
      for (let n = 1; n <= 5; n++) {
        const event = newEvent('Recorded', { n, poison: n === 3 });
        last = (await runtime.eventStore.append(`${prefix}${n}`, [event], { expectedRevision: 'no_stream' })).position;
      }
      await waitForCheckpoint(runtime.pool, projection, last, 10_000);
      expect(await seen('poison_test')).toEqual([1, 2, 4, 5]);
      const parked = await runtime.pool.query('SELECT type, error FROM projection_parked WHERE projection = $1', [
        'poison_test',
      ]);
      expect(parked.rows).toEqual([{ type: 'Recorded', error: 'cannot apply event 3' }]);
      const [status] = await projectionStatuses(runtime.pool, runtime.eventStore, [projection]);
      expect(status).toMatchObject({
        name: 'poison_test',
        parkedEvents: 1,
        lagEvents: 0,
        status: 'live',
        active: true,
      });
    } finally {
      await runner.stop();
    }
  });

  it('delivers batches of the projection’s batchSize while it catches up (2,000 without one)', async () => {
    const prefix = `Batch${randomUUID().slice(0, 6)}-`;
    const events = Array.from({ length: 4200 }, (_, n) => newEvent('Recorded', { n }));
    const { position: last } = await runtime.eventStore.append(`${prefix}1`, events, { expectedRevision: 'no_stream' });
    const sizes = { batch_size_test: [] as number[], batch_default_test: [] as number[] };
    const counting = (name: keyof typeof sizes, batchSize?: number): PgProjection => ({
      name,
      version: 1,
      filter: { streamPrefixes: [prefix] },
      sideEffectsOnly: true,
      ...(batchSize ? { batchSize } : {}),
      async apply(_em, batch) {
        sizes[name].push(batch.length);
      },
      async reset() {},
    });
    const runner = runnerFor([counting('batch_size_test', 1000), counting('batch_default_test')]);
    await runner.start();
    try {
      await waitForCheckpoint(runtime.pool, { name: 'batch_size_test', version: 1 }, last, 10_000);
      await waitForCheckpoint(runtime.pool, { name: 'batch_default_test', version: 1 }, last, 10_000);
      expect(sizes.batch_size_test).toEqual([1000, 1000, 1000, 1000, 200]);
      expect(sizes.batch_default_test).toEqual([2000, 2000, 200]);
    } finally {
      await runner.stop();
    }
  });

  it('overlaps two batches of an overlapBatches projection, moving the checkpoint only past batches that are in', async () => {
    const prefix = `Overlap${randomUUID().slice(0, 6)}-`;
    const events = Array.from({ length: 500 }, (_, n) => newEvent('Recorded', { n }));
    const { position: last } = await runtime.eventStore.append(`${prefix}1`, events, { expectedRevision: 'no_stream' });
    const name = 'overlap_test';
    const readCheckpoint = async () =>
      BigInt(
        (await runtime.pool.query('SELECT position FROM projection_checkpoints WHERE name = $1', [name])).rows[0]
          ?.position ?? 0,
      );
    let inFlight = 0;
    let mostInFlight = 0;
    let overlapped = 0;
    let failedOnce = false;
    const applied: number[] = [];
    const problems: string[] = [];
    const projection: PgProjection = {
      name,
      version: 1,
      filter: { streamPrefixes: [prefix] },
      sideEffectsOnly: true,
      overlapBatches: true,
      batchSize: 100,
      async apply(_em, batch) {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        if (inFlight > 1) overlapped++;
        try {
          // While a batch is in flight, the checkpoint is below its first event whatever came after it.
          const checkpoint = await readCheckpoint();
          if (checkpoint >= batch[0]!.position)
            problems.push(`checkpoint ${checkpoint} past the batch from ${batch[0]!.position}`);
          await new Promise((resolve) => setTimeout(resolve, 40));
          const first = (batch[0]!.data as { n: number }).n;
          if (first === 200 && !failedOnce) {
            failedOnce = true;
            throw new Error('the engine went away');
          }
          applied.push(...batch.map((event) => (event.data as { n: number }).n));
        } finally {
          inFlight--;
        }
      },
      async reset() {},
    };
    const runner = runnerFor([projection]);
    await runner.start();
    try {
      await waitForCheckpoint(runtime.pool, projection, last, 20_000);
    } finally {
      await runner.stop();
    }
    expect(problems).toEqual([]);
    expect(failedOnce).toBe(true);
    expect(overlapped).toBeGreaterThan(0);
    expect(mostInFlight).toBe(2);
    // Every event applied, the failed batch again after its failure (at least once, as for any side effect).
    expect(new Set(applied)).toEqual(new Set(events.map((_, n) => n)));
    expect(applied.filter((n) => n === 200)).toHaveLength(1);
    expect(await readCheckpoint()).toBe(last);
  });

  it("reads a projection's events as stored (not upcast, not opened) when it asks for them, as the rest read them opened", async () => {
    // A RoomCreated v1 is read as v2 by the application (upcast) and as 1 from the store as it is.
    const roomId = randomUUID();
    const { position } = await runtime.rawEventStore.append(
      `Room-${roomId}`,
      [{ ...newEvent('RoomCreated', { roomId, landlordId: randomUUID(), title: 'Near the venue' }), schemaVersion: 1 }],
      { expectedRevision: 'no_stream' },
    );
    const got = { stored_reads_test: [] as RecordedEvent[], opened_reads_test: [] as RecordedEvent[] };
    const watching = (name: keyof typeof got, reads?: 'stored'): PgProjection => ({
      name,
      version: 1,
      filter: { streamPrefixes: [`Room-${roomId}`] },
      sideEffectsOnly: true,
      ...(reads ? { reads } : {}),
      async apply(_em, batch) {
        got[name].push(...batch);
      },
      async reset() {},
    });
    const runner = new ProjectionRunner({
      orm: runtime.orm,
      store: runtime.eventStore,
      storedEvents: runtime.rawEventStore,
      databaseUrl: db.url,
      projections: [watching('stored_reads_test', 'stored'), watching('opened_reads_test')],
      logger: runtime.logger,
    });
    await runner.start();
    try {
      await waitForCheckpoint(runtime.pool, { name: 'stored_reads_test', version: 1 }, position, 10_000);
      await waitForCheckpoint(runtime.pool, { name: 'opened_reads_test', version: 1 }, position, 10_000);
    } finally {
      await runner.stop();
    }
    expect(got.stored_reads_test.map((e) => e.schemaVersion)).toEqual([1]);
    expect(got.stored_reads_test[0]!.data).not.toHaveProperty('cancellationPolicy');
    expect(got.opened_reads_test.map((e) => e.schemaVersion)).toEqual([2]);
    expect(got.opened_reads_test[0]!.data).toHaveProperty('cancellationPolicy', 'flexible');
    // The same event either way: its identity and hash are the stored ones.
    expect(got.stored_reads_test[0]!.hash).toBe(got.opened_reads_test[0]!.hash);
    expect(got.stored_reads_test[0]!.eventId).toBe(got.opened_reads_test[0]!.eventId);
  });

  it('rebuilds from the first event when the projection version changes', async () => {
    const prefix = `Rebuild${randomUUID().slice(0, 6)}-`;
    let last = 0n;
    for (let n = 1; n <= 3; n++) {
      last = (
        await runtime.eventStore.append(`${prefix}${n}`, [newEvent('Recorded', { n })], {
          expectedRevision: 'no_stream',
        })
      ).position;
    }
    const first = runnerFor([recorder('rebuild_test', 1, prefix)]);
    await first.start();
    await waitForCheckpoint(runtime.pool, { name: 'rebuild_test', version: 1 }, last, 10_000);
    await first.stop();
    // A stale row the old version left behind: the rebuild must not keep it.
    await runtime.pool.query("INSERT INTO seen (projection, event_id, value) VALUES ('rebuild_test', $1, 99)", [
      randomUUID(),
    ]);

    const second = runnerFor([recorder('rebuild_test', 2, prefix)]);
    await second.start();
    try {
      await waitForCheckpoint(runtime.pool, { name: 'rebuild_test', version: 2 }, last, 10_000);
      expect(await seen('rebuild_test')).toEqual([1, 2, 3]);
      const { rows } = await runtime.pool.query(
        "SELECT version FROM projection_checkpoints WHERE name = 'rebuild_test'",
      );
      expect(rows[0].version).toBe(2);
    } finally {
      await second.stop();
    }
  });

  it('stops cleanly: the batch in flight commits with its checkpoint, nothing is applied twice on restart', async () => {
    const prefix = `Stop${randomUUID().slice(0, 6)}-`;
    const projection = recorder('stop_test', 1, prefix);
    const runner = runnerFor([projection]);
    await runner.start();
    const writes = Array.from({ length: 200 }, (_, i) =>
      runtime.eventStore.append(`${prefix}${i}`, [newEvent('Recorded', { n: i })], { expectedRevision: 'no_stream' }),
    );
    const positions = (await Promise.all(writes)).map((r) => r.position);
    await runner.stop();
    const restarted = runnerFor([projection]);
    await restarted.start();
    try {
      // biome-ignore lint/complexity/useMathMinMax: positions are bigints, which Math.max does not take
      const last = positions.reduce((a, b) => (a > b ? a : b));
      await waitForCheckpoint(runtime.pool, projection, last, 10_000);
      const values = await seen('stop_test');
      expect(values).toHaveLength(200);
      expect(new Set(values).size).toBe(200);
    } finally {
      await restarted.stop();
    }
  });
  it('stops when asked at once after starting, while its loops are still taking leases and reading checkpoints', async () => {
    const prefix = `Early${randomUUID().slice(0, 6)}-`;
    const projections = Array.from({ length: 6 }, (_, i) => recorder(`early_stop_${i}`, 1, prefix));
    for (let round = 0; round < 5; round++) {
      const runner = runnerFor(projections);
      await runner.start();
      // Stopping used to wait forever: a subscription opened after `stop` looked was never closed.
      await runner.stop();
      for (const projection of projections) expect(runner.state(projection.name)).toBe('stopped');
    }
  }, 20_000);

  it('with lingerMs, applies what arrives meanwhile in one batch, and never moves the checkpoint past held events', async () => {
    const wanted = `Linger${randomUUID().slice(0, 6)}-`;
    const other = `NotLinger${randomUUID().slice(0, 6)}-`;
    const projection: PgProjection = { ...recorder('linger_test', 1, wanted), lingerMs: 2000 };
    const batches: number[] = [];
    const runner = new ProjectionRunner({
      orm: runtime.orm,
      store: runtime.eventStore,
      databaseUrl: db.url,
      // Another projection skipping every one of these events: its deferred moves are written for all at once.
      projections: [projection, recorder('linger_other', 1, `Nothing${randomUUID().slice(0, 6)}-`)],
      logger: runtime.logger,
      emptyCheckpointMs: 50,
      onBatch: (name, events) => {
        if (name === 'linger_test' && events > 0) batches.push(events);
      },
    });
    const append = (stream: string, n: number) =>
      runtime.eventStore.append(stream, [newEvent('Recorded', { n })], { expectedRevision: 'no_stream' });
    const stored = async () =>
      BigInt(
        (
          await runtime.pool.query<{ position: string }>(
            'SELECT position FROM projection_checkpoints WHERE name = $1',
            ['linger_test'],
          )
        ).rows[0]!.position,
      );
    await runner.start();
    try {
      await waitForCheckpoint(runtime.pool, projection, await runtime.eventStore.headPosition(), 10_000);
      const first = await append(`${wanted}0`, 0);
      // Events it skips keep coming while the first is held: their deferred moves must not pass it.
      for (let i = 1; i <= 5; i++) {
        await append(`${other}${i}`, i);
        await append(`${wanted}${i}`, i);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(await stored()).toBeLessThan(first.position);
      expect(await seen('linger_test')).toEqual([]);
      const last = await append(`${other}9`, 9);
      await waitForCheckpoint(runtime.pool, projection, last.position, 5_000);
      expect(await seen('linger_test')).toEqual([0, 1, 2, 3, 4, 5]);
      expect(batches).toEqual([6]);
      // Held at stop: applied before the runner lets go.
      await append(`${wanted}7`, 7);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await runner.stop();
    }
    expect(await seen('linger_test')).toEqual([0, 1, 2, 3, 4, 5, 7]);
  });

  it('moves its checkpoint over events it skips in a few deferred writes, and reaches the head', async () => {
    const prefix = `Skipped${randomUUID().slice(0, 6)}-`;
    const projection = recorder('skip_test', 1, `Wanted${randomUUID().slice(0, 6)}-`);
    const batches: number[] = [];
    const runner = new ProjectionRunner({
      orm: runtime.orm,
      store: runtime.eventStore,
      databaseUrl: db.url,
      projections: [projection],
      logger: runtime.logger,
      emptyCheckpointMs: 100,
      onBatch: (name, events) => {
        if (name === 'skip_test') batches.push(events);
      },
    });
    await runner.start();
    try {
      await waitForCheckpoint(runtime.pool, projection, await runtime.eventStore.headPosition(), 10_000);
      const writesBefore = batches.length;
      // 100 appends one after another, none of them for this projection, over about a second.
      let last = 0n;
      for (let i = 0; i < 100; i++) {
        last = (
          await runtime.eventStore.append(`${prefix}${i}`, [newEvent('Recorded', { n: i })], {
            expectedRevision: 'no_stream',
          })
        ).position;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await waitForCheckpoint(runtime.pool, projection, last, 5_000);
      const writes = batches.slice(writesBefore);
      expect(writes.every((events) => events === 0)).toBe(true);
      // One write per 100 ms at most (about 1 s of appends), not one per append.
      expect(writes.length).toBeGreaterThan(0);
      expect(writes.length).toBeLessThan(30);
      expect(await seen('skip_test')).toEqual([]);
    } finally {
      await runner.stop();
    }
  });
});
