import type { EntityManager } from '@mikro-orm/postgresql';
import { type RoomEvent, RoomEventTypes } from '../../domain/rooms/events.js';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import type { PgProjection } from '../projection.js';
import { photoPath, RoomView } from './roomView.js';

function roomIdOf(event: RecordedEvent): string {
  return event.streamId.slice('Room-'.length);
}

/** Builds the PostGIS `rooms` table from the Room streams. */
export const roomsProjection: PgProjection = {
  name: 'rooms',
  version: 1,
  filter: { eventTypes: RoomEventTypes, streamPrefixes: ['Room-'] },

  async apply(em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
    for (const recorded of events) {
      const event = { type: recorded.type, data: recorded.data } as RoomEvent;
      const at = new Date(recorded.metadata.occurredAt);
      if (event.type === 'RoomCreated') {
        const { roomId: _roomId, createdAt: _createdAt, ...details } = event.data;
        const existing = await em.findOne(RoomView, { id: roomIdOf(recorded) });
        if (existing) continue;
        em.create(RoomView, {
          ...details,
          id: roomIdOf(recorded),
          status: 'draft',
          blocked: [],
          rating: null,
          reviewCount: 0,
          photos: [],
          createdAt: at,
          updatedAt: at,
          publishedAt: null,
          revision: recorded.revision,
          lastPosition: recorded.position,
        });
        continue;
      }
      const room = await em.findOne(RoomView, { id: roomIdOf(recorded) });
      // Idempotent by stream revision: an event already reflected changes nothing.
      if (!room || room.revision >= recorded.revision) continue;
      switch (event.type) {
        case 'RoomUpdated':
          Object.assign(room, event.data.changes);
          break;
        case 'RoomPublished':
          room.status = 'published';
          room.publishedAt = new Date(event.data.publishedAt);
          break;
        case 'RoomUnpublished':
          room.status = 'unpublished';
          break;
        case 'RoomBlockedDatesSet':
          room.blocked = event.data.blocked;
          break;
        case 'RoomPhotosAdded':
          room.photos = [
            ...room.photos,
            ...event.data.photos.map((photo) => ({
              id: photo.id,
              url: photoPath(photo.key),
              thumbnailUrl: photoPath(photo.thumbnailKey),
            })),
          ];
          break;
        case 'RoomPhotoRemoved':
          room.photos = room.photos.filter((photo) => photo.id !== event.data.photoId);
          break;
        default: {
          const unhandled: never = event;
          throw new Error(`rooms projection: unknown event ${(unhandled as { type: string }).type}`);
        }
      }
      room.updatedAt = at;
      room.revision = recorded.revision;
      room.lastPosition = recorded.position;
    }
  },

  async reset(em: EntityManager): Promise<void> {
    await em.execute('DELETE FROM rooms');
  },
};
