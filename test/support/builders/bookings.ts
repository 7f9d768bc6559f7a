import { randomUUID } from 'node:crypto';
import type { RoomSnapshot } from '../../../domain/bookings/commands.js';
import type { BookingEvent } from '../../../domain/bookings/events.js';
import type { CommandContext } from '../../../domain/shared/decider.js';

/** A booking fixture: ids, the room, and events for each state it can reach. */
export function bookingFixture(overrides: Partial<RoomSnapshot> = {}) {
  const bookingId = randomUUID();
  const tenantId = randomUUID();
  const landlordId = randomUUID();
  const room: RoomSnapshot = {
    roomId: randomUUID(),
    status: 'published',
    landlordId,
    pricePerNight: 4500,
    currency: 'EUR',
    maxOccupants: 2,
    cancellationPolicy: 'moderate',
    ...overrides,
  };
  const at = (iso: string) => iso;
  const requested: BookingEvent = {
    type: 'BookingRequested',
    data: {
      bookingId,
      reference: 'RL-7K3M9Q',
      roomId: room.roomId,
      tenantId,
      landlordId,
      checkIn: '2027-02-10',
      checkOut: '2027-02-13',
      nights: 3,
      guests: 1,
      pricePerNight: room.pricePerNight,
      totalAmount: 3 * room.pricePerNight,
      currency: room.currency,
      cancellationPolicy: room.cancellationPolicy,
      holdExpiresAt: '2027-01-02T10:00:00.000Z',
      requestedAt: '2027-01-01T10:00:00.000Z',
    },
  };
  const confirmed: BookingEvent = {
    type: 'BookingConfirmed',
    data: { bookingId, by: landlordId, confirmedAt: '2027-01-01T12:00:00.000Z' },
  };
  const states: Record<string, BookingEvent[]> = {
    none: [],
    pending: [requested],
    confirmed: [requested, confirmed],
    rejected: [
      requested,
      {
        type: 'BookingRejected',
        data: { bookingId, by: landlordId, reason: null, rejectedAt: at('2027-01-01T11:00:00.000Z') },
      },
    ],
    cancelled: [
      requested,
      {
        type: 'BookingCancelled',
        data: {
          bookingId,
          by: tenantId,
          reason: null,
          feeDue: 0,
          currency: 'EUR',
          cancelledAt: '2027-01-01T11:00:00.000Z',
        },
      },
    ],
    expired: [requested, { type: 'BookingExpired', data: { bookingId, expiredAt: '2027-01-02T10:00:00.000Z' } }],
    checked_in: [
      requested,
      confirmed,
      { type: 'GuestCheckedIn', data: { bookingId, by: landlordId, checkedInAt: '2027-02-10T15:00:00.000Z' } },
    ],
    no_show: [
      requested,
      confirmed,
      { type: 'BookingNoShow', data: { bookingId, by: landlordId, recordedAt: '2027-02-11T09:00:00.000Z' } },
    ],
    completed: [
      requested,
      confirmed,
      { type: 'GuestCheckedIn', data: { bookingId, by: landlordId, checkedInAt: '2027-02-10T15:00:00.000Z' } },
      { type: 'BookingCompleted', data: { bookingId, completedAt: '2027-02-13T12:00:00.000Z' } },
    ],
  };
  const tenant = (now: string): CommandContext => ({ actorId: tenantId, actorRole: 'tenant', now });
  const landlord = (now: string): CommandContext => ({ actorId: landlordId, actorRole: 'landlord', now });
  const system = (now: string): CommandContext => ({ actorId: 'system', actorRole: 'system', now });
  return { bookingId, tenantId, landlordId, room, requested, states, tenant, landlord, system };
}
