import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseAbandonedHolds } from '../../commands/bookingSweeps.js';
import { type BookingDeps, requestBooking } from '../../commands/bookings.js';
import type { CommandEnvelope } from '../../commands/handleCommand.js';
import { loadState } from '../../commands/loadState.js';
import { runRoomCommand } from '../../commands/rooms.js';
import { calendarDecider, calendarStreamId, isLive } from '../../domain/bookings/calendar.js';
import { bookingDecider } from '../../domain/bookings/decider.js';
import { bookingStreamId } from '../../domain/bookings/events.js';
import { dateOfDay, dayNumber } from '../../domain/shared/values.js';
import type { Clock } from '../../infra/clock/clock.js';
import type { EventStore } from '../../infra/eventStore/eventStore.js';
import type { Runtime } from '../../infra/runtime.js';
import { pendingBookingsQuery } from '../../projections/bookings/pendingBookings.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { roomDetails } from '../support/builders/rooms.js';
import type { TestDatabase } from '../support/database.js';

/**
 * A booking request killed after each of its writes leaves no night held past the hold's expiry and no booking
 * without its nights; once the hold expired, another request takes the nights and search shows them free.
 */
const HOLD_MINUTES = 30;

/** The app's clock, moved by the test. */
function settableClock(start: Date): Clock & { advanceMinutes(minutes: number): void } {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advanceMinutes: (minutes) => {
      now += minutes * 60_000;
    },
  };
}

class Crash extends Error {}

