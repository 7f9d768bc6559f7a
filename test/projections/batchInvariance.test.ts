import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendPlatformHistory } from '../../infra/demo/platformHistory.js';
import { type RecordedEvent, toArray } from '../../infra/eventStore/eventStore.js';
import { createRuntime } from '../../infra/runtime.js';
import type { PgProjection } from '../../projections/projection.js';
import { testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { tableChecksums } from '../support/tableChecksums.js';

/**
 * The read models batch their writes (a run of events read and written in a few statements), so a batch's
 * boundaries must not show in the tables: every PostgreSQL read model, applied to one platform history event by
 * event, in batches of 7 and of 500, ends with the same tables. What the runner may cut a catch-up into (a
 * subscription page, a retry one by one around a poison event) is then free.
 */
const BATCHES = [1, 7, 500] as const;

let db: TestDatabase;
let runtime: Awaited<ReturnType<typeof createRuntime>>;
let mix: Map<string, number>;

beforeAll(async () => {
  db = await createTestDatabase(4);
  runtime = await createRuntime(
    testConfig(db.url, { ROOMLINE_PROCESS: 'worker', PG_POOL_SIZE: '4' }),
    pino({ level: 'silent' }),
  );
  mix = await appendPlatformHistory(
    runtime.eventStore,
    (userId) => runtime.identity.eraseKeys(userId),
    2_500,
    runtime.clock.now().getTime() - 60 * 86_400_000,
    { seed: 7 },
  );
}, 60_000);

afterAll(async () => {
  await runtime?.close();
  await db?.drop();
});

async function build(
  orm: Awaited<ReturnType<typeof runtime.openRunnerOrm>>,
  projection: PgProjection,
  events: RecordedEvent[],
  size: number,
) {
  await orm.em.fork().transactional((tx) => projection.reset(tx));
  for (let i = 0; i < events.length; i += size) {
    await orm.em.fork().transactional(async (tx) => {
      await projection.apply(tx, events.slice(i, i + size));
      await tx.flush();
    });
  }
  return tableChecksums(db.pool, [projection]);
}

describe('read models cut into batches of any size', () => {
  it('end with the same tables applied event by event, in batches of 7 and of 500', async () => {
    // The history reaches every kind of event the read models take: bookings to their reviews, conversations.
    for (const type of [
      'MessagesRead',
      'ReviewPublished',
      'BookingConfirmed',
      'NotificationRead',
      'PersonalDataErased',
    ]) {
      expect(mix.get(type) ?? 0, type).toBeGreaterThan(0);
    }
    const projections = runtime.projections.filter((p) => (p.tables?.length ?? 0) > 0 && !p.sideEffectsOnly);
    expect(projections.length).toBeGreaterThanOrEqual(10);
    const orm = await runtime.openRunnerOrm();
    try {
      for (const projection of projections) {
        const events = await toArray(runtime.eventStore.readAll({ filter: projection.filter }));
        expect(events.length, projection.name).toBeGreaterThan(0);
        const sums: Array<Map<string, string>> = [];
        for (const size of BATCHES) sums.push(await build(orm, projection, events, size));
        const [reference, ...others] = sums;
        for (const [i, other] of others.entries()) {
          expect(Object.fromEntries(other), `${projection.name} in batches of ${BATCHES[i + 1]}`).toEqual(
            Object.fromEntries(reference!),
          );
        }
        // Not empty: the comparison compares something.
        expect(
          [...reference!.values()].some((sum) => !sum.startsWith('0 rows')),
          projection.name,
        ).toBe(true);
      }
    } finally {
      await orm.close(true);
    }
  }, 300_000);
});
