import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server tests run against; `npm test` points DATABASE_URL at it. */
export function serverUrl(database = 'postgres'): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/roomline_test');
  url.pathname = `/${database}`;
  return url.toString();
}

/** Set per test run by test/globalSetup.ts, so parallel runs on one server never touch each other. */
export function templateDatabase(): string {
  return process.env.ROOMLINE_TEST_TEMPLATE ?? 'roomline_test_template';
}

/** Test databases carry their creation time, so a later run can clean up what a killed run left. */
export const TEST_DATABASE_PATTERN = /^rl_(?:test|tmpl)_(\d+)_[0-9a-f]+$/;

export interface TestDatabase {
  name: string;
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

/** A fresh database cloned from the migrated template (see test/globalSetup.ts): one per test file. */
export async function createTestDatabase(poolSize = 20): Promise<TestDatabase> {
  const name = `rl_test_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${templateDatabase()}`);
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
      // Dropping WITH (FORCE) ends what is still connected, a client of this pool closing meanwhile too: its error then
      // is the drop's doing, not the test's, and must not surface as an uncaught exception.
      pool.on('error', () => undefined);
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
