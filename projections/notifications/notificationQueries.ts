import type pg from 'pg';
import type { NotificationKind } from '../../domain/notifications/events.js';

export interface NotificationRow {
  id: string;
  kind: NotificationKind;
  subject: Record<string, string>;
  createdAt: string;
  readAt: string | null;
}

/** The query module of `notifications` (and the few facts of other read models a notification's text needs). */
export function notificationQueries(pool: pg.Pool) {
  return {
    /** A person's notifications, newest first, after the keyset `(createdAt, id)` of the previous page's last row. */
    async list(
      userId: string,
      after: { createdAt: string; id: string } | null,
      limit: number,
    ): Promise<NotificationRow[]> {
      const { rows } = await pool.query<{
        id: string;
        kind: NotificationKind;
        subject: Record<string, string>;
        created_at: Date;
        read_at: Date | null;
      }>(
        `SELECT id::text, kind, subject, created_at, read_at FROM notifications
          WHERE user_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
          ORDER BY created_at DESC, id DESC LIMIT $4`,
        [userId, after?.createdAt ?? null, after?.id ?? null, limit],
      );
      return rows.map((row) => ({
        id: row.id,
        kind: row.kind,
        subject: row.subject,
        createdAt: row.created_at.toISOString(),
        readAt: row.read_at ? row.read_at.toISOString() : null,
      }));
    },

    /** Message notifications of one conversation still unread, raised in `[from, to)`: what a digest tells of. */
    async unreadMessages(userId: string, conversationId: string, from: string, to: string): Promise<string[]> {
      const { rows } = await pool.query<{ id: string }>(
        `SELECT id::text FROM notifications
          WHERE user_id = $1 AND kind = 'message_received' AND read_at IS NULL
            AND subject->>'conversationId' = $2 AND created_at >= $3 AND created_at < $4
          ORDER BY created_at`,
        [userId, conversationId, from, to],
      );
      return rows.map((row) => row.id);
    },

    /** How to reach a person (users read model): undefined when not known yet, null once erased. */
    async contactOf(
      userId: string,
    ): Promise<{ fullName: string | null; email: string | null; phone: string | null } | null | undefined> {
      const { rows } = await pool.query<{
        full_name: string | null;
        email: string | null;
        phone: string | null;
        erased_at: Date | null;
      }>('SELECT full_name, email, phone, erased_at FROM users WHERE id = $1', [userId]);
      const row = rows[0];
      if (!row) return undefined;
      if (row.erased_at) return null;
      return { fullName: row.full_name, email: row.email, phone: row.phone };
    },

    /** A person's display name (null when unknown or erased), for "X sent you a message". */
    async nameOf(userId: string): Promise<string | null> {
      const { rows } = await pool.query<{ full_name: string | null }>(
        'SELECT full_name FROM users WHERE id = $1 AND erased_at IS NULL',
        [userId],
      );
      return rows[0]?.full_name ?? null;
    },

    async roomTitle(roomId: string): Promise<string | null> {
      const { rows } = await pool.query<{ title: string }>('SELECT title FROM rooms WHERE id = $1', [roomId]);
      return rows[0]?.title ?? null;
    },
  };
}

export type NotificationQueries = ReturnType<typeof notificationQueries>;
