import type { MikroORM } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../infra/config/config.js';
import type { EventStore } from '../infra/eventStore/eventStore.js';
import type { PgProjection } from '../projections/projection.js';
import type { Metrics } from './plugins/metrics.js';

/** Everything the HTTP app needs, built by the composition root (infra/main.ts) or a test. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  /** The store as the application reads it (with upcasting). */
  eventStore: EventStore;
  /** PostgreSQL pool for command-side tables (idempotency) and status queries. */
  pool: pg.Pool;
  orm: MikroORM;
  redis: Redis;
  metrics: Metrics;
  projections: readonly PgProjection[];
}
