import type { Job, Queue } from 'bullmq';
import type { Clock } from '../clock/clock.js';
import { boundedQueueCall } from '../queues/queues.js';
import {
  type DigestJob,
  type FailedNotification,
  type NotificationFailures,
  NotificationJobNames,
  type NotificationJobs,
  type NotificationQueueJob,
} from './ports.js';

/** Job ids: derived from the cause, so a replay or a retry queues nothing twice while BullMQ holds the job. */
export const deliveryJobId = (eventId: string) => `notification-${eventId}`;
export const reminderJobId = (bookingId: string) => `booking-reminder-${bookingId}`;
export const digestJobId = (job: Pick<DigestJob, 'userId' | 'conversationId' | 'windowStart'>) =>
  `digest-${job.conversationId}-${job.userId}-${Date.parse(job.windowStart)}`;

/** The notifications queue on BullMQ; each add bounded by `timeoutMs` (QueueUnavailable beyond it). */
export function bullNotificationJobs(
  queue: Queue<NotificationQueueJob>,
  clock: Clock,
  timeoutMs = 2_000,
): NotificationJobs {
  const delayUntil = (at: string) => Math.max(0, Date.parse(at) - clock.now().getTime());
  return {
    async deliver(job) {
      await boundedQueueCall(
        'a notification',
        () => queue.add(NotificationJobNames.deliver, job, { jobId: deliveryJobId(job.eventId) }),
        timeoutMs,
      );
    },
    async scheduleReminder(job) {
      await boundedQueueCall(
        'a reminder',
        () =>
          queue.add(NotificationJobNames.reminder, job, {
            jobId: reminderJobId(job.bookingId),
            delay: delayUntil(job.at),
          }),
        timeoutMs,
      );
    },
    async scheduleDigest(job) {
      await boundedQueueCall(
        'a message digest',
        () =>
          queue.add(NotificationJobNames.digest, job, { jobId: digestJobId(job), delay: delayUntil(job.windowEnd) }),
        timeoutMs,
      );
    },
  };
}

const describeFailed = (job: Job<NotificationQueueJob>): FailedNotification => {
  const data = job.data as unknown as Partial<Record<string, unknown>>;
  return {
    id: String(job.id),
    name: job.name,
    kind:
      typeof data.kind === 'string' ? data.kind : job.name === NotificationJobNames.digest ? 'message_received' : null,
    userId: typeof data.userId === 'string' ? data.userId : typeof data.tenantId === 'string' ? data.tenantId : null,
    error: job.failedReason ?? '',
    attemptsMade: job.attemptsMade,
    failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
  };
};

/** The failed set of the notifications queue (BullMQ keeps failed jobs a week: see defaultJobOptions). */
export function bullNotificationFailures(queue: Queue<NotificationQueueJob>, timeoutMs = 2_000): NotificationFailures {
  return {
    async list(limit) {
      const jobs = await boundedQueueCall('the failed notifications', () => queue.getFailed(0, limit - 1), timeoutMs);
      return jobs.filter(Boolean).map(describeFailed);
    },
    async retry(id) {
      return boundedQueueCall(
        'a retry',
        async () => {
          const job = await queue.getJob(id);
          if (!job || !(await job.isFailed())) return false;
          await job.retry('failed');
          return true;
        },
        timeoutMs,
      );
    },
  };
}
