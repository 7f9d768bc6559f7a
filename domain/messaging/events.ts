import type { DomainEvent } from '../shared/decider.js';

/**
 * A conversation between two people, optionally about a room (`Conversation-<conversationId>`). The id is
 * derived from the pair and the room (see `conversationId` in ./conversationId.ts), so the same pair and room
 * always name the same stream. Every event carries both participants, so the feed and the notifier can tell
 * whom it concerns from the event alone, without a read model.
 */
export type ConversationStarted = DomainEvent<
  'ConversationStarted',
  {
    conversationId: string;
    /** The two people, sorted: [lower id, higher id]. */
    participantIds: [string, string];
    roomId: string | null;
    bookingId: string | null;
    startedBy: string;
    startedAt: string;
  }
>;

export type MessageSent = DomainEvent<
  'MessageSent',
  {
    conversationId: string;
    messageId: string;
    senderId: string;
    recipientId: string;
    /** Personal data of the sender: sealed at rest, null once the sender is erased. At most 4,000 characters. */
    body: string | null;
    /** Photos uploaded through POST /api/messages/upload-photo, by the sender. */
    photoIds: string[];
    sentAt: string;
  }
>;

/** The recipient's client received the frames of these messages. */
export type MessagesDelivered = DomainEvent<
  'MessagesDelivered',
  { conversationId: string; recipientId: string; senderId: string; messageIds: string[]; deliveredAt: string }
>;

/** The reader has read every message up to and including `upToMessageId` sent to them. */
export type MessagesRead = DomainEvent<
  'MessagesRead',
  { conversationId: string; readerId: string; senderId: string; upToMessageId: string; readAt: string }
>;

export type ConversationEvent = ConversationStarted | MessageSent | MessagesDelivered | MessagesRead;

export const conversationStreamId = (conversationId: string) => `Conversation-${conversationId}`;

/**
 * A photo uploaded for a message (`MessagePhoto-<photoId>`), before any message attaches it: the file store holds
 * the EXIF-free image and its thumbnail; only its uploader may attach it (SendMessage checks), and it is shown to
 * the uploader and, once attached, to the conversation's participants.
 */
export type MessagePhotoUploaded = DomainEvent<
  'MessagePhotoUploaded',
  {
    photoId: string;
    uploaderId: string;
    key: string;
    thumbnailKey: string;
    contentType: 'image/jpeg' | 'image/png';
    width: number;
    height: number;
    bytes: number;
    uploadedAt: string;
  }
>;

export type MessagePhotoEvent = MessagePhotoUploaded;

export const ConversationEventTypes = [
  'ConversationStarted',
  'MessageSent',
  'MessagesDelivered',
  'MessagesRead',
] as const satisfies readonly ConversationEvent['type'][];

export const conversationSchemaVersions = {
  ConversationStarted: 1,
  MessageSent: 1,
  MessagesDelivered: 1,
  MessagesRead: 1,
} as const satisfies Record<ConversationEvent['type'], number>;

export const messagePhotoSchemaVersions = { MessagePhotoUploaded: 1 } as const satisfies Record<
  MessagePhotoEvent['type'],
  number
>;

export const messagePhotoStreamId = (photoId: string) => `MessagePhoto-${photoId}`;

/** A message body is the sender's personal data: sealed with their key, null once they are erased. */
export const messagingPersonalDataPolicy = {
  MessageSent: { subject: (data: { senderId: string }) => data.senderId, fields: ['body'] },
} as const;

/** Limits of a message (API.md: up to 4,000 characters, optional photos). */
export const MESSAGE_LIMITS = { bodyChars: 4000, photos: 10 } as const;
