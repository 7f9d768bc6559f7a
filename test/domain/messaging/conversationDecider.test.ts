import { randomUUID } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import { describe, expect, it } from 'vitest';
import type { BookingFacts, ConversationCommand, StartConversation } from '../../../domain/messaging/commands.js';
import { CONVERSATION_NAMESPACE, conversationId, sha1 } from '../../../domain/messaging/conversationId.js';
import { conversationDecider } from '../../../domain/messaging/decider.js';
import type { ConversationEvent } from '../../../domain/messaging/events.js';
import { type MessagePhotoState, messagePhotoDecider } from '../../../domain/messaging/photos.js';
import { type CommandContext, fold, type Role } from '../../../domain/shared/decider.js';
import { deciderSpec } from '../../support/deciderSpec.js';

const spec = deciderSpec(conversationDecider);
const NOW = '2027-03-01T09:00:00.000Z';
const tenantId = randomUUID();
const landlordId = randomUUID();
const roomId = randomUUID();
const id = conversationId(tenantId, landlordId, roomId);
const as = (actorId: string, actorRole: Role | 'system'): CommandContext => ({ actorId, actorRole, now: NOW });
const tenant = as(tenantId, 'tenant');
const landlord = as(landlordId, 'landlord');
const system = as('system', 'system');

function startBy(context: CommandContext, overrides: Partial<StartConversation['data']> = {}): StartConversation {
  const other = context.actorId === tenantId ? landlordId : tenantId;
  return {
    type: 'StartConversation',
    data: {
      conversationId: id,
      participantId: other,
      roomId,
      bookingId: null,
      participant: { userId: other, role: other === tenantId ? 'tenant' : 'landlord', erased: false },
      room: { roomId, landlordId },
      booking: null,
      ...overrides,
    },
    context,
  };
}

const started: ConversationEvent = {
  type: 'ConversationStarted',
  data: {
    conversationId: id,
    participantIds: [tenantId, landlordId].sort() as [string, string],
    roomId,
    bookingId: null,
    startedBy: tenantId,
    startedAt: NOW,
  },
};
const message = (messageId: string, from: 'tenant' | 'landlord', body = 'hello'): ConversationEvent => ({
  type: 'MessageSent',
  data: {
    conversationId: id,
    messageId,
    senderId: from === 'tenant' ? tenantId : landlordId,
    recipientId: from === 'tenant' ? landlordId : tenantId,
    body,
    photoIds: [],
    sentAt: NOW,
  },
});
const send = (
  context: CommandContext,
  body: string,
  photoIds: string[] = [],
  photoUploaders: Record<string, string | null> = {},
  messageId = randomUUID(),
): ConversationCommand => ({
  type: 'SendMessage',
  data: { conversationId: id, messageId, body, photoIds, photoUploaders },
  context,
});

describe('conversationId', () => {
  it('is the RFC 9562 version 5 UUID of the sorted pair and the room, whoever starts', () => {
    expect(conversationId(landlordId, tenantId, roomId)).toBe(id);
    const [low, high] = [tenantId, landlordId].sort();
    expect(id).toBe(uuidv5(`${low}|${high}|${roomId}`, CONVERSATION_NAMESPACE));
    expect(conversationId(tenantId, landlordId, null)).toBe(uuidv5(`${low}|${high}|-`, CONVERSATION_NAMESPACE));
    expect(conversationId(tenantId, landlordId, null)).not.toBe(id);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(conversationId(tenantId.toUpperCase(), landlordId, roomId)).toBe(id);
  });

  it('computes SHA-1 as FIPS 180-4 does (empty, "abc", 56 and 1,000,000 bytes)', () => {
    const hex = (text: string) => Buffer.from(sha1(new TextEncoder().encode(text))).toString('hex');
    expect(hex('')).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
    expect(hex('abc')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '84983e441c3bd26ebaae4aa1f95129e5e54670f1',
    );
    expect(hex('a'.repeat(1_000_000))).toBe('34aa973cd4c4daa4f61eeb2bdbad27316534016f');
  });
});

