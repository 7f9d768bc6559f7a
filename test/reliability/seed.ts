import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { type Role, Roles } from '../../domain/shared/decider.js';
import type { TestApp } from '../support/app.js';
import { roomBody } from '../support/builders/rooms.js';
import { multipartBody } from '../support/multipart.js';

/** A calendar date `days` from today (UTC), so no test date is one the calendar will pass. */
export const daysFromNow = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

export interface Seeded {
  /** One user per role; their tokens are minted per request (`t.token(role, users[role])`). */
  users: Record<Role, string>;
  universityId: string;
  venueId: string;
  sessionId: string;
  roomId: string;
  draftRoomId: string;
  bookingId: string;
  registeredUserId: string | null;
  photo: { id: string; url: string } | null;
  /** A conversation of the landlord with the registered tenant, a message in it and a message photo. */
  conversation: { id: string; messageId: string; photoId: string } | null;
  /** Real next-page cursors by list. */
  cursors: Record<'universities' | 'venues' | 'search' | 'bookings', string | null>;
  lastPosition: string;
}

/** Data for the requests to reach deep into handlers: a university with a venue and session, rooms, a booking. */
export async function seed(t: TestApp): Promise<Seeded> {
  const users = Object.fromEntries(Roles.map((r) => [r, randomUUID()])) as Record<Role, string>;
  const as = (role: Role) => t.as(role, users[role]);
  let lastPosition = '0';
  const ok = async (
    label: string,
    request: { method: string; url: string; headers?: Record<string, string>; payload?: unknown },
    status: number,
  ) => {
    const response = await t.app.inject(request as never);
    if (response.statusCode !== status) throw new Error(`seed ${label}: ${response.statusCode} ${response.body}`);
    const body = response.body ? response.json() : {};
    if (typeof body.position === 'string') lastPosition = body.position;
    return body;
  };
  const location = { lat: 44.4949, lng: 11.3426 };
  const universities = [];
  for (const name of ['Università di Bologna', 'Alma Mater Studiorum']) {
    universities.push(
      await ok(
        'university',
        {
          method: 'POST',
          url: '/api/universities',
          headers: as('admin'),
          payload: { name, city: 'Bologna', country: 'IT', location },
        },
        201,
      ),
    );
  }
  const universityId = universities[0].id as string;
  const venues = [];
  for (const name of ['Aula Magna', 'Aula Prodi']) {
    venues.push(
      await ok(
        'venue',
        {
          method: 'POST',
          url: '/api/exam-venues',
          headers: as('admin'),
          payload: { universityId, name, address: 'Via Zamboni 33, Bologna', location },
        },
        201,
      ),
    );
  }
  const venueId = venues[0].id as string;
  const session = await ok(
    'session',
    {
      method: 'POST',
      url: '/api/exam-sessions',
      headers: as('admin'),
      payload: {
        universityId,
        name: 'Admission test',
        startsOn: daysFromNow(30),
        endsOn: daysFromNow(31),
        venueIds: [venueId],
      },
    },
    201,
  );
  const rooms: string[] = [];
  for (const title of ['Quiet room by the faculty', 'Sunny room near the station']) {
    const created = await ok(
      'room',
      { method: 'POST', url: '/api/rooms', headers: as('landlord'), payload: roomBody({ title }) },
      201,
    );
    await ok('publish', { method: 'POST', url: `/api/rooms/${created.id}/publish`, headers: as('landlord') }, 200);
    rooms.push(created.id);
  }
  const draft = await ok(
    'draft',
    { method: 'POST', url: '/api/rooms', headers: as('landlord'), payload: roomBody() },
    201,
  );
  const bookings: string[] = [];
  for (const [i, roomId] of rooms.entries()) {
    const booking = await ok(
      'booking',
      {
        method: 'POST',
        url: '/api/bookings',
        headers: as('tenant'),
        payload: { roomId, checkIn: daysFromNow(10 + i * 5), checkOut: daysFromNow(12 + i * 5), guests: 1 },
      },
      201,
    );
    bookings.push(booking.id);
  }
  let photo: Seeded['photo'] = null;
  const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3a6' } })
    .jpeg()
    .toBuffer();
  const upload = multipartBody([{ filename: 'room.jpg', contentType: 'image/jpeg', content: jpeg }]);
  const uploaded = await t.app.inject({
    method: 'POST',
    url: `/api/rooms/${rooms[0]}/photos`,
    headers: { ...as('landlord'), ...upload.headers },
    payload: upload.payload,
  });
  if (uploaded.statusCode === 201) photo = uploaded.json().photos[0];
  const registered = await t.app.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: {
      email: `seed-${randomUUID().slice(0, 8)}@example.org`,
      password: 'correct horse battery staple',
      phone: `+39${Math.floor(1e9 + Math.random() * 8e9)}`,
      role: 'tenant',
      fullName: 'Giulia Rossi',
    },
  });
  const registeredUserId = registered.statusCode === 201 ? (registered.json().user.id as string) : null;
  let conversation: Seeded['conversation'] = null;
  if (registeredUserId) {
    const started = await ok(
      'conversation',
      {
        method: 'POST',
        url: '/api/conversations',
        headers: as('landlord'),
        payload: { participantId: registeredUserId, roomId: rooms[0] },
      },
      201,
    );
    const messagePhoto = multipartBody([{ filename: 'view.jpg', contentType: 'image/jpeg', content: jpeg }]);
    const photoUpload = await t.app.inject({
      method: 'POST',
      url: '/api/messages/upload-photo',
      headers: { ...as('landlord'), ...messagePhoto.headers },
      payload: messagePhoto.payload,
    });
    if (photoUpload.statusCode !== 201)
      throw new Error(`seed message photo: ${photoUpload.statusCode} ${photoUpload.body}`);
    const photoId = photoUpload.json().photoId as string;
    const message = await ok(
      'message',
      {
        method: 'POST',
        url: `/api/conversations/${started.id}/messages`,
        headers: as('landlord'),
        payload: { body: 'Welcome! Call me on +39 051 123 4567', photoIds: [photoId] },
      },
      201,
    );
    conversation = { id: started.id, messageId: message.id, photoId };
  }

  // Read-your-writes once, then the lists give real cursors.
  const wait = { 'x-min-position': lastPosition };
  const cursor = async (url: string, headers: Record<string, string> = {}) => {
    let response = await t.app.inject({ method: 'GET', url, headers: { ...wait, ...headers } });
    for (let i = 0; i < 100 && response.statusCode === 503; i++) {
      response = await t.app.inject({ method: 'GET', url, headers: { ...wait, ...headers } });
    }
    if (response.statusCode !== 200) throw new Error(`seed ${url}: ${response.statusCode} ${response.body}`);
    return response.json().nextCursor as string | null;
  };
  const cursors = {
    universities: await cursor('/api/universities?limit=1'),
    venues: await cursor('/api/exam-venues?limit=1'),
    search: await cursor(`/api/rooms/search?lat=${location.lat}&lng=${location.lng}&limit=1`),
    bookings: await cursor('/api/user/bookings?limit=1', as('tenant')),
  };
  return {
    users,
    universityId,
    venueId,
    sessionId: session.id,
    roomId: rooms[0]!,
    draftRoomId: draft.id,
    bookingId: bookings[0]!,
    registeredUserId,
    photo,
    conversation,
    cursors,
    lastPosition,
  };
}
