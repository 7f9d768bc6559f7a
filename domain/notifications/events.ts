import type { DomainEvent } from '../shared/decider.js';

/** What a person can be notified of; preferences choose the channels of each kind. */
export const NotificationKinds = [
  'booking_requested',
  'booking_confirmed',
  'booking_rejected',
  'booking_expired',
  'booking_reminder',
  'payment_due',
  'payment_overdue',
  'message_received',
  'review_received',
  'saved_search_match',
] as const;
export type NotificationKind = (typeof NotificationKinds)[number];
export const NotificationChannels = ['email', 'sms', 'push'] as const;
export type NotificationChannel = (typeof NotificationChannels)[number];

/**
 * A notification, in a stream of its own (`Notification-<notificationId>`). `notificationId` is derived from the event that caused
 * it and the kind (a UUID v5 of `<sourceEventId>:<kind>`), so the same cause raises it once however often it is
 * replayed. `subject` holds ids only (booking, room, conversation...), never personal data: texts are made from
 * the read models when shown or sent.
 */
export type NotificationRaised = DomainEvent<
  'NotificationRaised',
  {
    notificationId: string;
    userId: string;
    kind: NotificationKind;
    subject: Record<string, string>;
    sourceEventId: string;
    raisedAt: string;
  }
>;
export type NotificationRead = DomainEvent<
  'NotificationRead',
  { notificationId: string; userId: string; readAt: string }
>;
export type NotificationPreferencesSet = DomainEvent<
  'NotificationPreferencesSet',
  {
    userId: string;
    kinds: Partial<Record<NotificationKind, Record<NotificationChannel, boolean>>>;
    setAt: string;
  }
>;

export type NotificationEvent = NotificationRaised | NotificationRead | NotificationPreferencesSet;

export const notificationStreamId = (notificationId: string) => `Notification-${notificationId}`;
