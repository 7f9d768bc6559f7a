import type pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../infra/config/config.js';
import type { EventStore } from '../infra/eventStore/eventStore.js';
import type { FileStore } from '../infra/fileStore/fileStore.js';
import { createMailer, type Mailer } from '../infra/mail/mailer.js';
import { createQueue, DEFAULT_QUEUE_PREFIX, QueueNames, queueConnection } from '../infra/queues/queues.js';
import { createBookingTimersWorker } from './bookingTimersWorker.js';
import { createMailWorker } from './mailWorker.js';
import { createMaintenanceWorker, scheduleMaintenance } from './maintenance.js';

export interface WorkerDeps {
  config: Pick<Config, 'REDIS_URL' | 'SMTP_URL' | 'MAIL_FROM' | 'DATA_DIR'> & Partial<Pick<Config, 'QUEUE_PREFIX'>>;
  logger: Logger;
  pool: pg.Pool;
  /** Built from the config when absent (and then closed with the workers); a given one stays the caller's. */
  mailer?: Mailer;
  /** Redis key prefix of the queues (default QUEUE_PREFIX); tests give each run its own. */
  prefix?: string;
  /** With it, booking deadlines run: their delayed jobs, and the sweep every minute behind them. */
  eventStore?: EventStore;
  /** With it, files nothing refers to any more are deleted daily. */
  fileStore?: FileStore;
}

export interface RunningWorkers {
  /** Lets the jobs in flight finish, then closes workers, queues, connections and the mailer it built. */
  close(): Promise<void>;
}

/** A person's address from the users read model: undefined when unknown (yet), null when erased. */
async function addressOf(pool: pg.Pool, userId: string): Promise<string | null | undefined> {
  const { rows } = await pool.query<{ email: string | null }>('SELECT email FROM users WHERE id = $1', [userId]);
  return rows.length === 0 ? undefined : rows[0]!.email;
}

/** Starts the mail and maintenance workers and registers the maintenance schedule. */
export async function startWorkers(deps: WorkerDeps): Promise<RunningWorkers> {
  const at = queueConnection(deps.config.REDIS_URL, deps.prefix ?? deps.config.QUEUE_PREFIX ?? DEFAULT_QUEUE_PREFIX);
  const mailer = deps.mailer ?? createMailer(deps.config);
  const mailWorker = createMailWorker({
    at,
    mailer,
    logger: deps.logger,
    addressOf: (userId) => addressOf(deps.pool, userId),
  });
  const maintenanceWorker = createMaintenanceWorker({
    at,
    pool: deps.pool,
    logger: deps.logger,
    eventStore: deps.eventStore,
    fileStore: deps.fileStore,
  });
  const timersWorker = deps.eventStore
    ? createBookingTimersWorker({ at, eventStore: deps.eventStore, logger: deps.logger })
    : undefined;
  const maintenanceQueue = createQueue(QueueNames.maintenance, at);
  maintenanceQueue.on('error', (error) => deps.logger.warn({ err: error.message }, 'maintenance queue error'));

  const close = async () => {
    const results = await Promise.allSettled([mailWorker.close(), maintenanceWorker.close(), timersWorker?.close()]);
    results.push(...(await Promise.allSettled([maintenanceQueue.close()])));
    if (!deps.mailer) results.push(...(await Promise.allSettled([mailer.close()])));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  };

  try {
    await Promise.all([
      mailWorker.waitUntilReady(),
      maintenanceWorker.waitUntilReady(),
      timersWorker?.waitUntilReady(),
    ]);
    await scheduleMaintenance(maintenanceQueue, {
      bookings: deps.eventStore !== undefined,
      files: deps.fileStore !== undefined,
    });
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
  deps.logger.info({ queues: Object.values(QueueNames) }, 'workers started');
  return { close };
}
