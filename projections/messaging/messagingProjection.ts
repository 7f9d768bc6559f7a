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
    case 'MessageSent': {
      const { messageId, senderId, recipientId, body, photoIds, sentAt } = event.data;
      const erased = (recorded.data as { personalDataErased?: boolean }).personalDataErased === true;
      await em.execute(
        `INSERT INTO messages (id, conversation_id, seq, sender_id, recipient_id, body, erased, photo_ids, sent_at, position)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?) ON CONFLICT (id) DO NOTHING`,
        [
          messageId,
          id,
          row!.message_count,
          senderId,
          recipientId,
          erased ? null : body,
          erased,
          JSON.stringify(photoIds),
          sentAt,
          recorded.position.toString(),
        ],
      );
      const unread = unreadColumn(row!, recipientId);
      await em.execute(
        `UPDATE conversations SET message_count = message_count + 1, ${unread} = ${unread} + 1, last_message_id = ?,
           activity_at = ?, revision = ?, last_position = ? WHERE id = ?`,
        [messageId, sentAt, ...mark, id],
      );
      return;
    }
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
    for (const recorded of events) {
      if (recorded.streamId.startsWith(CONVERSATION)) await applyConversation(em, recorded);
      else await applyOther(em, recorded);
    }
  },

  async reset(em: EntityManager): Promise<void> {
    await em.execute('TRUNCATE conversations, messages, message_photos, messaging_bookings');
  },
};
