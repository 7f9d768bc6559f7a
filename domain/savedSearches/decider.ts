import { isAmenity } from '../rooms/amenities.js';
import type { Decider } from '../shared/decider.js';
import { DomainError } from '../shared/errors.js';
import { assertGeoPoint, dayNumber } from '../shared/values.js';
import type { SavedSearchCommand } from './commands.js';
import { type SavedSearchCriteria, type SavedSearchEvent, savedSearchSchemaVersions } from './events.js';

/** The largest circle a saved search covers, as `GET /api/rooms/search` allows. */
export const MAX_RADIUS_KM = 50;
export const MAX_STAY_NIGHTS = 60;
export const MAX_NAME_LENGTH = 100;
/** Saved searches a tenant may have at once (not deleted). */
export const MAX_ACTIVE_SAVED_SEARCHES = 20;

export interface SavedSearchState {
  status: 'none' | 'active' | 'deleted';
  searchId: string | null;
  tenantId: string | null;
  criteria: SavedSearchCriteria | null;
  /** Rooms the tenant was already told about: each one matches once. */
  matchedRoomIds: ReadonlySet<string>;
}

const DAY_MS = 86_400_000;
const invalid = (code: string, message: string, details?: unknown) =>
  new DomainError(code, 'validation', message, details);

/** The criteria as stored: validated, amenities sorted without repeats. Throws a `validation` DomainError. */
export function normalizedCriteria(criteria: SavedSearchCriteria, now: string): SavedSearchCriteria {
  assertGeoPoint(criteria.location);
  if (!Number.isFinite(criteria.radiusKm) || criteria.radiusKm <= 0 || criteria.radiusKm > MAX_RADIUS_KM) {
    throw invalid('INVALID_RADIUS', `radius must be above 0 and at most ${MAX_RADIUS_KM} km`);
  }
  const { checkIn, checkOut } = criteria;
  if ((checkIn === null) !== (checkOut === null)) {
    throw invalid('INCOMPLETE_STAY', 'give both checkIn and checkOut, or neither');
  }
  if (checkIn !== null && checkOut !== null) {
    const from = dayNumber(checkIn);
    const to = dayNumber(checkOut);
    if (Number.isNaN(from) || Number.isNaN(to))
      throw invalid('INVALID_DATE', 'checkIn and checkOut must be real dates');
    if (to <= from) throw invalid('INVALID_STAY', 'checkOut must be after checkIn');
    if (to - from > MAX_STAY_NIGHTS) throw invalid('STAY_TOO_LONG', `a stay covers at most ${MAX_STAY_NIGHTS} nights`);
    if (from < Math.floor(Date.parse(now) / DAY_MS)) throw invalid('CHECK_IN_IN_PAST', 'checkIn is in the past');
  }
  if (criteria.guests !== null && (!Number.isInteger(criteria.guests) || criteria.guests < 1 || criteria.guests > 20)) {
    throw invalid('INVALID_GUESTS', 'guests must be 1 to 20');
  }
  for (const [field, price] of [
    ['minPrice', criteria.minPrice],
    ['maxPrice', criteria.maxPrice],
  ] as const) {
    if (price !== null && (!Number.isSafeInteger(price) || price < 0)) {
      throw invalid('INVALID_PRICE', `${field} must be a whole number of minor units, 0 or more`, { field });
    }
  }
  if (criteria.minPrice !== null && criteria.maxPrice !== null && criteria.minPrice > criteria.maxPrice) {
    throw invalid('INVALID_PRICE_RANGE', 'minPrice must not be above maxPrice');
  }
  const unknown = criteria.amenities.filter((a) => !isAmenity(a));
  if (unknown.length > 0) {
    throw invalid('UNKNOWN_AMENITY', `not in the amenity catalogue: ${unknown.join(', ')}`, { unknown });
  }
  return { ...criteria, amenities: [...new Set(criteria.amenities)].sort() };
}

/** A name as stored: trimmed, NFC, null when empty; control characters and overlong names refused. */
export function normalizedName(name: string | null): string | null {
  if (name === null) return null;
  const trimmed = name.normalize('NFC').trim();
  if (trimmed === '') return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw invalid('INVALID_NAME', 'the name may not hold control characters');
  if ([...trimmed].length > MAX_NAME_LENGTH) {
    throw invalid('INVALID_NAME', `the name is at most ${MAX_NAME_LENGTH} characters`);
  }
  return trimmed;
}

const notFound = () => new DomainError('SAVED_SEARCH_NOT_FOUND', 'not_found', 'saved search not found');

export const savedSearchDecider: Decider<SavedSearchCommand, SavedSearchEvent, SavedSearchState> = {
  initialState: { status: 'none', searchId: null, tenantId: null, criteria: null, matchedRoomIds: new Set() },
  schemaVersions: savedSearchSchemaVersions,

  decide(command, state) {
    const { context } = command;
    switch (command.type) {
      case 'CreateSavedSearch': {
        if (context.actorRole !== 'tenant') {
          throw new DomainError('NOT_A_TENANT', 'forbidden', 'only tenants save searches');
        }
        if (state.status !== 'none') {
          throw new DomainError('SAVED_SEARCH_EXISTS', 'conflict', 'this saved search already exists');
        }
        const criteria = normalizedCriteria(command.data.criteria, context.now);
        const name = normalizedName(command.data.name);
        if (command.data.activeSearches >= MAX_ACTIVE_SAVED_SEARCHES) {
          throw new DomainError(
            'SAVED_SEARCH_LIMIT',
            'illegal_state',
            `at most ${MAX_ACTIVE_SAVED_SEARCHES} saved searches at once; delete one first`,
            { max: MAX_ACTIVE_SAVED_SEARCHES },
          );
        }
        return [
          {
            type: 'SavedSearchCreated',
            data: {
              searchId: command.data.searchId,
              tenantId: context.actorId,
              criteria,
              name,
              createdAt: context.now,
            },
          },
        ];
      }
      case 'DeleteSavedSearch': {
        // Another tenant's search answers as an unknown one: its existence does not leak.
        if (state.status === 'none' || state.tenantId !== context.actorId) throw notFound();
        if (state.status === 'deleted') return [];
        return [
          {
            type: 'SavedSearchDeleted',
            data: { searchId: command.data.searchId, tenantId: state.tenantId, deletedAt: context.now },
          },
        ];
      }
      case 'RecordSavedSearchMatch': {
        if (context.actorRole !== 'system') {
          throw new DomainError('SYSTEM_ONLY', 'forbidden', 'matches are recorded by the matcher only');
        }
        if (state.status === 'none') throw notFound();
        const { searchId, roomId, reason, sourceEventId } = command.data;
        if (state.status === 'deleted' || state.matchedRoomIds.has(roomId)) return [];
        return [
          {
            type: 'SavedSearchMatched',
            data: { searchId, tenantId: state.tenantId!, roomId, reason, sourceEventId, matchedAt: context.now },
          },
        ];
      }
      default: {
        const unhandled: never = command;
        throw new Error(`unknown command ${(unhandled as { type: string }).type}`);
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'SavedSearchCreated':
        return {
          ...state,
          status: 'active',
          searchId: event.data.searchId,
          tenantId: event.data.tenantId,
          criteria: event.data.criteria,
        };
      case 'SavedSearchDeleted':
        return { ...state, status: 'deleted' };
      case 'SavedSearchMatched':
        return { ...state, matchedRoomIds: new Set([...state.matchedRoomIds, event.data.roomId]) };
      default: {
        const unhandled: never = event;
        throw new Error(`unknown event ${(unhandled as { type: string }).type}`);
      }
    }
  },
};
