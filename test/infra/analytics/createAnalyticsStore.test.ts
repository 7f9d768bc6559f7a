import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAnalyticsStore } from '../../../infra/analytics/createAnalyticsStore.js';

describe('createAnalyticsStore', () => {
  it('ANALYTICS_BACKEND=chdb: a chDB store with its files under DATA_DIR/analytics', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'roomline-analytics-factory-'));
    try {
      const store = createAnalyticsStore({ ANALYTICS_BACKEND: 'chdb', DATA_DIR: dataDir });
      expect(await store.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      await store.close();
      expect(readdirSync(dataDir)).toContain('analytics');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('ANALYTICS_BACKEND=clickhouse: needs CLICKHOUSE_URL, and connects lazily', async () => {
    expect(() => createAnalyticsStore({ ANALYTICS_BACKEND: 'clickhouse', DATA_DIR: '.data' })).toThrow(
      /CLICKHOUSE_URL/,
    );
    const store = createAnalyticsStore({
      ANALYTICS_BACKEND: 'clickhouse',
      CLICKHOUSE_URL: 'http://127.0.0.1:1',
      DATA_DIR: '.data',
    });
    await expect(store.query('SELECT 1')).rejects.toMatchObject({ code: 'engine' });
    await store.close();
  });
});
