/**
 * A projector process for the lease test: runs the rooms projection and a counting projection that
 * records every event it applies, and prints its runner states as JSON lines.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { pino } from 'pino';
import { createRuntime } from '../../infra/runtime.js';
import type { PgProjection } from '../../projections/projection.js';
import { ProjectionRunner } from '../../projections/runner.js';
import { testConfig } from './app.js';

const url = process.env.DATABASE_URL!;
// Warnings (a lease it could not ask for, a failed batch) go to stderr, which the test prints; stdout is for states.
// A projector of the rooms projection only: it opens no analytics engine, so the processes start quickly.
const runtime = await createRuntime(
  testConfig(url, { ROOMLINE_PROCESS: 'projector', PROJECTIONS: 'rooms' }),
  pino({ level: 'warn' }, pino.destination(2)),
);

export const countingProjection: PgProjection = {
  name: 'test_counter',
  version: 1,
  filter: { streamPrefixes: ['Counted-'] },
  async apply(em: EntityManager, events) {
    for (const event of events) {
      await em.execute('INSERT INTO test_applied (position, event_id, runner) VALUES (?, ?, ?)', [
        event.position.toString(),
        event.eventId,
        process.pid,
      ]);
    }
  },
  async reset(em) {
    await em.execute('DELETE FROM test_applied');
  },
};

await runtime.pool.query(
  'CREATE TABLE IF NOT EXISTS test_applied (position bigint NOT NULL, event_id uuid NOT NULL, runner int NOT NULL)',
);
const projections = [...runtime.projections.filter((p) => p.name === 'rooms'), countingProjection];
const runner = new ProjectionRunner({
  orm: runtime.orm,
  store: runtime.eventStore,
  storedEvents: runtime.rawEventStore,
  databaseUrl: url,
  projections,
  logger: runtime.logger,
  standbyRetryMs: 100,
});
await runner.start();
let last = '';
setInterval(() => {
  const states = Object.fromEntries(projections.map((p) => [p.name, runner.state(p.name)]));
  const line = JSON.stringify({ pid: process.pid, states });
  if (line !== last) process.stdout.write(`${line}\n`);
  last = line;
}, 20);
process.on('SIGTERM', async () => {
  await runner.stop();
  await runtime.close();
  process.exit(0);
});
