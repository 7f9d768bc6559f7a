import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { EventStore } from '../infra/eventStore/eventStore.js';
import type { BookingTimer } from './bookingProcess.js';
import { changeBookingStatus } from './bookings.js';
import type { CommandEnvelope } from './handleCommand.js';
import { handlePaymentCommand } from './payments.js';

const BATCH = 500;

function systemEnvelope(now: string): CommandEnvelope {
  return {
    now,
    newId: randomUUID,
    metadata: {
      correlationId: randomUUID(),
      causationId: null,
      actorId: 'system',
      actorRole: 'system',
      requestId: null,
    },
  };
}

type TimerDeps = { store: EventStore };

/**
 * Acts on one booking deadline, deciding on the booking's (or payment's) own stream: a booking that moved on
 * meanwhile is left alone, and a deadline acted on twice changes nothing the second time. Returns whether it
 * changed anything. A deadline not yet reached throws (HOLD_NOT_EXPIRED, BEFORE_CHECK_OUT, NOT_OVERDUE), so a
 * job that fires early is retried.
 */
export async function runBookingTimer(
  deps: TimerDeps,
  timer: Pick<BookingTimer, 'kind' | 'bookingId'>,
  now = new Date(),
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

async function sweep(
  deps: TimerDeps & { pool: pg.Pool },
  kind: BookingTimer['kind'],
  sql: string,
  now: Date,
): Promise<number> {
  const { rows } = await deps.pool.query<{ id: string }>(sql, [now, BATCH]);
  let changed = 0;
  for (const { id } of rows) if (await runBookingTimer(deps, { kind, bookingId: id }, now)) changed++;
  return changed;
}

/**
 * The sweeps: candidates come from the read models, every decision from the streams. They catch every
 * deadline whose delayed job Redis lost. Safe to run from several workers at once, and again after a crash.
 */
export const expireOverdueHolds = (deps: TimerDeps & { pool: pg.Pool }, now = new Date()) =>
  sweep(
    deps,
    'expire-hold',
    "SELECT id FROM bookings WHERE status = 'pending' AND hold_expires_at <= $1 ORDER BY hold_expires_at LIMIT $2",
    now,
  );

/** Completes checked-in stays whose check-out day has come. */
export const completeFinishedStays = (deps: TimerDeps & { pool: pg.Pool }, now = new Date()) =>
  sweep(
    deps,
    'complete-stay',
    "SELECT id FROM bookings WHERE status = 'checked_in' AND check_out <= ($1::timestamptz AT TIME ZONE 'UTC')::date ORDER BY check_out LIMIT $2",
    now,
  );

/** Marks overdue every payment with a balance left one day after it was due. */
export const markOverduePayments = (deps: TimerDeps & { pool: pg.Pool }, now = new Date()) =>
  sweep(
    deps,
    'mark-payment-overdue',
    "SELECT booking_id AS id FROM payments WHERE balance_due > 0 AND overdue_at IS NULL AND due_at <= $1::timestamptz - interval '1 day' ORDER BY due_at LIMIT $2",
    now,
  );
