import type { Queue } from 'bullmq';
import type { BookingTimer, BookingTimers } from '../../commands/bookingProcess.js';

export type BookingTimerJob = Pick<BookingTimer, 'bookingId' | 'at'>;

/** The job id of a timer: one per booking and kind, so scheduling it again is a no-op while BullMQ holds it. */
export const timerJobId = (timer: Pick<BookingTimer, 'kind' | 'bookingId'>) => `${timer.kind}-${timer.bookingId}`;

/** Booking deadlines as BullMQ delayed jobs on the `booking-timers` queue. */
export function bullBookingTimers(queue: Queue<BookingTimerJob>): BookingTimers {
  return {
    async schedule(timer) {
      await queue.add(
        timer.kind,
        { bookingId: timer.bookingId, at: timer.at },
        { jobId: timerJobId(timer), delay: Math.max(0, Date.parse(timer.at) - Date.now()) },
      );
    },
  };
}
