import { BOOKING_LIMITS } from '../../../domain/bookings/decider.js';
import { amenityScore, type RankingSettings, rankingScore } from '../../../domain/search/ranking.js';
import { DomainError } from '../../../domain/shared/errors.js';
import { dateOfDay, dayNumber, type GeoPoint } from '../../../domain/shared/values.js';
import {
  InvalidSearchCursor,
  type RoomSearchDocument,
  type RoomSearchHit,
  type RoomSearchQuery,
  type RoomSort,
} from '../roomSearchIndex.js';

/**
 * The pure parts of the Meilisearch room search adapter: the stored document, filter and sort expressions, the
 * opaque cursor, and the in-process ordering and paging of hits. No I/O here, so all of it is unit-tested without
 * a server (test/infra/search/meiliQuery.test.ts).
 */

/** A stay filter lists every night; the longest stay a booking may have bounds that list. */
export const MAX_STAY_NIGHTS = BOOKING_LIMITS.maxNights;

/** What the index stores per room: the port's document under Meilisearch's names, plus what search needs. */
export interface MeiliRoomDocument {
  /** The primary key: the room id. */
  id: string;
  landlordId: string;
  title: string;
  description: string | null;
  address: string;
  /** Meilisearch's reserved geo field: filterable with `_geoRadius`, sortable with `_geoPoint`. */
  _geo: GeoPoint;
  pricePerNight: number;
  currency: string;
  maxOccupants: number;
  amenities: string[];
  /** The amenity part of the ranking score (it depends on the room only), kept for sorting and inspection. */
  amenityScore: number;
  published: boolean;
  reviewCount: number;
  ratingSum: number;
  photoUrl: string | null;
  version: number;
  /**
   * Set only by `setUnavailableNights` (a partial update), never by an upsert, so nights that arrived before the
   * room's document survive its arrival and later upserts.
   */
  unavailableNights?: string[];
}

/** The fields a search asks back (`_geoDistance` comes on its own when the sort names `_geoPoint`). */
export const HIT_ATTRIBUTES = [
  'id',
  'title',
  'pricePerNight',
  'currency',
  '_geo',
  'amenities',
  'reviewCount',
  'ratingSum',
  'photoUrl',
] as const;

export type MeiliHitSource = Pick<
  MeiliRoomDocument,
  'id' | 'title' | 'pricePerNight' | 'currency' | '_geo' | 'amenities' | 'reviewCount' | 'ratingSum' | 'photoUrl'
> & { _geoDistance?: number };

export function toMeiliDocument(document: RoomSearchDocument): Omit<MeiliRoomDocument, 'unavailableNights'> {
  const amenities = [...new Set(document.amenities)].sort();
  const stored: Omit<MeiliRoomDocument, 'unavailableNights'> = {
    id: document.roomId,
    landlordId: document.landlordId,
    title: document.title,
    description: document.description,
    address: document.address,
    _geo: { lat: document.location.lat, lng: document.location.lng },
    pricePerNight: document.pricePerNight,
    currency: document.currency,
    maxOccupants: document.maxOccupants,
    amenities,
    amenityScore: amenityScore(amenities),
    published: document.published,
    reviewCount: document.reviewCount,
    ratingSum: document.ratingSum,
    photoUrl: document.photoUrl,
    version: document.version,
  };
  return stored;
}

/**
 * Of a batch, the documents to write: per room the highest version in the batch (the later one on a tie), and only
 * when it is newer than the version the index holds (`stored`, absent for a room not indexed, or indexed only by
 * its unavailable nights).
 */
