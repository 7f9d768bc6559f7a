import type { EntityManager } from '@mikro-orm/postgresql';
import type { BookingConfirmed, BookingRequested } from '../../domain/bookings/events.js';
import type { PersonalDataErased } from '../../domain/identity/events.js';
import {
  type ConversationEvent,
  ConversationEventTypes,
  type MessagePhotoUploaded,
} from '../../domain/messaging/events.js';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import type { PgProjection } from '../projection.js';

export const messagingProjectionName = 'messaging';

const CONVERSATION = 'Conversation-';

/** The unread column of a participant: participants are stored sorted, so the lower id is `low`. */
const unreadColumn = (row: { participant_low: string }, userId: string) =>
  row.participant_low === userId ? 'unread_low' : 'unread_high';

async function applyConversation(em: EntityManager, recorded: RecordedEvent): Promise<void> {
  const id = recorded.streamId.slice(CONVERSATION.length);
  const event = { type: recorded.type, data: recorded.data } as ConversationEvent;
  const [row] = await em.execute<Array<{ participant_low: string; revision: string; message_count: number }>>(
    'SELECT participant_low, revision, message_count FROM conversations WHERE id = ?',
    [id],
  );
  // Skips what the row already reflects: every change of a conversation's rows moves its revision.
  if (row && BigInt(row.revision) >= recorded.revision) return;
  if (!row && event.type !== 'ConversationStarted') return;
  const mark = [recorded.revision.toString(), recorded.position.toString()];
  switch (event.type) {
    case 'ConversationStarted': {
      if (row) return;
      const { participantIds, roomId, bookingId, startedBy, startedAt } = event.data;
      const [low, high] = [...participantIds].sort() as [string, string];
      // A pair whose booking was confirmed before they started talking starts unmasked.
      await em.execute(
        `INSERT INTO conversations (id, participant_low, participant_high, room_id, booking_id, started_by, started_at,
           contact_unlocked, activity_at, revision, last_position)
         VALUES (?, ?, ?, ?, ?, ?, ?, EXISTS (SELECT 1 FROM messaging_bookings
           WHERE confirmed AND ((tenant_id = ? AND landlord_id = ?) OR (tenant_id = ? AND landlord_id = ?))), ?, ?, ?)`,
        [id, low, high, roomId, bookingId, startedBy, startedAt, low, high, high, low, startedAt, ...mark],
      );
      return;
    }
    case 'MessageSent':
      // Written with the other messages of its batch (MessageBatch).
      throw new Error('messaging projection: MessageSent is applied by MessageBatch');
    case 'MessagesDelivered': {
      const { messageIds, deliveredAt, recipientId } = event.data;
      await em.execute(
        `UPDATE messages SET delivered_at = ? WHERE conversation_id = ? AND recipient_id = ? AND delivered_at IS NULL
           AND id IN (SELECT value::uuid FROM jsonb_array_elements_text(?::jsonb))`,
        [deliveredAt, id, recipientId, JSON.stringify(messageIds)],
      );
      break;
    }
    case 'MessagesRead': {
      const { readerId, upToMessageId, readAt } = event.data;
      // Read implies received: a message read before its delivery was recorded counts as delivered then.
      await em.execute(
        `UPDATE messages SET read_at = ?, delivered_at = COALESCE(delivered_at, ?)
          WHERE conversation_id = ? AND recipient_id = ? AND read_at IS NULL
            AND seq <= (SELECT seq FROM messages WHERE id = ?)`,
        [readAt, readAt, id, readerId, upToMessageId],
      );
      const unread = unreadColumn(row!, readerId);
      await em.execute(
        `UPDATE conversations SET ${unread} = (SELECT count(*) FROM messages
           WHERE conversation_id = ? AND recipient_id = ? AND read_at IS NULL) WHERE id = ?`,
        [id, readerId, id],
      );
      break;
    }
    default: {
      const unhandled: never = event;
      throw new Error(`messaging projection: unknown event ${(unhandled as { type: string }).type}`);
    }
  }
  await em.execute('UPDATE conversations SET revision = ?, last_position = ? WHERE id = ?', [...mark, id]);
}

