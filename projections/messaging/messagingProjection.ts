import type { EntityManager } from '@mikro-orm/postgresql';
import type { BookingConfirmed, BookingRequested } from '../../domain/bookings/events.js';
import type { PersonalDataErased } from '../../domain/identity/events.js';
import {
  type ConversationEvent,
  ConversationEventTypes,
  type ConversationStarted,
  type MessagePhotoUploaded,
  type MessagesRead,
} from '../../domain/messaging/events.js';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import { asJson, IN_UUIDS, runSql } from '../jsonParameters.js';
import type { PgProjection } from '../projection.js';

export const messagingProjectionName = 'messaging';

const CONVERSATION = 'Conversation-';

interface ConversationRow {
  id: string;
  participant_low: string;
  participant_high: string;
  room_id: string | null;
  booking_id: string | null;
  started_by: string;
  started_at: string | Date;
  contact_unlocked: boolean;
  message_count: number;
  unread_low: number;
  unread_high: number;
  last_message_id: string | null;
  activity_at: string | Date;
  revision: string;
  last_position: string;
}

/** A message as the batch knows it: new in this batch, or stored and not read yet. */
interface MessageRow {
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string;
  recipient_id: string;
  delivered_at: string | Date | null;
  read_at: string | Date | null;
}

interface NewMessage extends MessageRow {
  body: string | null;
  erased: boolean;
  photo_ids: string[];
  sent_at: string;
  position: string;
}

interface BookingPair {
  tenant_id: string;
  landlord_id: string;
  confirmed: boolean;
}

const pairKey = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);

/**
 * One batch of the messaging model, applied in memory in event order and written in a fixed handful of statements
 * whatever its size: everything the events need is read first (their conversations' rows, those conversations'
 * unread messages, the bookings and confirmed pairs they name), then the same changes the events make one by one
 * are made to those rows, then the rows are written. A conversation's events are skipped by its row's revision; the
 * others are idempotent, so a batch retried after a crash writes the same rows.
 */
class MessagingBatch {
  private readonly conversations = new Map<string, ConversationRow | null>();
  private readonly changedConversations = new Set<string>();
  /** Stored messages with read_at null, of the conversations whose receipts the batch moves, and the new ones. */
  private readonly unread = new Map<string, MessageRow>();
  private readonly changedMessages = new Set<string>();
  private readonly newMessages = new Map<string, NewMessage>();
  /** The seq of every message a read receipt reads up to. */
  private readonly seqs = new Map<string, number>();
  private readonly bookings = new Map<string, BookingPair | null>();
  private readonly newBookings = new Set<string>();
  private readonly confirmedBookings = new Set<string>();
  private readonly confirmedPairs = new Set<string>();
  private readonly unlockPairs = new Map<string, [string, string]>();
  private readonly photos: Array<Record<string, unknown>> = [];
  private readonly erasedSenders = new Set<string>();

  constructor(private readonly em: EntityManager) {}

  /** The rows a query finds for a list passed as its one JSON parameter; none, and no query, for an empty list. */
  private async rowsFor<Row>(list: Iterable<unknown>, sql: string): Promise<Row[]> {
    const values = [...list];
    return values.length === 0 ? [] : runSql<Row>(this.em, sql, [asJson(values)]);
  }

