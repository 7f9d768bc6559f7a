/**
 * Why are 100-event appends slow after a run of 1-event appends? `npx tsx bench/experiments/slow-batches.ts`
 * Real adapter; auto_explain (nested statements over AUTO_EXPLAIN_MS) goes to the server log.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { NewEvent } from '../../infra/eventStore/eventStore.js';
import { PostgresEventStore } from '../../infra/eventStore/postgres/postgresEventStore.js';
import { adminQuery, bookingEvent, createBenchDatabase, median, runClosedLoop } from '../support.js';

const ONE_EVENT_APPENDS = Number(process.env.ONE_EVENT_APPENDS ?? 5000);
const AUTO_EXPLAIN_MS = Number(process.env.AUTO_EXPLAIN_MS ?? 30);

async function main(): Promise<void> {
  const db = await createBenchDatabase('roomline_bench_slow');
  await adminQuery(
    `ALTER DATABASE ${db.name} SET session_preload_libraries = 'auto_explain';
     ALTER DATABASE ${db.name} SET auto_explain.log_min_duration = ${AUTO_EXPLAIN_MS};
     ALTER DATABASE ${db.name} SET auto_explain.log_nested_statements = on;
     ALTER DATABASE ${db.name} SET auto_explain.log_analyze = on;
     ALTER DATABASE ${db.name} SET auto_explain.log_buffers = on;
     ALTER DATABASE ${db.name} SET auto_explain.log_wal = on;`,
  );
  const pool = new pg.Pool({ connectionString: db.url, max: 20 });
  const store = new PostgresEventStore({ pool, connectionString: db.url });
  const append = (events: NewEvent[]) =>
    store.append(`S-${randomUUID()}`, events, { expectedRevision: 'no_stream' }).then(() => undefined);
  try {
    const before = await runClosedLoop(1, 30, () => append(Array.from({ length: 100 }, () => bookingEvent())));
    process.stdout.write(`100-event appends on a fresh store: median ${median(before.latencies).toFixed(1)} ms\n`);
    const ones = await runClosedLoop(16, ONE_EVENT_APPENDS, () => append([bookingEvent()]));
    process.stdout.write(`${ONE_EVENT_APPENDS} 1-event appends: ${(ONE_EVENT_APPENDS / ones.seconds).toFixed(0)}/s\n`);
    const after = await runClosedLoop(1, 30, () => append(Array.from({ length: 100 }, () => bookingEvent())));
    process.stdout.write(`100-event appends afterwards: median ${median(after.latencies).toFixed(1)} ms\n`);
  } finally {
    await store.close();
    await pool.end();
    await db.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
