import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { EventStore } from '../infra/eventStore/eventStore.js';
import { type BookingDeps, changeBookingStatus } from './bookings.js';
import type { CommandEnvelope } from './handleCommand.js';

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

/**
 * Expires every pending booking whose hold has run out, releasing its nights. Candidates come from
 * the bookings read model; each decision is made on the booking's own stream, so a booking confirmed
 * meanwhile is left alone. Safe to run from several workers at once, and again after a crash.
 */
export async function expireOverdueHolds(
  deps: { store: EventStore; pool: pg.Pool },
  now = new Date(),
): Promise<number> {
  const { rows } = await deps.pool.query<{ id: string }>(
    "SELECT id FROM bookings WHERE status = 'pending' AND hold_expires_at <= $1 ORDER BY hold_expires_at LIMIT $2",
    [now, BATCH],
  );
  const bookings: BookingDeps = { store: deps.store, newReference: () => 'RL-UNUSED' };
  let expired = 0;
  for (const { id } of rows) {
    const result = await changeBookingStatus(
      bookings,
      {
        type: 'ExpireBooking',
        data: { bookingId: id },
        context: { actorId: 'system', actorRole: 'system', now: now.toISOString() },
      },
      systemEnvelope(now.toISOString()),
    );
    if (result.events.length > 0) expired++;
  }
  return expired;
}

/** Completes checked-in stays whose check-out day has come. */
export async function completeFinishedStays(
  deps: { store: EventStore; pool: pg.Pool },
  now = new Date(),
): Promise<number> {
  const { rows } = await deps.pool.query<{ id: string }>(
    "SELECT id FROM bookings WHERE status = 'checked_in' AND check_out <= $1::date ORDER BY check_out LIMIT $2",
    [now.toISOString().slice(0, 10), BATCH],
  );
  const bookings: BookingDeps = { store: deps.store, newReference: () => 'RL-UNUSED' };
  let completed = 0;
  for (const { id } of rows) {
    const result = await changeBookingStatus(
      bookings,
      {
        type: 'CompleteBooking',
        data: { bookingId: id },
        context: { actorId: 'system', actorRole: 'system', now: now.toISOString() },
      },
      systemEnvelope(now.toISOString()),
    );
    if (result.events.length > 0) completed++;
  }
  return completed;
}