  async load(events: readonly RecordedEvent[]): Promise<void> {
    const conversationIds = new Set<string>();
    const receiptConversations = new Set<string>();
    const upTo = new Set<string>();
    const bookingIds = new Set<string>();
    const starters: string[][] = [];
    for (const recorded of events) {
      if (recorded.streamId.startsWith(CONVERSATION)) {
        const id = recorded.streamId.slice(CONVERSATION.length);
        conversationIds.add(id);
        if (recorded.type === 'MessagesDelivered' || recorded.type === 'MessagesRead') receiptConversations.add(id);
        if (recorded.type === 'MessagesRead') upTo.add((recorded.data as MessagesRead['data']).upToMessageId);
        if (recorded.type === 'ConversationStarted') {
          const [low, high] = [...(recorded.data as ConversationStarted['data']).participantIds].sort();
          starters.push([low!, high!], [high!, low!]);
        }
      } else if (recorded.type === 'BookingConfirmed') {
        bookingIds.add((recorded.data as BookingConfirmed['data']).bookingId);
      }
    }
    // One after the other: the queries share the transaction's connection, which runs one at a time.
    const rows = await this.rowsFor<ConversationRow>(
      conversationIds,
      `SELECT * FROM conversations WHERE id ${IN_UUIDS}`,
    );
    const unread = await this.rowsFor<MessageRow>(
      receiptConversations,
      `SELECT id, conversation_id, seq, sender_id, recipient_id, delivered_at, read_at FROM messages
        WHERE read_at IS NULL AND conversation_id ${IN_UUIDS}`,
    );
    const seqs = await this.rowsFor<{ id: string; seq: number }>(
      upTo,
      `SELECT id, seq FROM messages WHERE id ${IN_UUIDS}`,
    );
    const bookings = await this.rowsFor<BookingPair & { booking_id: string }>(
      bookingIds,
      `SELECT booking_id, tenant_id, landlord_id, confirmed FROM messaging_bookings WHERE booking_id ${IN_UUIDS}`,
    );
    const confirmed = await this.rowsFor<{ tenant_id: string; landlord_id: string }>(
      starters,
      `SELECT DISTINCT tenant_id, landlord_id FROM messaging_bookings
        WHERE confirmed
          AND (tenant_id, landlord_id) IN (SELECT (p->>0)::uuid, (p->>1)::uuid FROM jsonb_array_elements(?::jsonb) p)`,
    );

    for (const id of conversationIds) this.conversations.set(id, null);
    for (const row of rows) this.conversations.set(row.id, row);
    for (const message of unread) this.unread.set(message.id, message);
    for (const { id, seq } of seqs) this.seqs.set(id, seq);
    for (const id of bookingIds) this.bookings.set(id, null);
    for (const { booking_id, ...pair } of bookings) this.bookings.set(booking_id, pair);
    for (const pair of confirmed) this.confirmedPairs.add(pairKey(pair.tenant_id, pair.landlord_id));
  }

  apply(recorded: RecordedEvent): void {
    if (recorded.streamId.startsWith(CONVERSATION)) this.applyConversation(recorded);
    else this.applyOther(recorded);
  }

  private applyConversation(recorded: RecordedEvent): void {
    const id = recorded.streamId.slice(CONVERSATION.length);
    const event = { type: recorded.type, data: recorded.data } as ConversationEvent;
    const row = this.conversations.get(id) ?? null;
    // Skips what the row already reflects: every change of a conversation's rows moves its revision.
    if (row && BigInt(row.revision) >= recorded.revision) return;
    const mark = { revision: recorded.revision.toString(), last_position: recorded.position.toString() };
    if (!row) {
      if (event.type !== 'ConversationStarted') return;
      const { participantIds, roomId, bookingId, startedBy, startedAt } = event.data;
      const [low, high] = [...participantIds].sort() as [string, string];
      this.conversations.set(id, {
        id,
        participant_low: low,
        participant_high: high,
        room_id: roomId,
        booking_id: bookingId,
        started_by: startedBy,
        started_at: startedAt,
        // A pair whose booking was confirmed before they started talking starts unmasked.
        contact_unlocked: this.confirmedPairs.has(pairKey(low, high)),
        message_count: 0,
        unread_low: 0,
        unread_high: 0,
        last_message_id: null,
        activity_at: startedAt,
        ...mark,
      });
      this.changedConversations.add(id);
      return;
    }
    switch (event.type) {
      case 'ConversationStarted':
        return;
      case 'MessageSent': {
        const { messageId, senderId, recipientId, body, photoIds, sentAt } = event.data;
        const erased = (recorded.data as { personalDataErased?: boolean }).personalDataErased === true;
        const message: NewMessage = {
          id: messageId,
          conversation_id: id,
          seq: row.message_count,
          sender_id: senderId,
          recipient_id: recipientId,
          body: erased ? null : body,
          erased,
          photo_ids: photoIds,
          sent_at: sentAt,
          delivered_at: null,
          read_at: null,
          position: recorded.position.toString(),
        };
        if (!this.newMessages.has(messageId)) {
          this.newMessages.set(messageId, message);
          this.unread.set(messageId, message);
          this.seqs.set(messageId, message.seq);
        }
        row.message_count++;
        if (row.participant_low === recipientId) row.unread_low++;
        else row.unread_high++;
        row.last_message_id = messageId;
        row.activity_at = sentAt;
        break;
      }
      case 'MessagesDelivered': {
        const { messageIds, deliveredAt, recipientId } = event.data;
        for (const messageId of messageIds) {
          const message = this.unread.get(messageId);
          if (!message || message.conversation_id !== id || message.recipient_id !== recipientId) continue;
          if (message.delivered_at !== null) continue;
          message.delivered_at = deliveredAt;
          this.changedMessages.add(messageId);
        }
        break;
      }
      case 'MessagesRead': {
        const { readerId, upToMessageId, readAt } = event.data;
        const upToSeq = this.seqs.get(upToMessageId);
        let left = 0;
        for (const message of this.unread.values()) {
          if (message.conversation_id !== id || message.recipient_id !== readerId || message.read_at !== null) continue;
          if (upToSeq !== undefined && message.seq <= upToSeq) {
            // Read implies received: a message read before its delivery was recorded counts as delivered then.
            message.read_at = readAt;
            message.delivered_at ??= readAt;
            this.changedMessages.add(message.id);
          } else {
            left++;
          }
        }
        if (row.participant_low === readerId) row.unread_low = left;
        else row.unread_high = left;
        break;
      }
      default: {
        const unhandled: never = event;
        throw new Error(`messaging projection: unknown event ${(unhandled as { type: string }).type}`);
      }
    }
    Object.assign(row, mark);
    this.changedConversations.add(id);
  }

