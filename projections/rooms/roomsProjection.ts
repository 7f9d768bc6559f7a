import { type BlockedDatesSet, calendarStreamId } from '../../domain/bookings/calendar.js';
import {
  REVIEW_STREAM_PREFIX,
  type ReviewHidden,
  type ReviewPublished,
  reviewStreamId,
} from '../../domain/reviews/events.js';
import { type RoomEvent, RoomEventTypes } from '../../domain/rooms/events.js';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import { singleStreamRows } from '../singleStreamRows.js';
import { photoPath, RoomView } from './roomView.js';

const calendarPrefix = calendarStreamId('');

/** How a review event moves the room's ratings: the tenant's reviews count once published, until hidden. */
export function reviewRatingDelta(event: ReviewPublished | ReviewHidden): {
  roomId: string;
  count: number;
  sum: number;
} {
  if (event.type === 'ReviewPublished') {
    const { side, hidden, rating, roomId } = event.data;
    return side === 'tenant' && !hidden ? { roomId, count: 1, sum: rating } : { roomId, count: 0, sum: 0 };
  }
  const { side, wasPublished, rating, roomId } = event.data;
  return side === 'tenant' && wasPublished ? { roomId, count: -1, sum: -rating } : { roomId, count: 0, sum: 0 };
}

/** A room's rating and review count after a review event; one at or below the room's last position is in. */
function applyReviewToRating(room: RoomView, type: 'ReviewPublished' | 'ReviewHidden', recorded: RecordedEvent): void {
  const delta = reviewRatingDelta({ type, data: recorded.data } as ReviewPublished | ReviewHidden);
  if (delta.count === 0 || room.lastPosition >= recorded.position) return;
  const sum = Math.round((room.rating ?? 0) * room.reviewCount) + delta.sum;
  const count = Math.max(0, room.reviewCount + delta.count);
  room.reviewCount = count;
  room.rating = count > 0 ? sum / count : null;
  room.lastPosition = recorded.position;
}

/**
 * Builds the PostGIS `rooms` table from the Room streams, and the blocked dates from the room's calendar stream
 * (`BlockedDatesSet`; a room's legacy `RoomBlockedDatesSet` stands until the calendar has one).
 */
export const roomsProjection = singleStreamRows<RoomEvent, RoomView>({
  name: 'rooms',
  version: 1,
  streamPrefix: 'Room-',
  eventTypes: RoomEventTypes,
  entity: RoomView,
  key: 'id',
  table: 'rooms',
  // A room's rating comes from the reviews of its bookings: their streams are found through the bookings model.
  async relatedStreams(em, id) {
    const bookings = await em.execute<Array<{ id: string }>>('SELECT id FROM bookings WHERE room_id = ?', [id]);
    return [calendarStreamId(id), ...bookings.map((booking) => reviewStreamId(booking.id))];
  },
  evolve: (room, event, { id, at }) => {
    if (event.type === 'RoomCreated') {
      if (room) return null;
      const { roomId: _roomId, createdAt: _createdAt, ...details } = event.data;
      return {
        ...details,
        id,
        status: 'draft',
        blocked: [],
        rating: null,
        reviewCount: 0,
        photos: [],
        createdAt: at,
        updatedAt: at,
        publishedAt: null,
      };
    }
    if (!room) return null;
    switch (event.type) {
      case 'RoomUpdated':
        return { ...room, ...event.data.changes, updatedAt: at };
      case 'RoomPublished':
        return { ...room, status: 'published', publishedAt: new Date(event.data.publishedAt), updatedAt: at };
      case 'RoomUnpublished':
        return { ...room, status: 'unpublished', updatedAt: at };
      case 'RoomBlockedDatesSet':
        return { ...room, blocked: event.data.blocked, updatedAt: at };
      case 'RoomPhotosAdded':
        return {
          ...room,
          photos: [
            ...room.photos,
            ...event.data.photos.map((photo) => ({
              id: photo.id,
              url: photoPath(photo.key),
              thumbnailUrl: photoPath(photo.thumbnailKey),
            })),
          ],
          updatedAt: at,
        };
      case 'RoomPhotoRemoved':
        return { ...room, photos: room.photos.filter((photo) => photo.id !== event.data.photoId), updatedAt: at };
      default: {
        const unhandled: never = event;
        throw new Error(`rooms projection: unknown event ${(unhandled as { type: string }).type}`);
      }
    }
  },
  also: {
    eventTypes: ['BlockedDatesSet', 'ReviewPublished', 'ReviewHidden'],
    streamPrefixes: [calendarPrefix, REVIEW_STREAM_PREFIX],
    rowOf(recorded) {
      if (recorded.type === 'ReviewPublished' || recorded.type === 'ReviewHidden') {
        const delta = reviewRatingDelta({ type: recorded.type, data: recorded.data } as ReviewPublished | ReviewHidden);
        return delta.count === 0 ? null : delta.roomId;
      }
      return recorded.type === 'BlockedDatesSet' ? recorded.streamId.slice(calendarPrefix.length) : null;
    },
    evolveRow(room, recorded) {
      if (recorded.type === 'ReviewPublished' || recorded.type === 'ReviewHidden') {
        applyReviewToRating(room, recorded.type, recorded);
        return;
      }
      // The whole list each time: applying it again changes nothing. The room's revision (its ETag) stays.
      if (room.lastPosition >= recorded.position) return;
      room.blocked = (recorded.data as BlockedDatesSet['data']).blocked;
      room.updatedAt = new Date(recorded.metadata.occurredAt);
      room.lastPosition = recorded.position;
    },
  },
});
