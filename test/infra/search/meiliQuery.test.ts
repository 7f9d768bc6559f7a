import { describe, expect, it } from 'vitest';
import { amenityScore, DEFAULT_RANKING, rankingScore } from '../../../domain/search/ranking.js';
import { DomainError } from '../../../domain/shared/errors.js';
import {
  buildFilter,
  compareHits,
  decodeCursor,
  encodeCursor,
  filterNumber,
  filterString,
  freshDocuments,
  haversineMeters,
  idsFilter,
  type MeiliHitSource,
  meiliSort,
  nightsOfStay,
  selectPage,
  toHit,
  toMeiliDocument,
} from '../../../infra/search/meilisearch/meiliQuery.js';
import {
  InvalidSearchCursor,
  type RoomSearchDocument,
  type RoomSearchHit,
  type RoomSearchQuery,
  type RoomSort,
} from '../../../infra/search/roomSearchIndex.js';

const center = { lat: 45.07, lng: 7.69 };

function query(overrides: Partial<RoomSearchQuery> = {}): RoomSearchQuery {
  return { center, radiusMeters: 5000, sort: 'ranking', limit: 10, ranking: DEFAULT_RANKING, ...overrides };
}

function doc(overrides: Partial<RoomSearchDocument> = {}): RoomSearchDocument {
  return {
    roomId: 'room-1',
    landlordId: 'landlord-1',
    title: 'Quiet room',
    description: null,
    address: 'Via Roma 1',
    location: { lat: 45.071, lng: 7.691 },
    pricePerNight: 4500,
    currency: 'EUR',
    maxOccupants: 2,
    amenities: ['wifi', 'desk'],
    published: true,
    reviewCount: 0,
    ratingSum: 0,
    photoUrl: null,
    version: 1,
    ...overrides,
  };
}

function hit(id: string, overrides: Partial<RoomSearchHit> = {}): RoomSearchHit {
  return {
    id,
    title: id,
    pricePerNight: 1000,
    currency: 'EUR',
    location: center,
    distanceMeters: 100,
    rankingScore: 0.5,
    rating: null,
    reviewCount: 0,
    amenities: [],
    photoUrl: null,
    ...overrides,
  };
}

describe('meilisearch filter building', () => {
  it('quotes strings, escaping backslashes and double quotes', () => {
    expect(filterString('wifi')).toBe('"wifi"');
    expect(filterString('say "hi"')).toBe('"say \\"hi\\""');
    expect(filterString('back\\slash')).toBe('"back\\\\slash"');
    expect(filterString('\\"')).toBe('"\\\\\\""');
  });

  it('writes numbers without exponent notation and refuses NaN and Infinity', () => {
    expect(filterNumber(45.07, 'lat')).toBe('45.07');
    expect(filterNumber(-7, 'lng')).toBe('-7');
    expect(filterNumber(1e-7, 'lat')).toBe('0.0000001');
    expect(() => filterNumber(Number.NaN, 'lat')).toThrow(DomainError);
    expect(() => filterNumber(Number.POSITIVE_INFINITY, 'radius')).toThrow(DomainError);
  });

  it('always filters on published and the radius', () => {
    expect(buildFilter(query())).toBe('published = true AND _geoRadius(45.07, 7.69, 5000)');
  });

  it('adds price range, every amenity (deduplicated), guests and every night of the stay', () => {
    const filter = buildFilter(
      query({
        minPrice: 2000,
        maxPrice: 6000,
        amenities: ['wifi', 'desk', 'wifi'],
        guests: 2,
        stay: { checkIn: '2027-02-27', checkOut: '2027-03-02' },
      }),
    );
    expect(filter).toBe(
      [
        'published = true',
        '_geoRadius(45.07, 7.69, 5000)',
        'pricePerNight >= 2000',
        'pricePerNight <= 6000',
        'amenities = "desk"',
        'amenities = "wifi"',
        'maxOccupants >= 2',
        'unavailableNights NOT IN ["2027-02-27", "2027-02-28", "2027-03-01"]',
      ].join(' AND '),
    );
  });

  it('escapes a hostile amenity so it cannot break out of the expression', () => {
    const filter = buildFilter(query({ amenities: ['x" OR published = false OR amenities = "y'] }));
    expect(filter).toContain('amenities = "x\\" OR published = false OR amenities = \\"y"');
  });

  it('lists the nights of [checkIn, checkOut) across month and leap-year ends, at most 60', () => {
    expect(nightsOfStay('2028-02-28', '2028-03-01')).toEqual(['2028-02-28', '2028-02-29']);
    expect(nightsOfStay('2026-12-31', '2027-01-01')).toEqual(['2026-12-31']);
    expect(nightsOfStay('2027-01-01', '2027-03-02')).toHaveLength(60);
    expect(() => nightsOfStay('2027-01-01', '2027-03-03')).toThrow(/at most 60/);
    expect(() => nightsOfStay('2027-03-01', '2027-03-01')).toThrow(DomainError);
    expect(() => nightsOfStay('2027-02-30', '2027-03-02')).toThrow(DomainError);
    expect(() => nightsOfStay('2027-03-01"]', '2027-03-02')).toThrow(DomainError);
  });

  it('reads stored versions by id with escaped ids', () => {
    expect(idsFilter(['a', 'b"c'])).toBe('id IN ["a", "b\\"c"]');
  });

  it('always names _geoPoint in the sort (so hits carry _geoDistance) and breaks ties by id', () => {
    expect(meiliSort('distance', center)).toEqual(['_geoPoint(45.07, 7.69):asc', 'id:asc']);
    expect(meiliSort('price', center)).toEqual(['pricePerNight:asc', 'id:asc', '_geoPoint(45.07, 7.69):asc']);
    expect(meiliSort('ranking', center)).toEqual(['_geoPoint(45.07, 7.69):asc', 'id:asc']);
  });
});

