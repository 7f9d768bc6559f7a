import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SavedSearchCommand } from '../../../domain/savedSearches/commands.js';
import { MAX_ACTIVE_SAVED_SEARCHES, savedSearchDecider } from '../../../domain/savedSearches/decider.js';
import type { SavedSearchCriteria, SavedSearchEvent } from '../../../domain/savedSearches/events.js';
import { dateOfDay, dayNumber } from '../../../domain/shared/values.js';
import { deciderSpec } from '../../support/deciderSpec.js';

const spec = deciderSpec(savedSearchDecider);
// Dates follow from the test's clock.
const now = new Date().toISOString();
const today = dayNumber(now.slice(0, 10));
const day = (offset: number) => dateOfDay(today + offset);
const searchId = randomUUID();
const tenantId = randomUUID();
const roomId = randomUUID();
const sourceEventId = randomUUID();
const tenant = { actorId: tenantId, actorRole: 'tenant' as const, now };
const system = { actorId: 'system', actorRole: 'system' as const, now };

const criteria = (overrides: Partial<SavedSearchCriteria> = {}): SavedSearchCriteria => ({
  location: { lat: 44.4949, lng: 11.3426 },
  radiusKm: 5,
  examLocationId: null,
  checkIn: null,
  checkOut: null,
  guests: null,
  minPrice: null,
  maxPrice: null,
  amenities: [],
  ...overrides,
});
const create = (
  overrides: Partial<SavedSearchCriteria> = {},
  extra: { name?: string | null; activeSearches?: number; context?: typeof tenant } = {},
): SavedSearchCommand => ({
  type: 'CreateSavedSearch',
  data: {
    searchId,
    criteria: criteria(overrides),
    name: extra.name ?? null,
    activeSearches: extra.activeSearches ?? 0,
  },
  context: extra.context ?? tenant,
});
const created = (overrides: Partial<SavedSearchCriteria> = {}, name: string | null = null): SavedSearchEvent => ({
  type: 'SavedSearchCreated',
  data: { searchId, tenantId, criteria: criteria(overrides), name, createdAt: now },
});
const deleted: SavedSearchEvent = { type: 'SavedSearchDeleted', data: { searchId, tenantId, deletedAt: now } };
const match = (room = roomId, context: SavedSearchCommand['context'] = system): SavedSearchCommand => ({
  type: 'RecordSavedSearchMatch',
  data: { searchId, roomId: room, reason: 'published', sourceEventId },
  context,
});
const matched = (room = roomId): SavedSearchEvent => ({
  type: 'SavedSearchMatched',
  data: { searchId, tenantId, roomId: room, reason: 'published', sourceEventId, matchedAt: now },
});

