import type { FastifyInstance } from 'fastify';
import { ProjectionRunner } from '../projections/runner.js';
import { buildApp } from '../read-api/app.js';
import { bootstrapAdmin } from '../read-api/routes/identity.js';
import { startWorkers } from '../workers/startWorkers.js';
import { type Config, ConfigError, loadConfig } from './config/config.js';
import { prepareDatabase } from './db/prepare.js';
import { createLogger, createRuntime, notificationWorkerDeps } from './runtime.js';

/**
 * The composition root: one code base, four entry points chosen by ROOMLINE_PROCESS
 * (api, projector, worker, or all three in one process).
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config);
  const role = config.ROOMLINE_PROCESS;
  const runs = (part: 'api' | 'projector' | 'worker') => role === 'all' || role === part;

  // Read models, idempotency keys and checkpoints live in PostgreSQL whichever event store is used.
  await prepareDatabase(config.DATABASE_URL);
  const runtime = await createRuntime(config, logger);

  const stops: Array<{ name: string; stop: () => Promise<void> }> = [];
  let app: FastifyInstance | undefined;
  if (runs('api')) {
    const admin = await bootstrapAdmin(runtime);
    if (admin === 'created') logger.info('created the first admin from ROOMLINE_ADMIN_EMAIL');
    app = await buildApp(runtime);
    stops.push({ name: 'api', stop: () => app!.close() });
  }
  if (runs('projector')) {
    const runnerOrm = await runtime.openRunnerOrm();
    const runner = new ProjectionRunner({
      orm: runnerOrm,
      store: runtime.eventStore,
      storedEvents: runtime.rawEventStore,
      databaseUrl: config.DATABASE_URL,
      projections: chosenProjections(runtime.projections, config.PROJECTIONS),
      logger,
    });
    await runner.start();
    stops.push({
      name: 'projector',
      stop: async () => {
        await runner.stop();
        await runnerOrm.close(true);
      },
    });
  }
  if (runs('worker')) {
    const workers = await startWorkers({
      at: runtime.queueConnection,
      maintenanceQueue: runtime.queues.maintenance,
      mailer: runtime.mailer,
      clock: runtime.clock,
      logger,
      pool: runtime.pool,
      addressOf: runtime.addressOf,
      bookings: { eventStore: runtime.eventStore, queries: runtime.sweepQueries, snapshots: runtime.snapshots },
      files: { fileStore: runtime.fileStore, headPosition: () => runtime.eventStore.headPosition() },
      notifications: notificationWorkerDeps(runtime),
    });
    stops.push({ name: 'worker', stop: () => workers.close() });
  }

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down: finishing requests, projections and jobs in flight');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    force.unref();
    try {
      // The API stops taking requests first; then projectors and workers finish what they hold.
      for (const { name, stop } of stops) {
        await stop();
        logger.info({ part: name }, 'stopped part');
      }
      await runtime.close();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  if (app) {
    await app.listen({ port: config.PORT, host: config.HOST });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    const url = `http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${port}`;
    logger.info({ url, process: role }, 'Roomline is listening');
    process.stdout.write(`\nRoomline (${role}) is running at ${url}  (API docs: ${url}/docs)\n\n`);
  } else {
    logger.info({ process: role }, 'Roomline is running');
  }
}

/**
 * The projections this process runs: all, or those PROJECTIONS names. Projector processes share the work through
 * leases whatever they run; naming lets one run the feed publisher alone, so its latency never waits behind the
 * read models' work in a busy process.
 */
function chosenProjections<P extends { name: string }>(all: readonly P[], names: string | undefined): readonly P[] {
  if (!names) return all;
  const wanted = names.split(',');
  const unknown = wanted.filter((name) => !all.some((projection) => projection.name === name));
  if (unknown.length > 0) {
    throw new ConfigError([
      `PROJECTIONS: no projection named ${unknown.join(', ')} (there are: ${all.map((p) => p.name).join(', ')})`,
    ]);
  }
  return all.filter((projection) => wanted.includes(projection.name));
}

main().catch((error) => {
  process.stderr.write(`Roomline failed to start: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
