import pg from 'pg';
import { ensureEventStoreSchema } from '../eventStore/postgres/postgresEventStore.js';
import { openOrm } from './orm.js';

const MIGRATION_LOCK = 7246002;

/**
 * Everything a database needs before the processes start: extensions, the event store schema and
 * the read-model migrations. Safe to run from several processes at once (an advisory lock orders them).
 */
export async function prepareDatabase(url: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const lock = await pool.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await pool.query('CREATE EXTENSION IF NOT EXISTS postgis');
    await pool.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    await ensureEventStoreSchema(pool);
    const orm = await openOrm(url, 2);
    try {
      await orm.getMigrator().up();
    } finally {
      await orm.close(true);
    }
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    lock.release();
    await pool.end();
  }
}
