import type { EntityManager } from '@mikro-orm/postgresql';
import type { MessagePhotoUploaded } from '../../domain/messaging/events.js';
import type { RoomPhotoRemoved, RoomPhotosAdded } from '../../domain/rooms/events.js';
import type { RecordedEvent } from '../../infra/eventStore/eventStore.js';
import type { PgProjection } from '../projection.js';

export const fileReferencesProjectionName = 'file-references';

const ownerOf = (roomId: string, photoId: string) => `room:${roomId}/photo:${photoId}`;

/**
 * The stored files events refer to (`file_references`): a room photo and its thumbnail from the event that adds it
 * until the event that removes it; a message photo and its thumbnail from its upload on (messages are not edited). The photo purge (workers/maintenance.ts) keeps every file listed.
 *
 * Never emptied: a rebuild (a version bump) replays over the table as it is. An add already there is skipped and
 * a removal deletes what it deletes anyway, so a replay passes through states with more references, never fewer,
 * and ends where it began. That is what lets the purge run while the rooms read model rebuilds from nothing.
 */
export const fileReferencesProjection: PgProjection = {
  name: fileReferencesProjectionName,
  // 2: message photos (MessagePhoto- streams) are referenced too.
  version: 2,
  filter: {
    eventTypes: ['RoomPhotosAdded', 'RoomPhotoRemoved', 'MessagePhotoUploaded'],
    streamPrefixes: ['Room-', 'MessagePhoto-'],
  },

  async apply(em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
    for (const recorded of events) {
      const event = { type: recorded.type, data: recorded.data } as
        | RoomPhotosAdded
        | RoomPhotoRemoved
        | MessagePhotoUploaded;
      if (event.type === 'MessagePhotoUploaded') {
        const owner = `message-photo:${event.data.photoId}`;
        await em.execute('INSERT INTO file_references (owner, key) VALUES (?, ?), (?, ?) ON CONFLICT DO NOTHING', [
          owner,
          event.data.key,
          owner,
          event.data.thumbnailKey,
        ]);
      } else if (event.type === 'RoomPhotosAdded') {
        for (const photo of event.data.photos) {
          const owner = ownerOf(event.data.roomId, photo.id);
          await em.execute('INSERT INTO file_references (owner, key) VALUES (?, ?), (?, ?) ON CONFLICT DO NOTHING', [
            owner,
            photo.key,
            owner,
            photo.thumbnailKey,
          ]);
        }
      } else if (event.type === 'RoomPhotoRemoved') {
        await em.execute('DELETE FROM file_references WHERE owner = ?', [
          ownerOf(event.data.roomId, event.data.photoId),
        ]);
      }
    }
  },

  // Never emptied: see above. A rebuild that forgot references would let the purge delete files still shown.
  async reset(): Promise<void> {},
};
