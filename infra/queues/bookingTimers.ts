import type { Queue } from 'bullmq';
import type { BookingTimer, BookingTimers } from '../../commands/bookingProcess.js';
import type { Clock } from '../clock/clock.js';

export type BookingTimerJob = Pick<BookingTimer, 'bookingId' | 'at'>;

/** The job id of a timer: one per booking and kind, so scheduling it again is a no-op while BullMQ holds it. */
export const timerJobId = (timer: Pick<BookingTimer, 'kind' | 'bookingId'>) => `${timer.kind}-${timer.bookingId}`;

/**
 * Booking deadlines as BullMQ delayed jobs on the `booking-timers` queue, delayed by the app's clock (Redis fires
 * them by its own: a job that fires early is retried, one lost is caught by the sweep).
 */
export function bullBookingTimers(queue: Queue<BookingTimerJob>, clock: Clock): BookingTimers {
  return {
    async schedule(timer) {
      await queue.add(
        timer.kind,
        { bookingId: timer.bookingId, at: timer.at },
        { jobId: timerJobId(timer), delay: Math.max(0, Date.parse(timer.at) - clock.now().getTime()) },
      );
    },
  };
}
