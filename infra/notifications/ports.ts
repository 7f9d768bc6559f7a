import type { NotificationKind } from '../../domain/notifications/events.js';

/** One text message to a phone number. */
export interface SmsMessage {
  to: string;
  text: string;
  /** Names the message for good: sending it again never sends a second one. Ids only, no personal data. */
  idempotencyKey: string;
}

/** The SMS port: an outbox until a provider is configured. */
export interface SmsSender {
  send(message: SmsMessage): Promise<void>;
}

/** One push notification to a person's devices. */
export interface PushMessage {
  userId: string;
  title: string;
  body: string;
  link: string;
  idempotencyKey: string;
}

/** The push port: an outbox until a provider is configured. */
export interface PushSender {
  send(message: PushMessage): Promise<void>;
}

/** A raised notification to deliver, as the delivery subscription queues it. */
export interface DeliveryJob {
  /** The id of the NotificationRaised event: the job's id derives from it. */
  eventId: string;
  notificationId: string;
  userId: string;
  kind: NotificationKind;
  subject: Record<string, string>;
  /** The event that caused the notification. */
  sourceEventId: string;
  raisedAt: string;
}

/** The reminder the day before check-in, scheduled when the booking is confirmed. */
export interface ReminderJob {
  bookingId: string;
  tenantId: string;
  checkIn: string;
  /** The BookingConfirmed event that scheduled it: the reminder's notification id derives from it. */
  sourceEventId: string;
  /** ISO instant it fires. */
  at: string;
}

/** The email digest of one conversation's messages to one person in one window. */
export interface DigestJob {
  userId: string;
  conversationId: string;
  /** The other participant, who sent the messages. */
  senderId: string;
  windowStart: string;
  windowEnd: string;
}

/**
 * The notifications queue as the process manager, the delivery subscription and the worker see it. Every call
 * is idempotent (job ids derive from the cause) and bounded in time: when Redis does not answer it throws
 * `QueueUnavailable` (infra/queues/queues.ts) instead of waiting.
 */
export interface NotificationJobs {
  deliver(job: DeliveryJob): Promise<void>;
  scheduleReminder(job: ReminderJob): Promise<void>;
  scheduleDigest(job: DigestJob): Promise<void>;
}

/** Who is connected to the feed right now (infra/presence: heartbeats in Redis). */
export interface PresenceLookup {
  isOnline(userId: string): Promise<boolean>;
}

/** How to reach a person, from the users read model: undefined when not known yet, null when erased. */
export interface Contact {
  fullName: string | null;
  email: string | null;
  phone: string | null;
}

/** The jobs of the notifications queue, by job name. */
export const NotificationJobNames = {
  deliver: 'deliver',
  reminder: 'booking-reminder',
  digest: 'message-digest',
} as const;

export type NotificationQueueJob = DeliveryJob | ReminderJob | DigestJob;

/** A job that failed for good (its retries used up): parked in the failed set, for support to see and retry. */
export interface FailedNotification {
  id: string;
  name: string;
  kind: string | null;
  userId: string | null;
  error: string;
  attemptsMade: number;
  failedAt: string | null;
}

/** The parked jobs of the notifications queue, bounded in time like every queue call on the request path. */
export interface NotificationFailures {
  list(limit: number): Promise<FailedNotification[]>;
  /** Moves a parked job back to the queue; false when no parked job has that id. */
  retry(id: string): Promise<boolean>;
}