export function freshDocuments(
  documents: readonly RoomSearchDocument[],
  stored: ReadonlyMap<string, number>,
): RoomSearchDocument[] {
  const newest = new Map<string, RoomSearchDocument>();
  for (const document of documents) {
    const seen = newest.get(document.roomId);
    if (!seen || document.version >= seen.version) newest.set(document.roomId, document);
  }
  return [...newest.values()].filter((document) => {
    const version = stored.get(document.roomId);
    return version === undefined || document.version > version;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Filter expressions

/** A string literal of Meilisearch's filter syntax: double quotes, with `\` and `"` escaped by a backslash. */
export function filterString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A number of the filter syntax; NaN or Infinity would make the whole expression invalid, so they are refused. */
export function filterNumber(value: number, field: string): string {
  if (!Number.isFinite(value)) throw new DomainError('INVALID_SEARCH', 'validation', `${field} must be a number`);
  // String() of a finite number never uses exponent notation for the magnitudes met here (coordinates, metres,
  // minor units); for tiny ones (1e-7) it would, so those are written in fixed notation.
  const text = String(value);
  return /e/i.test(text) ? value.toFixed(20).replace(/\.?0+$/, '') : text;
}

/** Every night of the stay `[checkIn, checkOut)`, `YYYY-MM-DD`, validated and at most MAX_STAY_NIGHTS. */
export function nightsOfStay(checkIn: string, checkOut: string): string[] {
  const from = dayNumber(checkIn);
  const to = dayNumber(checkOut);
  if (Number.isNaN(from) || Number.isNaN(to)) {
    throw new DomainError('INVALID_DATE', 'validation', 'checkIn and checkOut must be real dates (YYYY-MM-DD)');
  }
  if (to <= from) throw new DomainError('INVALID_STAY', 'validation', 'checkOut must be after checkIn');
  if (to - from > MAX_STAY_NIGHTS) {
    throw new DomainError('STAY_TOO_LONG', 'validation', `a stay covers at most ${MAX_STAY_NIGHTS} nights`);
  }
  const nights: string[] = [];
  for (let day = from; day < to; day++) nights.push(dateOfDay(day));
  return nights;
}

/** The filter of a search: published, within the radius, and every optional criterion of the query. */
export function buildFilter(query: RoomSearchQuery): string {
  const { center } = query;
  const clauses = [
    'published = true',
    `_geoRadius(${filterNumber(center.lat, 'lat')}, ${filterNumber(center.lng, 'lng')}, ${filterNumber(
      query.radiusMeters,
      'radius',
    )})`,
  ];
  if (query.minPrice !== undefined) clauses.push(`pricePerNight >= ${filterNumber(query.minPrice, 'minPrice')}`);
  if (query.maxPrice !== undefined) clauses.push(`pricePerNight <= ${filterNumber(query.maxPrice, 'maxPrice')}`);
  for (const amenity of [...new Set(query.amenities ?? [])].sort()) {
    clauses.push(`amenities = ${filterString(amenity)}`);
  }
  if (query.guests !== undefined) clauses.push(`maxOccupants >= ${filterNumber(query.guests, 'guests')}`);
  if (query.stay) {
    const nights = nightsOfStay(query.stay.checkIn, query.stay.checkOut);
    // On an array attribute `IN` matches when any element is listed, so `NOT IN` keeps the rooms none of whose
    // unavailable nights is a night of the stay, and the rooms that have no unavailable nights at all.
    clauses.push(`unavailableNights NOT IN [${nights.map(filterString).join(', ')}]`);
  }
  return clauses.join(' AND ');
}

/** `id IN [...]`: the stored versions of a batch are read with it. */
export function idsFilter(ids: readonly string[]): string {
  return `id IN [${ids.map(filterString).join(', ')}]`;
}

export function geoPointSort(center: GeoPoint): string {
  return `_geoPoint(${filterNumber(center.lat, 'lat')}, ${filterNumber(center.lng, 'lng')}):asc`;
}

/**
 * The order asked of Meilisearch. `_geoPoint` is always named, so each hit carries `_geoDistance`. For the ranking
 * the order is by distance: when the candidates exceed the cap, the nearest ones are kept.
 */
export function meiliSort(sort: RoomSort, center: GeoPoint): string[] {
  switch (sort) {
    case 'price':
      return ['pricePerNight:asc', 'id:asc', geoPointSort(center)];
    case 'distance':
    case 'ranking':
      return [geoPointSort(center), 'id:asc'];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Hits, order and cursor

/** Great-circle distance in metres (only a fallback: Meilisearch gives `_geoDistance` whenever the sort has one). */
export function haversineMeters(a: GeoPoint, b: GeoPoint): number {
  const R = 6_371_008.8;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function toHit(source: MeiliHitSource, center: GeoPoint, ranking: RankingSettings): RoomSearchHit {
  const location = { lat: Number(source._geo.lat), lng: Number(source._geo.lng) };
  const distanceMeters =
    typeof source._geoDistance === 'number' ? source._geoDistance : haversineMeters(center, location);
  const amenities = source.amenities ?? [];
  const reviewCount = source.reviewCount ?? 0;
  const ratingSum = source.ratingSum ?? 0;
  return {
    id: source.id,
    title: source.title,
    pricePerNight: source.pricePerNight,
    currency: source.currency,
    location,
    distanceMeters,
    rankingScore: rankingScore({ distanceMeters, amenities, reviewCount, ratingSum }, ranking).overall,
    rating: reviewCount > 0 ? ratingSum / reviewCount : null,
    reviewCount,
    amenities,
    photoUrl: source.photoUrl ?? null,
  };
}

/** The ascending key of a sort: the ranking is by score descending, so its key is the negated score. */
export function orderKey(sort: RoomSort, hit: RoomSearchHit): number {
  switch (sort) {
    case 'distance':
      return hit.distanceMeters;
    case 'price':
      return hit.pricePerNight;
    case 'ranking':
      return -hit.rankingScore;
  }
}

export interface CursorPosition {
  sort: RoomSort;
  /** `orderKey` of the last hit of the page. */
  key: number;
  id: string;
}

/** Code-unit order, the same on every machine and in every locale. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareHits(sort: RoomSort, a: RoomSearchHit, b: RoomSearchHit): number {
  const ka = orderKey(sort, a);
  const kb = orderKey(sort, b);
  return ka < kb ? -1 : ka > kb ? 1 : compareIds(a.id, b.id);
}

/** Whether a hit comes strictly after the cursor's position in the order (key, then id). */
export function isAfter(position: CursorPosition, hit: RoomSearchHit): boolean {
  const key = orderKey(position.sort, hit);
  return key > position.key || (key === position.key && compareIds(hit.id, position.id) > 0);
}

const SORTS: readonly RoomSort[] = ['ranking', 'distance', 'price'];

export function encodeCursor(position: CursorPosition): string {
  // -0 would come back as 0 through JSON; they compare equal, so that is harmless.
  return Buffer.from(JSON.stringify({ s: position.sort, k: position.key, id: position.id }), 'utf8').toString(
    'base64url',
  );
}

/** The position of a cursor this adapter gave for the same sort; anything else is an InvalidSearchCursor. */
export function decodeCursor(cursor: string, sort: RoomSort): CursorPosition {
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw new InvalidSearchCursor('the cursor is malformed');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidSearchCursor('the cursor is malformed');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidSearchCursor('the cursor is malformed');
  }
  const { s, k, id } = parsed as Record<string, unknown>;
  if (typeof s !== 'string' || !SORTS.includes(s as RoomSort)) throw new InvalidSearchCursor('the cursor is malformed');
  if (s !== sort) throw new InvalidSearchCursor(`the cursor belongs to sort=${s}, not sort=${sort}`);
  if (typeof k !== 'number' || !Number.isFinite(k) || typeof id !== 'string' || id.length === 0) {
    throw new InvalidSearchCursor('the cursor is malformed');
  }
  return { sort: s as RoomSort, key: k, id };
}

export interface PageSelection {
  items: RoomSearchHit[];
  nextCursor: string | null;
  /**
   * For a sort Meilisearch returns in the same order (distance, price): whether the hits fetched so far are enough,
   * i.e. no hit not yet fetched could still belong on this page, and a next page is known to exist.
   */
  complete: boolean;
}

/**
 * The page after `position` (or the first) among `fetched`, ordered by (key, id). With `monotone`, `fetched` is a
 * prefix of Meilisearch's order, whose key never decreases: once the last hit fetched has a larger key than the
 * page's last one (and there are more than `limit` after the cursor), nothing fetched later can enter the page and
 * it is `complete`.
 */
export function selectPage(
  fetched: readonly RoomSearchHit[],
  sort: RoomSort,
  limit: number,
  position: CursorPosition | null,
  monotone: boolean,
): PageSelection {
  const after = (position ? fetched.filter((hit) => isAfter(position, hit)) : [...fetched]).sort((a, b) =>
    compareHits(sort, a, b),
  );
  const items = after.slice(0, limit);
  const hasMore = after.length > limit;
  const last = items[items.length - 1];
  const nextCursor =
    hasMore && last ? encodeCursor({ sort, key: orderKey(sort, last), id: last.id }) : (null as string | null);
  let complete = false;
  if (monotone && hasMore && last) {
    // Hits not fetched yet have a key at least the last fetched one's: when that is larger than the page's last
    // key, none of them can sort into the page (not even by id on an equal key), and one more than the page is known.
    const lastFetched = fetched[fetched.length - 1]!;
    complete = orderKey(sort, lastFetched) > orderKey(sort, last);
  }
  return { items, nextCursor, complete };
}
