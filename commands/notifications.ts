import type { EntityManager } from '@mikro-orm/postgresql';
import { v5 as uuidv5 } from 'uuid';
import { checkInInstant } from '../domain/bookings/decider.js';
import { conversationStreamId, type MessageSent, type MessagesRead } from '../domain/messaging/events.js';
import type { SetNotificationPreferences } from '../domain/notifications/commands.js';
import {
  type NotificationState,
  notificationDecider,
  notificationPreferencesStreamId,
  type Preferences,
  type PreferencesState,
  preferencesDecider,
} from '../domain/notifications/decider.js';
import type { NotificationKind } from '../domain/notifications/events.js';
import { notificationStreamId } from '../domain/notifications/events.js';
import {
  type NotificationFacts,
  type NotificationIntent,
  type NotificationSource,
  NotificationSourceTypes,
  notificationsFor,
  REMINDER_BEFORE_MS,
} from '../domain/notifications/rules.js';
import type { CommandContext } from '../domain/shared/decider.js';
import { withTimeout } from '../domain/shared/timeout.js';
import type { Clock } from '../infra/clock/clock.js';
import type { EventStore, RecordedEvent } from '../infra/eventStore/eventStore.js';
import type { NotificationJobs, PresenceLookup } from '../infra/notifications/ports.js';
import type { PgProjection } from '../projections/projection.js';
import { loadBooking } from './bookings.js';
import { type CommandEnvelope, type CommandResult, handleCommand } from './handleCommand.js';
import { loadState } from './loadState.js';

const NOTIFICATION_NAMESPACE = 'c1f4a0de-5b7e-4f62-9d0c-2a8e6b3f7d15';

/** The id of the notification of `kind` caused by an event: the same cause always names the same notification. */
export const notificationIdFor = (sourceEventId: string, kind: NotificationKind) =>
  uuidv5(`${sourceEventId}:${kind}`, NOTIFICATION_NAMESPACE);

const systemContext = (now: string): CommandContext => ({ actorId: 'system', actorRole: 'system', now });

/** The envelope of a system command caused by `causeId`: event ids seeded by the effect, so a retry appends once. */
function systemEnvelope(
  seed: string,
  now: string,
  cause: { correlationId: string; causationId: string | null },
): CommandEnvelope {
  return {
    now,
    idSeed: `notifications|${seed}`,
    newId: () => {
      throw new Error('seeded commands need no random id');
    },
    metadata: { ...cause, actorId: 'system', actorRole: 'system', requestId: null },
  };
}

export interface NotificationDeps {
  store: EventStore;
}

/**
 * Raises a notification once, in its own stream: the first attempt appends without reading (the stream of a new
 * notification is empty); a raise again (a replay) finds the stream there, reads its one event and decides nothing.
 */
export function raiseNotification(
  deps: NotificationDeps,
  intent: NotificationIntent & { sourceEventId: string; raisedAt: string },
  cause: { correlationId: string; causationId: string | null },
  now: string,
): Promise<CommandResult<NotificationState, unknown>> {
  const notificationId = notificationIdFor(intent.sourceEventId, intent.kind);
  return handleCommand(
    deps.store,
    notificationStreamId(notificationId),
    notificationDecider,
    { type: 'RaiseNotification', data: { notificationId, ...intent }, context: systemContext(now) },
    systemEnvelope(`raise|${notificationId}`, now, cause),
    { maxRetries: 10, assumeNew: true },
  );
}

/** Marks one of the caller's own notifications read; another person's is not found (404). */
export function markNotificationRead(
  deps: NotificationDeps,
  input: { notificationId: string; userId: string },
  context: CommandContext,
  envelope: CommandEnvelope,
) {
  return handleCommand(
    deps.store,
    notificationStreamId(input.notificationId),
    notificationDecider,
    { type: 'MarkNotificationRead', data: input, context },
    envelope,
    { maxRetries: 10 },
  );
}

export async function loadPreferences(store: EventStore, userId: string): Promise<Preferences> {
  const { state } = await loadState(store, notificationPreferencesStreamId(userId), preferencesDecider);
  return state.preferences;
}

export function setNotificationPreferences(
  deps: NotificationDeps,
  data: SetNotificationPreferences['data'],
  context: CommandContext,
  envelope: CommandEnvelope,
): Promise<CommandResult<PreferencesState, unknown>> {
  return handleCommand(
    deps.store,
    notificationPreferencesStreamId(data.userId),
    preferencesDecider,
    { type: 'SetNotificationPreferences', data, context },
    envelope,
    { maxRetries: 10 },
  );
}

