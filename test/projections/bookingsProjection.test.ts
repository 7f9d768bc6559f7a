import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BookingEvent } from '../../domain/bookings/events.js';
import { bookingsProjection } from '../../projections/bookings/bookingsProjection.js';
import { BookingView } from '../../projections/bookings/bookingView.js';
import { projectionSpec, recordedEvent } from '../support/projectionSpec.js';

/** The bookings projection: given a booking's events (and its people's erasure), then its row. */
const spec = projectionSpec(bookingsProjection);
const row = (id: string) => spec.orm.em.fork().findOne(BookingView, { id });

function requested(bookingId: string, tenantId: string, landlordId: string): BookingEvent {
  return {
    type: 'BookingRequested',
    data: {
      bookingId,
      reference: `RL-${bookingId.slice(0, 6).toUpperCase()}`,
      roomId: randomUUID(),
      tenantId,
      landlordId,
      checkIn: '2027-03-01',
      checkOut: '2027-03-03',
      nights: 2,
      guests: 1,
      pricePerNight: 4500,
      totalAmount: 9000,
      currency: 'EUR',
      cancellationPolicy: 'moderate',
      holdExpiresAt: '2027-02-02T10:00:00.000Z',
      requestedAt: '2027-02-01T10:00:00.000Z',
    },
  };
}

const erased = (userId: string) =>
  recordedEvent(`User-${userId}`, 1, {
    type: 'PersonalDataErased',
    data: { userId, erasedBy: randomUUID(), erasedAt: '2027-02-10T10:00:00.000Z' },
  });

describe('bookings projection', () => {
  it('keeps each reason in the status history until its writer is erased, then only the reason goes', async () => {
    const [tenantId, landlordId] = [randomUUID(), randomUUID()];
    const rejectedId = randomUUID();
    const cancelledId = randomUUID();
    await spec.apply([
      recordedEvent(`Booking-${rejectedId}`, 0, requested(rejectedId, tenantId, landlordId)),
      recordedEvent(`Booking-${rejectedId}`, 1, {
        type: 'BookingRejected',
        data: { bookingId: rejectedId, by: landlordId, reason: 'renovation', rejectedAt: '2027-02-01T12:00:00.000Z' },
      }),
      recordedEvent(`Booking-${cancelledId}`, 0, requested(cancelledId, tenantId, landlordId)),
      recordedEvent(`Booking-${cancelledId}`, 1, {
        type: 'BookingCancelled',
        data: {
          bookingId: cancelledId,
          by: tenantId,
          reason: 'exam moved',
          feeDue: 0,
          currency: 'EUR',
          cancelledAt: '2027-02-01T12:00:00.000Z',
        },
      }),
    ]);
    expect((await row(rejectedId))!.statusHistory[1]).toMatchObject({ status: 'rejected', reason: 'renovation' });

    await spec.apply([erased(landlordId)]);
    expect((await row(rejectedId))!.statusHistory[1]).toMatchObject({
      status: 'rejected',
      by: landlordId,
      reason: null,
    });
    // The tenant's own words stay until the tenant is erased.
    expect((await row(cancelledId))!.statusHistory[1]).toMatchObject({ reason: 'exam moved' });

    await spec.apply([erased(tenantId), erased(tenantId)]);
    expect((await row(cancelledId))!.statusHistory.map((change) => change.reason ?? null)).toEqual([null, null]);
    expect((await row(cancelledId))!.status).toBe('cancelled');
  });
});
