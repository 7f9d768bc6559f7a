import { Type } from '@sinclair/typebox';
import { Amenities } from '../domain/rooms/amenities.js';
import { CancellationPolicies } from '../domain/rooms/events.js';
import { ErrorBody } from './errors.js';

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
/** Canonical (hyphenated, 36 characters) only: no `urn:uuid:` prefix, braces or bare hex, which PostgreSQL refuses or reads differently. */
export const Uuid = Type.String({ format: 'uuid', pattern: UUID_PATTERN, description: 'UUID' });
export const IsoDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'calendar date YYYY-MM-DD' });
export const IsoInstant = Type.String({ format: 'date-time' });
/** Event store positions are 64-bit: sent as decimal strings so no client loses precision. */
export const Position = Type.String({ pattern: '^\\d+$', description: 'event store position (decimal string)' });

export const GeoPoint = Type.Object(
  {
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lng: Type.Number({ minimum: -180, maximum: 180 }),
  },
  { additionalProperties: false, description: 'WGS 84' },
);

export const IdParams = Type.Object({ id: Uuid });

/** A stream id as the store names them: `<Kind>-<id>`, ASCII, bounded (anything else names no stream). */
export const StreamIdParams = Type.Object({
  streamId: Type.String({
    pattern: '^[A-Za-z][A-Za-z0-9]{0,39}-[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$',
    maxLength: 169,
    description: 'a stream id, e.g. Booking-<uuid>',
  }),
});

export const MinPositionHeaders = Type.Object({
  'x-min-position': Type.Optional(
    Type.String({
      pattern: '^\\d{1,19}$',
      description: 'wait (at most 5 s) until the read model has applied this position',
    }),
  ),
});

export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(
    Type.String({ description: 'the ETag (revision) the change is based on; 412 when it moved' }),
  ),
  'idempotency-key': Type.Optional(Type.String({ description: 'retries with the same key return the first answer' })),
});

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ description: 'retries with the same key return the first answer' })),
});

/** The error answers a route can give, for its OpenAPI description. */
export function errors(...statuses: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorBody]));
}

const Amenity = Type.Union(
  Amenities.map((a) => Type.Literal(a)),
  { description: 'from the fixed catalogue' },
);

const roomFields = {
  title: Type.String({ minLength: 3, maxLength: 120 }),
  description: Type.Optional(Type.Union([Type.String({ maxLength: 5000 }), Type.Null()])),
  address: Type.String({ minLength: 3, maxLength: 300 }),
  location: GeoPoint,
  pricePerNight: Type.Integer({ minimum: 1, maximum: 10_000_000, description: 'minor units, e.g. 4500 = 45.00' }),
  currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217' }),
  maxOccupants: Type.Integer({ minimum: 1, maximum: 20 }),
  amenities: Type.Array(Amenity, { maxItems: 50 }),
  cancellationPolicy: Type.Optional(Type.Union(CancellationPolicies.map((p) => Type.Literal(p)))),
};

/** A room created with an address and no location is located by the configured geocoder. */
export const CreateRoomBody = Type.Object(
  { ...roomFields, location: Type.Optional(GeoPoint) },
  { additionalProperties: false },
);
export const UpdateRoomBody = Type.Partial(Type.Object(roomFields), { additionalProperties: false, minProperties: 1 });

export const AvailabilityBody = Type.Object(
  {
    blocked: Type.Array(Type.Object({ from: IsoDate, to: IsoDate }, { additionalProperties: false }), {
      maxItems: 200,
    }),
  },
  { additionalProperties: false },
);

export const RoomStatus = Type.Union([Type.Literal('draft'), Type.Literal('published'), Type.Literal('unpublished')]);

export const RoomAccepted = Type.Object({
  id: Uuid,
  status: RoomStatus,
  position: Type.Union([Position, Type.Null()]),
  revision: Type.String(),
});

export const Room = Type.Object({
  id: Uuid,
  landlordId: Uuid,
  status: RoomStatus,
  title: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  address: Type.String(),
  location: GeoPoint,
  pricePerNight: Type.Integer(),
  currency: Type.String(),
  maxOccupants: Type.Integer(),
  amenities: Type.Array(Type.String()),
  cancellationPolicy: Type.String(),
  blocked: Type.Array(Type.Object({ from: IsoDate, to: IsoDate })),
  rating: Type.Union([Type.Number(), Type.Null()]),
  reviewCount: Type.Integer(),
  photos: Type.Array(Type.Object({ id: Type.String(), url: Type.String(), thumbnailUrl: Type.String() })),
  createdAt: IsoInstant,
  updatedAt: IsoInstant,
  publishedAt: Type.Union([IsoInstant, Type.Null()]),
  revision: Type.String(),
  calendarUrl: Type.Optional(Type.String({ description: 'the secret calendar link (its landlord and admins only)' })),
});
