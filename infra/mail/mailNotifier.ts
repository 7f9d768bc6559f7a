import type { Queue } from 'bullmq';
import type { Notifier } from '../../commands/bookingProcess.js';
import { enqueueMail, type MailJob } from '../queues/queues.js';

/**
 * Notices as mail to a person: queued with their user id; the mail worker looks the address up when it sends.
 * The notice key is the mail's idempotency key.
 */
export function mailNotifier(mailQueue: Queue<MailJob>): Notifier {
  return {
    async notify({ userId, key, subject, text }) {
      await enqueueMail(mailQueue, { toUserId: userId, subject, text, idempotencyKey: key });
    },
  };
}
