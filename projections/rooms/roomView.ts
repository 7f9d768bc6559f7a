import { EntitySchema } from '@mikro-orm/core';
import type { DateRange, GeoPoint } from '../../domain/shared/values.js';
import { PointType } from '../../infra/db/pointType.js';

/** Where the API serves a stored photo blob (`GET /api/photos/{key}`). */
export const photoPath = (key: string) => `/api/photos/${key}`;

export interface RoomPhotoView {
  id: string;
  url: string;
  thumbnailUrl: string;
}

/** One row per room: what GET /api/rooms/{id} and, later, search read. Written only by the rooms projection. */
export class RoomView {
  id!: string;
  landlordId!: string;
  status!: 'draft' | 'published' | 'unpublished';
  title!: string;
  description!: string | null;
  address!: string;
  location!: GeoPoint;
  pricePerNight!: number;
  currency!: string;
  maxOccupants!: number;
  amenities!: string[];
  cancellationPolicy!: string;
  blocked!: DateRange[];
  rating!: number | null;
  reviewCount!: number;
  photos!: RoomPhotoView[];
  createdAt!: Date;
  updatedAt!: Date;
  publishedAt!: Date | null;
  /** Stream revision of the last event applied. */
  revision!: bigint;
  /** Global position of the last event applied. */
  lastPosition!: bigint;
}

export const RoomViewSchema = new EntitySchema<RoomView>({
  class: RoomView,
  tableName: 'rooms',
  properties: {
    id: { type: 'uuid', primary: true },
    landlordId: { type: 'uuid', fieldName: 'landlord_id' },
    status: { type: 'string' },
    title: { type: 'string' },
    description: { type: 'text', nullable: true },
    address: { type: 'string' },
    location: { type: PointType },
    pricePerNight: { type: 'integer', fieldName: 'price_per_night' },
    currency: { type: 'string' },
    maxOccupants: { type: 'integer', fieldName: 'max_occupants' },
    amenities: { type: 'text[]' },
    cancellationPolicy: { type: 'string', fieldName: 'cancellation_policy' },
    blocked: { type: 'json' },
    rating: { type: 'double', nullable: true },
    reviewCount: { type: 'integer', fieldName: 'review_count' },
    photos: { type: 'json' },
    createdAt: { type: 'Date', fieldName: 'created_at' },
    updatedAt: { type: 'Date', fieldName: 'updated_at' },
    publishedAt: { type: 'Date', fieldName: 'published_at', nullable: true },
    revision: { type: 'bigint' },
    lastPosition: { type: 'bigint', fieldName: 'last_position' },
  },
});
