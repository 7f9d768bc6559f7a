import { randomUUID } from 'node:crypto';
import { describe, it } from 'vitest';
import { roomDecider } from '../../../domain/rooms/decider.js';
import {
  createRoomCommand,
  landlordContext,
  NOW,
  roomCreated,
  roomDetails,
  roomPublished,
} from '../../support/builders/rooms.js';
import { deciderSpec } from '../../support/deciderSpec.js';

const spec = deciderSpec(roomDecider);
const roomId = randomUUID();
const landlordId = randomUUID();
const owner = landlordContext(landlordId);
const stranger = landlordContext(randomUUID());
const admin = { actorId: randomUUID(), actorRole: 'admin' as const, now: NOW };

describe('CreateRoom', () => {
  it('creates a draft owned by the acting landlord', () => {
    spec
      .given([])
      .when(createRoomCommand(roomId, owner))
      .then([roomCreated(roomId, landlordId)]);
  });

  it('defaults the cancellation policy to moderate and sorts amenities without duplicates', () => {
    const command = createRoomCommand(roomId, owner, { amenities: ['wifi', 'desk', 'wifi'] });
    delete (command.data as { cancellationPolicy?: unknown }).cancellationPolicy;
    spec
      .given([])
      .when(command)
      .then([roomCreated(roomId, landlordId, { amenities: ['desk', 'wifi'], cancellationPolicy: 'moderate' })]);
  });

  it('refuses a room that exists', () => {
    spec
      .given([roomCreated(roomId, landlordId)])
      .when(createRoomCommand(roomId, owner))
      .thenThrows('ROOM_EXISTS', 'conflict');
  });

  it('refuses a tenant', () => {
    spec
      .given([])
      .when(createRoomCommand(roomId, { ...owner, actorRole: 'tenant' }))
      .thenThrows('NOT_A_LANDLORD', 'forbidden');
  });

  it.each([
    [{ pricePerNight: 0 }, 'INVALID_AMOUNT'],
    [{ pricePerNight: 45.5 }, 'INVALID_AMOUNT'],
    [{ currency: 'euro' }, 'INVALID_CURRENCY'],
    [{ location: { lat: 91, lng: 0 } }, 'INVALID_LOCATION'],
    [{ location: { lat: 0, lng: -181 } }, 'INVALID_LOCATION'],
    [{ title: 'ab' }, 'INVALID_FIELD'],
    [{ maxOccupants: 0 }, 'INVALID_FIELD'],
    [{ amenities: ['desk', 'jacuzzi'] as never }, 'UNKNOWN_AMENITY'],
  ])('rejects invalid details %j', (overrides, code) => {
    spec
      .given([])
      .when(createRoomCommand(roomId, owner, overrides))
      .thenThrows(code, 'validation');
  });
});

describe('UpdateRoom', () => {
  const update = (changes: object, context = owner) =>
    ({ type: 'UpdateRoom', data: { roomId, changes }, context }) as const;

  it('records only the fields that change', () => {
    spec
      .given([roomCreated(roomId, landlordId)])
      .when(update({ pricePerNight: 5000, title: roomDetails().title }))
      .then([{ type: 'RoomUpdated', data: { roomId, changes: { pricePerNight: 5000 }, updatedAt: NOW } }]);
  });

  it('does nothing when nothing changes', () => {
    spec
      .given([roomCreated(roomId, landlordId)])
      .when(update({ pricePerNight: 4500 }))
      .thenNothing();
  });

  it('lets an admin update any room', () => {
    spec
      .given([roomCreated(roomId, landlordId)])
      .when(update({ maxOccupants: 2 }, admin))
      .then([{ type: 'RoomUpdated', data: { roomId, changes: { maxOccupants: 2 }, updatedAt: NOW } }]);
  });

  it('refuses another landlord', () => {
    spec
      .given([roomCreated(roomId, landlordId)])
      .when(update({ pricePerNight: 1 }, stranger))
      .thenThrows('NOT_ROOM_OWNER', 'forbidden');
  });

  it('refuses an unknown room', () => {
    spec
      .given([])
      .when(update({ pricePerNight: 100 }))
      .thenThrows('ROOM_NOT_FOUND', 'not_found');
  });

  it('keeps a published room complete', () => {
    spec
      .given([roomCreated(roomId, landlordId), roomPublished(roomId)])
      .when(update({ amenities: [] }))
      .thenThrows('ROOM_INCOMPLETE', 'validation');
  });
});

describe('PublishRoom', () => {
  const publish = (context = owner) => ({ type: 'PublishRoom', data: { roomId }, context }) as const;

  it('publishes a complete draft', () => {
    spec
      .given([roomCreated(roomId, landlordId)])
      .when(publish())
      .then([roomPublished(roomId)]);
  });

  it('refuses an incomplete room and says what is missing', () => {
    spec
      .given([roomCreated(roomId, landlordId, { description: null, amenities: [] })])
      .when(publish())
      .thenThrows('ROOM_INCOMPLETE', 'validation');
  });

  it('does nothing when already published', () => {
    spec
      .given([roomCreated(roomId, landlordId), roomPublished(roomId)])
      .when(publish())
      .thenNothing();
  });

  it('refuses another landlord', () => {
    spec
      .given([roomCreated(roomId, landlordId)])
      .when(publish(stranger))
      .thenThrows('NOT_ROOM_OWNER', 'forbidden');
  });

  it('refuses an unknown room', () => {
    spec.given([]).when(publish()).thenThrows('ROOM_NOT_FOUND', 'not_found');
  });
});

describe('UnpublishRoom', () => {
  const unpublish = (context = owner) => ({ type: 'UnpublishRoom', data: { roomId }, context }) as const;

  it('unpublishes a published room', () => {
    spec
      .given([roomCreated(roomId, landlordId), roomPublished(roomId)])
      .when(unpublish())
      .then([{ type: 'RoomUnpublished', data: { roomId, unpublishedAt: NOW } }]);
  });

  it('does nothing for a draft', () => {
    spec
      .given([roomCreated(roomId, landlordId)])
      .when(unpublish())
      .thenNothing();
  });

  it('refuses another landlord', () => {
    spec
      .given([roomCreated(roomId, landlordId), roomPublished(roomId)])
      .when(unpublish(stranger))
      .thenThrows('NOT_ROOM_OWNER', 'forbidden');
  });
});
