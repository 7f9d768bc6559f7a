/**
 * Child of test/reliability/bookingCrash.test.ts: requests one booking through `requestBooking` with the real
 * runtime, and announces `HELD` on stdout right after the calendar append committed, then stops there: the parent
 * kills it with SIGKILL before any other write of the request can follow.
 */
import { pino } from 'pino';
import { requestBooking } from '../../commands/bookings.js';
import type { EventStore } from '../../infra/eventStore/eventStore.js';
import { createRuntime } from '../../infra/runtime.js';
import { pendingBookingsQuery } from '../../projections/bookings/pendingBookings.js';
import { testConfig } from '../support/app.js';

const [databaseUrl, roomId, bookingId, tenantId, now, checkIn, checkOut] = process.argv.slice(2) as string[];
const config = testConfig(databaseUrl!);
const runtime = await createRuntime(config, pino({ level: 'silent' }), { now: () => new Date(now!) });
const inner = runtime.eventStore;
const store = new Proxy(inner, {
  get(target, property) {
    if (property === 'append') {
      return async (...args: Parameters<EventStore['append']>) => {
        const result = await target.append(...args);
        if (args[0].startsWith('RoomCalendar-')) {
          process.stdout.write('HELD\n');
          await new Promise(() => undefined); // the parent's SIGKILL ends it here
        }
        return result;
      };
    }
    const value = Reflect.get(target, property);
    return typeof value === 'function' ? value.bind(target) : value;
  },
});
await requestBooking(
  {
    store,
    pendingCap: { max: config.MAX_PENDING_BOOKINGS_PER_TENANT, pendingBookingsOf: pendingBookingsQuery(runtime.pool) },
  },
  { roomId: roomId!, bookingId: bookingId!, checkIn: checkIn!, checkOut: checkOut!, guests: 1, holdMinutes: 30 },
  { actorId: tenantId!, actorRole: 'tenant', now: now! },
  {
    now: now!,
    newId: () => crypto.randomUUID(),
    metadata: {
      correlationId: bookingId!,
      causationId: null,
      actorId: tenantId!,
      actorRole: 'tenant',
      requestId: null,
    },
  },
);
process.stdout.write('DONE\n');
