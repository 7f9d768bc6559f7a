import type { EntityManager } from '@mikro-orm/postgresql';
import type { NotificationRaised, NotificationRead } from '../../domain/notifications/events.js';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import { asJson, runSql } from '../jsonParameters.js';
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
    // The raises of the batch in one statement, then its reads in another: a read follows the raise it reads in
    // the stream, so whether that raise is in this batch or an earlier one, it is stored when the reads are written.
    const raised = events.filter((e) => e.type === 'NotificationRaised');
    const read = events.filter((e) => e.type === 'NotificationRead');
    if (raised.length > 0) await insertRaised(em, raised);
    if (read.length > 0) await markRead(em, read);
  },

  async reset(em: EntityManager): Promise<void> {
    await em.execute('DELETE FROM notifications');
  },
};

async function insertRaised(em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
  const rows = events.map((recorded) => {
    const { notificationId, userId, kind, subject, sourceEventId, raisedAt } =
      recorded.data as NotificationRaised['data'];
    return {
      id: notificationId,
      user_id: userId,
      kind,
      subject,
      source_event_id: sourceEventId,
      created_at: raisedAt,
      last_position: recorded.position.toString(),
    };
  });
  await runSql(
    em,
    `INSERT INTO notifications (id, user_id, kind, subject, source_event_id, created_at, last_position)
     SELECT * FROM jsonb_to_recordset(?::jsonb) AS n(id uuid, user_id uuid, kind text, subject jsonb,
          source_event_id uuid, created_at timestamptz, last_position bigint)
     ON CONFLICT (id) DO NOTHING`,
    [asJson(rows)],
  );
}

async function markRead(em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
  // The first read of a notification counts; a later one changes nothing, as `read_at IS NULL` says.
  const first = new Map<string, { id: string; user_id: string; read_at: string; last_position: string }>();
  for (const recorded of events) {
    const { notificationId, userId, readAt } = recorded.data as NotificationRead['data'];
    if (!first.has(notificationId)) {
      first.set(notificationId, {
        id: notificationId,
        user_id: userId,
        read_at: readAt,
        last_position: recorded.position.toString(),
      });
    }
  }
  await runSql(
    em,
    `UPDATE notifications AS n SET read_at = r.read_at, last_position = r.last_position
       FROM jsonb_to_recordset(?::jsonb) AS r(id uuid, user_id uuid, read_at timestamptz, last_position bigint)
      WHERE n.id = r.id AND n.user_id = r.user_id AND n.read_at IS NULL`,
    [asJson([...first.values()])],
  );
}
