import type pg from 'pg';

export interface ConversationRow {
  id: string;
  participantIds: [string, string];
  roomId: string | null;
  bookingId: string | null;
  startedBy: string;
  startedAt: string;
  contactUnlocked: boolean;
  messageCount: number;
  /** Messages to the viewer they have not read (0 for a viewer not in the conversation). */
  unreadCount: number;
  activityAt: string;
  lastMessage: MessageRow | null;
  lastPosition: string;
}

export interface MessageRow {
  id: string;
  conversationId: string;
  seq: number;
  senderId: string;
  recipientId: string;
  /** Null once the sender is erased. */
  body: string | null;
  erased: boolean;
  photoIds: string[];
  sentAt: string;
  deliveredAt: string | null;
  readAt: string | null;
  position: string;
}

export interface MessagePhotoRow {
  photoId: string;
  uploaderId: string;
  key: string;
  thumbnailKey: string;
  contentType: string;
  uploadedAt: string;
}

const iso = (value: unknown): string =>
  value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
const isoOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : iso(value));

const MESSAGE_COLUMNS = `m.id, m.conversation_id, m.seq, m.sender_id, m.recipient_id, m.body, m.erased, m.photo_ids,
  m.sent_at, m.delivered_at, m.read_at, m.position`;

type Raw = Record<string, unknown>;

function messageOf(row: Raw): MessageRow {
  return {
    id: row.id as string,
    conversationId: row.conversation_id as string,
    seq: Number(row.seq),
    senderId: row.sender_id as string,
    recipientId: row.recipient_id as string,
    body: (row.body as string | null) ?? null,
    erased: row.erased === true,
    photoIds: (row.photo_ids as string[]) ?? [],
    sentAt: iso(row.sent_at),
    deliveredAt: isoOrNull(row.delivered_at),
    readAt: isoOrNull(row.read_at),
    position: String(row.position),
  };
}

function conversationOf(row: Raw, viewerId: string | null): ConversationRow {
  const low = row.participant_low as string;
  const high = row.participant_high as string;
  const unread = viewerId === low ? row.unread_low : viewerId === high ? row.unread_high : 0;
  return {
    id: row.id as string,
    participantIds: [low, high],
    roomId: (row.room_id as string | null) ?? null,
    bookingId: (row.booking_id as string | null) ?? null,
    startedBy: row.started_by as string,
    startedAt: iso(row.started_at),
    contactUnlocked: row.contact_unlocked === true,
    messageCount: Number(row.message_count),
    unreadCount: Number(unread),
    activityAt: iso(row.activity_at),
    lastMessage: row.m_id
      ? messageOf({
          id: row.m_id,
          conversation_id: row.id,
          seq: row.m_seq,
          sender_id: row.m_sender_id,
          recipient_id: row.m_recipient_id,
          body: row.m_body,
          erased: row.m_erased,
          photo_ids: row.m_photo_ids,
          sent_at: row.m_sent_at,
          delivered_at: row.m_delivered_at,
          read_at: row.m_read_at,
          position: row.m_position,
        })
      : null,
    lastPosition: String(row.last_position),
  };
}

const CONVERSATION_SELECT = `SELECT c.*, m.id AS m_id, m.seq AS m_seq, m.sender_id AS m_sender_id,
    m.recipient_id AS m_recipient_id, m.body AS m_body, m.erased AS m_erased, m.photo_ids AS m_photo_ids,
    m.sent_at AS m_sent_at, m.delivered_at AS m_delivered_at, m.read_at AS m_read_at, m.position AS m_position
  FROM conversations c LEFT JOIN messages m ON m.id = c.last_message_id`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The query module of the messaging read model (projections/messaging/messagingProjection.ts writes it). */