  private applyOther(recorded: RecordedEvent): void {
    switch (recorded.type) {
      case 'MessagePhotoUploaded': {
        const { photoId, uploaderId, key, thumbnailKey, contentType, uploadedAt } =
          recorded.data as MessagePhotoUploaded['data'];
        this.photos.push({
          photo_id: photoId,
          uploader_id: uploaderId,
          key,
          thumbnail_key: thumbnailKey,
          content_type: contentType,
          uploaded_at: uploadedAt,
        });
        return;
      }
      case 'BookingRequested': {
        const { bookingId, tenantId, landlordId } = recorded.data as BookingRequested['data'];
        // As an insert that does nothing on a conflict: a booking the table or the batch already has stays.
        if (this.bookings.get(bookingId)) return;
        this.bookings.set(bookingId, { tenant_id: tenantId, landlord_id: landlordId, confirmed: false });
        this.newBookings.add(bookingId);
        return;
      }
      case 'BookingConfirmed': {
        const { bookingId } = recorded.data as BookingConfirmed['data'];
        const booking = this.bookings.get(bookingId);
        if (!booking) return;
        booking.confirmed = true;
        this.confirmedBookings.add(bookingId);
        const [low, high] = [booking.tenant_id, booking.landlord_id].sort() as [string, string];
        const key = pairKey(low, high);
        this.confirmedPairs.add(key);
        this.unlockPairs.set(key, [low, high]);
        // Every conversation of the pair, whatever room it is about: they have a confirmed stay together. Those of
        // the batch here; those in the table by the write.
        for (const row of this.conversations.values()) {
          if (row && row.participant_low === low && row.participant_high === high && !row.contact_unlocked) {
            row.contact_unlocked = true;
            this.changedConversations.add(row.id);
          }
        }
        return;
      }
      case 'PersonalDataErased': {
        // The events read with a null body from now on; the copies here go too.
        const { userId } = recorded.data as PersonalDataErased['data'];
        this.erasedSenders.add(userId);
        for (const message of this.newMessages.values()) {
          if (message.sender_id === userId) {
            message.body = null;
            message.erased = true;
          }
        }
        return;
      }
    }
  }

