import type { BookingRequested } from '../../domain/bookings/events.js';
import { bookingStreamId } from '../../domain/bookings/events.js';
import type { MessageSent } from '../../domain/messaging/events.js';
import { LruCache } from '../../domain/shared/lruCache.js';
import type { EventStore, RecordedEvent } from '../../infra/eventStore/eventStore.js';
import type { FeedFacts } from './frames.js';

export interface FeedLookups {
  eventStore: EventStore;
  /** Of these conversations, those whose pair has a confirmed booking (messaging read model): one query a batch. */
  unlockedAmong(conversationIds: readonly string[]): Promise<Set<string>>;
}

const BOOKINGS_KEPT = 10_000;

/**
 * Looks up what `framesOf` needs beyond the events: a confirmed booking's parties (from the booking's own first
 * event, the source of truth, kept in memory: they never change) and whether a conversation shows contact details.
 * `forUser` (a replay) skips the lookups of events that cannot concern that person.
 */
export function createFeedFacts(lookups: FeedLookups) {
  const bookings = new LruCache<string, FeedFacts['booking'] | null>(BOOKINGS_KEPT);

  async function bookingOf(bookingId: string): Promise<FeedFacts['booking'] | null> {
    if (bookings.has(bookingId)) return bookings.get(bookingId) ?? null;
    let found: FeedFacts['booking'] | null = null;
    for await (const event of lookups.eventStore.readStream(bookingStreamId(bookingId), { maxCount: 1 })) {
      if (event.type !== 'BookingRequested') break;
      const data = event.data as BookingRequested['data'];
      found = {
        tenantId: data.tenantId,
        landlordId: data.landlordId,
        roomId: data.roomId ?? null,
        reference: data.reference ?? null,
        checkIn: data.checkIn ?? null,
        checkOut: data.checkOut ?? null,
      };
    }
    bookings.set(bookingId, found);
    return found;
  }

  return async function factsOf(
    events: readonly RecordedEvent[],
    forUser?: string,
  ): Promise<Map<RecordedEvent, FeedFacts>> {
    const facts = new Map<RecordedEvent, FeedFacts>();
    const messages: Array<{ event: RecordedEvent; conversationId: string }> = [];
    const pending: Promise<void>[] = [];
    for (const event of events) {
      if (event.type === 'MessageSent') {
        const data = event.data as MessageSent['data'];
        // Only the recipient's copy is masked: the sender's own sockets need no lookup.
        if (forUser !== undefined && forUser !== data.recipientId) continue;
        messages.push({ event, conversationId: data.conversationId });
      } else if (event.type === 'BookingConfirmed') {
        const { bookingId } = event.data as { bookingId: string };
        pending.push(
          bookingOf(bookingId).then((booking) => {
            if (booking) facts.set(event, { booking });
          }),
        );
      }
    }
    if (messages.length > 0) {
      // Masked when the read model cannot say: a contact detail is never shown by mistake.
      const unlocked = await lookups
        .unlockedAmong([...new Set(messages.map((message) => message.conversationId))])
        .catch(() => new Set<string>());
      for (const { event, conversationId } of messages) {
        facts.set(event, { contactUnlocked: unlocked.has(conversationId) });
      }
    }
    await Promise.all(pending);
    return facts;
  };
}

export type FactsOf = ReturnType<typeof createFeedFacts>;
