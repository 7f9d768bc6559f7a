import type { CommandContext, Role } from '../shared/decider.js';

type ConversationCommandOf<T extends string, Data> = {
  type: T;
  data: { conversationId: string } & Data;
  context: CommandContext;
};

/** What the command handler found of the other person: null when no such person exists. */
export interface ParticipantFacts {
  userId: string;
  role: Role;
  erased: boolean;
}

/** The room the conversation is about, as its stream says: null when no such room exists. */
export interface RoomFacts {
  roomId: string;
  landlordId: string;
}

/** The booking the conversation is about: null when no such booking exists. */
export interface BookingFacts {
  bookingId: string;
  roomId: string;
  tenantId: string;
  landlordId: string;
}

/**
 * The caller starts (or finds) their conversation with `participantId`, optionally about a room or a booking. The
 * handler loads the facts the decider checks (the other person, the room, the booking) from their streams.
 */
export type StartConversation = ConversationCommandOf<
  'StartConversation',
  {
    participantId: string;
    roomId: string | null;
    bookingId: string | null;
    participant: ParticipantFacts | null;
    room: RoomFacts | null;
    booking: BookingFacts | null;
  }
>;

/** `photoUploaders`: the uploader of each photo id, from its stream (null: no such photo). */
export type SendMessage = ConversationCommandOf<
  'SendMessage',
  { messageId: string; body: string; photoIds: string[]; photoUploaders: Readonly<Record<string, string | null>> }
>;

/** The recipient's client received these messages (the feed, on a frame's acknowledgement; or the recipient). */
export type RecordDelivery = ConversationCommandOf<'RecordDelivery', { recipientId: string; messageIds: string[] }>;

/** The caller has read every message sent to them up to `upToMessageId`. */
export type MarkRead = ConversationCommandOf<'MarkRead', { upToMessageId: string }>;

export type ConversationCommand = StartConversation | SendMessage | RecordDelivery | MarkRead;
