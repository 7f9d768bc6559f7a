import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { prepareDatabase } from '../infra/db/prepare.js';
import { serverUrl, TEST_DATABASE_PATTERN } from './support/database.js';

const STALE_AFTER_SECONDS = 3 * 3600;

/**
 * Builds a migrated template database for this run (each test file clones it), and removes test
 * databases that runs killed hours ago left behind. Other runs on the same server are left alone.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const template = `rl_tmpl_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  process.env.ROOMLINE_TEST_TEMPLATE = template;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${template}`);
    const { rows } = await admin.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'rl\\_test\\_%' OR datname LIKE 'rl\\_tmpl\\_%'",
    );
    const now = Date.now() / 1000;
    for (const { datname } of rows) {
      const created = TEST_DATABASE_PATTERN.exec(datname)?.[1];
      if (created === undefined || now - Number(created) < STALE_AFTER_SECONDS) continue;
      // Without FORCE: a database still in use belongs to a live run and stays.
      await admin.query(`DROP DATABASE IF EXISTS ${datname}`).catch(() => undefined);
    }
  } finally {
    await admin.end();
  }
  await prepareDatabase(serverUrl(template));
  return async () => {
    const client = new pg.Client({ connectionString: serverUrl() });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`).catch(() => undefined);
    await client.end();
  };
}
