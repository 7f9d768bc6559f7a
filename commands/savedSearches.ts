import type { EntityManager } from '@mikro-orm/postgresql';
import {
  blockedOf,
  type CalendarEvent,
  type CalendarState,
  calendarDecider,
  calendarStreamId,
  isBlocked,
} from '../domain/bookings/calendar.js';
import { type RoomState, roomDecider } from '../domain/rooms/decider.js';
import { roomStreamId } from '../domain/rooms/events.js';
import type { SavedSearchCommand } from '../domain/savedSearches/commands.js';
import { type SavedSearchState, savedSearchDecider } from '../domain/savedSearches/decider.js';
import {
  type MatchReason,
  type SavedSearchCriteria,
  type SavedSearchEvent,
  savedSearchStreamId,
} from '../domain/savedSearches/events.js';
import { roomMatches, stayHasStarted, wantsAnyOf } from '../domain/savedSearches/matching.js';
import type { CommandContext } from '../domain/shared/decider.js';
import { dateOfDay, dayNumber, type GeoPoint } from '../domain/shared/values.js';
import type { Clock } from '../infra/clock/clock.js';
import type { EventStore, RecordedEvent } from '../infra/eventStore/eventStore.js';
import { type PgProjection, TransientProjectionError } from '../projections/projection.js';
import { type CommandEnvelope, type CommandResult, envelopeCausedBy, handleCommand } from './handleCommand.js';
import { foldHistory, readHistory } from './loadState.js';

export interface SavedSearchDeps {
  store: EventStore;
  maxRetries?: number;
}

type SavedSearchResult = CommandResult<SavedSearchState, SavedSearchEvent>;

export function runSavedSearchCommand(
  deps: SavedSearchDeps,
  command: SavedSearchCommand,
  envelope: CommandEnvelope,
): Promise<SavedSearchResult> {
  return handleCommand(deps.store, savedSearchStreamId(command.data.searchId), savedSearchDecider, command, envelope, {
    maxRetries: deps.maxRetries ?? 5,
  });
}

/**
 * Saves a tenant's search. The caller gives the circle's centre: for an exam venue, the venue's location as the
 * universities read model has it now (a venue moved later does not move the search), and the tenant's count of
 * active searches from the saved-searches read model (the cap is checked against it).
 */
export function createSavedSearch(
  deps: SavedSearchDeps,
  input: { searchId: string; criteria: SavedSearchCriteria; name: string | null; activeSearches: number },
  context: CommandContext,
  envelope: CommandEnvelope,
): Promise<SavedSearchResult> {
  return runSavedSearchCommand(deps, { type: 'CreateSavedSearch', data: input, context }, envelope);
}

/** Deletes the tenant's own search (another's, or none: SAVED_SEARCH_NOT_FOUND); a second delete changes nothing. */
export function deleteSavedSearch(
  deps: SavedSearchDeps,
  searchId: string,
  context: CommandContext,
  envelope: CommandEnvelope,
): Promise<SavedSearchResult> {
  return runSavedSearchCommand(deps, { type: 'DeleteSavedSearch', data: { searchId }, context }, envelope);
}

/** The saved searches the matcher asks about (the saved-searches read model's query module). */
export interface SavedSearchCandidates {
  candidatesCovering(
    point: GeoPoint,
    beforePosition: bigint,
  ): Promise<Array<{ id: string; criteria: SavedSearchCriteria }>>;
  caughtUp(position: bigint, timeoutMs: number): Promise<boolean>;
}

export interface SavedSearchMatcherDeps {
  store: EventStore;
  /** The time a match is recorded at, and the day after which a stay that has begun no longer matches. */
  clock: Clock;
  searches: SavedSearchCandidates;
  /** How long to wait for the saved-searches read model before retrying the batch (default 2000 ms). */
  readModelWaitMs?: number;
}

export const savedSearchMatcherName = 'saved-search-matcher';

/** The events of a stream up to `position` (inclusive): the stream as it stood when the cause was written. */
const upTo = (history: readonly RecordedEvent[], position: bigint) => history.filter((e) => e.position <= position);

