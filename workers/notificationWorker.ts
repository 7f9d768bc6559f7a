import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { loadBooking } from '../commands/bookings.js';
import { loadPreferences, runBookingReminder, scheduleBookingReminder } from '../commands/notifications.js';
import type { NotificationChannel, NotificationKind } from '../domain/notifications/events.js';
import { type NotificationDetails, renderNotification } from '../domain/notifications/templates.js';
import type { Clock } from '../infra/clock/clock.js';
import type { EventStore } from '../infra/eventStore/eventStore.js';
import type { Mailer } from '../infra/mail/mailer.js';
import {
  type Contact,
  type DeliveryJob,
  type DigestJob,
  NotificationJobNames,
  type NotificationJobs,
  type NotificationQueueJob,
  type PresenceLookup,
  type PushSender,
  type ReminderJob,
  type SmsSender,
} from '../infra/notifications/ports.js';
import { type QueueConnection, QueueNames } from '../infra/queues/queues.js';
import type { NotificationQueries } from '../projections/notifications/notificationQueries.js';
import { withoutAddresses } from './mailWorker.js';

/** At most one email per conversation and recipient in this window: the window's messages go as one digest. */
export const DIGEST_WINDOW_MS = 15 * 60 * 1000;

export interface NotificationWorkerDeps {
  at: QueueConnection;
  eventStore: EventStore;
  clock: Clock;
  logger: Logger;
  mailer: Mailer;
  sms: SmsSender;
  push: PushSender;
  /** Who has the feed open: online recipients of a message get no email (the feed shows it). */
  presence: PresenceLookup;
  /** Schedules the message digests. */
  jobs: NotificationJobs;
  queries: Pick<NotificationQueries, 'contactOf' | 'nameOf' | 'roomTitle' | 'unreadMessages'>;
  /** The app's public address, for the links in notifications. */
  appUrl: string;
  /** The one-click unsubscribe URL of one kind's email for one person. */
  unsubscribeUrl(userId: string, kind: NotificationKind): string;
  concurrency?: number;
}

type Result = { sent: NotificationChannel[] } | { skipped: string } | { raised: boolean } | { scheduled: string };

/** Thrown when a recipient is not in the users read model yet: the job is retried with backoff. */
class RecipientNotKnownYet extends Error {}

/** An SMTP 5xx (a mailbox refused for good) is not retried; every other failure is, with backoff. */
function sendError(error: unknown): Error {
  const message = withoutAddresses(error instanceof Error ? error.message : String(error));
  const responseCode = (error as { responseCode?: unknown } | null)?.responseCode;
  return typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600
    ? new UnrecoverableError(message)
    : new Error(message);
}

const formatAmount = (minor: number, currency: string) => `${(minor / 100).toFixed(2)} ${currency}`;

/**
 * Delivers the `notifications` queue: a raised notification through the channels the person chose (email, SMS,
 * push), reading their preferences and address by user id when it sends (an erased person gets nothing); the
 * reminder the day before check-in; the digest of a conversation's messages to someone offline. A job that keeps
 * failing is parked in the failed set after its last attempt (defaultJobOptions), where support sees it.
 */