interface ConversationRow {
  participant_low: string;
  revision: string;
  message_count: number;
}

/**
 * The messages of a batch, written together: one read of their conversations' rows, one INSERT of the messages and
 * one UPDATE of the conversations (instead of a read, an insert and an update per message). Any other event of a
 * conversation is applied one at a time after the messages before it are written, and its row read again after.
 */
class MessageBatch {
  private readonly rows = new Map<string, ConversationRow | null>();
  private messages: Array<Record<string, unknown>> = [];
  private readonly changes = new Map<
    string,
    { n: number; low: number; high: number; last: string; at: string; revision: string; position: string }
  >();

  constructor(private readonly em: EntityManager) {}

  /** Reads the rows of every conversation these events send a message in, in one statement. */
  async prefetch(events: readonly RecordedEvent[]): Promise<void> {
    const ids = new Set<string>();
    for (const recorded of events) {
      if (recorded.type === 'MessageSent' && recorded.streamId.startsWith(CONVERSATION)) {
        ids.add(recorded.streamId.slice(CONVERSATION.length));
      }
    }
    if (ids.size === 0) return;
    const found = await this.em.execute<Array<ConversationRow & { id: string }>>(
      `SELECT id, participant_low, revision, message_count FROM conversations
        WHERE id IN (SELECT value::uuid FROM jsonb_array_elements_text(?::jsonb))`,
      [JSON.stringify([...ids])],
    );
    for (const id of ids) this.rows.set(id, null);
    for (const row of found) this.rows.set(row.id, row);
  }

  /** The row changed by other means (an event applied alone): read it again when a message needs it. */
  forget(conversationId: string): void {
    this.rows.delete(conversationId);
  }

  private async row(id: string): Promise<ConversationRow | null> {
    if (!this.rows.has(id)) {
      const [row] = await this.em.execute<ConversationRow[]>(
        'SELECT participant_low, revision, message_count FROM conversations WHERE id = ?',
        [id],
      );
      this.rows.set(id, row ?? null);
    }
    return this.rows.get(id) ?? null;
  }

  async add(recorded: RecordedEvent): Promise<void> {
    const id = recorded.streamId.slice(CONVERSATION.length);
    const row = await this.row(id);
    // Skips what the row already reflects, as applyConversation does; no row: a message before its conversation.
    if (!row || BigInt(row.revision) >= recorded.revision) return;
    const { messageId, senderId, recipientId, body, photoIds, sentAt } = (
      recorded as unknown as { data: Extract<ConversationEvent, { type: 'MessageSent' }>['data'] }
    ).data;
    const erased = (recorded.data as { personalDataErased?: boolean }).personalDataErased === true;
    this.messages.push({
      id: messageId,
      conversation_id: id,
      seq: row.message_count,
      sender_id: senderId,
      recipient_id: recipientId,
      body: erased ? null : body,
      erased,
      photo_ids: photoIds,
      sent_at: sentAt,
      position: recorded.position.toString(),
    });
    row.message_count++;
    row.revision = recorded.revision.toString();
    const change = this.changes.get(id) ?? { n: 0, low: 0, high: 0, last: '', at: '', revision: '', position: '' };
    change.n++;
    if (unreadColumn(row, recipientId) === 'unread_low') change.low++;
    else change.high++;
    change.last = messageId;
    change.at = sentAt;
    change.revision = recorded.revision.toString();
    change.position = recorded.position.toString();
    this.changes.set(id, change);
  }

  async flush(): Promise<void> {
    if (this.messages.length === 0) return;
    const messages = this.messages;
    const changes = [...this.changes].map(([id, change]) => ({ id, ...change }));
    this.messages = [];
    this.changes.clear();
    await this.em.execute(
      `INSERT INTO messages (id, conversation_id, seq, sender_id, recipient_id, body, erased, photo_ids, sent_at, position)
       SELECT id, conversation_id, seq, sender_id, recipient_id, body, erased, photo_ids, sent_at, position
         FROM jsonb_to_recordset(?::jsonb) AS m(id uuid, conversation_id uuid, seq integer, sender_id uuid,
              recipient_id uuid, body text, erased boolean, photo_ids jsonb, sent_at timestamptz, position bigint)
       ON CONFLICT (id) DO NOTHING`,
      [JSON.stringify(messages)],
    );
    await this.em.execute(
      `UPDATE conversations AS c
          SET message_count = c.message_count + u.n, unread_low = c.unread_low + u.low,
              unread_high = c.unread_high + u.high, last_message_id = u.last, activity_at = u.at,
              revision = u.revision, last_position = u.position
         FROM jsonb_to_recordset(?::jsonb) AS u(id uuid, n integer, low integer, high integer, last uuid,
              at timestamptz, revision bigint, position bigint)
        WHERE c.id = u.id`,
      [JSON.stringify(changes)],
    );
  }
}

