import type { EntityManager } from '@mikro-orm/postgresql';
import { type BookingEvent, BookingEventTypes, BookingStatusAfter } from '../../domain/bookings/events.js';
import { singleStreamRows } from '../singleStreamRows.js';
import { BookingView, type StatusChange } from './bookingView.js';

/**
 * Builds `bookings` (with each booking's status history) from the Booking streams. A reason is its
 * writer's personal data: when they are erased (`PersonalDataErased` on their User stream) every
 * reason they gave is removed; the change itself (status, when, by whom) stays.
 */
export const bookingsProjection = singleStreamRows<BookingEvent, BookingView>({
  name: 'bookings',
  version: 2,
  streamPrefix: 'Booking-',
  eventTypes: BookingEventTypes,
  entity: BookingView,
  key: 'id',
  table: 'bookings',
  // The erasure of its tenant or landlord forgets the booking's reasons.
  async relatedStreams(em, id) {
    const [row] = await em.execute<Array<{ tenant_id: string; landlord_id: string }>>(
      'SELECT tenant_id, landlord_id FROM bookings WHERE id = ?',
      [id],
    );
    return row ? [`User-${row.tenant_id}`, `User-${row.landlord_id}`] : [];
  },
  evolve: (booking, event, { id, at, occurredAt }) => {
    if (event.type === 'BookingRequested') {
      if (booking) return null;
      const { bookingId: _id, requestedAt: _at, holdExpiresAt, ...terms } = event.data;
      return {
        ...terms,
        id,
        status: 'pending',
        cancellationFee: null,
        holdExpiresAt: new Date(holdExpiresAt),
        statusHistory: [{ status: 'pending', at: occurredAt, by: terms.tenantId }],
        createdAt: at,
        updatedAt: at,
      };
    }
    if (!booking) return null;
    const data = event.data as { by?: string; reason?: string | null };
    const change: StatusChange = { status: BookingStatusAfter[event.type], at: occurredAt, by: data.by ?? 'system' };
    if (data.reason !== undefined) change.reason = data.reason;
    return {
      ...booking,
      status: change.status,
      statusHistory: [...booking.statusHistory, change],
      cancellationFee: event.type === 'BookingCancelled' ? event.data.feeDue : booking.cancellationFee,
      updatedAt: at,
    };
  },
  also: {
    eventTypes: ['PersonalDataErased'],
    streamPrefixes: ['User-'],
    async apply(em, recorded) {
      if (recorded.type === 'PersonalDataErased') await forgetReasonsOf(em, recorded.streamId.slice('User-'.length));
    },
  },
});

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
