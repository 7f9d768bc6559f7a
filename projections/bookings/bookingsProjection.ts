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

/** Builds `bookings` (with each booking's status history) from the Booking streams. */
export const bookingsProjection: PgProjection = {
  name: 'bookings',
  version: 1,
  filter: { eventTypes: BookingEventTypes, streamPrefixes: ['Booking-'] },

  async apply(em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
    for (const recorded of events) {
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
