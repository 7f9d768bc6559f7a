import type { EventStore } from '../infra/eventStore/eventStore.js';
import type { BookingTimer } from './bookingProcess.js';
import { changeBookingStatus, releaseExpiredCalendarHolds } from './bookings.js';
import { systemEnvelope } from './handleCommand.js';
import { handlePaymentCommand } from './payments.js';
import { publishClosedReviewWindows } from './reviews.js';
import type { StreamSnapshots } from './snapshots.js';

const BATCH = 500;

type TimerDeps = { store: EventStore; snapshots?: StreamSnapshots };

/**
 * Acts on one booking deadline, deciding on the booking's (or payment's) own stream: a booking that moved on
 * meanwhile is left alone, and a deadline acted on twice changes nothing the second time. Returns whether it
 * changed anything. A deadline not yet reached throws (HOLD_NOT_EXPIRED, BEFORE_CHECK_OUT, NOT_OVERDUE), so a
 * job that fires early is retried.
 */
export async function runBookingTimer(
  deps: TimerDeps,
  timer: Pick<BookingTimer, 'kind' | 'bookingId'>,
  now: Date,
): Promise<boolean> {
  const at = now.toISOString();
  const context = { actorId: 'system', actorRole: 'system', now: at } as const;
  const bookingId = timer.bookingId;
  switch (timer.kind) {
    case 'expire-hold':
    case 'complete-stay': {
      const type = timer.kind === 'expire-hold' ? 'ExpireBooking' : 'CompleteBooking';
      const result = await changeBookingStatus(deps, { type, data: { bookingId }, context }, systemEnvelope(at));
      return result.events.length > 0;
    }
    case 'mark-payment-overdue': {
      const result = await handlePaymentCommand(
        deps,
        { type: 'MarkPaymentOverdue', data: { bookingId }, context },
        systemEnvelope(at),
      );
      return result.events.length > 0;
    }
    default: {
      const unhandled: never = timer.kind;
      throw new Error(`unknown booking timer ${unhandled as string}`);
    }
  }
}

/** Candidates of a sweep from a read model's query module: ids of bookings whose deadline has come at `now`. */
export type SweepCandidates = (now: Date, limit: number) => Promise<string[]>;

/** Where the sweeps find their candidates: the bookings and payments query modules, passed in. */
export interface BookingSweepQueries {
  expiredHolds: SweepCandidates;
  endedStays: SweepCandidates;
  overduePayments: SweepCandidates;
  /** Rooms whose calendar has a hold expired at `now` and not released (a request that died half-way). */
  calendarsWithExpiredHolds: SweepCandidates;
  /** Bookings whose review window closed with reviews still hidden (the reviews query module). */
  closedReviewWindows: SweepCandidates;
}

export type SweepDeps = TimerDeps & { queries: BookingSweepQueries };

async function sweep(
  deps: TimerDeps,
  kind: BookingTimer['kind'],
  candidates: SweepCandidates,
  now: Date,
): Promise<number> {
  let changed = 0;
  for (const id of await candidates(now, BATCH)) {
    if (await runBookingTimer(deps, { kind, bookingId: id }, now)) changed++;
  }
  return changed;
}

/**
 * The sweeps: candidates come from the read models (through their query modules), every decision from the
 * streams. They catch every deadline whose delayed job Redis lost. Safe to run from several workers at once,
 * and again after a crash. `now` is the app's clock: the queries compare with it, never with the database's.
 */
export const expireOverdueHolds = (deps: SweepDeps, now: Date) =>
  sweep(deps, 'expire-hold', deps.queries.expiredHolds, now);

/** Completes checked-in stays whose check-out day has come. */
export const completeFinishedStays = (deps: SweepDeps, now: Date) =>
  sweep(deps, 'complete-stay', deps.queries.endedStays, now);

/** Marks overdue every payment with a balance left one day after it was due. */
export const markOverduePayments = (deps: SweepDeps, now: Date) =>
  sweep(deps, 'mark-payment-overdue', deps.queries.overduePayments, now);

/**
 * Records the release of holds that expired without a booking (a request that died between its hold and its
 * booking). The calendar already treats them as free; the release lets the search index show the nights free.
 */
export const releaseAbandonedHolds = (deps: SweepDeps, now: Date) =>
  releaseExpiredCalendarHolds(
    { store: deps.store, roomsWithExpiredHolds: deps.queries.calendarsWithExpiredHolds },
    now,
    systemEnvelope,
  );

/** Publishes the reviews of every booking whose review window has closed (REVIEW_WINDOW_DAYS after check-out). */
export const publishDueReviews = (deps: SweepDeps, now: Date) =>
  publishClosedReviewWindows({ store: deps.store, candidates: deps.queries.closedReviewWindows }, now);
