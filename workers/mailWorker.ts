import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { addressDomain, type Mailer, type MailMessage } from '../infra/mail/mailer.js';
import { type QueueConnection, QueueNames } from '../infra/queues/queues.js';

export interface MailWorkerDeps {
  at: QueueConnection;
  mailer: Mailer;
  logger: Logger;
  /** Mails sent at the same time by this worker; 5 unless told. */
  concurrency?: number;
}

const ADDRESS = /[^\s<>"'()[\],;:@]+@[^\s<>"'()[\],;:@]+/g;

/** Relays quote the recipient in their replies ("550 <ann@example.org>: no such user"); logs must not. */
export function withoutAddresses(text: string): string {
  return text.replace(ADDRESS, '[address]');
}

/**
 * The error a failed send leaves on the job and in the logs: addresses removed, and an SMTP 5xx reply (a
 * permanent refusal, such as an unknown mailbox) marked unrecoverable so BullMQ does not retry it.
 */
function jobError(error: unknown): Error {
  const message = withoutAddresses(error instanceof Error ? error.message : String(error));
  const responseCode = (error as { responseCode?: unknown } | null)?.responseCode;
  return typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600
    ? new UnrecoverableError(message)
    : new Error(message);
}

/** Sends the mails of the `mail` queue through the Mailer. Logs job ids and recipient domains, nothing more. */
export function createMailWorker(deps: MailWorkerDeps): Worker<MailMessage, { messageId: string }> {
  const { mailer, logger } = deps;
  const log = logger.child({ worker: QueueNames.mail });
  const describe = (job: Job<MailMessage> | undefined) => ({
    jobId: job?.id,
    toDomain: job ? addressDomain(job.data.to) : undefined,
  });
  const worker = new Worker<MailMessage, { messageId: string }>(
    QueueNames.mail,
    async (job) => {
      try {
        const { messageId } = await mailer.send(job.data);
        log.info({ ...describe(job), attempt: job.attemptsMade + 1 }, 'mail sent');
        return { messageId };
      } catch (error) {
        throw jobError(error);
      }
    },
    { connection: deps.at.connection, prefix: deps.at.prefix, concurrency: deps.concurrency ?? 5 },
  );
  worker.on('failed', (job, error) => {
    const attemptsMade = job?.attemptsMade;
    const final = error instanceof UnrecoverableError || (attemptsMade ?? 0) >= (job?.opts.attempts ?? 1);
    log.warn(
      { ...describe(job), attemptsMade, final, err: withoutAddresses(error.message) },
      final ? 'mail not sent' : 'mail send failed, will retry',
    );
  });
  worker.on('error', (error) => log.error({ err: withoutAddresses(error.message) }, 'mail worker error'));
  return worker;
}
