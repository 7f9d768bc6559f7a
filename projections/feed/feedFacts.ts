import type { BookingRequested } from '../../domain/bookings/events.js';
import { bookingStreamId } from '../../domain/bookings/events.js';
import type { MessageSent } from '../../domain/messaging/events.js';
import type { EventStore, RecordedEvent } from '../../infra/eventStore/eventStore.js';
import type { FeedFacts } from './frames.js';

export interface FeedLookups {
  eventStore: EventStore;
  /** Whether the conversation's pair has a confirmed booking (messaging read model). */
  contactUnlocked(conversationId: string): Promise<boolean>;
}

const BOOKINGS_KEPT = 10_000;

/**
 * Looks up what `framesOf` needs beyond the events: a confirmed booking's parties (from the booking's own first
 * event, the source of truth, kept in memory: they never change) and whether a conversation shows contact details.
 * `forUser` (a replay) skips the lookups of events that cannot concern that person.
 */
export function createFeedFacts(lookups: FeedLookups) {
  const bookings = new Map<string, FeedFacts['booking'] | null>();

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
    if (bookings.size >= BOOKINGS_KEPT) bookings.delete(bookings.keys().next().value!);
    bookings.set(bookingId, found);
    return found;
  }

  return async function factsOf(
    events: readonly RecordedEvent[],
    forUser?: string,
  ): Promise<Map<RecordedEvent, FeedFacts>> {
    const facts = new Map<RecordedEvent, FeedFacts>();
    const unlocked = new Map<string, Promise<boolean>>();
    const pending: Promise<void>[] = [];
    for (const event of events) {
      if (event.type === 'MessageSent') {
        const data = event.data as MessageSent['data'];
        // Only the recipient's copy is masked: the sender's own sockets need no lookup.
        if (forUser !== undefined && forUser !== data.recipientId) continue;
        let lookup = unlocked.get(data.conversationId);
        if (!lookup) {
          lookup = lookups.contactUnlocked(data.conversationId).catch(() => false);
          unlocked.set(data.conversationId, lookup);
        }
        pending.push(lookup.then((contactUnlocked) => void facts.set(event, { contactUnlocked })));
      } else if (event.type === 'BookingConfirmed') {
        const { bookingId } = event.data as { bookingId: string };
        pending.push(
          bookingOf(bookingId).then((booking) => {
            if (booking) facts.set(event, { booking });
          }),
        );
      }
    }
    await Promise.all(pending);
    return facts;
  };
}

export type FactsOf = ReturnType<typeof createFeedFacts>;
