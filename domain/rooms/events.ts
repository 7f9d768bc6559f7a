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

/** A photo of a room: the original and its thumbnail, each a blob named by its SHA-256 (`FileStore` key). */
export interface RoomPhoto {
  id: string;
  key: string;
  thumbnailKey: string;
  contentType: 'image/jpeg' | 'image/png';
  width: number;
  height: number;
  /** Size of the original. */
  bytes: number;
}

export type RoomPhotosAdded = DomainEvent<'RoomPhotosAdded', { roomId: string; photos: RoomPhoto[]; addedAt: string }>;
export type RoomPhotoRemoved = DomainEvent<'RoomPhotoRemoved', { roomId: string; photoId: string; removedAt: string }>;

export type RoomEvent =
  | RoomCreated
  | RoomUpdated
  | RoomPublished
  | RoomUnpublished
  | RoomBlockedDatesSet
  | RoomPhotosAdded
  | RoomPhotoRemoved;

export const RoomEventTypes = [
  'RoomCreated',
  'RoomUpdated',
  'RoomPublished',
  'RoomUnpublished',
  'RoomBlockedDatesSet',
  'RoomPhotosAdded',
  'RoomPhotoRemoved',
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
  RoomPhotosAdded: 1,
  RoomPhotoRemoved: 1,
} as const satisfies Record<RoomEvent['type'], number>;

export const roomStreamId = (roomId: string) => `Room-${roomId}`;
