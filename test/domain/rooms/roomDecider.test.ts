import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { roomDecider } from '../../../domain/rooms/decider.js';
import type { RoomEvent } from '../../../domain/rooms/events.js';
import { dateOfDay, dayNumber } from '../../../domain/shared/values.js';
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

describe('SetBlockedDates', () => {
  const block = (blocked: Array<{ from: string; to: string }>, context = owner) =>
    ({ type: 'SetBlockedDates', data: { roomId, blocked }, context }) as const;

  it('stores sorted, merged ranges', () => {
    spec
      .given([roomCreated(roomId, landlordId)])
      .when(
        block([
          { from: '2027-02-10', to: '2027-02-12' },
          { from: '2027-01-01', to: '2027-01-03' },
          { from: '2027-02-11', to: '2027-02-15' },
          { from: '2027-01-03', to: '2027-01-04' },
        ]),
      )
      .then([
        {
          type: 'RoomBlockedDatesSet',
          data: {
            roomId,
            blocked: [
              { from: '2027-01-01', to: '2027-01-04' },
              { from: '2027-02-10', to: '2027-02-15' },
            ],
            setAt: NOW,
          },
        },
      ]);
  });

  it('does nothing when the blocked dates are the same', () => {
    const blocked = [{ from: '2027-01-01', to: '2027-01-04' }];
    spec
      .given([roomCreated(roomId, landlordId), { type: 'RoomBlockedDatesSet', data: { roomId, blocked, setAt: NOW } }])
      .when(block(blocked))
      .thenNothing();
  });

  it.each([
    [[{ from: '2027-01-05', to: '2027-01-05' }], 'INVALID_DATE_RANGE'],
    [[{ from: '2027-02-30', to: '2027-03-02' }], 'INVALID_DATE'],
    [[{ from: 'tomorrow', to: '2027-03-02' }], 'INVALID_DATE'],
  ])('rejects bad ranges %j', (blocked, code) => {
    spec
      .given([roomCreated(roomId, landlordId)])
      .when(block(blocked))
      .thenThrows(code, 'validation');
  });

  it('refuses another landlord', () => {
    spec
      .given([roomCreated(roomId, landlordId)])
      .when(block([], stranger))
      .thenThrows('NOT_ROOM_OWNER', 'forbidden');
  });

  describe('limits: not in the past, not beyond the horizon', () => {
    // Dates relative to the command's time: the domain knows no other clock.
    const today = dayNumber(NOW.slice(0, 10));
    const day = (offset: number) => dateOfDay(today + offset);
    const range = (from: number, to: number) => ({ from: day(from), to: day(to) });
    const blockedSet = (blocked: Array<{ from: string; to: string }>) =>
      ({ type: 'RoomBlockedDatesSet', data: { roomId, blocked, setAt: NOW } }) as const;
    const withHorizon = (blocked: Array<{ from: string; to: string }>, horizonDays: number) =>
      ({ type: 'SetBlockedDates', data: { roomId, blocked, horizonDays }, context: owner }) as const;
    const refusal = (
      command: Parameters<typeof roomDecider.decide>[0],
      given: RoomEvent[] = [roomCreated(roomId, landlordId)],
    ) => {
      try {
        roomDecider.decide(command, given.reduce(roomDecider.evolve, roomDecider.initialState));
      } catch (error) {
        return error as { code: string; details: unknown };
      }
      throw new Error('expected a refusal');
    };

    it('accepts a block from today to exactly the horizon (730 days by default)', () => {
      spec
        .given([roomCreated(roomId, landlordId)])
        .when(block([range(0, 730)]))
        .then([blockedSet([range(0, 730)])]);
    });

    it('refuses a new block that starts before today, naming the nights in the past', () => {
      spec
        .given([roomCreated(roomId, landlordId)])
        .when(block([range(-1, 3)]))
        .thenThrows('BLOCK_IN_PAST', 'validation');
      expect(refusal(block([range(5, 7), range(-10, -8)])).details).toEqual({
        today: day(0),
        ranges: [range(-10, -8)],
      });
      expect(refusal(block([{ from: '0100-01-01', to: '9999-12-31' }])).code).toBe('BLOCK_IN_PAST');
    });

    it('refuses a block reaching past the horizon, naming the latest allowed end', () => {
      spec
        .given([roomCreated(roomId, landlordId)])
        .when(block([range(700, 731)]))
        .thenThrows('BLOCK_BEYOND_HORIZON', 'validation');
      expect(refusal(block([range(700, 740)])).details).toEqual({
        horizonDays: 730,
        latestTo: day(730),
        ranges: [range(730, 740)],
      });
    });

    it('takes the horizon from the command (the configuration)', () => {
      spec
        .given([roomCreated(roomId, landlordId)])
        .when(withHorizon([range(10, 31)], 30))
        .thenThrows('BLOCK_BEYOND_HORIZON', 'validation');
      spec
        .given([roomCreated(roomId, landlordId)])
        .when(withHorizon([range(10, 30)], 30))
        .then([blockedSet([range(10, 30)])]);
    });

    it('does nothing when a list with a block already in the past is sent again', () => {
      const blocked = [range(-5, -2), range(3, 6)];
      spec
        .given([roomCreated(roomId, landlordId), blockedSet(blocked)])
        .when(block(blocked))
        .thenNothing();
    });

    it('keeps past blocks as they were: changing the future keeps them, leaving them out does not erase them', () => {
      const given = [roomCreated(roomId, landlordId), blockedSet([range(-5, 2), range(3, 6)])];
      spec
        .given(given)
        .when(block([range(-5, 2), range(10, 12)]))
        .then([blockedSet([range(-5, 2), range(10, 12)])]);
      spec
        .given(given)
        .when(block([range(0, 2)]))
        .then([blockedSet([range(-5, 2)])]);
      spec
        .given(given)
        .when(block([]))
        .then([blockedSet([range(-5, 0)])]);
    });

    it('refuses only past nights that were not blocked before', () => {
      const given = [roomCreated(roomId, landlordId), blockedSet([range(-5, -2)])];
      expect(refusal(block([range(-6, -2)]), given).details).toEqual({ today: day(0), ranges: [range(-6, -5)] });
    });

    it('lets a block beyond the horizon that is already there be sent again (made before the limit existed)', () => {
      const far = { from: day(100), to: '9999-12-31' };
      spec
        .given([roomCreated(roomId, landlordId), blockedSet([far])])
        .when(block([far]))
        .thenNothing();
      spec
        .given([roomCreated(roomId, landlordId), blockedSet([far])])
        .when(block([]))
        .then([blockedSet([])]);
    });
  });
});
