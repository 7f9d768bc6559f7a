import type { Queue } from 'bullmq';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { BookingSweepQueries } from '../commands/bookingSweeps.js';
import type { StreamSnapshots } from '../commands/snapshots.js';
import type { Clock } from '../infra/clock/clock.js';
import type { EventStore } from '../infra/eventStore/eventStore.js';
import type { FileStore } from '../infra/fileStore/fileStore.js';
import type { Mailer } from '../infra/mail/mailer.js';
import { type QueueConnection, QueueNames } from '../infra/queues/queues.js';
import { createBookingTimersWorker } from './bookingTimersWorker.js';
import { createMailWorker } from './mailWorker.js';
import { createMaintenanceWorker, scheduleMaintenance } from './maintenance.js';
import { createNotificationWorker, type NotificationWorkerDeps } from './notificationWorker.js';

/**
 * What the workers run on, built by the composition root (infra/runtime.ts, infra/main.ts) or a test: the
 * workers build no adapter, queue or mailer of their own, and close none of what they are given.
 */
export interface WorkerDeps {
  /** Where the workers connect (connection options and key prefix of the queues). */
  at: QueueConnection;
  /** The `maintenance` queue, on which the schedules are registered. */
  maintenanceQueue: Queue;
  mailer: Mailer;
  clock: Clock;
  logger: Logger;
  /** The command-side tables the hourly jobs clean (idempotency keys, sessions, process effects). */
  pool: pg.Pool;
  /** A person's address: undefined when not known (yet), null when erased (the users read model). */
  addressOf: (userId: string) => Promise<string | null | undefined>;
  /** With it, booking deadlines run: their delayed jobs, and the sweep every minute behind them. */
  bookings?: { eventStore: EventStore; queries: BookingSweepQueries; snapshots?: StreamSnapshots };
  /** With it, files no event refers to any more are deleted daily. */
  files?: { fileStore: FileStore; headPosition: () => Promise<bigint> };
  /** With it, raised notifications are delivered (email, SMS, push), with reminders and message digests. */
  notifications?: Omit<NotificationWorkerDeps, 'at' | 'logger' | 'clock' | 'mailer'>;
}

export interface RunningWorkers {
  /** Lets the jobs in flight finish, then closes the workers (what it was given stays the caller's). */
  close(): Promise<void>;
}

/** Starts the mail, maintenance and booking-timer workers and registers the maintenance schedule. */
export async function startWorkers(deps: WorkerDeps): Promise<RunningWorkers> {
  const { at, clock, logger } = deps;
  const mailWorker = createMailWorker({ at, mailer: deps.mailer, logger, addressOf: deps.addressOf });
  const maintenanceWorker = createMaintenanceWorker({
    at,
    clock,
    pool: deps.pool,
    logger,
    bookings: deps.bookings,
    files: deps.files,
  });
  const timersWorker = deps.bookings
    ? createBookingTimersWorker({
        at,
        clock,
        eventStore: deps.bookings.eventStore,
        snapshots: deps.bookings.snapshots,
        logger,
      })
    : undefined;
  const notificationWorker = deps.notifications
    ? createNotificationWorker({ ...deps.notifications, at, logger, clock, mailer: deps.mailer })
    : undefined;

  const close = async () => {
    const results = await Promise.allSettled([
      mailWorker.close(),
      maintenanceWorker.close(),
      timersWorker?.close(),
      notificationWorker?.close(),
    ]);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  };

  try {
    await Promise.all([
      mailWorker.waitUntilReady(),
      maintenanceWorker.waitUntilReady(),
      timersWorker?.waitUntilReady(),
      notificationWorker?.waitUntilReady(),
    ]);
    await scheduleMaintenance(deps.maintenanceQueue, {
      bookings: deps.bookings !== undefined,
      files: deps.files !== undefined,
    });
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
  logger.info({ queues: Object.values(QueueNames) }, 'workers started');
  return { close };
}
