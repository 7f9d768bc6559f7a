import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CommandEnvelope, handleCommand, systemEnvelope } from '../../commands/handleCommand.js';
import { foldHistory, loadState, readHistory } from '../../commands/loadState.js';
import { StreamSnapshots } from '../../commands/snapshots.js';
import {
  type CalendarCommand,
  calendarDecider,
  calendarStreamId,
  storedCalendarState,
} from '../../domain/bookings/calendar.js';
import { DomainError } from '../../domain/shared/errors.js';
import { dateOfDay, dayNumber } from '../../domain/shared/values.js';
import { seededRandom } from '../../infra/demo/demoData.js';
import type { EventStore, ReadStreamOptions } from '../../infra/eventStore/eventStore.js';
import { PostgresEventStore } from '../../infra/eventStore/postgres/postgresEventStore.js';
import { PostgresSnapshotStore } from '../../infra/snapshots/postgresSnapshotStore.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * Snapshots of the room calendar (the one long stream): a state read from a snapshot and the events after it equals
 * the full fold, whatever the history, under concurrent commands from two processes, and whatever is wrong with the
 * stored snapshot. Real PostgreSQL for both the events and the snapshots.
 */
let db: TestDatabase;
let store: PostgresEventStore;
let snapshotStore: PostgresSnapshotStore;
const today = dayNumber(new Date().toISOString().slice(0, 10));
const start = Date.now();

beforeAll(async () => {
  db = await createTestDatabase(10);
  store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, pollIntervalMs: 60_000 });
  snapshotStore = new PostgresSnapshotStore(db.pool);
});
afterAll(async () => {
  await store?.close();
  await db?.drop();
});

const envelope = (): CommandEnvelope => systemEnvelope(new Date().toISOString());

async function run(
  streamId: string,
  command: CalendarCommand,
  snapshots: StreamSnapshots | undefined,
  on: EventStore = store,
): Promise<void> {
  try {
    await handleCommand(on, streamId, calendarDecider, command, envelope(), { maxRetries: 50, snapshots });
  } catch (error) {
    // Refusals (a night taken, a hold expired) are part of a random history; anything else is not.
    if (!(error instanceof DomainError)) throw error;
  }
}

const fullFold = async (streamId: string) => {
  const { state, revision } = await loadState(store, streamId, calendarDecider);
  return { state: storedCalendarState(state), revision };
};

const viaSnapshot = async (streamId: string, snapshots: StreamSnapshots) => {
  const { state, revision } = await loadState(store, streamId, calendarDecider, snapshots);
  return { state: storedCalendarState(state), revision };
};

/** A command on the calendar at a moment `minutes` after the test began. */
function randomCommand(next: () => number, bookings: string[], minutes: number): CalendarCommand {
  const context = {
    actorId: 'system',
    actorRole: 'system' as const,
    now: new Date(start + minutes * 60_000).toISOString(),
  };
  const pick = next();
  if (pick < 0.55 || bookings.length === 0) {
    const bookingId = randomUUID();
    bookings.push(bookingId);
    const checkIn = today + 1 + Math.floor(next() * 120);
    return {
      type: 'HoldNights',
      data: {
        bookingId,
        checkIn: dateOfDay(checkIn),
        checkOut: dateOfDay(checkIn + 1 + Math.floor(next() * 5)),
        expiresAt: new Date(start + (minutes + 5 + Math.floor(next() * 60)) * 60_000).toISOString(),
        roomBlocked: [],
      },
      context,
    };
  }
  const bookingId = bookings[Math.floor(next() * bookings.length)]!;
  if (pick < 0.75) return { type: 'ConfirmHold', data: { bookingId }, context };
  if (pick < 0.92) return { type: 'ReleaseNights', data: { bookingId }, context };
  return { type: 'ReleaseExpiredHolds', data: {}, context };
}

