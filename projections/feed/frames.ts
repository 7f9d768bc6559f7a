import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { BookingConfirmed } from '../../domain/bookings/events.js';
import type { MessageSent, MessagesDelivered, MessagesRead } from '../../domain/messaging/events.js';
import { maskContactDetails } from '../../domain/messaging/masking.js';
import {
  NotificationKinds,
  type NotificationRaised,
  type NotificationRead,
} from '../../domain/notifications/events.js';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';

/**
 * The WebSocket feed's frames (API.md "WebSocket feed"): `{ type, data, position }`, `position` being the event
 * store position of the event that caused the frame (presence frames have none). These TypeBox schemas are the
 * one source of the frames' shapes: `framesOf` builds frames typed by them and the AsyncAPI document is made of them.
 */

const Id = Type.String({ format: 'uuid' });
const Instant = Type.String({ format: 'date-time' });
const FramePosition = Type.String({ pattern: '^\\d+$', description: 'event store position (decimal string)' });

export const FrameData = {
  'message:sent': Type.Object(
    {
      conversationId: Id,
      messageId: Id,
      senderId: Id,
      recipientId: Id,
      body: Type.Union([Type.String(), Type.Null()], {
        description: 'null once the sender is erased; masked for the recipient until the pair has a confirmed booking',
      }),
      masked: Type.Boolean({ description: 'true when contact details in the body were masked for you' }),
      photoIds: Type.Array(Id),
      sentAt: Instant,
    },
    { description: 'A message in one of your conversations (to its recipient and to the sender’s sockets)' },
  ),
  'message:delivered': Type.Object(
    { conversationId: Id, recipientId: Id, messageIds: Type.Array(Id), deliveredAt: Instant },
    { description: 'The recipient’s client received these messages of yours' },
  ),
  'message:read': Type.Object(
    { conversationId: Id, readerId: Id, upToMessageId: Id, readAt: Instant },
    { description: 'The reader has read your messages up to and including upToMessageId' },
  ),
  'booking:confirmed': Type.Object(
    {
      bookingId: Id,
      bookingReference: Type.Union([Type.String(), Type.Null()]),
      roomId: Type.Union([Id, Type.Null()]),
      tenantId: Id,
      landlordId: Id,
      checkIn: Type.Union([Type.String(), Type.Null()]),
      checkOut: Type.Union([Type.String(), Type.Null()]),
      confirmedAt: Instant,
    },
    { description: 'A booking you are the tenant or the landlord of was confirmed' },
  ),
  'booking:reminder': Type.Object(
    {
      notificationId: Id,
      bookingId: Type.Union([Type.String(), Type.Null()]),
      subject: Type.Record(Type.String(), Type.String()),
      raisedAt: Instant,
    },
    { description: 'Your stay starts tomorrow' },
  ),
  'notification:new': Type.Object(
    {
      notificationId: Id,
      kind: Type.Union(NotificationKinds.map((kind) => Type.Literal(kind))),
      subject: Type.Record(Type.String(), Type.String(), { description: 'ids only (booking, room, conversation…)' }),
      raisedAt: Instant,
    },
    { description: 'A new notification for you' },
  ),
  'notification:read': Type.Object(
    { notificationId: Id, readAt: Instant },
    { description: 'One of your notifications was marked read (on any of your devices)' },
  ),
  'user:online': Type.Object(
    { userId: Id, at: Instant },
    { description: 'Someone you share a conversation with came online' },
  ),
  'user:offline': Type.Object(
    { userId: Id, at: Instant },
    { description: 'Someone you share a conversation with went offline' },
  ),
  'feed:resync': Type.Object(
    {
      reason: Type.Union([Type.Literal('too_far_behind'), Type.Literal('interrupted')]),
      position: FramePosition,
      message: Type.String(),
    },
    {
      description:
        'The missed frames cannot all be replayed (more than FEED_REPLAY_MAX_EVENTS events behind): refetch what ' +
        'you show through the REST API; live frames follow, and a later reconnect may use ?since=<position>',
    },
  ),
  'feed:live': Type.Object(
    { position: FramePosition },
    {
      description:
        'Sent once per socket: every frame missed since `?since=` has come before it (or there was none to ' +
        'replay), and every frame after it is live. `position` is where the socket stands: a reconnect may use it ' +
        'as `since`. A client may show "up to date" from here.',
    },
  ),
  'feed:error': Type.Object(
    { error: Type.String(), message: Type.String() },
    { description: 'A frame you sent was refused (not JSON, too large, unknown type, bad fields)' },
  ),
} as const;

export type FrameType = keyof typeof FrameData;
/** Frames that come from an event and carry its position. */
export const PositionedFrameTypes = [
  'message:sent',
  'message:delivered',
  'message:read',
  'booking:confirmed',
  'booking:reminder',
  'notification:new',
  'notification:read',
] as const satisfies readonly FrameType[];

export type Frame<T extends FrameType = FrameType> = T extends FrameType
  ? { type: T; data: Static<(typeof FrameData)[T]>; position?: string }
  : never;

/** The schema of a whole frame of one type, as it goes over the socket. */
export function frameSchema(type: FrameType): TSchema {
  const positioned = (PositionedFrameTypes as readonly string[]).includes(type);
  return Type.Object(
    {
      type: Type.Literal(type),
      data: FrameData[type],
      ...(positioned ? { position: FramePosition } : {}),
    },
    { additionalProperties: false },
  );
}

