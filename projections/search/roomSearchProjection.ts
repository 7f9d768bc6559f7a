import type { EntityManager } from '@mikro-orm/postgresql';
import {
  blockedOf,
  type CalendarEvent,
  CalendarEventTypes,
  calendarDecider,
  restoredCalendarState,
  type StoredCalendarState,
  storedCalendarState,
} from '../../domain/bookings/calendar.js';
import { REVIEW_STREAM_PREFIX, type ReviewHidden, type ReviewPublished } from '../../domain/reviews/events.js';
import { type RoomEvent, RoomEventTypes } from '../../domain/rooms/events.js';
import { cellOf } from '../../domain/search/cells.js';
import { type DateRange, dateOfDay, dayNumber, normalizeRanges } from '../../domain/shared/values.js';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import type { RoomSearchDocument, RoomSearchWriter } from '../../infra/search/roomSearchIndex.js';
import type { PgProjection } from '../projection.js';
import { reviewRatingDelta } from '../rooms/roomsProjection.js';
import { photoPath } from '../rooms/roomView.js';

/** SQL on the runner's open transaction, with `$n` parameters (the composition root gives it). */
export type TransactionSql = (text: string, values?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;

/** What the projection remembers of a room between batches (table `search_room_state`). */
export interface RoomSearchState {
  document?: RoomSearchDocument;
  photos: Array<{ id: string; thumbnailKey: string }>;
  /** The room's calendar, folded by the calendar decider's own `evolve` (stored as JSON). */
  calendar: StoredCalendarState;
  /** The room stream's last `RoomBlockedDatesSet` (blocks from before they moved to the calendar). */
  roomBlocked: DateRange[];
  /**
   * The room stream's revision + 1 last applied (absent: `document.version`, before reviews changed documents).
   * The document's version adds `reviewChanges`, so a review's change to the rating reaches the index.
   */
  roomVersion?: number;
  reviewChanges?: number;
}

const emptyState = (): RoomSearchState => ({
  photos: [],
  calendar: storedCalendarState(calendarDecider.initialState),
  roomBlocked: [],
});

/**
 * The blocked ranges and the held nights, merged: as many ranges as there are gaps, however many nights. A hold
 * that expired stays unavailable here until its release is recorded (`releaseExpiredHolds`, run by the sweep).
 */
function unavailableRanges(state: RoomSearchState): DateRange[] {
  const held = Object.keys(state.calendar.held).map((night) => ({ from: night, to: dateOfDay(dayNumber(night) + 1) }));
  return normalizeRanges([...blockedOf(restoredCalendarState(state.calendar), state.roomBlocked), ...held]);
}

/** The earliest expiry of the room's unconfirmed holds (null: none): the sweep's index (`expiredHolds.ts`). */
function nextHoldExpiry(state: RoomSearchState): string | null {
  let next: string | null = null;
  for (const hold of Object.values(state.calendar.held)) {
    if (hold.expiresAt !== null && (next === null || Date.parse(hold.expiresAt) < Date.parse(next)))
      next = hold.expiresAt;
  }
  return next;
}

/**
 * Feeds the room search index from the Room and RoomCalendar streams: the room's document (only published
 * rooms are found) and its unavailable nights (held or booked on the calendar, or blocked by the landlord).
 * Its own state per room lives in PostgreSQL in the runner's transaction, whichever index it writes, so a
 * batch is applied exactly once; writes to the index are idempotent (by room version, and whole sets of ranges).
 */
export function roomSearchProjection(
  writerFor: (em: EntityManager) => RoomSearchWriter,
  sqlFor: (em: EntityManager) => TransactionSql,
  /** The writer's tables when they are in PostgreSQL: then the projection rebuilds blue/green (PgProjection). */
  writerTables?: readonly string[],
): PgProjection {
  return {
    name: 'room-search',
    ...(writerTables ? { tables: ['search_room_state', 'search_cell_versions', ...writerTables] } : {}),
    // 2: the index holds each room's words and its unavailable nights as ranges (migration 0009).
    // 3: blocks from the calendar stream; the state keeps the calendar decider's state (holds with their expiry).
    version: 3,
    filter: {
      eventTypes: [...RoomEventTypes, ...CalendarEventTypes, 'ReviewPublished', 'ReviewHidden'],
      streamPrefixes: ['Room-', 'RoomCalendar-', REVIEW_STREAM_PREFIX],
    },

    async apply(em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
      const roomIdOf = (e: RecordedEvent) =>
        e.streamId.startsWith(REVIEW_STREAM_PREFIX)
          ? (e.data as { roomId: string }).roomId
          : e.streamId.slice(e.streamId.indexOf('-') + 1);
      const ids = [...new Set(events.map(roomIdOf))];
      const sql = sqlFor(em);
      const { rows } = (await sql('SELECT room_id, state FROM search_room_state WHERE room_id = ANY($1::uuid[])', [
        ids,
      ])) as { rows: Array<{ room_id: string; state: RoomSearchState }> };
      const states = new Map(rows.map((row) => [row.room_id, row.state]));
      const documentsChanged = new Set<string>();
      const nightsChanged = new Set<string>();
      /** Cells whose rooms changed (the old and the new one when a room moves): their cached searches go. */
      const cellsChanged = new Set<string>();
      const touch = (state: RoomSearchState) => {
        if (state.document) cellsChanged.add(cellOf(state.document.location));
      };

      for (const recorded of events) {
        const roomId = roomIdOf(recorded);
        const state = states.get(roomId) ?? emptyState();
        states.set(roomId, state);
        if (recorded.streamId.startsWith('RoomCalendar-')) {
          const event = { type: recorded.type, data: recorded.data } as CalendarEvent;
          state.calendar = storedCalendarState(calendarDecider.evolve(restoredCalendarState(state.calendar), event));
          nightsChanged.add(roomId);
          touch(state);
          continue;
        }
        if (recorded.streamId.startsWith(REVIEW_STREAM_PREFIX)) {
          // Applied once: the runner commits this state with its checkpoint.
          const delta = reviewRatingDelta({ type: recorded.type, data: recorded.data } as
            | ReviewPublished
            | ReviewHidden);
          if (!state.document || delta.count === 0) continue;
          state.roomVersion ??= state.document.version;
          state.reviewChanges = (state.reviewChanges ?? 0) + 1;
          state.document.reviewCount = Math.max(0, state.document.reviewCount + delta.count);
          state.document.ratingSum += delta.sum;
          state.document.version = state.roomVersion + state.reviewChanges;
          documentsChanged.add(roomId);
          touch(state);
          continue;
        }
        const event = { type: recorded.type, data: recorded.data } as RoomEvent;
        const version = Number(recorded.revision) + 1;
        touch(state);
        if (state.document && (state.roomVersion ?? state.document.version) >= version) continue;
        switch (event.type) {
          case 'RoomCreated': {
            const { landlordId, title, description, address, location, pricePerNight, currency } = event.data;
            state.document = {
              roomId,
              landlordId,
              title,
              description,
              address,
              location,
              pricePerNight,
              currency,
              maxOccupants: event.data.maxOccupants,
              amenities: [...event.data.amenities],
              published: false,
              reviewCount: 0,
              ratingSum: 0,
              photoUrl: null,
              version,
            };
            break;
          }
          case 'RoomUpdated':
            if (state.document) {
              const { cancellationPolicy: _policy, ...changes } = event.data.changes;
              state.document = {
                ...state.document,
                ...changes,
                amenities: [...(changes.amenities ?? state.document.amenities)],
              };
            }
            break;
          case 'RoomPublished':
          case 'RoomUnpublished':
            if (state.document) state.document.published = event.type === 'RoomPublished';
            break;
          case 'RoomBlockedDatesSet':
            state.roomBlocked = event.data.blocked;
            nightsChanged.add(roomId);
            break;
          case 'RoomPhotosAdded':
            state.photos.push(...event.data.photos.map((p) => ({ id: p.id, thumbnailKey: p.thumbnailKey })));
            break;
          case 'RoomPhotoRemoved':
            state.photos = state.photos.filter((p) => p.id !== event.data.photoId);
            break;
          default: {
            const unhandled: never = event;
            throw new Error(`room search projection: unknown event ${(unhandled as { type: string }).type}`);
          }
        }
        if (state.document) {
          const first = state.photos[0];
          state.document.photoUrl = first ? photoPath(first.thumbnailKey) : null;
          state.roomVersion = version;
          state.document.version = version + (state.reviewChanges ?? 0);
          documentsChanged.add(roomId);
          touch(state);
        }
      }

      await sql(
        `INSERT INTO search_room_state (room_id, state, next_hold_expiry)
         SELECT * FROM unnest($1::uuid[], $2::jsonb[], $3::timestamptz[])
         ON CONFLICT (room_id) DO UPDATE SET state = excluded.state, next_hold_expiry = excluded.next_hold_expiry`,
        [
          [...states.keys()],
          [...states.values()].map((s) => JSON.stringify(s)),
          [...states.values()].map(nextHoldExpiry),
        ],
      );
      const writer = writerFor(em);
      await writer.upsertRooms([...documentsChanged].map((id) => states.get(id)!.document!));
      for (const roomId of nightsChanged)
        await writer.setUnavailableRanges(roomId, unavailableRanges(states.get(roomId)!));
      const last = events[events.length - 1];
      if (last && cellsChanged.size > 0) {
        await sql(
          `INSERT INTO search_cell_versions (cell, version) SELECT unnest($1::text[]), $2
           ON CONFLICT (cell) DO UPDATE SET version = excluded.version`,
          [[...cellsChanged], last.position.toString()],
        );
      }
    },

    async reset(em: EntityManager): Promise<void> {
      await em.execute('TRUNCATE search_room_state');
      await writerFor(em).clear();
    },
  };
}
