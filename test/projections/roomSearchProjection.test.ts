import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CalendarEvent } from '../../domain/bookings/calendar.js';
import type { RoomEvent } from '../../domain/rooms/events.js';
import { DEFAULT_RANKING } from '../../domain/search/ranking.js';
import {
  pgRoomSearchReader,
  pgRoomSearchWriter,
  poolSql,
  transactionSql,
} from '../../infra/search/postgres/pgRoomSearch.js';
import { roomSearchProjection } from '../../projections/search/roomSearchProjection.js';
import { daysFromToday as d } from '../contracts/roomIndex.contract.js';
import { roomDetails } from '../support/builders/rooms.js';
import { projectionSpec, recordedEvent } from '../support/projectionSpec.js';

/** The search projection, given events, then what a search finds: against the real PostGIS. */
const spec = projectionSpec(roomSearchProjection((em) => pgRoomSearchWriter(transactionSql(em)), transactionSql));
const recorded = (streamId: string, revision: number, event: RoomEvent | CalendarEvent) =>
  recordedEvent(streamId, revision, event);
const apply = spec.apply;
const reader = () => pgRoomSearchReader(poolSql(spec.db.pool));
const details = roomDetails({ title: 'Quiet room by the library', pricePerNight: 4_000 });
const find = async (stay?: { checkIn: string; checkOut: string }) =>
  (
    await reader().search({
      center: details.location,
      radiusMeters: 1_000,
      sort: 'distance',
      limit: 10,
      ranking: DEFAULT_RANKING,
      stay,
    })
  ).items;

describe('room search projection', () => {
  const roomId = randomUUID();
  const landlordId = randomUUID();
  const room = `Room-${roomId}`;
  const calendar = `RoomCalendar-${roomId}`;
  const created = recorded(room, 0, {
    type: 'RoomCreated',
    data: { ...details, roomId, landlordId, createdAt: '2027-01-05T10:00:00.000Z' },
  });
  const published = recorded(room, 1, {
    type: 'RoomPublished',
    data: { roomId, publishedAt: '2027-01-05T10:00:00.000Z' },
  });

  it('indexes a room once it is published, and applies an event twice to the same effect', async () => {
    await apply([created]);
    expect(await find()).toEqual([]);
    await apply([published]);
    await apply([created, published]);
    const [hit] = await find();
    expect(hit).toMatchObject({ id: roomId, title: details.title, pricePerNight: 4_000, photoUrl: null });
  });

  it('follows changes, holds, releases, blocks and photos, in order within a batch', async () => {
    const booking = randomUUID();
    await apply([
      recorded(room, 2, {
        type: 'RoomUpdated',
        data: { roomId, changes: { pricePerNight: 4_800 }, updatedAt: '2027-01-06T10:00:00.000Z' },
      }),
      recorded(calendar, 0, {
        type: 'NightsHeld',
        data: { bookingId: booking, nights: [d(30), d(31)], heldAt: '2027-01-06T10:00:00.000Z', expiresAt: null },
      }),
      recorded(room, 3, {
        type: 'RoomBlockedDatesSet',
        data: { roomId, blocked: [{ from: d(70), to: d(72) }], setAt: '2027-01-06T10:00:00.000Z' },
      }),
      recorded(room, 4, {
        type: 'RoomPhotosAdded',
        data: {
          roomId,
          photos: [
            {
              id: randomUUID(),
              key: 'a'.repeat(64),
              thumbnailKey: 'b'.repeat(64),
              contentType: 'image/jpeg',
              width: 800,
              height: 600,
              bytes: 1000,
            },
          ],
          addedAt: '2027-01-06T10:00:00.000Z',
        },
      }),
    ]);
    const [hit] = await find();
    expect(hit).toMatchObject({ pricePerNight: 4_800, photoUrl: `/api/photos/${'b'.repeat(64)}` });
    expect(await find({ checkIn: d(31), checkOut: d(33) })).toEqual([]);
    expect(await find({ checkIn: d(71), checkOut: d(73) })).toEqual([]);
    expect(await find({ checkIn: d(32), checkOut: d(70) })).toHaveLength(1);

    await apply([
      recorded(calendar, 1, {
        type: 'NightsReleased',
        data: { bookingId: booking, nights: [d(30), d(31)], releasedAt: '2027-01-07T10:00:00.000Z' },
      }),
    ]);
    expect(await find({ checkIn: d(30), checkOut: d(32) })).toHaveLength(1);
  });

  it('writes a block over all of time as ranges, merged with the held nights, in well under a second', async () => {
    const booking = randomUUID();
    const started = performance.now();
    await apply([
      recorded(room, 5, {
        type: 'RoomBlockedDatesSet',
        data: {
          roomId,
          blocked: [
            { from: '0100-01-01', to: d(40) },
            { from: d(50), to: '9999-12-31' },
          ],
          setAt: '2027-01-06T10:00:00.000Z',
        },
      }),
      recorded(calendar, 2, {
        type: 'NightsHeld',
        data: {
          bookingId: booking,
          nights: [d(40), d(41), d(43)],
          heldAt: '2027-01-06T10:00:00.000Z',
          expiresAt: null,
        },
      }),
    ]);
    expect(performance.now() - started).toBeLessThan(1_000);
    const { rows } = await spec.db.pool.query(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_name LIKE 'search\\_room\\_%' AND table_name <> 'search_room_state'`,
    );
    for (const { table_name } of rows) {
      const count = await spec.db.pool.query(`SELECT count(*) AS n FROM ${table_name}`);
      expect(Number(count.rows[0].n), table_name).toBeLessThanOrEqual(3);
    }
    expect(await find({ checkIn: d(1), checkOut: d(2) })).toEqual([]);
    expect(await find({ checkIn: d(41), checkOut: d(43) })).toEqual([]);
    expect(await find({ checkIn: d(42), checkOut: d(43) })).toHaveLength(1);
    expect(await find({ checkIn: d(44), checkOut: d(50) })).toHaveLength(1);
    expect(await find({ checkIn: d(44), checkOut: d(51) })).toEqual([]);
    expect(await find({ checkIn: d(3000), checkOut: d(3001) })).toEqual([]);
    await apply([
      recorded(room, 6, {
        type: 'RoomBlockedDatesSet',
        data: { roomId, blocked: [], setAt: '2027-01-07T10:00:00.000Z' },
      }),
      recorded(calendar, 3, {
        type: 'NightsReleased',
        data: { bookingId: booking, nights: [d(40), d(41), d(43)], releasedAt: '2027-01-07T10:00:00.000Z' },
      }),
    ]);
    expect(await find({ checkIn: d(1), checkOut: d(60) })).toHaveLength(1);
  }, 120_000);

  it('drops a room from results when unpublished, and rebuilds from nothing', async () => {
    await apply([
      recorded(room, 7, { type: 'RoomUnpublished', data: { roomId, unpublishedAt: '2027-01-08T10:00:00.000Z' } }),
    ]);
    expect(await find()).toEqual([]);
    await spec.reset();
    const { rows } = await spec.db.pool.query(
      'SELECT (SELECT count(*) FROM search_rooms) + (SELECT count(*) FROM search_room_state) AS n',
    );
    expect(Number(rows[0].n)).toBe(0);
  });
});