describe('meilisearch documents', () => {
  it('maps the port document to the stored one with _geo and amenityScore, without unavailableNights', () => {
    const stored = toMeiliDocument(doc({ amenities: ['wifi', 'desk', 'wifi'] }));
    expect(stored).toMatchObject({
      id: 'room-1',
      _geo: { lat: 45.071, lng: 7.691 },
      amenities: ['desk', 'wifi'],
      amenityScore: amenityScore(['desk', 'wifi']),
      version: 1,
    });
    expect(stored).not.toHaveProperty('unavailableNights');
    expect(stored).not.toHaveProperty('location');
    expect(stored).not.toHaveProperty('roomId');
  });

  it('keeps only documents newer than the stored version, the newest of the batch per room', () => {
    const stored = new Map([
      ['a', 5],
      ['b', 2],
    ]);
    const fresh = freshDocuments(
      [
        doc({ roomId: 'a', version: 4 }),
        doc({ roomId: 'a', version: 5 }),
        doc({ roomId: 'b', version: 3, title: 'b3' }),
        doc({ roomId: 'b', version: 2 }),
        doc({ roomId: 'c', version: 1, title: 'c1' }),
        doc({ roomId: 'c', version: 1, title: 'c1 again' }),
      ],
      stored,
    );
    expect(fresh.map((d) => [d.roomId, d.version, d.title])).toEqual([
      ['b', 3, 'b3'],
      ['c', 1, 'c1 again'],
    ]);
  });
});

describe('meilisearch hits', () => {
  const source: MeiliHitSource = {
    id: 'r1',
    title: 'Quiet room',
    pricePerNight: 4000,
    currency: 'EUR',
    _geo: { lat: 45.08, lng: 7.69 },
    amenities: ['desk', 'wifi', 'quiet_hours'],
    reviewCount: 4,
    ratingSum: 18,
    photoUrl: 'https://example.test/p.jpg',
    _geoDistance: 1112,
  };

  it('takes the distance from _geoDistance and scores with the domain formula', () => {
    const result = toHit(source, center, DEFAULT_RANKING);
    expect(result.distanceMeters).toBe(1112);
    expect(result.rating).toBe(4.5);
    expect(result.location).toEqual({ lat: 45.08, lng: 7.69 });
    expect(result.rankingScore).toBeCloseTo(
      rankingScore({ distanceMeters: 1112, amenities: source.amenities, reviewCount: 4, ratingSum: 18 }).overall,
      12,
    );
  });

  it('has no rating without reviews and falls back to the haversine distance without _geoDistance', () => {
    const { _geoDistance: _, ...rest } = source;
    const result = toHit({ ...rest, reviewCount: 0, ratingSum: 0 }, center, DEFAULT_RANKING);
    expect(result.rating).toBeNull();
    expect(result.distanceMeters).toBeCloseTo(haversineMeters(center, source._geo), 6);
    expect(result.distanceMeters).toBeGreaterThan(1100);
    expect(result.distanceMeters).toBeLessThan(1125);
  });
});

