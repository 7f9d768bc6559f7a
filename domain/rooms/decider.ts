import type { CommandContext, Decider } from '../shared/decider.js';
import { DomainError } from '../shared/errors.js';
import { assertCurrency, assertGeoPoint, assertMinorUnits, type DateRange } from '../shared/values.js';
import { type Amenity, isAmenity } from './amenities.js';
import type { RoomCommand } from './commands.js';
import {
  CancellationPolicies,
  type RoomDetails,
  type RoomEvent,
  type RoomPhoto,
  roomSchemaVersions,
} from './events.js';

export type RoomStatus = 'none' | 'draft' | 'published' | 'unpublished';

export interface RoomState extends Partial<RoomDetails> {
  status: RoomStatus;
  roomId?: string;
  landlordId?: string;
  /** The last `RoomBlockedDatesSet` of this stream: blocks from before they moved to the calendar stream. */
  blocked: DateRange[];
  photos: RoomPhoto[];
}

export const initialRoomState: RoomState = { status: 'none', blocked: [], photos: [] };

const LIMITS = {
  title: [3, 120],
  description: [0, 5000],
  address: [3, 300],
  maxOccupants: [1, 20],
  photos: 30,
} as const;

function assertLength(value: string, field: keyof typeof LIMITS, [min, max]: readonly [number, number]): void {
  const length = value.trim().length;
  if (length < min || length > max) {
    throw new DomainError('INVALID_FIELD', 'validation', `${field} must be ${min} to ${max} characters`, { field });
  }
}

function validAmenities(amenities: readonly string[]): Amenity[] {
  const unknown = amenities.filter((a) => !isAmenity(a));
  if (unknown.length > 0) {
    throw new DomainError('UNKNOWN_AMENITY', 'validation', `unknown amenities: ${unknown.join(', ')}`, { unknown });
  }
  return [...new Set(amenities as Amenity[])].sort();
}

function validateDetails(details: Partial<RoomDetails> & { amenities?: string[] }): void {
  if (details.title !== undefined) assertLength(details.title, 'title', LIMITS.title);
  if (details.description !== undefined && details.description !== null) {
    assertLength(details.description, 'description', LIMITS.description);
  }
  if (details.address !== undefined) assertLength(details.address, 'address', LIMITS.address);
  if (details.location !== undefined) assertGeoPoint(details.location);
  if (details.pricePerNight !== undefined) assertMinorUnits(details.pricePerNight, 'pricePerNight');
  if (details.currency !== undefined) assertCurrency(details.currency);
  if (details.maxOccupants !== undefined) {
    const [min, max] = LIMITS.maxOccupants;
    if (!Number.isInteger(details.maxOccupants) || details.maxOccupants < min || details.maxOccupants > max) {
      throw new DomainError('INVALID_FIELD', 'validation', `maxOccupants must be ${min} to ${max}`, {
        field: 'maxOccupants',
      });
    }
  }
  if (details.cancellationPolicy !== undefined && !CancellationPolicies.includes(details.cancellationPolicy)) {
    throw new DomainError(
      'INVALID_FIELD',
      'validation',
      `cancellationPolicy must be one of ${CancellationPolicies.join(', ')}`,
    );
  }
}

function assertExists(state: RoomState): void {
  if (state.status === 'none') throw new DomainError('ROOM_NOT_FOUND', 'not_found', 'room not found');
}

function assertOwner(state: RoomState, context: CommandContext): void {
  if (context.actorRole === 'admin') return;
  if (context.actorRole !== 'landlord' || state.landlordId !== context.actorId) {
    throw new DomainError('NOT_ROOM_OWNER', 'forbidden', 'only the landlord of this room may change it');
  }
}

