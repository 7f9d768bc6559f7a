import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AMENITY_WEIGHTS, DEFAULT_RANKING, rankingScore } from '../../domain/search/ranking.js';
import { distanceMeters } from '../../domain/shared/geo.js';
import { dateOfDay, type GeoPoint } from '../../domain/shared/values.js';
import {
  InvalidSearchCursor,
  type RoomSearchDocument,
  type RoomSearchHit,
  type RoomSearchQuery,
  type RoomSearchReader,
  type RoomSearchWriter,
} from '../../infra/search/roomSearchIndex.js';

export interface RoomIndexHarness {
  /** A fresh, empty index. */
  create(): Promise<{ writer: RoomSearchWriter; reader: RoomSearchReader; drop(): Promise<void> }>;
}

/** A point `meters` north and `east` metres east of `from` (good enough at these distances). */
export function offset(from: GeoPoint, north: number, east = 0): GeoPoint {
  return {
    lat: from.lat + north / 111_320,
    lng: from.lng + east / (111_320 * Math.cos((from.lat * Math.PI) / 180)),
  };
}

const VENUE: GeoPoint = { lat: 44.4939, lng: 11.3428 };

/** The calendar date `days` from today (UTC): tests never use a literal date the calendar will pass. */
export function daysFromToday(days: number): string {
  return dateOfDay(Math.floor(Date.now() / 86_400_000) + days);
}

export function roomDocument(overrides: Partial<RoomSearchDocument> = {}): RoomSearchDocument {
  return {
    roomId: randomUUID(),
    landlordId: randomUUID(),
    title: 'Bright room with a desk',
    description: 'Ten minutes on foot from the exam hall.',
    address: 'Via Roma 12, Bologna',
    location: offset(VENUE, 500),
    pricePerNight: 4_500,
    currency: 'EUR',
    maxOccupants: 1,
    amenities: ['desk', 'wifi'],
    published: true,
    reviewCount: 0,
    ratingSum: 0,
    photoUrl: null,
    version: 1,
    ...overrides,
  };
}

