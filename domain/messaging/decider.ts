import type { Decider } from '../shared/decider.js';
import { DomainError } from '../shared/errors.js';
import { hasLoneSurrogate } from '../shared/values.js';
import type { ConversationCommand, MarkRead, RecordDelivery, SendMessage, StartConversation } from './commands.js';
import { type ConversationEvent, conversationSchemaVersions, MESSAGE_LIMITS } from './events.js';

interface MessageRef {
  senderId: string;
  recipientId: string;
  /** Its place in the conversation, from 0. */
  index: number;
  delivered: boolean;
}

export interface ConversationState {
  status: 'none' | 'open';
  conversationId?: string;
  participantIds?: [string, string];
  roomId: string | null;
  bookingId: string | null;
  /**
   * The messages by id, and the ids in order. Both grow in place as the stream is folded (a conversation of
   * thousands of messages folds in linear time): a state is owned by the fold that made it, and `decide` only reads.
   */
  messages: Map<string, MessageRef>;
  order: string[];
  /** Per reader, the index of the last message to them they have read (absent: none). */
  readUpTo: Map<string, number>;
}

export const initialConversationState: ConversationState = Object.freeze({
  status: 'none',
  roomId: null,
  bookingId: null,
  messages: new Map(),
  order: [],
  readUpTo: new Map(),
}) as ConversationState;

const notFound = () => new DomainError('CONVERSATION_NOT_FOUND', 'not_found', 'conversation not found');

// Controls other than tab, line feed and carriage return: nothing a person types.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/** The body as stored: NFC, trimmed, 1..4,000 characters (code points), no NUL or other controls. */
export function messageBody(raw: string): string {
  if (hasLoneSurrogate(raw)) {
    throw new DomainError('INVALID_BODY', 'validation', 'the body is not well-formed Unicode (a lone surrogate)');
  }
  if (CONTROL.test(raw)) {
    throw new DomainError('INVALID_BODY', 'validation', 'the body may not hold control characters');
  }
  const body = raw.normalize('NFC').trim();
  let length = 0;
  for (const _ of body) length++;
  if (length === 0) throw new DomainError('EMPTY_BODY', 'validation', 'a message needs some text');
  if (length > MESSAGE_LIMITS.bodyChars) {
    throw new DomainError(
      'BODY_TOO_LONG',
      'validation',
      `a message holds at most ${MESSAGE_LIMITS.bodyChars} characters`,
      {
        max: MESSAGE_LIMITS.bodyChars,
        length,
      },
    );
  }
  return body;
}

const isParticipant = (state: ConversationState, userId: string) => state.participantIds?.includes(userId) ?? false;
const otherOf = (state: ConversationState, userId: string) =>
  state.participantIds![0] === userId ? state.participantIds![1] : state.participantIds![0];

function start(command: StartConversation, state: ConversationState): ConversationEvent[] {
  const { context, data } = command;
  if (data.participantId === context.actorId) {
    throw new DomainError('CANNOT_MESSAGE_SELF', 'validation', 'a conversation needs someone else');
  }
  if (context.actorRole !== 'tenant' && context.actorRole !== 'landlord') {
    throw new DomainError('CONVERSATION_NOT_ALLOWED', 'forbidden', 'tenants and landlords start conversations');
  }
  const participant = data.participant;
  if (!participant || participant.erased || participant.userId !== data.participantId) {
    throw new DomainError('PARTICIPANT_NOT_FOUND', 'not_found', 'no such person to talk to');
  }
  const roles = new Set([context.actorRole, participant.role]);
  if (!(roles.has('tenant') && roles.has('landlord'))) {
    throw new DomainError('PAIR_NOT_ALLOWED', 'validation', 'conversations are between a tenant and a landlord', {
      participantRole: participant.role,
    });
  }
  const landlordId = context.actorRole === 'landlord' ? context.actorId : participant.userId;
  const tenantId = context.actorRole === 'tenant' ? context.actorId : participant.userId;
  if (data.bookingId !== null) {
    const booking = data.booking;
    if (!booking || booking.bookingId !== data.bookingId) {
      throw new DomainError('BOOKING_NOT_FOUND', 'not_found', 'booking not found');
    }
    // A booking of others is answered as one that does not exist: its existence is not for strangers.
    if (booking.tenantId !== tenantId || booking.landlordId !== landlordId) {
      throw new DomainError('BOOKING_NOT_FOUND', 'not_found', 'booking not found');
    }
    if (data.roomId !== null && booking.roomId !== data.roomId) {
      throw new DomainError('BOOKING_NOT_OF_ROOM', 'validation', 'the booking is of another room');
    }
  }
  const roomId = data.roomId ?? data.booking?.roomId ?? null;
  if (roomId !== null) {
    const room = data.room;
    if (!room || room.roomId !== roomId) throw new DomainError('ROOM_NOT_FOUND', 'not_found', 'room not found');
    if (room.landlordId !== landlordId) {
      throw new DomainError('ROOM_NOT_OF_LANDLORD', 'validation', "the room is not the landlord's of this pair");
    }
  }
  // Checked like a first start (a bad room or booking is refused), then: the pair and room already talk.
  if (state.status === 'open') return [];
  const participantIds = [context.actorId, participant.userId].sort() as [string, string];
  return [
    {
      type: 'ConversationStarted',
      data: {
        conversationId: data.conversationId,
        participantIds,
        roomId,
        bookingId: data.bookingId,
        startedBy: context.actorId,
        startedAt: context.now,
      },
    },
  ];
}

