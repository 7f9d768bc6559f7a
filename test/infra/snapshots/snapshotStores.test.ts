import pg from 'pg';
import { MemorySnapshotStore } from '../../../infra/snapshots/memorySnapshotStore.js';
import { PostgresSnapshotStore } from '../../../infra/snapshots/postgresSnapshotStore.js';
import { snapshotStoreContract } from '../../contracts/snapshotStore.contract.js';
import { createTestDatabase } from '../../support/database.js';

snapshotStoreContract('memory', async () => {
  const store = new MemorySnapshotStore();
  return { store, openAnother: async () => store, cleanup: async () => undefined };
});

snapshotStoreContract('postgres', async () => {
  const db = await createTestDatabase(4);
  const pools: pg.Pool[] = [];
  return {
    store: new PostgresSnapshotStore(db.pool),
    async openAnother() {
      const pool = new pg.Pool({ connectionString: db.url, max: 4 });
      pools.push(pool);
      return new PostgresSnapshotStore(pool);
    },
    async cleanup() {
      await Promise.all(pools.map((pool) => pool.end()));
      await db.drop();
    },
  };
});
