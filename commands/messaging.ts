import type { BookingFacts, ConversationCommand, ParticipantFacts, RoomFacts } from '../domain/messaging/commands.js';
import { conversationId as conversationIdOf } from '../domain/messaging/conversationId.js';
import { type ConversationState, conversationDecider } from '../domain/messaging/decider.js';
import {
  type ConversationEvent,
  conversationSchemaVersions,
  conversationStreamId,
  type MessagePhotoEvent,
  type MessageSent,
  messagePhotoStreamId,
} from '../domain/messaging/events.js';
import { type MessagePhotoState, messagePhotoDecider, type UploadMessagePhoto } from '../domain/messaging/photos.js';
import { roomDecider } from '../domain/rooms/decider.js';
import { roomStreamId } from '../domain/rooms/events.js';
import { type CommandContext, fold } from '../domain/shared/decider.js';
import { LruCache } from '../domain/shared/lruCache.js';
import { type EventStore, WrongExpectedVersion } from '../infra/eventStore/eventStore.js';
import { loadBooking } from './bookings.js';
import { type CommandEnvelope, type CommandResult, ConcurrencyConflict, handleCommand } from './handleCommand.js';
import { loadUser } from './identity.js';
import { loadState } from './loadState.js';

export interface MessagingDeps {
  store: EventStore;
  maxRetries?: number;
}

type ConversationResult = CommandResult<ConversationState, ConversationEvent>;

/** Events read at a time from the end of a conversation. */
const TAIL_PAGE = 32;

/**
 * The conversation as far as a command about its recent messages needs it: the first event (the participants) and
 * the events from the end back to the one `enough` accepts, folded in stream order, with the stream's last revision.
 * Reading from the end keeps sending, delivery and read receipts on a conversation of thousands of messages as
 * cheap as on a new one. The state holds only the messages read; what the commands decide on is in that window
 * (a delivery or a receipt always comes after the message it names).
 */
async function loadTail(
  store: EventStore,
  conversationId: string,
  enough: (event: ConversationEvent) => boolean,
): Promise<{ state: ConversationState; revision: bigint | null }> {
  const streamId = conversationStreamId(conversationId);
  const tail: ConversationEvent[] = [];
  let head: bigint | null = null;
  let from: bigint | undefined;
  let done = false;
  while (!done) {
    let read = 0;
    for await (const recorded of store.readStream(streamId, { direction: 'backwards', from, maxCount: TAIL_PAGE })) {
      read++;
      head ??= recorded.revision;
      tail.push({ type: recorded.type, data: recorded.data } as ConversationEvent);
      from = recorded.revision - 1n;
      if (recorded.revision === 0n || enough(tail.at(-1)!)) {
        done = true;
        break;
      }
    }
    if (read < TAIL_PAGE) done = true;
  }
  if (head === null) return { state: conversationDecider.initialState, revision: null };
  tail.reverse();
  if (tail[0]?.type !== 'ConversationStarted') {
    for await (const recorded of store.readStream(streamId, { maxCount: 1 })) {
      tail.unshift({ type: recorded.type, data: recorded.data } as ConversationEvent);
    }
  }
  return { state: fold(conversationDecider, tail), revision: head };
}

/** Conversations whose first event is kept, per process and store: the most recently started ones. */
const HEADS_KEPT = 10_000;
const heads = new WeakMap<EventStore, LruCache<string, ConversationEvent>>();

/**
 * The conversation as a message needs it: its first event, which names the participants and never changes, so it
 * is read once per process and kept (the most recent HEADS_KEPT conversations). Sending then reads nothing: the
 * message is appended after whatever the stream holds (`stream_exists`). A conversation not started yet is not
 * kept, and answers the initial state.
 */
async function loadHead(store: EventStore, conversationId: string): Promise<ConversationState> {
  const kept = heads.get(store) ?? new LruCache<string, ConversationEvent>(HEADS_KEPT);
  heads.set(store, kept);
  let first = kept.get(conversationId);
  if (!first) {
    for await (const recorded of store.readStream(conversationStreamId(conversationId), { maxCount: 1 })) {
      first = { type: recorded.type, data: recorded.data } as ConversationEvent;
    }
    if (first?.type !== 'ConversationStarted') return conversationDecider.initialState;
    kept.set(conversationId, first);
  }
  return fold(conversationDecider, [first]);
}

/**
 * Decides on the tail of the conversation and appends with the revision read; on a concurrency conflict it reads
 * and decides again. A command with an idempotency seed goes through handleCommand instead, which recognises a
 * retry by its events' ids in the whole stream.
 */
async function runOnTail(
  deps: MessagingDeps,
  command: ConversationCommand,
  envelope: CommandEnvelope,
  enough: () => (event: ConversationEvent) => boolean,
): Promise<ConversationResult> {
  if (envelope.idSeed) return run(deps, command, envelope);
  const streamId = conversationStreamId(command.data.conversationId);
  const maxRetries = deps.maxRetries ?? 5;
  for (let attempt = 0; ; attempt++) {
    // A message decides on the participants alone (its id is new: a retry with an Idempotency-Key went to `run`).
    const { state, revision } =
      command.type === 'SendMessage'
        ? { state: await loadHead(deps.store, command.data.conversationId), revision: null }
        : await loadTail(deps.store, command.data.conversationId, enough());
    const events = conversationDecider.decide(command, state);
    if (events.length === 0) return { events, state, position: null, revision };
    try {
      const result = await deps.store.append(
        streamId,
        events.map((event) => ({
          eventId: envelope.newId(),
          type: event.type,
          schemaVersion: conversationSchemaVersions[event.type],
          data: event.data,
          metadata: { ...envelope.metadata, occurredAt: envelope.now },
        })),
        // A message is appended after whatever came meanwhile; deliveries and receipts decide on the revision read.
        { expectedRevision: command.type === 'SendMessage' || revision === null ? 'stream_exists' : revision },
      );
      return {
        events,
        state: events.reduce(conversationDecider.evolve, state),
        position: result.position,
        revision: result.nextExpectedRevision,
      };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersion)) throw error;
      if (attempt >= maxRetries) throw new ConcurrencyConflict(streamId, attempt + 1);
    }
  }
}

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
  // The sender's right to write is in the first event: nothing of the messages before is read.
  const result = await runOnTail(
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
    () => () => true,
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
  return runOnTail(deps, { type: 'RecordDelivery', data: input, context }, envelope, () => {
    // Back to the oldest of the messages named: their deliveries come after them.
    const pending = new Set(input.messageIds);
    return (event) => {
      if (event.type === 'MessageSent') pending.delete(event.data.messageId);
      return pending.size === 0;
    };
  });
}

/** The caller has read every message to them up to `upToMessageId`; receipts only move forward. */
export async function markRead(
  deps: MessagingDeps,
  input: { conversationId: string; upToMessageId: string },
  context: CommandContext,
  envelope: CommandEnvelope,
): Promise<ConversationResult> {
  return runOnTail(deps, { type: 'MarkRead', data: input, context }, envelope, () => {
    // Back to the message named, then to the last one to the reader at or before it.
    let reached = false;
    return (event) => {
      if (event.type !== 'MessageSent') return false;
      if (event.data.messageId === input.upToMessageId) reached = true;
      return reached && event.data.recipientId === context.actorId;
    };
  });
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
