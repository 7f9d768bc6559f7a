import type { EntityManager } from '@mikro-orm/postgresql';
import type { NotificationRaised } from '../../domain/notifications/events.js';
import type { Clock } from '../../infra/clock/clock.js';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import type { NotificationJobs } from '../../infra/notifications/ports.js';
import { QueueUnavailable } from '../../infra/queues/queues.js';
import { type PgProjection, TransientProjectionError } from '../projection.js';

export const notificationDeliveryName = 'notification-delivery';

/** A notification of something older than this is listed but not sent: a first start over history mails nobody. */
export const DELIVERY_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/**
 * Queues the delivery of every raised notification, one job per NotificationRaised (its id derives from the event
 * id, so a replay queues nothing twice while BullMQ keeps the job). The runner moves the checkpoint only once the
 * batch's jobs are queued; a queue that does not answer fails the batch as transient, retried until Redis is back.
 */
export function notificationDelivery(deps: { jobs: NotificationJobs; clock: Clock }): PgProjection {
  return {
    name: notificationDeliveryName,
    version: 1,
    sideEffectsOnly: true,
    filter: { eventTypes: ['NotificationRaised'], streamPrefixes: ['Notification-'] },

    async apply(_em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
      const now = deps.clock.now().getTime();
      for (const recorded of events) {
        const { data } = recorded as unknown as { data: NotificationRaised['data'] };
        if (now - Date.parse(data.raisedAt) > DELIVERY_MAX_AGE_MS) continue;
        try {
          await deps.jobs.deliver({
            eventId: recorded.eventId,
            notificationId: data.notificationId,
            userId: data.userId,
            kind: data.kind,
            subject: data.subject,
            sourceEventId: data.sourceEventId,
            raisedAt: data.raisedAt,
          });
        } catch (error) {
          if (error instanceof QueueUnavailable) throw new TransientProjectionError(error.message);
          throw error;
        }
      }
    },

    // Its state is the jobs queued: a rebuild must not queue them again beyond what job ids prevent.
    async reset(): Promise<void> {},
  };
}
