import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOrm } from '../../../infra/db/orm.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(2);
});
afterAll(async () => {
  await db?.drop();
});

async function settingsOf(asyncCommit: boolean | undefined) {
  const orm = await openOrm(db.url, 2, { applicationName: 'roomline-orm-test', asyncCommit });
  try {
    const [row] = await orm.em
      .fork()
      .execute<Array<{ commit: string; name: string }>>(
        "SELECT current_setting('synchronous_commit') AS commit, current_setting('application_name') AS name",
      );
    return row!;
  } finally {
    await orm.close(true);
  }
}

describe('the ORM’s connections', () => {
  it('are named, and wait for the WAL flush at commit unless asked not to (the projection runner’s)', async () => {
    expect(await settingsOf(undefined)).toEqual({ commit: 'on', name: 'roomline-orm-test' });
    expect(await settingsOf(true)).toEqual({ commit: 'off', name: 'roomline-orm-test' });
  });
});