/** The store, dead after its `n`th append committed: that append and every earlier one stand, nothing after. */
function crashingAfter(inner: EventStore, n: number): EventStore {
  let appends = 0;
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'append') {
        return async (...args: Parameters<EventStore['append']>) => {
          if (appends >= n) throw new Crash('the process died');
          const result = await target.append(...args);
          appends++;
          if (appends === n) throw new Crash(`died after append ${n} (${args[0]})`);
          return result;
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

let t: TestApp;
let db: TestDatabase;
let runtime: Runtime;
const clock = settableClock(new Date());
const landlordId = randomUUID();
const today = () => dayNumber(clock.now().toISOString().slice(0, 10));
const details = roomDetails({ title: 'Room of the crash test' });

const envelope = (actorId: string): CommandEnvelope => ({
  now: clock.now().toISOString(),
  newId: randomUUID,
  metadata: { correlationId: randomUUID(), causationId: null, actorId, actorRole: 'tenant', requestId: null },
});

beforeAll(async () => {
  t = await createTestApp({ config: { BOOKING_HOLD_MINUTES: String(HOLD_MINUTES) }, clock });
  ({ db, runtime } = t);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

async function publishedRoom(): Promise<string> {
  const roomId = randomUUID();
  const context = { actorId: landlordId, actorRole: 'landlord' as const, now: clock.now().toISOString() };
  await runRoomCommand(
    runtime.eventStore,
    { type: 'CreateRoom', data: { roomId, ...details }, context },
    envelope(landlordId),
  );
  await runRoomCommand(runtime.eventStore, { type: 'PublishRoom', data: { roomId }, context }, envelope(landlordId));
  await eventually(() => searchFinds(roomId), 'the new room to be found');
  return roomId;
}

const deps = (store: EventStore): BookingDeps => ({
  store,
  pendingCap: {
    max: runtime.config.MAX_PENDING_BOOKINGS_PER_TENANT,
    pendingBookingsOf: pendingBookingsQuery(runtime.pool),
  },
});

const stay = () => ({ checkIn: dateOfDay(today() + 20), checkOut: dateOfDay(today() + 23) });

async function request(store: EventStore, roomId: string, bookingId = randomUUID(), tenantId = randomUUID()) {
  const now = clock.now().toISOString();
  return requestBooking(
    deps(store),
    { roomId, bookingId, ...stay(), guests: 1, holdMinutes: HOLD_MINUTES },
    { actorId: tenantId, actorRole: 'tenant', now },
    envelope(tenantId),
  );
}

/** The room's nights as the calendar decides them now, and who holds them. */
async function liveHolders(roomId: string): Promise<Set<string>> {
  const { state } = await loadState(runtime.eventStore, calendarStreamId(roomId), calendarDecider);
  const now = clock.now().toISOString();
  return new Set([...state.held.values()].filter((hold) => isLive(hold, now)).map((hold) => hold.bookingId));
}

async function bookingExists(bookingId: string): Promise<boolean> {
  const { state } = await loadState(runtime.eventStore, bookingStreamId(bookingId), bookingDecider);
  return state.status !== 'none';
}

async function searchFinds(roomId: string): Promise<boolean> {
  const page = await runtime.search.reader.search({
    center: details.location,
    radiusMeters: 2_000,
    stay: stay(),
    sort: 'distance',
    limit: 100,
    ranking: runtime.search.ranking,
  });
  return page.items.some((item) => item.id === roomId);
}

async function eventually(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** After a crash: no booking without its nights; past the hold's expiry the nights are free, and search shows it. */
async function expectRecoveredAfterExpiry(roomId: string, bookingId: string): Promise<void> {
  const held = (await liveHolders(roomId)).has(bookingId);
  if (await bookingExists(bookingId)) expect(held).toBe(true);
  if (held) await eventually(async () => !(await searchFinds(roomId)), 'the held nights to reach search');

  clock.advanceMinutes(HOLD_MINUTES + 1);
  expect((await liveHolders(roomId)).size).toBe(0);
  // The sweep the maintenance worker runs every minute records the release.
  const released = await releaseAbandonedHolds(
    { store: runtime.eventStore, queries: runtime.sweepQueries },
    clock.now(),
  );
  if (held) expect(released).toBeGreaterThanOrEqual(1);
  await eventually(() => searchFinds(roomId), 'search to show the nights free again');

  // Another tenant's request takes the nights.
  const next = await request(runtime.eventStore, roomId);
  expect(next.state.status).toBe('pending');
  expect(await liveHolders(roomId)).toEqual(new Set([next.state.bookingId]));
}

describe('a booking request that dies after one of its writes', () => {
  // A request appends four times: its admission, its hold and its reference at once (in whatever order they
  // commit), then the booking. Whichever of them the crash leaves, the outcome must be safe.
  it.each([1, 2, 3])(
    'dies after append %i: nothing held past the expiry, no booking without nights',
    async (n) => {
      const roomId = await publishedRoom();
      const bookingId = randomUUID();
      await expect(request(crashingAfter(runtime.eventStore, n), roomId, bookingId)).rejects.toBeInstanceOf(Crash);
      await expectRecoveredAfterExpiry(roomId, bookingId);
    },
    60_000,
  );

  it('dies after its fourth append (the booking): the booking holds its nights; they free when it expires', async () => {
    const roomId = await publishedRoom();
    const bookingId = randomUUID();
    await expect(request(crashingAfter(runtime.eventStore, 4), roomId, bookingId)).rejects.toBeInstanceOf(Crash);
    expect(await bookingExists(bookingId)).toBe(true);
    expect(await liveHolders(roomId)).toEqual(new Set([bookingId]));
    await expectRecoveredAfterExpiry(roomId, bookingId);
  }, 60_000);

  it('is killed with SIGKILL right after the calendar append: the nights free themselves at expiry', async () => {
    const roomId = await publishedRoom();
    const bookingId = randomUUID();
    const { checkIn, checkOut } = stay();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/reliability/bookingCrash.child.ts',
        db.url,
        roomId,
        bookingId,
        randomUUID(),
        clock.now().toISOString(),
        checkIn,
        checkOut,
      ],
      { env: { ...process.env, TEST_LOG_LEVEL: 'silent' } },
    );
    let output = '';
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('HELD')) resolve();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.on('exit', () => reject(new Error(`the child ended before holding: ${output}`)));
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(output).not.toContain('DONE');
    expect(await bookingExists(bookingId)).toBe(false);
    expect(await liveHolders(roomId)).toEqual(new Set([bookingId]));
    await expectRecoveredAfterExpiry(roomId, bookingId);
  }, 90_000);
});
