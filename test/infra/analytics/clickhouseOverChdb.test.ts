import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClickHouseClientConfigOptions, createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { afterAll } from 'vitest';
import { createClickHouseAnalyticsStore } from '../../../infra/analytics/clickhouse/clickHouseAnalyticsStore.js';
import { analyticsStoreContract } from './analyticsStore.contract.js';

// No ClickHouse server can run here, so the server adapter's own code (the client's query_params, formats, error
// mapping, streaming) runs against chDB plugged into @clickhouse/client as its transport. What this cannot show is
// the HTTP path itself (URL length of huge parameters, a server's version): clickhouse.test.ts does, given a server.
const path = mkdtempSync(join(tmpdir(), 'roomline-chdb-connection-'));
const engine = createChdbConnection({ path });
type Transport = NonNullable<ClickHouseClientConfigOptions['connection']>;
/** The stores share the one engine a process may have: closing a store must not close it. */
const connection = new Proxy(engine as unknown as Transport, {
  get(target, property, receiver) {
    if (property === 'close') return async () => {};
    const value = Reflect.get(target, property, receiver);
    return typeof value === 'function' ? value.bind(target) : value;
  },
});
afterAll(async () => {
  await engine.close();
  rmSync(path, { recursive: true, force: true });
});

analyticsStoreContract('clickhouse adapter over the chdb connection', async () => {
  const database = `roomline_analytics_test_${randomBytes(6).toString('hex')}`;
  const admin = createClient({ connection });
  await admin.command({ query: `CREATE DATABASE ${database}` });
  const store = createClickHouseAnalyticsStore({ url: 'http://localhost:8123', database, connection });
  return {
    store,
    async cleanup() {
      await store.close();
      await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    },
  };
});