describe('StartConversation', () => {
  it('starts the conversation of the pair and room, participants sorted', () => {
    spec.given([]).when(startBy(tenant)).then([started]);
    spec
      .given([])
      .when(startBy(landlord))
      .then([{ ...started, data: { ...started.data, startedBy: landlordId } } as ConversationEvent]);
  });

  it('appends nothing for a conversation that exists: the same id', () => {
    spec.given([started]).when(startBy(landlord)).thenNothing();
  });

  it('refuses oneself, strangers, the erased, same-role pairs and other roles', () => {
    spec
      .given([])
      .when(startBy(tenant, { participantId: tenantId }))
      .thenThrows('CANNOT_MESSAGE_SELF', 'validation');
    spec
      .given([])
      .when(startBy(tenant, { participant: null }))
      .thenThrows('PARTICIPANT_NOT_FOUND', 'not_found');
    spec
      .given([])
      .when(startBy(tenant, { participant: { userId: landlordId, role: 'landlord', erased: true } }))
      .thenThrows('PARTICIPANT_NOT_FOUND');
    spec
      .given([])
      .when(startBy(tenant, { participant: { userId: landlordId, role: 'tenant', erased: false }, roomId: null }))
      .thenThrows('PAIR_NOT_ALLOWED', 'validation');
    spec
      .given([])
      .when({ ...startBy(tenant), context: as(tenantId, 'admin') })
      .thenThrows('CONVERSATION_NOT_ALLOWED', 'forbidden');
  });

  it('checks the room (it exists, it is the landlord’s) and the booking (of the pair, of the room)', () => {
    spec
      .given([])
      .when(startBy(tenant, { room: null }))
      .thenThrows('ROOM_NOT_FOUND', 'not_found');
    spec
      .given([])
      .when(startBy(tenant, { room: { roomId, landlordId: randomUUID() } }))
      .thenThrows('ROOM_NOT_OF_LANDLORD', 'validation');
    // Also when the conversation exists: a bad room is not answered with the existing id.
    spec
      .given([started])
      .when(startBy(tenant, { room: { roomId, landlordId: randomUUID() } }))
      .thenThrows('ROOM_NOT_OF_LANDLORD');
    const bookingId = randomUUID();
    const booking: BookingFacts = { bookingId, roomId, tenantId, landlordId };
    spec
      .given([])
      .when(startBy(tenant, { bookingId, booking: { ...booking, tenantId: randomUUID() } }))
      .thenThrows('BOOKING_NOT_FOUND', 'not_found');
    spec
      .given([])
      .when(startBy(tenant, { bookingId, booking: { ...booking, roomId: randomUUID() } }))
      .thenThrows('BOOKING_NOT_OF_ROOM');
    spec
      .given([])
      .when(startBy(tenant, { bookingId, booking }))
      .then([{ ...started, data: { ...started.data, bookingId } } as ConversationEvent]);
    // A booking without a room names the booking's room.
    spec
      .given([])
      .when(startBy(tenant, { bookingId, booking, roomId: null }))
      .then([{ ...started, data: { ...started.data, bookingId } } as ConversationEvent]);
  });
});

describe('SendMessage', () => {
  it('sends to the other participant, the body trimmed and NFC', () => {
    const messageId = randomUUID();
    spec
      .given([started])
      .when(send(tenant, '  Cafe\u0301?  ', [], {}, messageId))
      .then([message(messageId, 'tenant', 'Caf\u00e9?')]);
  });

  it('appends nothing for a message id already sent (a retried POST)', () => {
    const messageId = randomUUID();
    spec
      .given([started, message(messageId, 'tenant')])
      .when(send(tenant, 'again', [], {}, messageId))
      .thenNothing();
  });

  it('refuses non-participants (as not found), empty, blank, too long, controls and lone surrogates', () => {
    spec
      .given([started])
      .when(send(as(randomUUID(), 'tenant'), 'hi'))
      .thenThrows('CONVERSATION_NOT_FOUND', 'not_found');
    spec.given([]).when(send(tenant, 'hi')).thenThrows('CONVERSATION_NOT_FOUND');
    spec.given([started]).when(send(tenant, '')).thenThrows('EMPTY_BODY', 'validation');
    spec.given([started]).when(send(tenant, ' \n\t ')).thenThrows('EMPTY_BODY');
    spec
      .given([started])
      .when(send(tenant, 'x'.repeat(4001)))
      .thenThrows('BODY_TOO_LONG');
    spec.given([started]).when(send(tenant, 'a\u0000b')).thenThrows('INVALID_BODY');
    spec.given([started]).when(send(tenant, 'a\u0007b')).thenThrows('INVALID_BODY');
    spec.given([started]).when(send(tenant, 'a\uDC00b')).thenThrows('INVALID_BODY');
    // 4,000 characters count code points: 4,000 emoji pass, 4,001 do not.
    expect(
      conversationDecider.decide(send(tenant, '😀'.repeat(4000)), fold(conversationDecider, [started])),
    ).toHaveLength(1);
    spec
      .given([started])
      .when(send(tenant, '😀'.repeat(4001)))
      .thenThrows('BODY_TOO_LONG');
  });

  it('attaches at most 10 photos, each uploaded by the sender', () => {
    const mine = Array.from({ length: 11 }, () => randomUUID());
    const uploaders = Object.fromEntries(mine.map((p) => [p, tenantId]));
    const events = conversationDecider.decide(
      send(tenant, 'look', mine.slice(0, 10), uploaders),
      fold(conversationDecider, [started]),
    );
    expect((events[0]!.data as { photoIds: string[] }).photoIds).toEqual(mine.slice(0, 10));
    spec
      .given([started])
      .when(send(tenant, 'look', mine, uploaders))
      .thenThrows('TOO_MANY_PHOTOS');
    spec
      .given([started])
      .when(send(landlord, 'look', [mine[0]!], uploaders))
      .thenThrows('PHOTO_NOT_FOUND', 'validation');
    spec
      .given([started])
      .when(send(tenant, 'look', [randomUUID()], {}))
      .thenThrows('PHOTO_NOT_FOUND');
  });
});

