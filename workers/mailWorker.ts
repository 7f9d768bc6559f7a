import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { addressDomain, type Mailer } from '../infra/mail/mailer.js';
import { type MailJob, type QueueConnection, QueueNames } from '../infra/queues/queues.js';

type MailResult = { messageId: string } | { skipped: string };

export interface MailWorkerDeps {
  at: QueueConnection;
  mailer: Mailer;
  logger: Logger;
  /** Mails sent at the same time by this worker; 5 unless told. */
  concurrency?: number;
  /**
   * The address of a person, for mails queued with `toUserId`: a string, null when they have none (erased:
   * the mail is dropped), undefined when they are not known yet (the job is retried).
   */
  addressOf?: (userId: string) => Promise<string | null | undefined>;
}

/** Thrown when a mail's recipient is not in the users read model yet: the job is retried with backoff. */
class RecipientNotKnownYet extends Error {}

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

/**
 * Sends the mails of the `mail` queue through the Mailer. A mail queued for a person (`toUserId`) gets their
 * address only now, so no address waits in Redis and an erased person is not written to. Logs job ids and
 * recipient domains, nothing more.
 */
export function createMailWorker(deps: MailWorkerDeps): Worker<MailJob, MailResult> {
  const { mailer, logger } = deps;
  const log = logger.child({ worker: QueueNames.mail });
  const describe = (job: Job<MailJob> | undefined) => ({
    jobId: job?.id,
    toDomain: job?.data.to ? addressDomain(job.data.to) : undefined,
  });
  const recipient = async (job: Job<MailJob>): Promise<string | null> => {
    if (job.data.to) return job.data.to;
    if (!job.data.toUserId || !deps.addressOf) throw new UnrecoverableError('mail job without a recipient');
    const address = await deps.addressOf(job.data.toUserId);
    if (address === undefined) throw new RecipientNotKnownYet('recipient not in the users read model yet');
    return address;
  };
  const worker = new Worker<MailJob, MailResult>(
    QueueNames.mail,
    async (job) => {
      const to = await recipient(job);
      if (to === null) {
        log.info({ jobId: job.id }, 'mail dropped: the recipient has no address (erased)');
        return { skipped: 'no address' };
      }
      try {
        const { messageId } = await mailer.send({ ...job.data, to });
        log.info({ jobId: job.id, toDomain: addressDomain(to), attempt: job.attemptsMade + 1 }, 'mail sent');
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