export function createMessagingQueries(pool: pg.Pool) {
  const one = async (id: string, viewerId: string | null): Promise<ConversationRow | null> => {
    if (!UUID.test(id)) return null;
    const { rows } = await pool.query<Raw>(`${CONVERSATION_SELECT} WHERE c.id = $1`, [id]);
    return rows[0] ? conversationOf(rows[0], viewerId) : null;
  };
  async function unlockedAmong(conversationIds: readonly string[]): Promise<Set<string>> {
    const ids = conversationIds.filter((id) => UUID.test(id));
    if (ids.length === 0) return new Set();
    const { rows } = await pool.query<{ id: string }>({
      name: 'messaging_unlocked_among',
      text: 'SELECT id FROM conversations WHERE id = ANY($1::uuid[]) AND contact_unlocked',
      values: [ids],
    });
    return new Set(rows.map((row) => row.id));
  }
  return {
    /** The conversation as `viewerId` sees it (their unread count), or null when there is none. */
    conversation: one,

    /** Of these conversations, those whose pair has a confirmed booking, in one query (the feed's, per batch). */
    unlockedAmong,

    /** Whether a confirmed booking between the pair lets each see the other's contact details (false: none). */
    async contactUnlocked(conversationId: string): Promise<boolean> {
      return (await unlockedAmong([conversationId])).size > 0;
    },

    /** The two people of a conversation, sorted; null when there is none (yet). */
    async participantsOf(conversationId: string): Promise<[string, string] | null> {
      if (!UUID.test(conversationId)) return null;
      const { rows } = await pool.query<{ participant_low: string; participant_high: string }>(
        'SELECT participant_low, participant_high FROM conversations WHERE id = $1',
        [conversationId],
      );
      return rows[0] ? [rows[0].participant_low, rows[0].participant_high] : null;
    },

    /** The people who share a conversation with `userId` (each once): whom their presence concerns. */
    async conversationPartnersOf(userId: string): Promise<string[]> {
      if (!UUID.test(userId)) return [];
      const { rows } = await pool.query<{ partner: string }>(
        `SELECT participant_high AS partner FROM conversations WHERE participant_low = $1
         UNION SELECT participant_low FROM conversations WHERE participant_high = $1`,
        [userId],
      );
      return rows.map((row) => row.partner);
    },

    /** The user's conversations, most recent activity first; `after` is the last row of the previous page. */
    async conversationsOf(
      userId: string,
      { limit, after }: { limit: number; after: { activityAt: string; id: string } | null },
    ): Promise<ConversationRow[]> {
      const page = after ? 'AND (c.activity_at, c.id) < ($3::timestamptz, $4::uuid)' : '';
      const params: unknown[] = [userId, limit];
      if (after) params.push(after.activityAt, after.id);
      const { rows } = await pool.query<Raw>(
        `${CONVERSATION_SELECT} WHERE c.id IN (
            SELECT id FROM (
              (SELECT id, activity_at FROM conversations c WHERE participant_low = $1 ${page}
                ORDER BY activity_at DESC, id DESC LIMIT $2)
              UNION ALL
              (SELECT id, activity_at FROM conversations c WHERE participant_high = $1 ${page}
                ORDER BY activity_at DESC, id DESC LIMIT $2)
            ) both_sides)
          ORDER BY c.activity_at DESC, c.id DESC LIMIT $2`,
        params,
      );
      return rows.map((row) => conversationOf(row, userId));
    },

    /** A conversation's messages, newest first; `beforeSeq` is the last row of the previous page. */
    async messagesOf(
      conversationId: string,
      { limit, beforeSeq }: { limit: number; beforeSeq: number | null },
    ): Promise<MessageRow[]> {
      const { rows } = await pool.query<Raw>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages m
          WHERE m.conversation_id = $1 AND ($3::integer IS NULL OR m.seq < $3)
          ORDER BY m.seq DESC LIMIT $2`,
        [conversationId, limit, beforeSeq],
      );
      return rows.map(messageOf);
    },

    async messagePhoto(photoId: string): Promise<MessagePhotoRow | null> {
      if (!UUID.test(photoId)) return null;
      const { rows } = await pool.query<Raw>('SELECT * FROM message_photos WHERE photo_id = $1', [photoId]);
      const row = rows[0];
      return row
        ? {
            photoId: row.photo_id as string,
            uploaderId: row.uploader_id as string,
            key: row.key as string,
            thumbnailKey: row.thumbnail_key as string,
            contentType: row.content_type as string,
            uploadedAt: iso(row.uploaded_at),
          }
        : null;
    },

    /** Whether `userId` may see the photo: its uploader, or a participant of a conversation a message shows it in. */
    async photoVisibleTo(photo: MessagePhotoRow, userId: string): Promise<boolean> {
      if (photo.uploaderId === userId) return true;
      if (!UUID.test(userId)) return false;
      const { rows } = await pool.query(
        `SELECT 1 FROM messages m JOIN conversations c ON c.id = m.conversation_id
          WHERE m.photo_ids @> $1::jsonb AND (c.participant_low = $2 OR c.participant_high = $2) LIMIT 1`,
        [JSON.stringify([photo.photoId]), userId],
      );
      return rows.length > 0;
    },
  };
}

export type MessagingQueries = ReturnType<typeof createMessagingQueries>;