/** What the client sends: acknowledgements of `message:sent` frames it received (batched per conversation). */
export const ClientFrames = {
  'message:ack': Type.Object(
    {
      type: Type.Literal('message:ack'),
      messageIds: Type.Array(
        Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' }),
        { minItems: 1, maxItems: 100 },
      ),
    },
    {
      additionalProperties: false,
      description:
        'I received these messages (ids from message:sent frames sent to me on this socket): records their ' +
        'delivery, and the sender gets message:delivered. Ids of messages not sent to you are ignored.',
    },
  ),
} as const;

/** The event types that make frames: the feed's subscription and replay read only these. */
export const FeedEventTypes = [
  'MessageSent',
  'MessagesDelivered',
  'MessagesRead',
  'BookingConfirmed',
  'NotificationRaised',
  'NotificationRead',
] as const;

/** Facts an event does not carry, looked up before `framesOf` (see feedFacts.ts). */
export interface FeedFacts {
  /** BookingConfirmed: the stay's parties and terms, from the booking's first event. */
  booking?: {
    tenantId: string;
    landlordId: string;
    roomId: string | null;
    reference: string | null;
    checkIn: string | null;
    checkOut: string | null;
  };
  /** MessageSent: whether the pair has a confirmed booking, so contact details are shown unmasked. */
  contactUnlocked?: boolean;
}

/** One event's frames for one person: delivered together, under the event's position. */
export interface FeedDelivery {
  userId: string;
  position: bigint;
  frames: Frame[];
}

/**
 * Who gets which frames from an event: the one mapping the live publisher and the replay both use, so a
 * replayed frame is the frame that was (or would have been) sent live. Pure: lookups arrive as `facts`.
 */
export function framesOf(event: RecordedEvent, facts: FeedFacts = {}): FeedDelivery[] {
  const position = event.position.toString();
  const deliveries: FeedDelivery[] = [];
  const add = (userId: string, ...frames: Frame[]) => {
    const existing = deliveries.find((delivery) => delivery.userId === userId);
    if (existing) existing.frames.push(...frames);
    else deliveries.push({ userId, position: event.position, frames });
  };
  switch (event.type) {
    case 'MessageSent': {
      const data = event.data as MessageSent['data'];
      const base = {
        conversationId: data.conversationId,
        messageId: data.messageId,
        senderId: data.senderId,
        recipientId: data.recipientId,
        photoIds: data.photoIds ?? [],
        sentAt: data.sentAt,
      };
      const body = data.body ?? null;
      const maskedBody = body === null || facts.contactUnlocked ? body : maskContactDetails(body);
      add(data.recipientId, {
        type: 'message:sent',
        data: { ...base, body: maskedBody, masked: maskedBody !== body },
        position,
      });
      if (data.senderId !== data.recipientId) {
        add(data.senderId, { type: 'message:sent', data: { ...base, body, masked: false }, position });
      }
      break;
    }
    case 'MessagesDelivered': {
      const data = event.data as MessagesDelivered['data'];
      add(data.senderId, {
        type: 'message:delivered',
        data: {
          conversationId: data.conversationId,
          recipientId: data.recipientId,
          messageIds: data.messageIds,
          deliveredAt: data.deliveredAt,
        },
        position,
      });
      break;
    }
    case 'MessagesRead': {
      const data = event.data as MessagesRead['data'];
      add(data.senderId, {
        type: 'message:read',
        data: {
          conversationId: data.conversationId,
          readerId: data.readerId,
          upToMessageId: data.upToMessageId,
          readAt: data.readAt,
        },
        position,
      });
      break;
    }
    case 'BookingConfirmed': {
      const data = event.data as BookingConfirmed['data'];
      const booking = facts.booking;
      if (!booking) break;
      const frame: Frame = {
        type: 'booking:confirmed',
        data: {
          bookingId: data.bookingId,
          bookingReference: booking.reference,
          roomId: booking.roomId,
          tenantId: booking.tenantId,
          landlordId: booking.landlordId,
          checkIn: booking.checkIn,
          checkOut: booking.checkOut,
          confirmedAt: data.confirmedAt,
        },
        position,
      };
      add(booking.tenantId, frame);
      if (booking.landlordId !== booking.tenantId) add(booking.landlordId, frame);
      break;
    }
    case 'NotificationRaised': {
      const data = event.data as NotificationRaised['data'];
      const subject = data.subject ?? {};
      const frames: Frame[] = [];
      if (data.kind === 'booking_reminder') {
        frames.push({
          type: 'booking:reminder',
          data: {
            notificationId: data.notificationId,
            bookingId: subject.bookingId ?? null,
            subject,
            raisedAt: data.raisedAt,
          },
          position,
        });
      }
      frames.push({
        type: 'notification:new',
        data: { notificationId: data.notificationId, kind: data.kind, subject, raisedAt: data.raisedAt },
        position,
      });
      add(data.userId, ...frames);
      break;
    }
    case 'NotificationRead': {
      const data = event.data as NotificationRead['data'];
      add(data.userId, {
        type: 'notification:read',
        data: { notificationId: data.notificationId, readAt: data.readAt },
        position,
      });
      break;
    }
  }
  return deliveries;
}

/** Whether an event can concern `userId` at all, from its data alone (the replay skips fact lookups otherwise). */
export function mayConcern(event: RecordedEvent, userId: string): boolean {
  const data = event.data as Record<string, unknown>;
  switch (event.type) {
    case 'MessageSent':
      return data.senderId === userId || data.recipientId === userId;
    case 'MessagesDelivered':
    case 'MessagesRead':
      return data.senderId === userId;
    case 'NotificationRaised':
    case 'NotificationRead':
      return data.userId === userId;
    case 'BookingConfirmed':
      return true;
    default:
      return false;
  }
}
