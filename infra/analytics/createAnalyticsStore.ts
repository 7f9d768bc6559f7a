import { join } from 'node:path';
import type { AnalyticsStore } from './analyticsStore.js';
import { createChdbAnalyticsStore } from './chdb/chdbAnalyticsStore.js';
import { createClickHouseAnalyticsStore } from './clickhouse/clickHouseAnalyticsStore.js';

export interface AnalyticsStoreConfig {
  ANALYTICS_BACKEND: 'chdb' | 'clickhouse';
  CLICKHOUSE_URL?: string;
  DATA_DIR: string;
}

/**
 * The analytics store the settings ask for: chDB with its files under `DATA_DIR/analytics` (the embedded
 * default; one process at a time may own that directory), or the ClickHouse server at CLICKHOUSE_URL. Neither
 * connects until its first call.
 */
export function createAnalyticsStore(config: AnalyticsStoreConfig): AnalyticsStore {
  switch (config.ANALYTICS_BACKEND) {
    case 'chdb':
      return createChdbAnalyticsStore({ path: join(config.DATA_DIR, 'analytics') });
    case 'clickhouse':
      if (!config.CLICKHOUSE_URL?.trim()) {
        throw new Error(
          'ANALYTICS_BACKEND=clickhouse needs CLICKHOUSE_URL, e.g. http://default:@127.0.0.1:8123/roomline',
        );
      }
      return createClickHouseAnalyticsStore({ url: config.CLICKHOUSE_URL.trim() });
    default: {
      const unknown: never = config.ANALYTICS_BACKEND;
      throw new Error(`ANALYTICS_BACKEND must be chdb or clickhouse, not ${JSON.stringify(unknown)}`);
    }
  }
}
