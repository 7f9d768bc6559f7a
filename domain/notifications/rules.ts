import type { BookingConfirmed, BookingExpired, BookingRejected, BookingRequested } from '../bookings/events.js';
import type { MessageSent } from '../messaging/events.js';
import type { PaymentOverdue, PaymentRecordOpened } from '../payments/events.js';
import type { ReviewPublished } from '../reviews/events.js';
import type { SavedSearchMatched } from '../savedSearches/events.js';
import type { NotificationKind } from './events.js';

/** Whom to notify of what: `subject` holds ids only (the texts are made when the notification is shown or sent). */
export interface NotificationIntent {
  userId: string;
  kind: NotificationKind;
  subject: Record<string, string>;
}

/**
 * A reminder timer firing the day before check-in. It is not an event of the store: its cause is the
 * confirmation that scheduled it, whose event id names the reminder, so however often the timer fires or the
 * confirmation is replayed, one reminder is raised.
 */
export interface BookingReminderDue {
  type: 'BookingReminderDue';
  data: { bookingId: string; tenantId: string; checkIn: string };
}

/** The events that notify someone. */
export type NotificationSource =
  | BookingRequested
  | BookingConfirmed
  | BookingRejected
  | BookingExpired
  | PaymentRecordOpened
  | PaymentOverdue
  | MessageSent
  | SavedSearchMatched
  | ReviewPublished
  | BookingReminderDue;

export const NotificationSourceTypes = [
  'BookingRequested',
  'BookingConfirmed',
  'BookingRejected',
  'BookingExpired',
  'PaymentRecordOpened',
  'PaymentOverdue',
  'MessageSent',
  'SavedSearchMatched',
  'ReviewPublished',
] as const satisfies readonly NotificationSource['type'][];

/** What the event alone does not say, read from its booking by the caller (null: the booking is not known). */
export interface NotificationFacts {
  booking: { tenantId: string; landlordId: string } | null;
}

/** The day before check-in, at the start of the day (UTC, as `checkInInstant` counts): when the reminder fires. */
export const REMINDER_BEFORE_MS = 24 * 60 * 60 * 1000;

/** Who hears of an event, and as which kind. Pure: the same event and facts always give the same intents. */
export function notificationsFor(event: NotificationSource, facts: NotificationFacts): NotificationIntent[] {
  const tenantOfBooking = (kind: NotificationKind, bookingId: string): NotificationIntent[] =>
    facts.booking ? [{ userId: facts.booking.tenantId, kind, subject: { bookingId } }] : [];
  switch (event.type) {
    case 'BookingRequested':
      return [
        {
          userId: event.data.landlordId,
          kind: 'booking_requested',
          subject: { bookingId: event.data.bookingId, roomId: event.data.roomId },
        },
      ];
    case 'BookingConfirmed':
      return tenantOfBooking('booking_confirmed', event.data.bookingId);
    case 'BookingRejected':
      return tenantOfBooking('booking_rejected', event.data.bookingId);
    case 'BookingExpired':
      return tenantOfBooking('booking_expired', event.data.bookingId);
    case 'PaymentRecordOpened':
      return [{ userId: event.data.tenantId, kind: 'payment_due', subject: { bookingId: event.data.bookingId } }];
    case 'PaymentOverdue':
      return tenantOfBooking('payment_overdue', event.data.bookingId);
    case 'MessageSent':
      if (event.data.recipientId === event.data.senderId) return [];
      return [
        {
          userId: event.data.recipientId,
          kind: 'message_received',
          subject: {
            conversationId: event.data.conversationId,
            messageId: event.data.messageId,
            senderId: event.data.senderId,
          },
        },
      ];
    case 'SavedSearchMatched':
      // Once per search and room: the saved search's decider records a room's match once.
      return [
        {
          userId: event.data.tenantId,
          kind: 'saved_search_match',
          subject: { savedSearchId: event.data.searchId, roomId: event.data.roomId },
        },
      ];
    case 'ReviewPublished':
      // The reviewed party hears of a review once it is public (double-blind: never before); a hidden one is not news.
      if (event.data.hidden) return [];
      return [
        {
          userId: event.data.subjectId,
          kind: 'review_received',
          subject: {
            bookingId: event.data.bookingId,
            roomId: event.data.roomId,
            reviewId: event.data.reviewId,
            senderId: event.data.authorId,
          },
        },
      ];
    case 'BookingReminderDue':
      return [
        {
          userId: event.data.tenantId,
          kind: 'booking_reminder',
          subject: { bookingId: event.data.bookingId },
        },
      ];
    default: {
      const unhandled: never = event;
      throw new Error(`no notification rule for ${(unhandled as { type: string }).type}`);
    }
  }
}