describe('room calendar snapshots', () => {
  it('give the state of the full fold at every point of a long random history, read from the last snapshot on', async () => {
    const seed = Math.floor(Math.random() * 2 ** 31);
    console.info(`snapshot history seed ${seed}`);
    const next = seededRandom(seed);
    const streamId = calendarStreamId(randomUUID());
    const snapshots = new StreamSnapshots({ store: snapshotStore, every: 25 });
    const bookings: string[] = [];
    for (let step = 0; step < 400; step++) {
      await run(streamId, randomCommand(next, bookings, step), snapshots);
      if (step % 40 === 39)
        expect({ seed, step, ...(await viaSnapshot(streamId, snapshots)) }).toEqual({
          seed,
          step,
          ...(await fullFold(streamId)),
        });
    }
    const { revision } = await fullFold(streamId);
    expect(revision).toBeGreaterThan(150n); // refusals and no-ops append nothing: some 200 events, 8 snapshot periods

    // The stored snapshot is the fold of exactly the events up to its revision, and is recent.
    const stored = (await snapshotStore.read(streamId))!;
    expect(stored.version).toBe(calendarDecider.snapshot!.version);
    expect(revision! - stored.revision).toBeLessThan(25n + 5n);
    const upTo = (await readHistory(store, streamId)).filter((event) => event.revision <= stored.revision);
    expect(stored.state).toEqual(storedCalendarState(foldHistory(upTo, calendarDecider).state));

    // A process with nothing cached reads the stored snapshot and only the events after it.
    const reads: Array<ReadStreamOptions | undefined> = [];
    const counting = new Proxy(store, {
      get(target, property) {
        if (property === 'readStream') {
          return (id: string, options?: ReadStreamOptions) => {
            reads.push(options);
            return target.readStream(id, options);
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const fresh = new StreamSnapshots({ store: snapshotStore, every: 25 });
    const loaded = await loadState(counting, streamId, calendarDecider, fresh);
    expect(reads).toEqual([{ from: stored.revision + 1n }]);
    expect({ state: storedCalendarState(loaded.state), revision: loaded.revision }).toEqual(await fullFold(streamId));
  });

  it('stay right under concurrent commands from two processes, each with its own cache', async () => {
    const streamId = calendarStreamId(randomUUID());
    const [a, b] = [0, 1].map(() => new StreamSnapshots({ store: snapshotStore, every: 3 }));
    const context = { actorId: 'system', actorRole: 'system' as const, now: new Date().toISOString() };
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const bookingIds = Array.from({ length: 24 }, () => randomUUID());
    await Promise.all(
      bookingIds.map((bookingId, i) =>
        run(
          streamId,
          {
            type: 'HoldNights',
            data: {
              bookingId,
              checkIn: dateOfDay(today + 1 + i),
              checkOut: dateOfDay(today + 2 + i),
              expiresAt,
              roomBlocked: [],
            },
            context,
          },
          i % 2 ? a : b,
        ),
      ),
    );
    await Promise.all(
      bookingIds.map((bookingId, i) =>
        run(streamId, { type: 'ConfirmHold', data: { bookingId }, context }, i % 2 ? b : a),
      ),
    );
    const truth = await fullFold(streamId);
    expect(truth.revision).toBe(47n);
    expect(Object.values(truth.state.held).map((hold) => hold.expiresAt)).toEqual(bookingIds.map(() => null));
    for (const snapshots of [a!, b!]) expect(await viaSnapshot(streamId, snapshots)).toEqual(truth);
    expect((await snapshotStore.read(streamId))!.revision).toBeGreaterThan(40n);
  });

  it('fold in full past a snapshot of another version or one that cannot be decoded, and say so', async () => {
    const streamId = calendarStreamId(randomUUID());
    const bookings: string[] = [];
    const next = seededRandom(7);
    for (let step = 0; step < 30; step++) await run(streamId, randomCommand(next, bookings, step), undefined);
    const truth = await fullFold(streamId);
    const errors: unknown[] = [];

    await snapshotStore.write({ streamId, revision: 10n, version: 999, state: { held: {}, blocked: null } });
    const otherVersion = new StreamSnapshots({ store: snapshotStore, every: 1000, onError: (e) => errors.push(e) });
    expect(await viaSnapshot(streamId, otherVersion)).toEqual(truth);
    expect(errors).toEqual([]);

    await snapshotStore.write({
      streamId,
      revision: 10n,
      version: calendarDecider.snapshot!.version,
      state: 'not a calendar',
    });
    const broken = new StreamSnapshots({ store: snapshotStore, every: 1000, onError: (e) => errors.push(e) });
    expect(await viaSnapshot(streamId, broken)).toEqual(truth);
    expect(errors).toHaveLength(1);

    // The next command that folds enough takes a good snapshot over the broken one.
    const healing = new StreamSnapshots({ store: snapshotStore, every: 5 });
    await run(streamId, randomCommand(next, bookings, 31), healing);
    const healed = (await snapshotStore.read(streamId))!;
    expect(healed.revision).toBeGreaterThanOrEqual(truth.revision!);
    expect(await viaSnapshot(streamId, new StreamSnapshots({ store: snapshotStore, every: 5 }))).toEqual(
      await fullFold(streamId),
    );
  });

  it('are forgotten by prefix, here and in the store; the next read folds in full', async () => {
    const streamId = calendarStreamId(randomUUID());
    const snapshots = new StreamSnapshots({ store: snapshotStore, every: 2 });
    const bookings: string[] = [];
    const next = seededRandom(11);
    for (let step = 0; step < 10; step++) await run(streamId, randomCommand(next, bookings, step), snapshots);
    expect(await snapshotStore.read(streamId)).not.toBeNull();
    expect(await snapshots.forget(streamId)).toBe(1);
    expect(await snapshotStore.read(streamId)).toBeNull();
    expect(await viaSnapshot(streamId, snapshots)).toEqual(await fullFold(streamId));
  });

  it('refuse a period that is not a positive integer', () => {
    for (const every of [0, -1, 1.5, Number.NaN]) {
      expect(() => new StreamSnapshots({ store: snapshotStore, every })).toThrow(RangeError);
    }
  });
});
