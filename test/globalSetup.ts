import pg from 'pg';
import { prepareDatabase } from '../infra/db/prepare.js';
import { serverUrl, TEMPLATE_DATABASE } from './support/database.js';

/** Builds the migrated template database once per run; each test file clones it. */
export default async function setup(): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
    const stale = await admin.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'rl_test_%'",
    );
    for (const { datname } of stale.rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  await prepareDatabase(serverUrl(TEMPLATE_DATABASE));
}