async function applyOther(em: EntityManager, recorded: RecordedEvent): Promise<void> {
  switch (recorded.type) {
    case 'MessagePhotoUploaded': {
      const { photoId, uploaderId, key, thumbnailKey, contentType, uploadedAt } =
        recorded.data as MessagePhotoUploaded['data'];
      await em.execute(
        `INSERT INTO message_photos (photo_id, uploader_id, key, thumbnail_key, content_type, uploaded_at)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        [photoId, uploaderId, key, thumbnailKey, contentType, uploadedAt],
      );
      return;
    }
    case 'BookingRequested': {
      const { bookingId, tenantId, landlordId } = recorded.data as BookingRequested['data'];
      await em.execute(
        'INSERT INTO messaging_bookings (booking_id, tenant_id, landlord_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
        [bookingId, tenantId, landlordId],
      );
      return;
    }
    case 'BookingConfirmed': {
      const { bookingId } = recorded.data as BookingConfirmed['data'];
      const [booking] = await em.execute<Array<{ tenant_id: string; landlord_id: string }>>(
        'UPDATE messaging_bookings SET confirmed = true WHERE booking_id = ? RETURNING tenant_id, landlord_id',
        [bookingId],
      );
      if (!booking) return;
      const [low, high] = [booking.tenant_id, booking.landlord_id].sort() as [string, string];
      // Every conversation of the pair, whatever room it is about: they have a confirmed stay together.
      await em.execute(
        `UPDATE conversations SET contact_unlocked = true
          WHERE participant_low = ? AND participant_high = ? AND NOT contact_unlocked`,
        [low, high],
      );
      return;
    }
    case 'PersonalDataErased': {
      // The events read with a null body from now on; the copies here go too.
      const { userId } = recorded.data as PersonalDataErased['data'];
      await em.execute('UPDATE messages SET body = NULL, erased = true WHERE sender_id = ? AND NOT erased', [userId]);
      return;
    }
  }
}

/**
 * Builds the messaging read model from the Conversation and MessagePhoto streams, with what it needs of other
 * streams: bookings (a confirmed one between a pair unmasks their contact details) and erasures (a sender's
 * bodies go). A conversation's events are skipped by its row's revision; the others are idempotent.
 */
export const messagingProjection: PgProjection = {
  name: messagingProjectionName,
  version: 1,
  tables: ['conversations', 'messages', 'message_photos', 'messaging_bookings'],
  filter: {
    eventTypes: [
      ...ConversationEventTypes,
      'MessagePhotoUploaded',
      'BookingRequested',
      'BookingConfirmed',
      'PersonalDataErased',
    ],
    streamPrefixes: [CONVERSATION, 'MessagePhoto-', 'Booking-', 'User-'],
  },

  async apply(em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
    const messages = new MessageBatch(em);
    await messages.prefetch(events);
    for (const recorded of events) {
      if (recorded.type === 'MessageSent' && recorded.streamId.startsWith(CONVERSATION)) {
        await messages.add(recorded);
        continue;
      }
      // Everything else in order after the messages before it, one at a time.
      await messages.flush();
      if (recorded.streamId.startsWith(CONVERSATION)) {
        await applyConversation(em, recorded);
        messages.forget(recorded.streamId.slice(CONVERSATION.length));
      } else {
        await applyOther(em, recorded);
      }
    }
    await messages.flush();
  },

  async reset(em: EntityManager): Promise<void> {
    await em.execute('TRUNCATE conversations, messages, message_photos, messaging_bookings');
  },
};