export const notificationProcessName = 'notification-process';

export interface NotificationProcessDeps {
  store: EventStore;
  clock: Clock;
  /**
   * Who has a feed socket open. A message to someone online raises no notification: their feed shows the message
   * as it arrives (`message:sent`), and a notification for each one would flood their list and cost a second
   * append per message. Without a lookup, every message notifies.
   */
  presence?: PresenceLookup;
}

/**
 * A message raises its notification only while it is news: a replay of this process (or one that was down longer)
 * does not notify of, or mail a digest of, older messages whose recipient was online when they were sent.
 */
export const MESSAGE_NOTICE_WINDOW_MS = 24 * 60 * 60 * 1000;
/** How long a presence lookup may take, and how long after one failed nobody is asked (everyone counts offline). */
const PRESENCE_TIMEOUT_MS = 250;
const PRESENCE_BACKOFF_MS = 5_000;

/**
 * Whether the recipient of a message is offline, as far as can be told at once: a lookup that fails or is slow
 * counts as offline (notify rather than stay silent), and for a while after one failed none is tried, so Redis being
 * away costs this process no time per message.
 */
function offlineCheck(presence: PresenceLookup | undefined, clock: Clock) {
  let skipUntil = 0;
  return async (userId: string): Promise<boolean> => {
    if (!presence || clock.now().getTime() < skipUntil) return true;
    try {
      return !(await withTimeout(presence.isOnline(userId), PRESENCE_TIMEOUT_MS, 'a presence lookup'));
    } catch {
      skipUntil = clock.now().getTime() + PRESENCE_BACKOFF_MS;
      return true;
    }
  };
}

/** The booking facts a rule needs that its event does not carry (the tenant of a confirmed booking). */
async function factsOf(store: EventStore, event: NotificationSource): Promise<NotificationFacts> {
  if (!('bookingId' in event.data) || event.type === 'BookingRequested' || event.type === 'PaymentRecordOpened') {
    return { booking: null };
  }
  const { state } = await loadBooking(store, event.data.bookingId);
  return {
    booking: state.tenantId && state.landlordId ? { tenantId: state.tenantId, landlordId: state.landlordId } : null,
  };
}

/**
 * Raises the notifications the events call for, each in its own `Notification-<id>` stream. Idempotent on its
 * own: a notification's id (and its event's id) derive from the cause, so replaying from position 0 raises nobody
 * twice and needs no table of effects. A message notifies its recipient only when they are offline (see
 * `NotificationProcessDeps.presence`); a replay re-decides that for the messages of the last day only. MessagesRead
 * marks read the reader's message notifications of that conversation. It writes to the event store only and asks
 * presence with a short timeout, so Redis being away never holds it up: the notifications are raised and listed
 * (messages count as sent to someone offline), and the delivery subscription queues them once Redis is back.
 */
export function notificationProcessManager(deps: NotificationProcessDeps): PgProjection {
  const { store, clock } = deps;
  const isOffline = offlineCheck(deps.presence, clock);
  /** A message's notification: only to a recipient who is offline, and only while the message is news. */
  const messageNotice = async (recorded: RecordedEvent, userId: string): Promise<boolean> => {
    const sentAt = Date.parse(recorded.metadata.occurredAt || recorded.recordedAt);
    if (clock.now().getTime() - sentAt > MESSAGE_NOTICE_WINDOW_MS) return false;
    return isOffline(userId);
  };
  return {
    name: notificationProcessName,
    version: 1,
    filter: {
      eventTypes: [...NotificationSourceTypes, 'MessagesRead'],
      streamPrefixes: ['Booking-', 'Payment-', 'Conversation-', 'SavedSearch-', 'BookingReviews-'],
    },

    async apply(_em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
      for (const recorded of events) {
        const cause = { correlationId: recorded.metadata.correlationId, causationId: recorded.eventId };
        const now = clock.now().toISOString();
        if (recorded.type === 'MessagesRead') {
          await markConversationRead(store, recorded, cause, now);
          continue;
        }
        const event = { type: recorded.type, data: recorded.data } as NotificationSource;
        const intents = notificationsFor(event, await factsOf(store, event));
        for (const intent of intents) {
          if (intent.kind === 'message_received' && !(await messageNotice(recorded, intent.userId))) continue;
          await raiseNotification(
            { store },
            { ...intent, sourceEventId: recorded.eventId, raisedAt: recorded.metadata.occurredAt },
            cause,
            now,
          );
        }
      }
    },

    // Its effects are events and idempotent jobs: a rebuild replays them as no-ops.
    async reset(): Promise<void> {},
  };
}

