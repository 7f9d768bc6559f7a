import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type Logger, pino } from 'pino';
import type { Role } from '../../domain/shared/decider.js';
import { accessTokenSigner } from '../../infra/auth/tokens.js';
import type { Clock } from '../../infra/clock/clock.js';
import { type Config, loadConfig } from '../../infra/config/config.js';
import { createRuntime, type Runtime } from '../../infra/runtime.js';
import { ProjectionRunner } from '../../projections/runner.js';
import { buildApp } from '../../read-api/app.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { deleteRedisKeys } from './redis.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256!';
/** A fixed, test-only key-encryption key: base64 of "roomline-test-only-data-key-0001". */
export const TEST_DATA_ENCRYPTION_KEY = 'cm9vbWxpbmUtdGVzdC1vbmx5LWRhdGEta2V5LTAwMDE=';

export function testConfig(databaseUrl: string, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_ENCRYPTION_KEY: TEST_DATA_ENCRYPTION_KEY,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PG_POOL_SIZE: '10',
    MIN_POSITION_WAIT_MS: '5000',
    // Suites send hundreds of requests a minute from one address; the limit itself is tested with a low one.
    RATE_LIMIT_PER_MINUTE: '100000',
    SUBSCRIPTION_POLL_MS: '500',
    // Each app its own queues: delayed jobs of one test never reach another's workers.
    QUEUE_PREFIX: `rl-test-${randomUUID().slice(0, 8)}`,
    // Each app its own data directory: one process at a time may open chDB's files.
    DATA_DIR: overrides.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'roomline-test-')),
    ...overrides,
  });
}

/** Signs access tokens as this config's app accepts them: for a new (or the given) user of that role. */
export function testTokens(config: Config): (role: Role, sub?: string) => string {
  const sign = accessTokenSigner({
    secret: config.JWT_SECRET,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
  });
  return (role, sub = randomUUID()) => sign({ sub, role, email: `${role}-${sub.slice(0, 8)}@example.test` });
}

export interface TestApp {
  app: FastifyInstance;
  runtime: Runtime;
  db: TestDatabase;
  runner: ProjectionRunner | undefined;
  /** A signed access token for a new (or the given) user of that role. */
  token(role: Role, sub?: string): string;
  /** Authorization header for a role. */
  as(role: Role, sub?: string): { authorization: string };
  close(): Promise<void>;
}

/** The real app on a fresh database, with the projection runner unless `projections: false`. */
export async function createTestApp(
  options: { projections?: boolean; config?: Record<string, string>; logger?: Logger; clock?: Clock } = {},
): Promise<TestApp> {
  const db = await createTestDatabase(4);
  const ownDataDir = options.config?.DATA_DIR ? undefined : mkdtempSync(join(tmpdir(), 'roomline-test-'));
  const config = testConfig(db.url, { ...options.config, ...(ownDataDir ? { DATA_DIR: ownDataDir } : {}) });
  const runtime = await createRuntime(config, options.logger ?? pino({ level: config.LOG_LEVEL }), options.clock);
  const app = await buildApp(runtime);
  let runner: ProjectionRunner | undefined;
  if (options.projections !== false) {
    runner = new ProjectionRunner({
      orm: runtime.orm,
      store: runtime.eventStore,
      storedEvents: runtime.rawEventStore,
      databaseUrl: db.url,
      projections: runtime.projections,
      logger: runtime.logger,
      standbyRetryMs: 200,
    });
    await runner.start();
  }
  const token = testTokens(config);
  return {
    app,
    runtime,
    db,
    runner,
    token,
    as: (role, sub) => ({ authorization: `Bearer ${token(role, sub)}` }),
    async close() {
      await app.close();
      await runner?.stop();
      await runtime.close();
      await deleteRedisKeys(config.QUEUE_PREFIX);
      await db.drop();
      if (ownDataDir) rmSync(ownDataDir, { recursive: true, force: true });
    },
  };
}
