import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import { createRuntime, type Runtime } from '../../infra/runtime.js';
import { type PgProjection, TransientProjectionError } from '../../projections/projection.js';
import { ProjectionRunner } from '../../projections/runner.js';
import { waitForCheckpoint } from '../../projections/status.js';
import { newEvent } from '../contracts/eventStore.contract.js';
import { testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
let runtime: Runtime;

beforeAll(async () => {
  db = await createTestDatabase(4);
  runtime = await createRuntime(testConfig(db.url), pino({ level: 'silent' }));
});
afterAll(async () => {
  await runtime?.close();
  await db?.drop();
});

describe('projection runner: a transient failure (a dependency away) is retried, never parked', () => {
  it('retries a batch far beyond the attempts that would park it, then moves the checkpoint once it goes through', async () => {
    const prefix = `Transient${randomUUID().slice(0, 8)}-`;
    const applied: string[] = [];
    let failuresLeft = 12;
    const projection: PgProjection = {
      name: `transient-${randomUUID().slice(0, 8)}`,
      version: 1,
      filter: { streamPrefixes: [prefix] },
      async apply(_em: EntityManager, events: readonly RecordedEvent[]) {
        if (failuresLeft > 0) {
          failuresLeft--;
          throw new TransientProjectionError('the queue did not take a job: Redis away');
        }
        for (const event of events) applied.push(event.eventId);
      },
      async reset() {},
    };
    const runner = new ProjectionRunner({
      orm: runtime.orm,
      store: runtime.eventStore,
      databaseUrl: db.url,
      projections: [projection],
      logger: runtime.logger,
      attempts: 3,
      retryDelayMs: 5,
      transientRetryMaxMs: 40,
    });
    const stream = `${prefix}${randomUUID()}`;
    const events = [newEvent('Happened', { n: 1 }), newEvent('Happened', { n: 2 })];
    const { position } = await runtime.eventStore.append(stream, events, { expectedRevision: 'no_stream' });
    await runner.start();
    try {
      await waitForCheckpoint(runtime.pool, projection, position, 15_000);
    } finally {
      await runner.stop();
    }
    expect(failuresLeft).toBe(0);
    expect(applied).toEqual(events.map((e) => e.eventId));
    const parked = await runtime.pool.query('SELECT * FROM projection_parked WHERE projection = $1', [projection.name]);
    expect(parked.rows).toEqual([]);
    const { rows } = await runtime.pool.query<{ last_error: string | null }>(
      'SELECT last_error FROM projection_checkpoints WHERE name = $1',
      [projection.name],
    );
    // Cleared by the batch that went through.
    expect(rows[0]!.last_error).toBeNull();
  });
});