/** The nights blocked before a `BlockedDatesSet` and not after it. */
function unblockedNights(before: CalendarState, after: CalendarState, legacy: RoomState['blocked']): string[] {
  const afterBlocked = blockedOf(after, legacy);
  const freed: string[] = [];
  for (const range of blockedOf(before, legacy)) {
    for (let day = dayNumber(range.from); day < dayNumber(range.to); day++) {
      const night = dateOfDay(day);
      if (!isBlocked(night, afterBlocked)) freed.push(night);
    }
  }
  return freed;
}

/**
 * The saved-search matcher, a process manager run by the projection runner: when a room is published
 * (`RoomPublished`) or nights of it are freed (`NightsReleased`, a `BlockedDatesSet` that unblocks nights), every
 * saved search whose circle covers the room and that the room now matches records `SavedSearchMatched`, once per
 * room (the decider remembers the rooms). A freed night concerns only searches whose dates hold it.
 *
 * Replays append nothing new. The room and its calendar are folded as they stood at the cause's position, matched at
 * the cause's time, against the searches saved before it: the same answer however late or often the event is
 * applied. The one thing read from today is suppressive only: a stay that has begun by the clock is not announced.
 * The read model of searches must have applied the cause first, or a search saved just before it would be missed:
 * until it has, the batch is retried (a transient error, never parked).
 */
export function savedSearchMatcher(deps: SavedSearchMatcherDeps): PgProjection {
  const { store, clock, searches } = deps;

  async function record(cause: RecordedEvent, searchId: string, roomId: string, reason: MatchReason): Promise<void> {
    const envelope = envelopeCausedBy(cause, `${savedSearchMatcherName}|${cause.eventId}|${searchId}`, clock.now());
    const now = envelope.now;
    await runSavedSearchCommand(
      { store },
      {
        type: 'RecordSavedSearchMatch',
        data: { searchId, roomId, reason, sourceEventId: cause.eventId },
        context: { actorId: 'system', actorRole: 'system', now },
      },
      envelope,
    );
  }

  async function consider(cause: RecordedEvent): Promise<void> {
    const published = cause.type === 'RoomPublished';
    const roomId = published ? cause.streamId.slice('Room-'.length) : cause.streamId.slice(calendarStreamId('').length);
    const room = foldHistory(upTo(await readHistory(store, roomStreamId(roomId)), cause.position), roomDecider).state;
    if (room.status !== 'published' || !room.location) return;
    const candidates = await searches.candidatesCovering(room.location, cause.position);
    if (candidates.length === 0) return;
    const history = upTo(await readHistory(store, calendarStreamId(roomId)), cause.position);
    const calendar = foldHistory(history, calendarDecider).state;
    let freed: string[] | null = null;
    if (cause.type === 'NightsReleased') {
      freed = (cause.data as { nights: string[] }).nights;
    } else if (cause.type === 'BlockedDatesSet') {
      const before = foldHistory<CalendarEvent, CalendarState>(
        history.filter((e) => e.position < cause.position),
        calendarDecider,
      ).state;
      freed = unblockedNights(before, calendar, room.blocked);
    }
    if (freed !== null && freed.length === 0) return;
    const at = cause.metadata.occurredAt;
    const today = clock.now().toISOString();
    for (const { id, criteria } of candidates) {
      if (freed !== null && !wantsAnyOf(criteria, freed)) continue;
      if (stayHasStarted(criteria, today)) continue;
      if (!roomMatches(criteria, room, calendar, at)) continue;
      await record(cause, id, roomId, published ? 'published' : 'freed');
    }
  }

  return {
    name: savedSearchMatcherName,
    version: 1,
    filter: {
      eventTypes: ['RoomPublished', 'NightsReleased', 'BlockedDatesSet'],
      streamPrefixes: ['Room-', calendarStreamId('')],
    },

    async apply(_em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
      const last = events.at(-1);
      if (!last) return;
      if (!(await searches.caughtUp(last.position, deps.readModelWaitMs ?? 2000))) {
        throw new TransientProjectionError(`the saved searches read model has not reached ${last.position} yet`);
      }
      for (const cause of events) await consider(cause);
    },

    // Its state is in the SavedSearch streams (the rooms each search matched): nothing to forget on a rebuild.
    async reset(): Promise<void> {},
  };
}
