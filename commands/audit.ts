import { type AuditRead, auditTrailStreamId } from '../domain/audit/events.js';
import { type BookingState, bookingDecider } from '../domain/bookings/decider.js';
import type { BookingEvent } from '../domain/bookings/events.js';
import { bookingStreamId } from '../domain/bookings/events.js';
import { fold } from '../domain/shared/decider.js';
import type { EventStore, RecordedEvent } from '../infra/eventStore/eventStore.js';
import type { CommandEnvelope } from './handleCommand.js';

/**
 * Records one read of the audit API before it is answered: a read that cannot be recorded is not served. The day's
 * trail takes appends in any order (`any`): it decides nothing, it only keeps what happened.
 */
export async function recordAuditRead(
  store: EventStore,
  read: AuditRead['data'],
  envelope: CommandEnvelope,
): Promise<void> {
  await store.append(
    auditTrailStreamId(read.readAt),
    [
      {
        eventId: envelope.newId(),
        type: 'AuditRead',
        schemaVersion: 1,
        data: read,
        metadata: { ...envelope.metadata, occurredAt: envelope.now },
      },
    ],
    { expectedRevision: 'any' },
  );
}

/** The audit reads of the days from `from` to `to` (UTC dates, at most 31), oldest first. */
export async function auditReadsBetween(store: EventStore, from: string, to: string): Promise<RecordedEvent[]> {
  const reads: RecordedEvent[] = [];
  for (let day = Date.parse(`${from}T00:00:00Z`); day <= Date.parse(`${to}T00:00:00Z`); day += 86_400_000) {
    for await (const event of store.readStream(auditTrailStreamId(new Date(day).toISOString()))) reads.push(event);
  }
  return reads;
}

/**
 * A booking as it stood at `at`: the fold of the events recorded up to then, upcast as the application reads them
 * (the same decider the commands fold). Null when the booking had no event yet.
 */
export async function bookingStateAt(
  store: EventStore,
  bookingId: string,
  at: Date,
): Promise<{ state: BookingState; asOfRevision: bigint } | null> {
  const events: BookingEvent[] = [];
  let revision: bigint | null = null;
  for await (const recorded of store.readStream(bookingStreamId(bookingId))) {
    if (Date.parse(recorded.recordedAt) > at.getTime()) break;
    events.push({ type: recorded.type, data: recorded.data } as BookingEvent);
    revision = recorded.revision;
  }
  if (revision === null) return null;
  return { state: fold(bookingDecider, events), asOfRevision: revision };
}
