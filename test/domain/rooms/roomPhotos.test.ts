import { createHash, randomUUID } from 'node:crypto';
import { describe, it } from 'vitest';
import type { AddRoomPhotos, RemoveRoomPhoto } from '../../../domain/rooms/commands.js';
import { roomDecider } from '../../../domain/rooms/decider.js';
import type { RoomPhoto, RoomPhotosAdded } from '../../../domain/rooms/events.js';
import type { CommandContext } from '../../../domain/shared/decider.js';
import { landlordContext, NOW, roomCreated, roomPublished } from '../../support/builders/rooms.js';
import { deciderSpec } from '../../support/deciderSpec.js';

const spec = deciderSpec(roomDecider);
const roomId = randomUUID();
const landlordId = randomUUID();
const owner = landlordContext(landlordId);
const created = roomCreated(roomId, landlordId);

let counter = 0;
function photo(overrides: Partial<RoomPhoto> = {}): RoomPhoto {
  counter++;
  const hash = (s: string) => createHash('sha256').update(s).digest('hex');
  return {
    id: randomUUID(),
    key: hash(`photo ${counter}`),
    thumbnailKey: hash(`thumbnail ${counter}`),
    contentType: 'image/jpeg',
    width: 1600,
    height: 1200,
    bytes: 245_000,
    ...overrides,
  };
}

const add = (photos: RoomPhoto[], context: CommandContext = owner): AddRoomPhotos => ({
  type: 'AddRoomPhotos',
  data: { roomId, photos },
  context,
});
const remove = (photoId: string, context: CommandContext = owner): RemoveRoomPhoto => ({
  type: 'RemoveRoomPhoto',
  data: { roomId, photoId },
  context,
});
const added = (photos: RoomPhoto[]): RoomPhotosAdded => ({
  type: 'RoomPhotosAdded',
  data: { roomId, photos, addedAt: NOW },
});

describe('AddRoomPhotos', () => {
  it('adds the photos of the room, in order, draft or published', () => {
    const photos = [photo(), photo({ contentType: 'image/png' })];
    spec
      .given([created])
      .when(add(photos))
      .then([added(photos)]);
    spec
      .given([created, roomPublished(roomId)])
      .when(add(photos))
      .then([added(photos)]);
  });

  it('lets an admin add photos', () => {
    const photos = [photo()];
    spec
      .given([created])
      .when(add(photos, { actorId: randomUUID(), actorRole: 'admin', now: NOW }))
      .then([added(photos)]);
  });

  it('adds only the images the room does not show yet, once each', () => {
    const first = photo();
    const fresh = photo();
    spec
      .given([created, added([first])])
      .when(add([{ ...first, id: randomUUID() }, fresh, { ...fresh, id: randomUUID() }]))
      .then([added([fresh])]);
  });

  it('does nothing when every image is already shown', () => {
    const first = photo();
    spec
      .given([created, added([first])])
      .when(add([{ ...first, id: randomUUID() }]))
      .thenNothing();
    spec.given([created]).when(add([])).thenNothing();
  });

  it('refuses more than 30 photos on a room', () => {
    const thirty = Array.from({ length: 30 }, () => photo());
    spec
      .given([created])
      .when(add(thirty))
      .then([added(thirty)]);
    spec
      .given([created, added(thirty.slice(0, 25))])
      .when(add(Array.from({ length: 6 }, () => photo())))
      .thenThrows('TOO_MANY_PHOTOS', 'validation');
    spec
      .given([created, added(thirty)])
      .when(add([photo()]))
      .thenThrows('TOO_MANY_PHOTOS', 'validation');
  });

  it('refuses another landlord and a tenant', () => {
    spec
      .given([created])
      .when(add([photo()], landlordContext(randomUUID())))
      .thenThrows('NOT_ROOM_OWNER', 'forbidden');
    spec
      .given([created])
      .when(add([photo()], { actorId: landlordId, actorRole: 'tenant', now: NOW }))
      .thenThrows('NOT_ROOM_OWNER', 'forbidden');
  });

  it('refuses a room that does not exist', () => {
    spec
      .given([])
      .when(add([photo()]))
      .thenThrows('ROOM_NOT_FOUND', 'not_found');
  });
});

describe('RemoveRoomPhoto', () => {
  const kept = photo();
  const gone = photo();

  it('removes the photo', () => {
    spec
      .given([created, added([kept, gone])])
      .when(remove(gone.id))
      .then([{ type: 'RoomPhotoRemoved', data: { roomId, photoId: gone.id, removedAt: NOW } }]);
  });

  it('does nothing for a photo the room does not show (already removed or never there)', () => {
    spec
      .given([
        created,
        added([kept, gone]),
        { type: 'RoomPhotoRemoved', data: { roomId, photoId: gone.id, removedAt: NOW } },
      ])
      .when(remove(gone.id))
      .thenNothing();
    spec
      .given([created, added([kept])])
      .when(remove(randomUUID()))
      .thenNothing();
  });

  it('frees a place under the limit, and lets the same image be added again', () => {
    const thirty = [gone, ...Array.from({ length: 29 }, () => photo())];
    const again = { ...gone, id: randomUUID() };
    spec
      .given([created, added(thirty), { type: 'RoomPhotoRemoved', data: { roomId, photoId: gone.id, removedAt: NOW } }])
      .when(add([again]))
      .then([added([again])]);
  });

  it('refuses another landlord and a missing room', () => {
    spec
      .given([created, added([kept])])
      .when(remove(kept.id, landlordContext(randomUUID())))
      .thenThrows('NOT_ROOM_OWNER', 'forbidden');
    spec.given([]).when(remove(kept.id)).thenThrows('ROOM_NOT_FOUND', 'not_found');
  });
});