describe('meilisearch cursor', () => {
  it('round-trips the sort, key and id as base64url JSON', () => {
    const cursor = encodeCursor({ sort: 'price', key: 4500, id: 'room-7' });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))).toEqual({
      s: 'price',
      k: 4500,
      id: 'room-7',
    });
    expect(decodeCursor(cursor, 'price')).toEqual({ sort: 'price', key: 4500, id: 'room-7' });
  });

  it('keeps a ranking score key exact', () => {
    const key = -rankingScore({ distanceMeters: 1234, amenities: ['desk'], reviewCount: 3, ratingSum: 13 }).overall;
    expect(decodeCursor(encodeCursor({ sort: 'ranking', key, id: 'x' }), 'ranking').key).toBe(key);
  });

  it('rejects a cursor of another sort', () => {
    const cursor = encodeCursor({ sort: 'distance', key: 10, id: 'a' });
    expect(() => decodeCursor(cursor, 'price')).toThrow(InvalidSearchCursor);
    expect(() => decodeCursor(cursor, 'price')).toThrow(/sort=distance/);
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'abc+/='],
    ['not JSON', Buffer.from('{nope', 'utf8').toString('base64url')],
    ['an array', Buffer.from('[1,2]', 'utf8').toString('base64url')],
    ['null', Buffer.from('null', 'utf8').toString('base64url')],
    ['unknown sort', Buffer.from('{"s":"rating","k":1,"id":"a"}', 'utf8').toString('base64url')],
    ['key not a number', Buffer.from('{"s":"price","k":"1","id":"a"}', 'utf8').toString('base64url')],
    ['missing id', Buffer.from('{"s":"price","k":1}', 'utf8').toString('base64url')],
    ['empty id', Buffer.from('{"s":"price","k":1,"id":""}', 'utf8').toString('base64url')],
    ['too long', 'a'.repeat(2000)],
  ])('rejects a malformed cursor (%s)', (_, cursor) => {
    expect(() => decodeCursor(cursor, 'price')).toThrow(InvalidSearchCursor);
    try {
      decodeCursor(cursor, 'price');
    } catch (error) {
      expect((error as InvalidSearchCursor).code).toBe('INVALID_CURSOR');
    }
  });
});

describe('in-process order and pages', () => {
  it('orders the ranking by score descending, ties by id ascending', () => {
    const hits = [
      hit('c', { rankingScore: 0.7 }),
      hit('b', { rankingScore: 0.9 }),
      hit('a', { rankingScore: 0.7 }),
      hit('d', { rankingScore: 0.9 }),
      hit('e', { rankingScore: 0.1 }),
    ];
    expect([...hits].sort((x, y) => compareHits('ranking', x, y)).map((h) => h.id)).toEqual(['b', 'd', 'a', 'c', 'e']);
  });

  it.each<[RoomSort, (i: number) => Partial<RoomSearchHit>]>([
    ['ranking', (i) => ({ rankingScore: [0.9, 0.5, 0.5, 0.5, 0.2][i % 5]! })],
    ['distance', (i) => ({ distanceMeters: [10, 20, 20, 20, 30][i % 5]! })],
    ['price', (i) => ({ pricePerNight: [1000, 2000, 2000, 2000, 3000][i % 5]! })],
  ])('pages through %s with ties, each hit once and in order', (sort, shape) => {
    const all = Array.from({ length: 23 }, (_, i) => hit(`room-${String(22 - i).padStart(2, '0')}`, shape(i)));
    const expected = [...all].sort((a, b) => compareHits(sort, a, b)).map((h) => h.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const position = cursor ? decodeCursor(cursor, sort) : null;
      const page = selectPage(all, sort, 4, position, false);
      seen.push(...page.items.map((h) => h.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 20);
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(23);
    expect(pages).toBe(6);
  });

  it('gives no next cursor on the last page, even when it is exactly full', () => {
    const all = [hit('a'), hit('b')];
    expect(selectPage(all, 'distance', 2, null, false).nextCursor).toBeNull();
    expect(selectPage(all, 'distance', 1, null, false).nextCursor).not.toBeNull();
    expect(selectPage([], 'ranking', 5, null, false)).toMatchObject({ items: [], nextCursor: null });
  });

  it('is complete for a monotone fetch only once a larger key follows the page', () => {
    // Meilisearch's distance order, as fetched so far. A page of 2 needs a 3rd hit to know there is more...
    const two = [hit('z', { distanceMeters: 5 }), hit('y', { distanceMeters: 7 })];
    expect(selectPage(two, 'distance', 2, null, true).complete).toBe(false);
    // ...and that 3rd hit's key must be larger than the page's last one.
    const three = [...two, hit('x', { distanceMeters: 9 })];
    const page = selectPage(three, 'distance', 2, null, true);
    expect(page.complete).toBe(true);
    expect(page.items.map((h) => h.id)).toEqual(['z', 'y']);
    // A tie with the page's last key is not settled: a hit still to come at 9 m with a smaller id would sort
    // before 'x' and belong on the page instead.
    const tie = [hit('z', { distanceMeters: 5 }), hit('y', { distanceMeters: 9 }), hit('x', { distanceMeters: 9 })];
    expect(selectPage(tie, 'distance', 1, null, true).complete).toBe(true);
    expect(selectPage(tie, 'distance', 2, null, true).complete).toBe(false);
    // After a cursor, the hits before it do not count.
    expect(selectPage(three, 'distance', 2, { sort: 'distance', key: 5, id: 'z' }, true).complete).toBe(false);
    // The ranking never settles early.
    expect(selectPage(three, 'ranking', 1, null, false).complete).toBe(false);
  });

  it('skips the hits at or before the cursor position, same key by id', () => {
    const all = [hit('a', { pricePerNight: 10 }), hit('b', { pricePerNight: 20 }), hit('c', { pricePerNight: 20 })];
    const page = selectPage(all, 'price', 5, { sort: 'price', key: 20, id: 'b' }, false);
    expect(page.items.map((h) => h.id)).toEqual(['c']);
    expect(page.nextCursor).toBeNull();
  });
});