export function createNotificationWorker(deps: NotificationWorkerDeps): Worker<NotificationQueueJob, Result> {
  const { logger, queries } = deps;
  const log = logger.child({ worker: QueueNames.notifications });
  const base = deps.appUrl.replace(/\/$/, '');

  const contactOf = async (userId: string): Promise<Contact | null> => {
    const contact = await queries.contactOf(userId);
    if (contact === undefined) throw new RecipientNotKnownYet('recipient not in the users read model yet');
    return contact;
  };

  async function detailsOf(job: DeliveryJob, contact: Contact): Promise<Omit<NotificationDetails, 'unsubscribeUrl'>> {
    const { subject, kind } = job;
    const details: Omit<NotificationDetails, 'unsubscribeUrl'> = { recipientName: contact.fullName, link: base };
    if (subject.bookingId) {
      const { state } = await loadBooking(deps.eventStore, subject.bookingId);
      details.link = `${base}/bookings/${subject.bookingId}`;
      details.bookingReference = state.reference ?? null;
      details.checkIn = state.checkIn ?? null;
      details.checkOut = state.checkOut ?? null;
      if (state.totalAmount !== undefined && state.currency) {
        details.amount = formatAmount(state.totalAmount, state.currency);
      }
      if (state.roomId) details.roomTitle = await queries.roomTitle(state.roomId);
      if (kind === 'booking_requested' && state.tenantId) details.otherPartyName = await queries.nameOf(state.tenantId);
    }
    if (subject.conversationId) details.link = `${base}/conversations/${subject.conversationId}`;
    if (subject.senderId) details.otherPartyName = await queries.nameOf(subject.senderId);
    if (subject.roomId && !details.roomTitle) details.roomTitle = await queries.roomTitle(subject.roomId);
    if (subject.savedSearchId && subject.roomId) details.link = `${base}/rooms/${subject.roomId}`;
    return details;
  }

  const mailHeaders = (userId: string, kind: NotificationKind) => {
    const url = deps.unsubscribeUrl(userId, kind);
    return { url, headers: { 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } };
  };

  async function deliver(job: Job<NotificationQueueJob>, data: DeliveryJob): Promise<Result> {
    // The reminder the day before check-in is scheduled with the confirmation's delivery: like it, it waits for
    // Redis without holding up the process manager. Idempotent (the job is named after the booking).
    if (data.kind === 'booking_confirmed' && data.subject.bookingId) {
      await scheduleBookingReminder(
        { store: deps.eventStore, jobs: deps.jobs },
        { bookingId: data.subject.bookingId, tenantId: data.userId, sourceEventId: data.sourceEventId },
        deps.clock.now(),
      );
    }
    const contact = await contactOf(data.userId);
    if (contact === null) return { skipped: 'erased' };
    const wanted = (await loadPreferences(deps.eventStore, data.userId))[data.kind];
    const progress = job.progress as { done?: NotificationChannel[] } | number;
    const done = new Set<NotificationChannel>(typeof progress === 'object' ? (progress.done ?? []) : []);
    const record = async (channel: NotificationChannel) => {
      done.add(channel);
      await job.updateProgress({ done: [...done] });
    };

    if (data.kind === 'message_received') {
      if (await deps.presence.isOnline(data.userId)) return { skipped: 'online: the feed shows it' };
      if (wanted.email && contact.email && !done.has('email')) {
        const start = Math.floor(Date.parse(data.raisedAt) / DIGEST_WINDOW_MS) * DIGEST_WINDOW_MS;
        await deps.jobs.scheduleDigest({
          userId: data.userId,
          conversationId: data.subject.conversationId!,
          senderId: data.subject.senderId!,
          windowStart: new Date(start).toISOString(),
          windowEnd: new Date(start + DIGEST_WINDOW_MS).toISOString(),
        });
        await record('email');
      }
    }

    const { url, headers } = mailHeaders(data.userId, data.kind);
    const rendered = renderNotification(data.kind, { ...(await detailsOf(data, contact)), unsubscribeUrl: url });
    const key = `notification.${data.notificationId}`;
    const sent: NotificationChannel[] = [];
    if (wanted.push && !done.has('push')) {
      await deps.push.send({ userId: data.userId, ...rendered.push, link: base, idempotencyKey: `${key}.push` });
      await record('push');
      sent.push('push');
    }
    if (wanted.sms && contact.phone && !done.has('sms') && data.kind !== 'message_received') {
      await deps.sms.send({ to: contact.phone, text: rendered.sms, idempotencyKey: `${key}.sms` });
      await record('sms');
      sent.push('sms');
    }
    if (wanted.email && contact.email && !done.has('email')) {
      try {
        await deps.mailer.send({
          to: contact.email,
          subject: rendered.subject,
          text: rendered.text,
          html: rendered.html,
          headers,
          idempotencyKey: key,
        });
      } catch (error) {
        throw sendError(error);
      }
      await record('email');
      sent.push('email');
    }
    return { sent };
  }

  async function digest(data: DigestJob): Promise<Result> {
    const unread = await queries.unreadMessages(data.userId, data.conversationId, data.windowStart, data.windowEnd);
    if (unread.length === 0) return { skipped: 'read meanwhile' };
    const contact = await contactOf(data.userId);
    if (contact === null || !contact.email) return { skipped: 'no address' };
    if (!(await loadPreferences(deps.eventStore, data.userId)).message_received.email) {
      return { skipped: 'email off for messages' };
    }
    const { url, headers } = mailHeaders(data.userId, 'message_received');
    const rendered = renderNotification('message_received', {
      recipientName: contact.fullName,
      otherPartyName: await queries.nameOf(data.senderId),
      messageCount: unread.length,
      link: `${base}/conversations/${data.conversationId}`,
      unsubscribeUrl: url,
    });
    try {
      await deps.mailer.send({
        to: contact.email,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        headers,
        idempotencyKey: `digest.${data.conversationId}.${data.userId}.${Date.parse(data.windowStart)}`,
      });
    } catch (error) {
      throw sendError(error);
    }
    return { sent: ['email'] };
  }

  const worker = new Worker<NotificationQueueJob, Result>(
    QueueNames.notifications,
    async (job) => {
      switch (job.name) {
        case NotificationJobNames.deliver:
          return deliver(job, job.data as DeliveryJob);
        case NotificationJobNames.reminder:
          return {
            raised: await runBookingReminder({ store: deps.eventStore }, job.data as ReminderJob, deps.clock.now()),
          };
        case NotificationJobNames.digest:
          return digest(job.data as DigestJob);
        default:
          throw new UnrecoverableError(`unknown notification job ${job.name}`);
      }
    },
    { connection: deps.at.connection, prefix: deps.at.prefix, concurrency: deps.concurrency ?? 5 },
  );
  worker.on('completed', (job, result) =>
    log.info({ jobId: job.id, name: job.name, kind: (job.data as DeliveryJob).kind, result }, 'notification job done'),
  );
  worker.on('failed', (job, error) => {
    const attemptsMade = job?.attemptsMade ?? 0;
    const final = error instanceof UnrecoverableError || attemptsMade >= (job?.opts.attempts ?? 1);
    log.warn(
      { jobId: job?.id, name: job?.name, attemptsMade, final, err: withoutAddresses(error.message) },
      final ? 'notification parked in the failed set' : 'notification failed, will retry',
    );
  });
  worker.on('error', (error) => log.error({ err: withoutAddresses(error.message) }, 'notification worker error'));
  return worker;
}
