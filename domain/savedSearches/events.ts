import type { DomainEvent } from '../shared/decider.js';
import type { GeoPoint } from '../shared/values.js';

/** What a tenant looks for: a circle (around a venue or a point), optional dates and filters. */
export interface SavedSearchCriteria {
  /** The circle's centre: the venue's location at creation when `examLocationId` is set. */
  location: GeoPoint;
  /** At most `MAX_RADIUS_KM`. */
  radiusKm: number;
  examLocationId: string | null;
  /** Both or neither: nights `[checkIn, checkOut)`. */
  checkIn: string | null;
  checkOut: string | null;
  guests: number | null;
  /** Price per night in minor units, inclusive bounds. */
  minPrice: number | null;
  maxPrice: number | null;
  /** Every one required; sorted, no repeats. */
  amenities: string[];
}

export type SavedSearchCreated = DomainEvent<
  'SavedSearchCreated',
  { searchId: string; tenantId: string; criteria: SavedSearchCriteria; name: string | null; createdAt: string }
>;
export type SavedSearchDeleted = DomainEvent<
  'SavedSearchDeleted',
  { searchId: string; tenantId: string; deletedAt: string }
>;
export const MatchReasons = ['published', 'freed'] as const;
export type MatchReason = (typeof MatchReasons)[number];
/** A room newly matches the search: the tenant is told once per room (`tenantId` says whom). */
export type SavedSearchMatched = DomainEvent<
  'SavedSearchMatched',
  {
    searchId: string;
    tenantId: string;
    roomId: string;
    reason: MatchReason;
    /** The event that published or freed the room. */
    sourceEventId: string;
    matchedAt: string;
  }
>;

export type SavedSearchEvent = SavedSearchCreated | SavedSearchDeleted | SavedSearchMatched;

export const SavedSearchEventTypes = [
  'SavedSearchCreated',
  'SavedSearchDeleted',
  'SavedSearchMatched',
] as const satisfies readonly SavedSearchEvent['type'][];

export const savedSearchSchemaVersions = {
  SavedSearchCreated: 1,
  SavedSearchDeleted: 1,
  SavedSearchMatched: 1,
} as const satisfies Record<SavedSearchEvent['type'], number>;

export const SAVED_SEARCH_STREAM_PREFIX = 'SavedSearch-';
export const savedSearchStreamId = (searchId: string) => `${SAVED_SEARCH_STREAM_PREFIX}${searchId}`;
