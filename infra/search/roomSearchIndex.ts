import type { RankingSettings } from '../../domain/search/ranking.js';
import type { DateRange, GeoPoint } from '../../domain/shared/values.js';

/**
 * The room search index port. Projections write it (`RoomSearchWriter`), the search route reads it
 * (`RoomSearchReader`). Adapters: PostgreSQL (the default; PostGIS, the rooms' words with typo tolerance,
 * date multiranges for availability) and Meilisearch. One contract suite (test/contracts/roomIndex.contract.ts)
 * runs against each.
 */
export interface RoomSearchDocument {
  roomId: string;
  landlordId: string;
  title: string;
  description: string | null;
  address: string;
  location: GeoPoint;
  pricePerNight: number;
  currency: string;
  maxOccupants: number;
  amenities: string[];
  /** Only published rooms are ever found. */
  published: boolean;
  reviewCount: number;
  ratingSum: number;
  photoUrl: string | null;
  /** The room stream's revision this document reflects: an older one never overwrites a newer one. */
  version: number;
}

export interface RoomSearchWriter {
  /** Inserts or replaces by room id, unless the index already holds this version or a newer one. */
  upsertRooms(documents: readonly RoomSearchDocument[]): Promise<void>;
  /**
   * Replaces the room's unavailable nights (held, booked or blocked), given as ranges `[from, to)` of `YYYY-MM-DD`
   * (overlapping or touching ones are merged): the whole set, so a replay is idempotent. An adapter's cost follows
   * the ranges, not the nights they span (a block from 0100-01-01 to 9999-12-31 is one range).
   */
  setUnavailableRanges(roomId: string, ranges: readonly DateRange[]): Promise<void>;
  /** Empties the index (a rebuild). */
  clear(): Promise<void>;
}

export type RoomSort = 'ranking' | 'distance' | 'price';

export interface RoomSearchQuery {
  center: GeoPoint;
  radiusMeters: number;
  /**
   * Free text, never query syntax: each word must match a word of the room, the last one also as a prefix, and a
   * word off by a typo still matches ("quite" finds "quiet").
   */
  q?: string;
  minPrice?: number;
  maxPrice?: number;
  /** Every one required. */
  amenities?: readonly string[];
  guests?: number;
  /** Only rooms free on every night of `[checkIn, checkOut)`. */
  stay?: { checkIn: string; checkOut: string };
  sort: RoomSort;
  limit: number;
  /** Opaque, from a previous page of the same query. */
  cursor?: string;
  ranking: RankingSettings;
}

export interface RoomSearchHit {
  id: string;
  title: string;
  pricePerNight: number;
  currency: string;
  location: GeoPoint;
  distanceMeters: number;
  rankingScore: number;
  rating: number | null;
  reviewCount: number;
  amenities: string[];
  photoUrl: string | null;
}

export interface RoomSearchPage {
  items: RoomSearchHit[];
  nextCursor: string | null;
}

export interface RoomSearchReader {
  search(query: RoomSearchQuery): Promise<RoomSearchPage>;
}

/** A cursor the adapter did not give (or for another sort): the route answers 400. */
export class InvalidSearchCursor extends Error {
  readonly code = 'INVALID_CURSOR';
}