/** The room index port's contract: every adapter passes it. */
export function roomIndexContract(name: string, harness: RoomIndexHarness): void {
  describe(`room search index contract: ${name}`, () => {
    let index: Awaited<ReturnType<RoomIndexHarness['create']>>;
    beforeAll(async () => {
      index = await harness.create();
    });
    afterAll(async () => {
      await index?.drop();
    });

    const query = (overrides: Partial<RoomSearchQuery> = {}): RoomSearchQuery => ({
      center: VENUE,
      radiusMeters: 5_000,
      sort: 'distance',
      limit: 100,
      ranking: DEFAULT_RANKING,
      ...overrides,
    });
    /** Every page of a query, following the cursor. */
    const all = async (q: RoomSearchQuery): Promise<RoomSearchHit[]> => {
      const hits: RoomSearchHit[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 100; page++) {
        const result = await index.reader.search({ ...q, cursor });
        hits.push(...result.items);
        if (!result.nextCursor) return hits;
        cursor = result.nextCursor;
      }
      throw new Error('more than 100 pages');
    };
    /** Rooms in an area of their own, 50 km from the next, so cases do not see each other. */
    const area = (n: number): GeoPoint => offset(VENUE, n * 50_000);

    it('finds published rooms within the radius only, with their distance', async () => {
      const centre = area(1);
      const near = roomDocument({ location: offset(centre, 1_000) });
      const edge = roomDocument({ location: offset(centre, 0, 4_900) });
      const far = roomDocument({ location: offset(centre, 5_200) });
      const hidden = roomDocument({ location: offset(centre, 200), published: false });
      await index.writer.upsertRooms([near, edge, far, hidden]);
      const hits = await all(query({ center: centre }));
      expect(hits.map((h) => h.id).sort()).toEqual([near.roomId, edge.roomId].sort());
      const nearHit = hits.find((h) => h.id === near.roomId)!;
      expect(nearHit.distanceMeters).toBeGreaterThan(990);
      expect(nearHit.distanceMeters).toBeLessThan(1_010);
      expect(nearHit).toMatchObject({ title: near.title, pricePerNight: 4_500, currency: 'EUR', rating: null });
    });

    it('keeps the newest version of a room, and drops it from results once unpublished', async () => {
      const centre = area(2);
      const room = roomDocument({ location: offset(centre, 100), version: 3, title: 'Version three' });
      await index.writer.upsertRooms([room]);
      await index.writer.upsertRooms([{ ...room, version: 2, title: 'Version two' }]);
      expect((await all(query({ center: centre })))[0]?.title).toBe('Version three');
      await index.writer.upsertRooms([{ ...room, version: 4, published: false }]);
      expect(await all(query({ center: centre }))).toEqual([]);
    });

    it('excludes rooms unavailable on any requested night, and only those', async () => {
      const centre = area(3);
      const busy = roomDocument({ location: offset(centre, 100) });
      const free = roomDocument({ location: offset(centre, 200) });
      await index.writer.upsertRooms([busy, free]);
      const d = daysFromToday;
      // The nights of d(30) and d(33).
      await index.writer.setUnavailableRanges(busy.roomId, [
        { from: d(30), to: d(31) },
        { from: d(33), to: d(34) },
      ]);
      const ids = async (checkIn: string, checkOut: string) =>
        (await all(query({ center: centre, stay: { checkIn, checkOut } }))).map((h) => h.id);
      expect(await ids(d(29), d(31))).toEqual([free.roomId]);
      // checkOut is exclusive: leaving on d(30) does not need the night of d(30).
      expect(await ids(d(29), d(30))).toEqual([busy.roomId, free.roomId]);
      expect(await ids(d(31), d(33))).toEqual([busy.roomId, free.roomId]);
      expect(await ids(d(32), d(40))).toEqual([free.roomId]);
      await index.writer.setUnavailableRanges(busy.roomId, []);
      expect(await ids(d(29), d(35))).toEqual([busy.roomId, free.roomId]);
    });

    it('takes a block over all of time as a few ranges, unavailable for any stay', async () => {
      const centre = area(8);
      const blocked = roomDocument({ location: offset(centre, 100) });
      await index.writer.upsertRooms([blocked]);
      const started = performance.now();
      await index.writer.setUnavailableRanges(blocked.roomId, [{ from: '0100-01-01', to: '9999-12-31' }]);
      expect(performance.now() - started).toBeLessThan(2_000);
      const d = daysFromToday;
      for (const [checkIn, checkOut] of [
        [d(1), d(3)],
        [d(300), d(301)],
        [d(700), d(702)],
      ] as const) {
        expect(await all(query({ center: centre, stay: { checkIn, checkOut } })), checkIn).toEqual([]);
      }
      await index.writer.setUnavailableRanges(blocked.roomId, [{ from: d(10), to: d(20) }]);
      expect((await all(query({ center: centre, stay: { checkIn: d(1), checkOut: d(3) } }))).map((h) => h.id)).toEqual([
        blocked.roomId,
      ]);
    });

    it('filters by price range, every required amenity and guests', async () => {
      const centre = area(4);
      const cheap = roomDocument({ location: offset(centre, 100), pricePerNight: 2_000, amenities: ['desk'] });
      const mid = roomDocument({
        location: offset(centre, 200),
        pricePerNight: 4_000,
        amenities: ['desk', 'wifi', 'quiet_hours'],
        maxOccupants: 2,
      });
      const dear = roomDocument({ location: offset(centre, 300), pricePerNight: 9_000, amenities: ['wifi'] });
      await index.writer.upsertRooms([cheap, mid, dear]);
      const ids = async (q: Partial<RoomSearchQuery>) => (await all(query({ center: centre, ...q }))).map((h) => h.id);
      expect(await ids({ minPrice: 3_000, maxPrice: 5_000 })).toEqual([mid.roomId]);
      expect(await ids({ maxPrice: 4_000 })).toEqual([cheap.roomId, mid.roomId]);
      expect(await ids({ amenities: ['desk', 'wifi'] })).toEqual([mid.roomId]);
      expect(await ids({ amenities: ['wifi'] })).toEqual([mid.roomId, dear.roomId]);
      expect(await ids({ guests: 2 })).toEqual([mid.roomId]);
    });

    it('sorts by distance, price and ranking, pages through every room exactly once, ties broken by id', async () => {
      const centre = area(5);
      const rooms = Array.from({ length: 13 }, (_, i) =>
        roomDocument({
          location: offset(centre, 150 * (i + 1), (i % 3) * 40),
          pricePerNight: [3_000, 4_000, 5_000][i % 3]!,
          amenities: i % 2 ? ['desk', 'wifi', 'quiet_hours'] : ['kitchen'],
          reviewCount: i % 4,
          ratingSum: (i % 4) * 4,
        }),
      );
      await index.writer.upsertRooms(rooms);
      for (const sort of ['distance', 'price', 'ranking'] as const) {
        const hits = await all(query({ center: centre, sort, limit: 4 }));
        expect(hits.map((h) => h.id).sort(), sort).toEqual(rooms.map((r) => r.roomId).sort());
        for (let i = 1; i < hits.length; i++) {
          const [a, b] = [hits[i - 1]!, hits[i]!];
          if (sort === 'distance') expect(b.distanceMeters).toBeGreaterThanOrEqual(a.distanceMeters - 0.01);
          if (sort === 'price') {
            expect(b.pricePerNight).toBeGreaterThanOrEqual(a.pricePerNight);
            if (b.pricePerNight === a.pricePerNight) expect(b.id > a.id).toBe(true);
          }
          if (sort === 'ranking') expect(b.rankingScore).toBeLessThanOrEqual(a.rankingScore + 1e-9);
        }
      }
      // The score is the documented formula.
      const [top] = await all(query({ center: centre, sort: 'ranking', limit: 1 }));
      const room = rooms.find((r) => r.roomId === top!.id)!;
      const expected = rankingScore({ distanceMeters: top!.distanceMeters, ...room }, DEFAULT_RANKING);
      expect(top!.rankingScore).toBeCloseTo(expected.overall, 6);
    });

    it('ranks a far room with every amenity and fine reviews above near rooms with nothing, whatever the shortcuts', async () => {
      const centre = area(7);
      const everything = [...Object.keys(AMENITY_WEIGHTS)];
      const far = roomDocument({
        location: offset(centre, 4_000),
        amenities: everything,
        reviewCount: 30,
        ratingSum: 150,
      });
      const near = Array.from({ length: 8 }, (_, i) =>
        roomDocument({ location: offset(centre, 300 + 60 * i), amenities: [], reviewCount: 0, ratingSum: 0 }),
      );
      // Near rooms that are good too, so a ring can be settled early: they must still be ranked right.
      const good = Array.from({ length: 3 }, (_, i) =>
        roomDocument({
          location: offset(centre, 100 + 10 * i),
          amenities: everything,
          reviewCount: 40,
          ratingSum: 200,
        }),
      );
      await index.writer.upsertRooms([far, ...near, ...good]);
      const expected = [far, ...near, ...good]
        .map((room) => ({
          id: room.roomId,
          score: rankingScore({ distanceMeters: distanceMeters(centre, room.location), ...room }, DEFAULT_RANKING)
            .overall,
        }))
        .sort((a, b) => b.score - a.score)
        .map((r) => r.id);
      for (const limit of [2, 4, 5]) {
        const first = await index.reader.search(query({ center: centre, sort: 'ranking', limit }));
        expect(
          first.items.map((h) => h.id),
          `limit ${limit}`,
        ).toEqual(expected.slice(0, limit));
      }
      expect((await all(query({ center: centre, sort: 'ranking', limit: 3 }))).map((h) => h.id)).toEqual(expected);
    });

    it('tolerates a typo in the text, and matches nothing unrelated', async () => {
      const centre = area(6);
      const quiet = roomDocument({ location: offset(centre, 100), title: 'Quiet room near the Faculty of Law' });
      const loud = roomDocument({ location: offset(centre, 200), title: 'Lively flat above a bar', description: null });
      await index.writer.upsertRooms([quiet, loud]);
      const ids = async (q: string) => (await all(query({ center: centre, q }))).map((h) => h.id);
      expect(await ids('quiet room')).toEqual([quiet.roomId]);
      expect(await ids('quite room')).toEqual([quiet.roomId]);
      expect(await ids('faculty')).toEqual([quiet.roomId]);
      expect(await ids('swimming pool')).toEqual([]);
    });

    it('takes query syntax in room texts and queries as plain text, and never lets a draft change a result', async () => {
      const centre = area(9);
      const quiet = roomDocument({
        location: offset(centre, 100),
        title: 'Quiet room & garden!',
        description: 'Bright: see example.com/quiet) or call',
      });
      const draft = roomDocument({
        location: offset(centre, 150),
        title: 'Draft',
        description: "example.com/quiet) & !room :* (quiet | 'x' <-> y",
        published: false,
      });
      const other = roomDocument({ location: offset(centre, 200), title: 'Sunny attic: rock&roll', description: null });
      await index.writer.upsertRooms([quiet, draft, other]);
      const ids = async (q: string) => (await all(query({ center: centre, q }))).map((h) => h.id);
      expect(await ids('quiet')).toEqual([quiet.roomId]);
      expect(await ids('quiet)')).toEqual([quiet.roomId]);
      expect(await ids('quiet:*')).toEqual([quiet.roomId]);
      expect(await ids('(quiet & garden')).toEqual([quiet.roomId]);
      expect(await ids('!garden')).toEqual([quiet.roomId]);
      expect(await ids('rock&roll')).toEqual([other.roomId]);
      expect(await ids('attic | quiet')).toEqual([]);
      for (const q of ['&', '!', ':*', "'", '(', ')', '|', '<->', '\\', ':', '*']) {
        await expect(all(query({ center: centre, q })), q).resolves.toBeDefined();
      }
    });

    it('finds a word off by a typo however many similar words other rooms and drafts hold', async () => {
      const centre = area(10);
      const quiet = roomDocument({ location: offset(centre, 100), title: 'Quiet room', description: null });
      const crowd = ['quits', 'quitz', 'quitx', 'quito', 'quitr', 'aquite', 'quiten', 'squite', 'quitely', 'quitex'];
      const elsewhere = crowd.map((word, i) =>
        roomDocument({ location: offset(area(11), 100 + i), title: `${word} flat`, published: i % 2 === 0 }),
      );
      await index.writer.upsertRooms([quiet, ...elsewhere]);
      const ids = async (q: string) => (await all(query({ center: centre, q }))).map((h) => h.id);
      expect(await ids('quite')).toEqual([quiet.roomId]);
      expect(await ids('quite room')).toEqual([quiet.roomId]);
    });

    it('refuses a cursor it did not give, or one from another sort', async () => {
      await expect(index.reader.search(query({ cursor: 'not-a-cursor' }))).rejects.toBeInstanceOf(InvalidSearchCursor);
      const centre = area(5);
      const page = await index.reader.search(query({ center: centre, sort: 'price', limit: 2 }));
      expect(page.nextCursor).not.toBeNull();
      await expect(
        index.reader.search(query({ center: centre, sort: 'distance', cursor: page.nextCursor! })),
      ).rejects.toBeInstanceOf(InvalidSearchCursor);
    });

    it('empties on clear', async () => {
      await index.writer.clear();
      expect(await all(query({ center: area(1) }))).toEqual([]);
    });
  });
}
