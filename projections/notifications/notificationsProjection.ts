import type { EntityManager } from '@mikro-orm/postgresql';
import type { NotificationRaised, NotificationRead } from '../../domain/notifications/events.js';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import type { PgProjection } from '../projection.js';

export const notificationsProjectionName = 'notifications';

/**
 * The `notifications` read model: one row per notification (a person's stream holds many), written by id, so an
 * event applied again changes nothing.
 */
export const notificationsProjection: PgProjection = {
  name: notificationsProjectionName,
  version: 1,
  tables: ['notifications'],
  filter: { eventTypes: ['NotificationRaised', 'NotificationRead'], streamPrefixes: ['Notification-'] },

  async apply(em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
    for (const recorded of events) {
      const event = { type: recorded.type, data: recorded.data } as NotificationRaised | NotificationRead;
      if (event.type === 'NotificationRaised') {
        const { notificationId, userId, kind, subject, sourceEventId, raisedAt } = event.data;
        await em.execute(
          `INSERT INTO notifications (id, user_id, kind, subject, source_event_id, created_at, last_position)
           VALUES (?, ?, ?, ?::jsonb, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
          [
            notificationId,
            userId,
            kind,
            JSON.stringify(subject),
            sourceEventId,
            raisedAt,
            recorded.position.toString(),
          ],
        );
      } else if (event.type === 'NotificationRead') {
        const { notificationId, userId, readAt } = event.data;
        await em.execute(
          'UPDATE notifications SET read_at = ?, last_position = ? WHERE id = ? AND user_id = ? AND read_at IS NULL',
          [readAt, recorded.position.toString(), notificationId, userId],
        );
      }
    }
  },

  async reset(em: EntityManager): Promise<void> {
    await em.execute('DELETE FROM notifications');
  },
};
