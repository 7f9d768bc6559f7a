/**
 * The event store contract suite against the experiment patches (not part of `npm test`):
 *   npx vitest run -c bench/experiments/vitest.config.ts
 * PATCH_SCHEMA=0 keeps the real append_batch, PATCH_ADAPTER=0 the real adapter.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { NewEvent } from '../../infra/eventStore/eventStore.js';
import { canonicalJson } from '../../infra/eventStore/hashChain.js';
import { PostgresEventStore } from '../../infra/eventStore/postgres/postgresEventStore.js';
import { eventStoreContract } from '../../test/contracts/eventStore.contract.js';
import { adminQuery, serverUrl } from '../support.js';
import { PostgresEventStore as PatchedPostgresEventStore } from './patchedPostgresEventStore.js';
import { realSchema, setBasedSchema } from './schemaVariants.js';

const patchSchema = process.env.PATCH_SCHEMA !== '0';
const patchAdapter = process.env.PATCH_ADAPTER !== '0';
const Store = patchAdapter ? PatchedPostgresEventStore : PostgresEventStore;

eventStoreContract(`postgres (patched schema ${patchSchema}, patched adapter ${patchAdapter})`, async () => {
  const name = `rl_bench_contract_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = serverUrl(name);
  const pool = new pg.Pool({ connectionString: url, max: 30 });
  await pool.query(patchSchema ? setBasedSchema('event_store') : realSchema('event_store'));
  const store = new Store({ pool, connectionString: url, pollIntervalMs: 60_000 });
  const others: Array<{ close(): Promise<void> }> = [];
  return {
    store,
    eventIdsUniqueAcrossStreams: true,
    async openAnother() {
      const otherPool = new pg.Pool({ connectionString: url, max: 4 });
      const other = new Store({ pool: otherPool, connectionString: url, pollIntervalMs: 60_000, ownsPool: true });
      others.push(other);
      return other;
    },
    async appendHeldOpen(streamId: string, events: NewEvent[], holdMs: number) {
      const client = await pool.connect();
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
      await pool.end();
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
});
