import type { Queue } from 'bullmq';
import type pg from 'pg';
import type { Notifier } from '../../commands/bookingProcess.js';
import { enqueueMail } from '../queues/queues.js';
import type { MailMessage } from './mailer.js';

/**
 * Notices as mail: the address is looked up in the users read model when the notice is queued, so an erased
 * person (no address left) is not written to. The notice key is the mail's idempotency key.
 */
export function mailNotifier(pool: pg.Pool, mailQueue: Queue<MailMessage>): Notifier {
  return {
    async notify({ userId, key, subject, text }) {
      const { rows } = await pool.query<{ email: string | null }>(
        'SELECT email FROM users WHERE id = $1 AND erased_at IS NULL',
        [userId],
      );
      const to = rows[0]?.email;
      if (!to) return;
      await enqueueMail(mailQueue, { to, subject, text, idempotencyKey: key });
    },
  };
}