/** Events read at a time, backwards through a conversation, to find the messages a read receipt covers. */
const RECEIPT_PAGE = 64;

/**
 * A read receipt marks read the reader's `message_received` notifications of the messages it covers: those to the
 * reader from the one it names back to the one the reader's previous receipt named (receipts only move forward, so
 * everything before that was covered then). The messages are found in the conversation's own stream, read backwards
 * from the receipt; each notification's id derives from its message's event, so nothing else is read.
 */
async function markConversationRead(
  store: EventStore,
  recorded: RecordedEvent,
  cause: { correlationId: string; causationId: string | null },
  now: string,
): Promise<void> {
  const { conversationId, readerId, upToMessageId } = (recorded as unknown as { data: MessagesRead['data'] }).data;
  const covered: string[] = [];
  let reached = false;
  let stopAt: string | null = null;
  let from = recorded.revision - 1n;
  scan: while (from >= 0n) {
    let read = 0;
    for await (const event of store.readStream(conversationStreamId(conversationId), {
      direction: 'backwards',
      from,
      maxCount: RECEIPT_PAGE,
    })) {
      read++;
      from = event.revision - 1n;
      if (event.type === 'MessagesRead') {
        const earlier = event.data as MessagesRead['data'];
        if (earlier.readerId === readerId) stopAt ??= earlier.upToMessageId;
        continue;
      }
      if (event.type !== 'MessageSent') continue;
      const message = event.data as MessageSent['data'];
      if (message.messageId === stopAt) break scan;
      if (message.messageId === upToMessageId) reached = true;
      if (reached && message.recipientId === readerId) covered.push(event.eventId);
    }
    if (read < RECEIPT_PAGE) break;
  }
  for (const sourceEventId of covered) {
    const notificationId = notificationIdFor(sourceEventId, 'message_received');
    try {
      await handleCommand(
        store,
        notificationStreamId(notificationId),
        notificationDecider,
        { type: 'MarkNotificationRead', data: { notificationId, userId: readerId }, context: systemContext(now) },
        systemEnvelope(`read|${notificationId}|${recorded.eventId}`, now, cause),
        { maxRetries: 10 },
      );
    } catch (error) {
      // A message to oneself raised no notification: there is nothing to mark.
      if ((error as { code?: string }).code !== 'NOTIFICATION_NOT_FOUND') throw error;
    }
  }
}

/**
 * Schedules the reminder the day before check-in of a confirmed booking (when the confirmation is delivered): a
 * delayed job named after the booking, its notification named after the confirmation. Nothing for a stay begun.
 */
export async function scheduleBookingReminder(
  deps: NotificationDeps & { jobs: NotificationJobs },
  confirmation: { bookingId: string; tenantId: string; sourceEventId: string },
  now: Date,
): Promise<boolean> {
  const { state } = await loadBooking(deps.store, confirmation.bookingId);
  if (state.status !== 'confirmed' || !state.checkIn) return false;
  if (checkInInstant(state.checkIn) <= now.getTime()) return false;
  await deps.jobs.scheduleReminder({
    ...confirmation,
    checkIn: state.checkIn,
    at: new Date(checkInInstant(state.checkIn) - REMINDER_BEFORE_MS).toISOString(),
  });
  return true;
}

/**
 * The reminder timer fired: raises the reminder if the booking is still confirmed for that check-in. Its id derives
 * from the confirmation that scheduled it, so a timer that fires twice raises one reminder. True when the reminder
 * stands raised (by this call or an earlier one), false when there is nothing to remind of.
 */
export async function runBookingReminder(
  deps: NotificationDeps,
  job: { bookingId: string; tenantId: string; checkIn: string; sourceEventId: string },
  now: Date,
): Promise<boolean> {
  const { state } = await loadBooking(deps.store, job.bookingId);
  if (state.status !== 'confirmed' || state.checkIn !== job.checkIn) return false;
  if (checkInInstant(job.checkIn) <= now.getTime() - REMINDER_BEFORE_MS) return false;
  const [intent] = notificationsFor(
    { type: 'BookingReminderDue', data: { bookingId: job.bookingId, tenantId: job.tenantId, checkIn: job.checkIn } },
    { booking: null },
  );
  const result = await raiseNotification(
    deps,
    { ...intent!, sourceEventId: job.sourceEventId, raisedAt: now.toISOString() },
    { correlationId: job.sourceEventId, causationId: job.sourceEventId },
    now.toISOString(),
  );
  return result.state.notification !== null;
}