/** What is missing before a room may be shown to tenants. */
export function missingForPublication(state: RoomState): string[] {
  const missing: string[] = [];
  if (!state.title) missing.push('title');
  if (!state.description || state.description.trim().length < 20) missing.push('description (at least 20 characters)');
  if (!state.address) missing.push('address');
  if (!state.location) missing.push('location');
  if (!state.pricePerNight) missing.push('pricePerNight');
  if (!state.maxOccupants) missing.push('maxOccupants');
  if (!state.amenities || state.amenities.length === 0) missing.push('amenities (at least one)');
  return missing;
}

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function decide(command: RoomCommand, state: RoomState): RoomEvent[] {
  const { context } = command;
  switch (command.type) {
    case 'CreateRoom': {
      if (state.status !== 'none') throw new DomainError('ROOM_EXISTS', 'conflict', 'this room already exists');
      if (context.actorRole !== 'landlord') {
        throw new DomainError('NOT_A_LANDLORD', 'forbidden', 'only landlords create rooms');
      }
      const { roomId, description, amenities, cancellationPolicy, ...rest } = command.data;
      const details: RoomDetails = {
        ...rest,
        title: rest.title.trim(),
        address: rest.address.trim(),
        description: description?.trim() || null,
        amenities: validAmenities(amenities),
        cancellationPolicy: cancellationPolicy ?? 'moderate',
      };
      validateDetails(details);
      return [
        { type: 'RoomCreated', data: { roomId, landlordId: context.actorId, ...details, createdAt: context.now } },
      ];
    }
    case 'UpdateRoom': {
      assertExists(state);
      assertOwner(state, context);
      const { amenities, ...rest } = command.data.changes;
      const proposed: Partial<RoomDetails> = { ...rest };
      if (proposed.title !== undefined) proposed.title = proposed.title.trim();
      if (proposed.address !== undefined) proposed.address = proposed.address.trim();
      if (proposed.description !== undefined) proposed.description = proposed.description?.trim() || null;
      if (amenities !== undefined) proposed.amenities = validAmenities(amenities);
      validateDetails(proposed);
      const changes: Partial<RoomDetails> = {};
      for (const [key, value] of Object.entries(proposed) as Array<[keyof RoomDetails, unknown]>) {
        if (value !== undefined && !sameValue(state[key], value)) (changes as Record<string, unknown>)[key] = value;
      }
      if (Object.keys(changes).length === 0) return [];
      if (state.status === 'published') {
        const after = { ...state, ...changes };
        const missing = missingForPublication(after);
        if (missing.length > 0) {
          throw new DomainError('ROOM_INCOMPLETE', 'validation', 'a published room must stay complete', { missing });
        }
      }
      return [{ type: 'RoomUpdated', data: { roomId: command.data.roomId, changes, updatedAt: context.now } }];
    }
    case 'PublishRoom': {
      assertExists(state);
      assertOwner(state, context);
      if (state.status === 'published') return [];
      const missing = missingForPublication(state);
      if (missing.length > 0) {
        throw new DomainError(
          'ROOM_INCOMPLETE',
          'validation',
          `the room cannot be published yet: missing ${missing.join(', ')}`,
          {
            missing,
          },
        );
      }
      return [{ type: 'RoomPublished', data: { roomId: command.data.roomId, publishedAt: context.now } }];
    }
    case 'UnpublishRoom': {
      assertExists(state);
      assertOwner(state, context);
      if (state.status !== 'published') return [];
      return [{ type: 'RoomUnpublished', data: { roomId: command.data.roomId, unpublishedAt: context.now } }];
    }
    case 'SetBlockedDates':
      // Blocked dates are decided on the room's calendar stream (domain/bookings/calendar.ts), with the holds.
      throw new Error('SetBlockedDates runs on the calendar stream: commands/rooms.ts setBlockedDates');
    case 'AddRoomPhotos': {
      assertExists(state);
      assertOwner(state, context);
      // The same image twice is one photo: a retried or repeated upload adds nothing.
      const known = new Set(state.photos.map((photo) => photo.key));
      const added: RoomPhoto[] = [];
      for (const photo of command.data.photos) {
        if (known.has(photo.key)) continue;
        known.add(photo.key);
        added.push(photo);
      }
      if (added.length === 0) return [];
      if (state.photos.length + added.length > LIMITS.photos) {
        throw new DomainError('TOO_MANY_PHOTOS', 'validation', `a room has at most ${LIMITS.photos} photos`, {
          max: LIMITS.photos,
          current: state.photos.length,
          adding: added.length,
        });
      }
      return [{ type: 'RoomPhotosAdded', data: { roomId: command.data.roomId, photos: added, addedAt: context.now } }];
    }
    case 'RemoveRoomPhoto': {
      assertExists(state);
      assertOwner(state, context);
      if (!state.photos.some((photo) => photo.id === command.data.photoId)) return [];
      return [
        {
          type: 'RoomPhotoRemoved',
          data: { roomId: command.data.roomId, photoId: command.data.photoId, removedAt: context.now },
        },
      ];
    }
    default: {
      const unhandled: never = command;
      throw new Error(`unknown command ${(unhandled as { type: string }).type}`);
    }
  }
}

export function evolve(state: RoomState, event: RoomEvent): RoomState {
  switch (event.type) {
    case 'RoomCreated': {
      const { createdAt: _createdAt, ...data } = event.data;
      return { ...state, ...data, status: 'draft' };
    }
    case 'RoomUpdated':
      return { ...state, ...event.data.changes };
    case 'RoomPublished':
      return { ...state, status: 'published' };
    case 'RoomUnpublished':
      return { ...state, status: 'unpublished' };
    case 'RoomBlockedDatesSet':
      return { ...state, blocked: event.data.blocked };
    case 'RoomPhotosAdded':
      return { ...state, photos: [...state.photos, ...event.data.photos] };
    case 'RoomPhotoRemoved':
      return { ...state, photos: state.photos.filter((photo) => photo.id !== event.data.photoId) };
    default: {
      const unhandled: never = event;
      throw new Error(`unknown event ${(unhandled as { type: string }).type}`);
    }
  }
}

export const roomDecider: Decider<RoomCommand, RoomEvent, RoomState> = {
  initialState: initialRoomState,
  decide,
  evolve,
  schemaVersions: roomSchemaVersions,
};
