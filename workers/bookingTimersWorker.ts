import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { BookingTimer } from '../commands/bookingProcess.js';
import { runBookingTimer } from '../commands/bookingSweeps.js';
import type { StreamSnapshots } from '../commands/snapshots.js';
import type { Clock } from '../infra/clock/clock.js';
import type { EventStore } from '../infra/eventStore/eventStore.js';
import type { BookingTimerJob } from '../infra/queues/bookingTimers.js';
import { type QueueConnection, QueueNames } from '../infra/queues/queues.js';

/** Runs booking deadlines when their delayed job comes due (the job name is the timer kind). */
export function createBookingTimersWorker(deps: {
  at: QueueConnection;
  clock: Clock;
  eventStore: EventStore;
  snapshots?: StreamSnapshots;
  logger: Logger;
}): Worker<BookingTimerJob, { changed: boolean }> {
  const log = deps.logger.child({ worker: QueueNames.bookingTimers });
  const worker = new Worker<BookingTimerJob, { changed: boolean }>(
    QueueNames.bookingTimers,
    async (job) => {
      const kind = job.name as BookingTimer['kind'];
      const changed = await runBookingTimer(
        { store: deps.eventStore, snapshots: deps.snapshots },
        { kind, bookingId: job.data.bookingId },
        deps.clock.now(),
      );
      if (changed) log.info({ jobId: job.id, kind, bookingId: job.data.bookingId }, 'booking deadline acted on');
      return { changed };
    },
    { connection: deps.at.connection, prefix: deps.at.prefix, concurrency: 4 },
  );
  worker.on('failed', (job, error) =>
    log.warn({ jobId: job?.id, attemptsMade: job?.attemptsMade, err: error.message }, 'booking deadline job failed'),
  );
  worker.on('error', (error) => log.error({ err: error.message }, 'booking timers worker error'));
  return worker;
}
