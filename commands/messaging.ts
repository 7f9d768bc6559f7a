import type { BookingFacts, ConversationCommand, ParticipantFacts, RoomFacts } from '../domain/messaging/commands.js';
import { conversationId as conversationIdOf } from '../domain/messaging/conversationId.js';
import { type ConversationState, conversationDecider } from '../domain/messaging/decider.js';
import {
  type ConversationEvent,
  conversationStreamId,
  type MessagePhotoEvent,
  type MessageSent,
  messagePhotoStreamId,
} from '../domain/messaging/events.js';
import { type MessagePhotoState, messagePhotoDecider, type UploadMessagePhoto } from '../domain/messaging/photos.js';
import { roomDecider } from '../domain/rooms/decider.js';
import { roomStreamId } from '../domain/rooms/events.js';
import type { CommandContext } from '../domain/shared/decider.js';
import type { EventStore } from '../infra/eventStore/eventStore.js';
import { loadBooking } from './bookings.js';
import { type CommandEnvelope, type CommandResult, handleCommand } from './handleCommand.js';
import { loadUser } from './identity.js';
import { loadState } from './loadState.js';

export interface MessagingDeps {
  store: EventStore;
  maxRetries?: number;
}

type ConversationResult = CommandResult<ConversationState, ConversationEvent>;

function run(
  deps: MessagingDeps,
  command: ConversationCommand,
  envelope: CommandEnvelope,
): Promise<ConversationResult> {
  return handleCommand(
    deps.store,
    conversationStreamId(command.data.conversationId),
    conversationDecider,
    command,
    envelope,
    { maxRetries: deps.maxRetries ?? 5 },
  );
}

export async function loadConversation(store: EventStore, conversationId: string) {
  return loadState(store, conversationStreamId(conversationId), conversationDecider);
}

async function participantFacts(store: EventStore, userId: string): Promise<ParticipantFacts | null> {
  const { state } = await loadUser(store, userId);
  if (state.status === 'none' || !state.role) return null;
  return { userId, role: state.role, erased: state.status === 'erased' };
}

async function roomFacts(store: EventStore, roomId: string): Promise<RoomFacts | null> {
  const { state } = await loadState(store, roomStreamId(roomId), roomDecider);
  return state.status === 'none' || !state.landlordId ? null : { roomId, landlordId: state.landlordId };
}

async function bookingFacts(store: EventStore, bookingId: string): Promise<BookingFacts | null> {
  const { state } = await loadBooking(store, bookingId);
  if (state.status === 'none') return null;
  return { bookingId, roomId: state.roomId!, tenantId: state.tenantId!, landlordId: state.landlordId! };
}

/**
 * Starts the caller's conversation with `participantId` (about `roomId`, or the room of `bookingId`), or finds it:
 * the id is derived from the pair and the room, so a repeat appends nothing and answers the same id.
 */
export async function startConversation(
  deps: MessagingDeps,
  input: { participantId: string; roomId?: string | null; bookingId?: string | null },
  context: CommandContext,
  envelope: CommandEnvelope,
): Promise<ConversationResult & { conversationId: string }> {
  const bookingId = input.bookingId ?? null;
  const [participant, booking] = await Promise.all([
    participantFacts(deps.store, input.participantId),
    bookingId ? bookingFacts(deps.store, bookingId) : null,
  ]);
  const roomId = input.roomId ?? booking?.roomId ?? null;
  const room = roomId ? await roomFacts(deps.store, roomId) : null;
  const conversationId = conversationIdOf(context.actorId, input.participantId, roomId);
  const result = await run(
    deps,
    {
      type: 'StartConversation',
      data: {
        conversationId,
        participantId: input.participantId,
        roomId: input.roomId ?? null,
        bookingId,
        participant,
        room,
        booking,
      },
      context,
    },
    envelope,
  );
  return { ...result, conversationId };
}

/** Sends a message; `messageId` names it (derived from the Idempotency-Key, a retried POST names the same one). */
export async function sendMessage(
  deps: MessagingDeps,
  input: { conversationId: string; messageId: string; body: string; photoIds?: string[] },
  context: CommandContext,
  envelope: CommandEnvelope,
): Promise<ConversationResult & { message: MessageSent['data'] }> {
  const photoIds = [...new Set(input.photoIds ?? [])];
  // More than the limit is refused by the decider without reading any photo's stream.
  const looked = photoIds.length <= 10 ? photoIds : [];
  const uploaders = await Promise.all(
    looked.map(async (id) => [id, (await loadMessagePhoto(deps.store, id)).uploaderId] as const),
  );
  const result = await run(
    deps,
    {
      type: 'SendMessage',
      data: {
        conversationId: input.conversationId,
        messageId: input.messageId,
        body: input.body,
        photoIds,
        photoUploaders: Object.fromEntries(uploaders),
      },
      context,
    },
    envelope,
  );
  const isIt = (event: { type: string; data: unknown }): event is MessageSent =>
    event.type === 'MessageSent' && (event.data as { messageId: string }).messageId === input.messageId;
  let message = result.events.find(isIt);
  // A retry of a message already sent appends nothing: answer with the message as first recorded.
  let position = result.position;
  if (!message) {
    for await (const event of deps.store.readStream(conversationStreamId(input.conversationId))) {
      if (isIt(event)) {
        message = event;
        position = event.position;
      }
    }
  }
  if (!message) throw new Error(`message ${input.messageId} neither sent nor found`);
  return { ...result, position, message: message.data };
}

/**
 * The recipient's client received these messages (the feed calls this when a client acknowledges `message:sent`
 * frames). Messages not to `recipientId`, unknown or already delivered are passed over; when none is left,
 * nothing is appended (position null).
 */
export async function recordDelivery(
  deps: MessagingDeps,
  input: { conversationId: string; recipientId: string; messageIds: string[] },
  context: CommandContext,
  envelope: CommandEnvelope,
): Promise<ConversationResult> {
  return run(deps, { type: 'RecordDelivery', data: input, context }, envelope);
}

/** The caller has read every message to them up to `upToMessageId`; receipts only move forward. */
export async function markRead(
  deps: MessagingDeps,
  input: { conversationId: string; upToMessageId: string },
  context: CommandContext,
  envelope: CommandEnvelope,
): Promise<ConversationResult> {
  return run(deps, { type: 'MarkRead', data: input, context }, envelope);
}

export async function loadMessagePhoto(store: EventStore, photoId: string): Promise<MessagePhotoState> {
  return (await loadState(store, messagePhotoStreamId(photoId), messagePhotoDecider)).state;
}

/** Records a photo uploaded for a message (its files are stored first). */
export async function uploadMessagePhoto(
  deps: MessagingDeps,
  photo: UploadMessagePhoto['data'],
  context: CommandContext,
  envelope: CommandEnvelope,
): Promise<CommandResult<MessagePhotoState, MessagePhotoEvent>> {
  return handleCommand(
    deps.store,
    messagePhotoStreamId(photo.photoId),
    messagePhotoDecider,
    { type: 'UploadMessagePhoto', data: photo, context },
    envelope,
    { maxRetries: deps.maxRetries ?? 5 },
  );
}
