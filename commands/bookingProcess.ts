import type { EntityManager } from '@mikro-orm/postgresql';
import type { BookingEvent } from '../domain/bookings/events.js';
import { OVERDUE_AFTER_MS, type PaymentEvent } from '../domain/payments/events.js';
import { dayNumber } from '../domain/shared/values.js';
import type { Clock } from '../infra/clock/clock.js';
import type { EventStore, RecordedEvent } from '../infra/eventStore/eventStore.js';
import type { PgProjection } from '../projections/projection.js';
import { loadBooking } from './bookings.js';
import { type CommandEnvelope, envelopeCausedBy } from './handleCommand.js';
import { handlePaymentCommand, openPaymentRecord } from './payments.js';

/** A booking deadline that the system acts on: expiry of a hold, completion of a stay, an overdue payment. */
export interface BookingTimer {
  kind: 'expire-hold' | 'complete-stay' | 'mark-payment-overdue';
  bookingId: string;
  /** ISO instant it is due. */
  at: string;
}

/** Where timers go (BullMQ delayed jobs in production). Scheduling the same timer twice schedules it once. */
export interface BookingTimers {
  schedule(timer: BookingTimer): Promise<void>;
}

/** Tells a person something happened (a mail today). Sending the same key twice sends once. */
export interface Notifier {
  notify(notice: { userId: string; key: string; subject: string; text: string }): Promise<void>;
}

export interface BookingProcessDeps {
  store: EventStore;
  /** The app's clock: the time of the commands it sends, and the age of the events it would notify about. */
  clock: Clock;
  timers: BookingTimers;
}

const DAY_MS = 86_400_000;

/** The envelope of a command the process manager sends because of `cause`: same correlation, caused by it. */
const envelopeFor = (cause: RecordedEvent, effect: string, now: Date): CommandEnvelope =>
  envelopeCausedBy(cause, `booking-process|${cause.eventId}|${effect}`, now);

/**
 * Claims an effect of an event for good. The row commits with the checkpoint, and a rebuild of the process
 * manager keeps the table, so a replayed event finds its effects done. Between an effect and the commit, a
 * crash can repeat the effect: every effect is idempotent on its own for that window (event ids derived from
 * the cause, job ids derived from the booking, mails keyed by the cause).
 */
async function claim(em: EntityManager, cause: RecordedEvent, effect: string): Promise<boolean> {
  const rows = await em.execute<Array<{ key: string }>>(
    'INSERT INTO process_effects (process, key) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING key',
    [bookingProcessName, `${effect}|${cause.eventId}`],
  );
  return rows.length === 1;
}

export const bookingProcessName = 'booking-process';

/**
 * The booking process manager: reacts to booking and payment events with commands and jobs.
 * - BookingRequested: a timer expires the hold at `holdExpiresAt`.
 * - BookingConfirmed: the payment record opens (the full amount, due at check-in, cash). The tenant hears of it
 *   through the notifications (commands/notifications.ts), which also skip causes more than a day old.
 * - BookingCancelled: what is owed becomes the cancellation fee.
 * - GuestCheckedIn: a timer completes the stay on the check-out day.
 * - PaymentRecordOpened: a timer marks the payment overdue one day after it was due.
 * It runs under the projection runner (one active instance, checkpointed, poison events parked); the sweeps
 * in the worker catch every timer that Redis lost.
 */
export function bookingProcessManager(deps: BookingProcessDeps): PgProjection {
  const { store, timers, clock } = deps;
  return {
    name: bookingProcessName,
    version: 1,
    filter: {
      eventTypes: ['BookingRequested', 'BookingConfirmed', 'BookingCancelled', 'GuestCheckedIn', 'PaymentRecordOpened'],
      streamPrefixes: ['Booking-', 'Payment-'],
    },

    async apply(em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
      for (const recorded of events) {
        const event = { type: recorded.type, data: recorded.data } as BookingEvent | PaymentEvent;
        switch (event.type) {
          case 'BookingRequested':
            if (await claim(em, recorded, 'expire-hold')) {
              await timers.schedule({
                kind: 'expire-hold',
                bookingId: event.data.bookingId,
                at: event.data.holdExpiresAt,
              });
            }
            break;
          case 'BookingConfirmed': {
            const { bookingId } = event.data;
            if (await claim(em, recorded, 'open-payment')) {
              await openPaymentRecord({ store }, bookingId, envelopeFor(recorded, 'open-payment', clock.now()));
            }
            // The tenant hears of it through the notifications (commands/notifications.ts): mail, SMS, push, feed.
            break;
          }
          case 'BookingCancelled':
            if (await claim(em, recorded, 'adjust-payment')) {
              await handlePaymentCommand(
                { store },
                {
                  type: 'AdjustForCancellation',
                  data: { bookingId: event.data.bookingId, feeDue: event.data.feeDue },
                  context: { actorId: 'system', actorRole: 'system', now: event.data.cancelledAt },
                },
                envelopeFor(recorded, 'adjust-payment', clock.now()),
              );
            }
            break;
          case 'GuestCheckedIn':
            if (await claim(em, recorded, 'complete-stay')) {
              const { state } = await loadBooking(store, event.data.bookingId);
              if (state.checkOut) {
                await timers.schedule({
                  kind: 'complete-stay',
                  bookingId: event.data.bookingId,
                  at: new Date(dayNumber(state.checkOut) * DAY_MS).toISOString(),
                });
              }
            }
            break;
          case 'PaymentRecordOpened':
            if (await claim(em, recorded, 'payment-overdue')) {
              await timers.schedule({
                kind: 'mark-payment-overdue',
                bookingId: event.data.bookingId,
                at: new Date(Date.parse(event.data.dueAt) + OVERDUE_AFTER_MS).toISOString(),
              });
            }
            break;
          default:
            break;
        }
      }
    },

    // Its state is the effects already done: a rebuild must not forget them (that would repeat them).
    async reset(): Promise<void> {},
  };
}