describe('CreateSavedSearch', () => {
  it('records the search for the tenant, amenities sorted once each and the name trimmed', () => {
    spec
      .given([])
      .when(create({ amenities: ['wifi', 'desk', 'wifi'] }, { name: '  Exam week ' }))
      .then([created({ amenities: ['desk', 'wifi'] }, 'Exam week')]);
  });

  it('keeps dates, guests and a price range', () => {
    const dated = { checkIn: day(10), checkOut: day(13), guests: 2, minPrice: 1000, maxPrice: 5000 };
    spec
      .given([])
      .when(create(dated))
      .then([created(dated)]);
  });

  it('is for tenants only', () => {
    spec
      .given([])
      .when(create({}, { context: { ...tenant, actorRole: 'landlord' as never } }))
      .thenThrows('NOT_A_TENANT', 'forbidden');
  });

  it('happens once', () => {
    spec.given([created()]).when(create()).thenThrows('SAVED_SEARCH_EXISTS', 'conflict');
  });

  it.each([
    ['INVALID_RADIUS', { radiusKm: 0 }],
    ['INVALID_RADIUS', { radiusKm: 50.5 }],
    ['INVALID_RADIUS', { radiusKm: Number.NaN }],
    ['INVALID_LOCATION', { location: { lat: 91, lng: 0 } }],
    ['INVALID_LOCATION', { location: { lat: 0, lng: Number.POSITIVE_INFINITY } }],
    ['INCOMPLETE_STAY', { checkIn: '2030-01-01' }],
    ['INVALID_DATE', { checkIn: '2030-02-30', checkOut: '2030-03-02' }],
    ['INVALID_STAY', { checkIn: day(12), checkOut: day(10) }],
    ['INVALID_STAY', { checkIn: day(12), checkOut: day(12) }],
    ['STAY_TOO_LONG', { checkIn: day(10), checkOut: day(71) }],
    ['CHECK_IN_IN_PAST', { checkIn: day(-1), checkOut: day(2) }],
    ['INVALID_GUESTS', { guests: 0 }],
    ['INVALID_PRICE', { minPrice: -1 }],
    ['INVALID_PRICE_RANGE', { minPrice: 5000, maxPrice: 4000 }],
    ['UNKNOWN_AMENITY', { amenities: ['wifi', 'jacuzzi'] }],
  ] as Array<[string, Partial<SavedSearchCriteria>]>)('refuses %s (%o)', (code, overrides) => {
    spec.given([]).when(create(overrides)).thenThrows(code, 'validation');
  });

  it('accepts a stay from today and one of exactly 60 nights', () => {
    spec
      .given([])
      .when(create({ checkIn: day(0), checkOut: day(60) }))
      .then([created({ checkIn: day(0), checkOut: day(60) })]);
  });

  it('refuses control characters and overlong names, keeps Unicode (NFC)', () => {
    spec
      .given([])
      .when(create({}, { name: 'a\u0000b' }))
      .thenThrows('INVALID_NAME', 'validation');
    spec
      .given([])
      .when(create({}, { name: 'x'.repeat(101) }))
      .thenThrows('INVALID_NAME', 'validation');
    spec
      .given([])
      .when(create({}, { name: 'Cafe\u0301 🎓' }))
      .then([created({}, 'Café 🎓')]);
  });

  it(`allows at most ${MAX_ACTIVE_SAVED_SEARCHES} active searches`, () => {
    spec
      .given([])
      .when(create({}, { activeSearches: MAX_ACTIVE_SAVED_SEARCHES }))
      .thenThrows('SAVED_SEARCH_LIMIT', 'illegal_state');
    spec
      .given([])
      .when(create({}, { activeSearches: MAX_ACTIVE_SAVED_SEARCHES - 1 }))
      .then([created()]);
  });
});

describe('DeleteSavedSearch', () => {
  const remove = (actorId = tenantId): SavedSearchCommand => ({
    type: 'DeleteSavedSearch',
    data: { searchId },
    context: { ...tenant, actorId },
  });

  it('deletes the tenant’s own search', () => {
    spec.given([created()]).when(remove()).then([deleted]);
  });

  it('answers another tenant’s search, or none, as not found', () => {
    spec.given([created()]).when(remove(randomUUID())).thenThrows('SAVED_SEARCH_NOT_FOUND', 'not_found');
    spec.given([]).when(remove()).thenThrows('SAVED_SEARCH_NOT_FOUND', 'not_found');
  });

  it('changes nothing the second time', () => {
    spec.given([created(), deleted]).when(remove()).thenNothing();
  });
});

describe('RecordSavedSearchMatch', () => {
  it('records a room’s first match for the tenant', () => {
    spec.given([created()]).when(match()).then([matched()]);
  });

  it('records each room once', () => {
    spec.given([created(), matched()]).when(match()).thenNothing();
    const other = randomUUID();
    spec
      .given([created(), matched()])
      .when(match(other))
      .then([matched(other)]);
  });

  it('records nothing once the search is deleted', () => {
    spec.given([created(), deleted]).when(match()).thenNothing();
  });

  it('is the matcher’s alone, and needs the search', () => {
    spec.given([created()]).when(match(roomId, tenant)).thenThrows('SYSTEM_ONLY', 'forbidden');
    spec.given([]).when(match()).thenThrows('SAVED_SEARCH_NOT_FOUND', 'not_found');
  });

  it('remembers the matched rooms in its state', () => {
    const state = [created(), matched()].reduce(savedSearchDecider.evolve, savedSearchDecider.initialState);
    expect([...state.matchedRoomIds]).toEqual([roomId]);
  });
});
