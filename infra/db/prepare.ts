import pg from 'pg';
import { ensureEventStoreSchema } from '../eventStore/postgres/postgresEventStore.js';

/** Everything a fresh database needs before the processes start: extensions, event store schema, migrations. */
export async function prepareDatabase(url: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    await pool.query('CREATE EXTENSION IF NOT EXISTS postgis');
    await pool.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    await ensureEventStoreSchema(pool);
  } finally {
    await pool.end();
  }
}
