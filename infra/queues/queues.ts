import { type DefaultJobOptions, Queue, type RedisOptions } from 'bullmq';
import { idempotencyToken, type MailMessage } from '../mail/mailer.js';

/** Every BullMQ queue Roomline uses. */
export const QueueNames = {
  mail: 'mail',
  maintenance: 'maintenance',
  /** Booking deadlines as delayed jobs: hold expiry, stay completion, overdue payments. */
  bookingTimers: 'booking-timers',
  /** Notifications to deliver (email, SMS, push), the reminders the day before check-in, message digests. */
  notifications: 'notifications',
} as const;

export type QueueName = (typeof QueueNames)[keyof typeof QueueNames];

/** Redis key prefix of all queues, so queue keys never mix with the cache and feed keys in the same Redis. */
export const DEFAULT_QUEUE_PREFIX = 'roomline';

/**
 * Where queues and workers connect: connection options rather than a client, so each Queue and Worker opens
 * the connections it needs (a Worker needs a blocking one of its own). `maxRetriesPerRequest: null` is what
 * BullMQ requires of worker connections: commands wait for Redis to come back instead of failing.
 */
export interface QueueConnection {
  connection: RedisOptions;
  prefix: string;
}

export function queueConnection(redisUrl: string, prefix = DEFAULT_QUEUE_PREFIX): QueueConnection {
  return { connection: { url: redisUrl, maxRetriesPerRequest: null }, prefix };
}

/**
 * Connection options of a producer that must never wait for Redis (a request, a subscription that retries):
 * no offline queue, so a command fails at once while Redis is away instead of piling up in memory.
 */
export function producerConnection(at: QueueConnection): QueueConnection {
  return { ...at, connection: { ...at.connection, enableOfflineQueue: false, maxRetriesPerRequest: 1 } };
}

/** Redis did not take a job in time. `code` is what the HTTP error handler answers 503 for. */
export class QueueUnavailable extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(what: string, cause?: unknown) {
    super(`the queue did not take ${what}: ${cause instanceof Error ? cause.message : 'timed out'}`);
    this.name = 'QueueUnavailable';
  }
}

/** A queue call bounded in time: QueueUnavailable after `timeoutMs`, or when Redis refuses it. */
export async function boundedQueueCall<T>(what: string, work: () => Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new QueueUnavailable(what)), timeoutMs);
  });
  try {
    return await Promise.race([work(), timeout]);
  } catch (error) {
    throw error instanceof QueueUnavailable ? error : new QueueUnavailable(what, error);
  } finally {
    clearTimeout(timer);
  }
}

const DAY_SECONDS = 24 * 60 * 60;

/**
 * Five attempts with exponential backoff (10 s, 20 s, 40 s, 80 s, each ±20 %). Finished jobs are kept a
 * bounded time: a completed job is what makes a re-enqueued idempotency key a no-op, so completed jobs stay a
 * day (the retention of HTTP idempotency keys); failed ones a week, for inspection.
 */
export const defaultJobOptions: DefaultJobOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 10_000, jitter: 0.2 },
  removeOnComplete: { age: DAY_SECONDS, count: 50_000 },
  removeOnFail: { age: 7 * DAY_SECONDS, count: 50_000 },
};

export function createQueue<Data = unknown>(name: QueueName, at: QueueConnection): Queue<Data> {
  return new Queue<Data>(name, { connection: at.connection, prefix: at.prefix, defaultJobOptions });
}

/**
 * A mail as queued: to an address, or to a person (`toUserId`), whose address the mail worker looks up when
 * it sends, so queued jobs hold no address and an erased person gets nothing.
 */
export type MailJob = Omit<MailMessage, 'to'> &
  ({ to: string; toUserId?: undefined } | { to?: undefined; toUserId: string });

/** The BullMQ job id of a mail: derived from its idempotency key alone. */
export function mailJobId(idempotencyKey: string): string {
  return `mail-${idempotencyToken(idempotencyKey)}`;
}

/**
 * Queues a mail once: the job id comes from the idempotency key, and BullMQ ignores an add whose id it still
 * holds (waiting, delayed, active, or kept as completed or failed: see defaultJobOptions). A mail that failed
 * for good is sent again by retrying its job, not by enqueueing it anew. Returns the job id.
 */
export async function enqueueMail(queue: Queue<MailJob>, message: MailJob): Promise<{ jobId: string }> {
  const jobId = mailJobId(message.idempotencyKey);
  await queue.add(QueueNames.mail, message, { jobId });
  return { jobId };
}
