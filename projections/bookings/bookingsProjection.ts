import type { EntityManager } from '@mikro-orm/postgresql';
import { type BookingEvent, BookingEventTypes } from '../../domain/bookings/events.js';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import type { PgProjection } from '../projection.js';
import { BookingView, type StatusChange } from './bookingView.js';

const STATUS_OF: Record<Exclude<BookingEvent['type'], 'BookingRequested'>, string> = {
  BookingConfirmed: 'confirmed',
  BookingRejected: 'rejected',
  BookingCancelled: 'cancelled',
  BookingExpired: 'expired',
  GuestCheckedIn: 'checked_in',
  BookingNoShow: 'no_show',
  BookingCompleted: 'completed',
};

/**
 * Builds `bookings` (with each booking's status history) from the Booking streams. A reason is its
 * writer's personal data: when they are erased (`PersonalDataErased` on their User stream) every
 * reason they gave is removed; the change itself (status, when, by whom) stays.
 */
export const bookingsProjection: PgProjection = {
  name: 'bookings',
  version: 2,
  filter: { eventTypes: [...BookingEventTypes, 'PersonalDataErased'], streamPrefixes: ['Booking-', 'User-'] },

  async apply(em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
    for (const recorded of events) {
      if (recorded.type === 'PersonalDataErased') {
        await forgetReasonsOf(em, recorded.streamId.slice('User-'.length));
        continue;
      }
      if (!recorded.streamId.startsWith('Booking-')) continue;
      const event = { type: recorded.type, data: recorded.data } as BookingEvent;
      const at = recorded.metadata.occurredAt;
      const bookingId = recorded.streamId.slice('Booking-'.length);
      if (event.type === 'BookingRequested') {
        if (await em.findOne(BookingView, { id: bookingId })) continue;
        const { bookingId: _id, requestedAt: _at, holdExpiresAt, ...terms } = event.data;
        em.create(BookingView, {
          ...terms,
          id: bookingId,
          status: 'pending',
          cancellationFee: null,
          holdExpiresAt: new Date(holdExpiresAt),
          statusHistory: [{ status: 'pending', at, by: terms.tenantId }],
          createdAt: new Date(at),
          updatedAt: new Date(at),
          revision: recorded.revision,
          lastPosition: recorded.position,
        });
        continue;
      }
      const booking = await em.findOne(BookingView, { id: bookingId });
      if (!booking || booking.revision >= recorded.revision) continue;
      const data = event.data as { by?: string; reason?: string | null; feeDue?: number };
      const change: StatusChange = { status: STATUS_OF[event.type], at, by: data.by ?? 'system' };
      if (data.reason !== undefined) change.reason = data.reason;
      booking.status = change.status;
      booking.statusHistory = [...booking.statusHistory, change];
      if (event.type === 'BookingCancelled') booking.cancellationFee = event.data.feeDue;
      booking.updatedAt = new Date(at);
      booking.revision = recorded.revision;
      booking.lastPosition = recorded.position;
    }
  },

  async reset(em: EntityManager): Promise<void> {
    await em.execute('DELETE FROM bookings');
  },
};

/** The person wrote reasons only on bookings they are the tenant or the landlord of. */
async function forgetReasonsOf(em: EntityManager, userId: string): Promise<void> {
  const bookings = await em.find(BookingView, { $or: [{ tenantId: userId }, { landlordId: userId }] });
  for (const booking of bookings) {
    if (!booking.statusHistory.some((change) => change.by === userId && change.reason)) continue;
    booking.statusHistory = booking.statusHistory.map((change) =>
      change.by === userId && change.reason ? { ...change, reason: null } : change,
    );
  }
}
