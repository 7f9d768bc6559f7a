import type { DomainEvent } from '../shared/decider.js';
import type { DateRange, GeoPoint } from '../shared/values.js';
import type { Amenity } from './amenities.js';

export const CancellationPolicies = ['flexible', 'moderate', 'strict'] as const;
export type CancellationPolicy = (typeof CancellationPolicies)[number];

export interface RoomDetails {
  title: string;
  description: string | null;
  address: string;
  location: GeoPoint;
  pricePerNight: number;
  currency: string;
  maxOccupants: number;
  amenities: Amenity[];
  cancellationPolicy: CancellationPolicy;
}

export type RoomCreated = DomainEvent<
  'RoomCreated',
  RoomDetails & { roomId: string; landlordId: string; createdAt: string }
>;
export type RoomUpdated = DomainEvent<
  'RoomUpdated',
  { roomId: string; changes: Partial<RoomDetails>; updatedAt: string }
>;
export type RoomPublished = DomainEvent<'RoomPublished', { roomId: string; publishedAt: string }>;
export type RoomUnpublished = DomainEvent<'RoomUnpublished', { roomId: string; unpublishedAt: string }>;
export type RoomBlockedDatesSet = DomainEvent<
  'RoomBlockedDatesSet',
  { roomId: string; blocked: DateRange[]; setAt: string }
>;

export type RoomEvent = RoomCreated | RoomUpdated | RoomPublished | RoomUnpublished | RoomBlockedDatesSet;

export const RoomEventTypes = [
  'RoomCreated',
  'RoomUpdated',
  'RoomPublished',
  'RoomUnpublished',
  'RoomBlockedDatesSet',
] as const;

/**
 * Version 2 of RoomCreated added `cancellationPolicy`; version 1 events read as `flexible`, the
 * policy every room had before policies existed (see `roomUpcasters`).
 */
export const roomSchemaVersions = {
  RoomCreated: 2,
  RoomUpdated: 1,
  RoomPublished: 1,
  RoomUnpublished: 1,
  RoomBlockedDatesSet: 1,
} as const satisfies Record<RoomEvent['type'], number>;

export const roomStreamId = (roomId: string) => `Room-${roomId}`;