describe('RecordDelivery', () => {
  const [m1, m2, m3] = [randomUUID(), randomUUID(), randomUUID()];
  const history = [started, message(m1, 'tenant'), message(m2, 'tenant'), message(m3, 'landlord')];
  const deliver = (context: CommandContext, recipientId: string, messageIds: string[]): ConversationCommand => ({
    type: 'RecordDelivery',
    data: { conversationId: id, recipientId, messageIds },
    context,
  });

  it('records the messages to that recipient not yet delivered, in conversation order', () => {
    spec
      .given(history)
      .when(deliver(system, landlordId, [m2, m3, m1, randomUUID(), m2]))
      .then([
        {
          type: 'MessagesDelivered',
          data: {
            conversationId: id,
            recipientId: landlordId,
            senderId: tenantId,
            messageIds: [m1, m2],
            deliveredAt: NOW,
          },
        },
      ]);
  });

  it('appends nothing when every message is delivered already (or none is to the recipient)', () => {
    const delivered: ConversationEvent = {
      type: 'MessagesDelivered',
      data: { conversationId: id, recipientId: landlordId, senderId: tenantId, messageIds: [m1, m2], deliveredAt: NOW },
    };
    spec
      .given([...history, delivered])
      .when(deliver(system, landlordId, [m1, m2]))
      .thenNothing();
    spec
      .given(history)
      .when(deliver(landlord, landlordId, [m3]))
      .thenNothing();
  });

  it('is for the recipient or the system; someone outside the conversation is not found', () => {
    spec
      .given(history)
      .when(deliver(tenant, landlordId, [m1]))
      .thenThrows('DELIVERY_NOT_ALLOWED', 'forbidden');
    const stranger = randomUUID();
    spec
      .given(history)
      .when(deliver(system, stranger, [m1]))
      .thenThrows('CONVERSATION_NOT_FOUND', 'not_found');
    spec
      .given([])
      .when(deliver(system, landlordId, [m1]))
      .thenThrows('CONVERSATION_NOT_FOUND');
  });
});

describe('MarkRead', () => {
  const [m1, m2, m3, m4] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  const history = [
    started,
    message(m1, 'tenant'),
    message(m2, 'tenant'),
    message(m3, 'landlord'),
    message(m4, 'tenant'),
  ];
  const read = (context: CommandContext, upToMessageId: string): ConversationCommand => ({
    type: 'MarkRead',
    data: { conversationId: id, upToMessageId },
    context,
  });
  const wasRead = (upToMessageId: string): ConversationEvent => ({
    type: 'MessagesRead',
    data: { conversationId: id, readerId: landlordId, senderId: tenantId, upToMessageId, readAt: NOW },
  });

  it('records the last message to the reader up to the one named', () => {
    spec
      .given(history)
      .when(read(landlord, m2))
      .then([wasRead(m2)]);
    // Named by the reader's own message: the last one to them before it.
    spec
      .given(history)
      .when(read(landlord, m3))
      .then([wasRead(m2)]);
  });

  it('moves only forward: an older or the same receipt appends nothing', () => {
    spec
      .given([...history, wasRead(m4)])
      .when(read(landlord, m1))
      .thenNothing();
    spec
      .given([...history, wasRead(m2)])
      .when(read(landlord, m3))
      .thenNothing();
    spec
      .given([...history, wasRead(m2)])
      .when(read(landlord, m4))
      .then([wasRead(m4)]);
    // Nothing was sent to the reader before it: nothing to read.
    spec.given(history).when(read(tenant, m2)).thenNothing();
  });

  it('refuses a message of another conversation, and non-participants', () => {
    spec.given(history).when(read(landlord, randomUUID())).thenThrows('MESSAGE_NOT_FOUND', 'validation');
    spec
      .given(history)
      .when(read(as(randomUUID(), 'landlord'), m1))
      .thenThrows('CONVERSATION_NOT_FOUND', 'not_found');
  });
});

describe('message photos', () => {
  const photoSpec = deciderSpec(messagePhotoDecider);
  const photo = {
    photoId: randomUUID(),
    key: 'a'.repeat(64),
    thumbnailKey: 'b'.repeat(64),
    contentType: 'image/jpeg' as const,
    width: 10,
    height: 10,
    bytes: 100,
  };
  const upload = (context: CommandContext) => ({ type: 'UploadMessagePhoto' as const, data: photo, context });
  const uploaded = { type: 'MessagePhotoUploaded' as const, data: { ...photo, uploaderId: tenantId, uploadedAt: NOW } };

  it('records the upload by its uploader; a retry appends nothing; someone else cannot take the id', () => {
    photoSpec.given([]).when(upload(tenant)).then([uploaded]);
    photoSpec.given([uploaded]).when(upload(tenant)).thenNothing();
    photoSpec.given([uploaded]).when(upload(landlord)).thenThrows('PHOTO_EXISTS', 'conflict');
    photoSpec.given([]).when(upload(system)).thenThrows('PERSON_ONLY', 'forbidden');
    expect(fold(messagePhotoDecider, [uploaded])).toMatchObject<Partial<MessagePhotoState>>({ uploaderId: tenantId });
  });
});
