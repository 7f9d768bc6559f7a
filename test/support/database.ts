import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server tests run against; `npm test` points DATABASE_URL at it. */
export function serverUrl(database = 'postgres'): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/roomline_test');
  url.pathname = `/${database}`;
  return url.toString();
}

export const TEMPLATE_DATABASE = 'roomline_test_template';

export interface TestDatabase {
  name: string;
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

/** A fresh database cloned from the migrated template (see test/globalSetup.ts): one per test file. */
export async function createTestDatabase(poolSize = 20): Promise<TestDatabase> {
  const name = `rl_test_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const url = serverUrl(name);
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end();
      const client = new pg.Client({ connectionString: serverUrl() });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