function send(command: SendMessage, state: ConversationState): ConversationEvent[] {
  const { context, data } = command;
  if (state.status !== 'open' || !isParticipant(state, context.actorId)) throw notFound();
  if (state.messages.has(data.messageId)) return []; // a retry of a message already sent
  const body = messageBody(data.body);
  const photoIds = [...new Set(data.photoIds)];
  if (photoIds.length > MESSAGE_LIMITS.photos) {
    throw new DomainError('TOO_MANY_PHOTOS', 'validation', `at most ${MESSAGE_LIMITS.photos} photos per message`, {
      max: MESSAGE_LIMITS.photos,
    });
  }
  const notYours = photoIds.filter((id) => data.photoUploaders[id] !== context.actorId);
  if (notYours.length > 0) {
    throw new DomainError('PHOTO_NOT_FOUND', 'validation', 'attach photos you uploaded yourself', {
      photoIds: notYours,
    });
  }
  return [
    {
      type: 'MessageSent',
      data: {
        conversationId: state.conversationId!,
        messageId: data.messageId,
        senderId: context.actorId,
        recipientId: otherOf(state, context.actorId),
        body,
        photoIds,
        sentAt: context.now,
      },
    },
  ];
}

function recordDelivery(command: RecordDelivery, state: ConversationState): ConversationEvent[] {
  const { context, data } = command;
  if (context.actorRole !== 'system' && context.actorId !== data.recipientId) {
    throw new DomainError('DELIVERY_NOT_ALLOWED', 'forbidden', 'only the recipient or the feed records a delivery');
  }
  if (state.status !== 'open' || !isParticipant(state, data.recipientId)) throw notFound();
  const messageIds = [...new Set(data.messageIds)].filter((id) => {
    const message = state.messages.get(id);
    return message !== undefined && message.recipientId === data.recipientId && !message.delivered;
  });
  if (messageIds.length === 0) return [];
  messageIds.sort((a, b) => state.messages.get(a)!.index - state.messages.get(b)!.index);
  return [
    {
      type: 'MessagesDelivered',
      data: {
        conversationId: state.conversationId!,
        recipientId: data.recipientId,
        senderId: otherOf(state, data.recipientId),
        messageIds,
        deliveredAt: context.now,
      },
    },
  ];
}

function markRead(command: MarkRead, state: ConversationState): ConversationEvent[] {
  const { context, data } = command;
  if (state.status !== 'open' || !isParticipant(state, context.actorId)) throw notFound();
  const upTo = state.messages.get(data.upToMessageId);
  if (!upTo) {
    throw new DomainError('MESSAGE_NOT_FOUND', 'validation', 'upToMessageId is no message of this conversation', {
      upToMessageId: data.upToMessageId,
    });
  }
  // The last message to the reader at or before the one named: a receipt names what was read.
  let last = -1;
  for (let index = upTo.index; index >= 0; index--) {
    if (state.messages.get(state.order[index]!)!.recipientId === context.actorId) {
      last = index;
      break;
    }
  }
  if (last < 0 || last <= (state.readUpTo.get(context.actorId) ?? -1)) return []; // receipts only move forward
  return [
    {
      type: 'MessagesRead',
      data: {
        conversationId: state.conversationId!,
        readerId: context.actorId,
        senderId: otherOf(state, context.actorId),
        upToMessageId: state.order[last]!,
        readAt: context.now,
      },
    },
  ];
}

export function decide(command: ConversationCommand, state: ConversationState): ConversationEvent[] {
  switch (command.type) {
    case 'StartConversation':
      return start(command, state);
    case 'SendMessage':
      return send(command, state);
    case 'RecordDelivery':
      return recordDelivery(command, state);
    case 'MarkRead':
      return markRead(command, state);
    default: {
      const unhandled: never = command;
      throw new Error(`unknown command ${(unhandled as { type: string }).type}`);
    }
  }
}

export function evolve(state: ConversationState, event: ConversationEvent): ConversationState {
  switch (event.type) {
    case 'ConversationStarted': {
      const { conversationId, participantIds, roomId, bookingId } = event.data;
      return {
        status: 'open',
        conversationId,
        participantIds,
        roomId,
        bookingId,
        messages: new Map(),
        order: [],
        readUpTo: new Map(),
      };
    }
    case 'MessageSent': {
      if (state.status !== 'open') return state;
      const { messageId, senderId, recipientId } = event.data;
      if (state.messages.has(messageId)) return state;
      state.messages.set(messageId, { senderId, recipientId, index: state.order.length, delivered: false });
      state.order.push(messageId);
      return { ...state };
    }
    case 'MessagesDelivered': {
      if (state.status !== 'open') return state;
      for (const id of event.data.messageIds) {
        const message = state.messages.get(id);
        if (message) state.messages.set(id, { ...message, delivered: true });
      }
      return { ...state };
    }
    case 'MessagesRead': {
      if (state.status !== 'open') return state;
      const index = state.messages.get(event.data.upToMessageId)?.index;
      if (index !== undefined && index > (state.readUpTo.get(event.data.readerId) ?? -1)) {
        state.readUpTo.set(event.data.readerId, index);
      }
      return { ...state };
    }
    default: {
      const unhandled: never = event;
      throw new Error(`unknown event ${(unhandled as { type: string }).type}`);
    }
  }
}

export const conversationDecider: Decider<ConversationCommand, ConversationEvent, ConversationState> = {
  initialState: initialConversationState,
  decide,
  evolve,
  schemaVersions: conversationSchemaVersions,
};