  async write(): Promise<void> {
    const em = this.em;
    if (this.photos.length > 0) {
      await runSql(
        em,
        `INSERT INTO message_photos (photo_id, uploader_id, key, thumbnail_key, content_type, uploaded_at)
         SELECT * FROM jsonb_to_recordset(?::jsonb) AS p(photo_id uuid, uploader_id uuid, key text, thumbnail_key text,
              content_type text, uploaded_at timestamptz)
         ON CONFLICT DO NOTHING`,
        [asJson(this.photos)],
      );
    }
    if (this.newBookings.size > 0) {
      await runSql(
        em,
        `INSERT INTO messaging_bookings (booking_id, tenant_id, landlord_id, confirmed)
         SELECT * FROM jsonb_to_recordset(?::jsonb) AS b(booking_id uuid, tenant_id uuid, landlord_id uuid, confirmed boolean)
         ON CONFLICT DO NOTHING`,
        [asJson([...this.newBookings].map((id) => ({ booking_id: id, ...this.bookings.get(id)! })))],
      );
    }
    if (this.confirmedBookings.size > 0) {
      await runSql(
        em,
        `UPDATE messaging_bookings SET confirmed = true WHERE NOT confirmed AND booking_id ${IN_UUIDS}`,
        [asJson([...this.confirmedBookings])],
      );
    }
    if (this.changedConversations.size > 0) {
      await runSql(
        em,
        `INSERT INTO conversations (id, participant_low, participant_high, room_id, booking_id, started_by, started_at,
           contact_unlocked, message_count, unread_low, unread_high, last_message_id, activity_at, revision, last_position)
         SELECT * FROM jsonb_to_recordset(?::jsonb) AS c(id uuid, participant_low uuid, participant_high uuid,
              room_id uuid, booking_id uuid, started_by uuid, started_at timestamptz, contact_unlocked boolean,
              message_count integer, unread_low integer, unread_high integer, last_message_id uuid,
              activity_at timestamptz, revision bigint, last_position bigint)
         ON CONFLICT (id) DO UPDATE SET contact_unlocked = excluded.contact_unlocked,
           message_count = excluded.message_count, unread_low = excluded.unread_low, unread_high = excluded.unread_high,
           last_message_id = excluded.last_message_id, activity_at = excluded.activity_at,
           revision = excluded.revision, last_position = excluded.last_position`,
        [asJson([...this.changedConversations].map((id) => this.conversations.get(id)))],
      );
    }
    if (this.newMessages.size > 0) {
      await runSql(
        em,
        `INSERT INTO messages (id, conversation_id, seq, sender_id, recipient_id, body, erased, photo_ids, sent_at,
           delivered_at, read_at, position)
         SELECT * FROM jsonb_to_recordset(?::jsonb) AS m(id uuid, conversation_id uuid, seq integer, sender_id uuid,
              recipient_id uuid, body text, erased boolean, photo_ids jsonb, sent_at timestamptz,
              delivered_at timestamptz, read_at timestamptz, position bigint)
         ON CONFLICT (id) DO NOTHING`,
        [asJson([...this.newMessages.values()])],
      );
    }
    const receipts = [...this.changedMessages]
      .filter((id) => !this.newMessages.has(id))
      .map((id) => {
        const { delivered_at, read_at } = this.unread.get(id)!;
        return { id, delivered_at, read_at };
      });
    if (receipts.length > 0) {
      await runSql(
        em,
        `UPDATE messages AS m SET delivered_at = r.delivered_at, read_at = r.read_at
           FROM jsonb_to_recordset(?::jsonb) AS r(id uuid, delivered_at timestamptz, read_at timestamptz)
          WHERE m.id = r.id`,
        [asJson(receipts)],
      );
    }
    if (this.unlockPairs.size > 0) {
      await runSql(
        em,
        `UPDATE conversations SET contact_unlocked = true
          WHERE NOT contact_unlocked
            AND (participant_low, participant_high) IN (SELECT (p->>0)::uuid, (p->>1)::uuid FROM jsonb_array_elements(?::jsonb) p)`,
        [asJson([...this.unlockPairs.values()])],
      );
    }
    if (this.erasedSenders.size > 0) {
      await runSql(em, `UPDATE messages SET body = NULL, erased = true WHERE NOT erased AND sender_id ${IN_UUIDS}`, [
        asJson([...this.erasedSenders]),
      ]);
    }
  }
}

/**
 * Builds the messaging read model from the Conversation and MessagePhoto streams, with what it needs of other
 * streams: bookings (a confirmed one between a pair unmasks their contact details) and erasures (a sender's
 * bodies go), one batch at a time (MessagingBatch).
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
    const batch = new MessagingBatch(em);
    await batch.load(events);
    for (const recorded of events) batch.apply(recorded);
    await batch.write();
  },

  async reset(em: EntityManager): Promise<void> {
    await em.execute('TRUNCATE conversations, messages, message_photos, messaging_bookings');
  },
};
