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
    // Each run of events of one type is one statement (in stream order: a read follows the raise it reads).
    for (let start = 0; start < events.length; ) {
      let end = start + 1;
      while (end < events.length && events[end]!.type === events[start]!.type) end++;
      const run = events.slice(start, end);
      if (run[0]!.type === 'NotificationRaised') await insertRaised(em, run);
      else if (run[0]!.type === 'NotificationRead') await markRead(em, run);
      start = end;
    }
  },

  async reset(em: EntityManager): Promise<void> {
    await em.execute('DELETE FROM notifications');
  },
};

async function insertRaised(em: EntityManager, run: readonly RecordedEvent[]): Promise<void> {
  const values: unknown[] = [];
  for (const recorded of run) {
    const { notificationId, userId, kind, subject, sourceEventId, raisedAt } =
      recorded.data as NotificationRaised['data'];
    values.push(
      notificationId,
      userId,
      kind,
      JSON.stringify(subject),
      sourceEventId,
      raisedAt,
      recorded.position.toString(),
    );
  }
  await em.execute(
    `INSERT INTO notifications (id, user_id, kind, subject, source_event_id, created_at, last_position)
     VALUES ${run.map(() => '(?::uuid, ?::uuid, ?, ?::jsonb, ?::uuid, ?::timestamptz, ?::bigint)').join(', ')}
     ON CONFLICT (id) DO NOTHING`,
    values,
  );
}

async function markRead(em: EntityManager, run: readonly RecordedEvent[]): Promise<void> {
  // The first read of a notification counts; a later one changes nothing, as `read_at IS NULL` says.
  const first = new Map<string, RecordedEvent>();
  for (const recorded of run) {
    const { notificationId } = recorded.data as NotificationRead['data'];
    if (!first.has(notificationId)) first.set(notificationId, recorded);
  }
  const values: unknown[] = [];
  for (const recorded of first.values()) {
    const { notificationId, userId, readAt } = recorded.data as NotificationRead['data'];
    values.push(notificationId, userId, readAt, recorded.position.toString());
  }
  await em.execute(
    `UPDATE notifications AS n SET read_at = r.read_at, last_position = r.last_position
       FROM (VALUES ${[...first.values()].map(() => '(?::uuid, ?::uuid, ?::timestamptz, ?::bigint)').join(', ')})
         AS r (id, user_id, read_at, last_position)
      WHERE n.id = r.id AND n.user_id = r.user_id AND n.read_at IS NULL`,
    values,
  );
}
