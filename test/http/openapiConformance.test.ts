import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../domain/shared/decider.js';
import { openapiValidator, type RecordedResponse } from '../reliability/openapiValidator.js';
import { daysFromNow } from '../reliability/seed.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { roomBody } from '../support/builders/rooms.js';
import { multipartBody } from '../support/multipart.js';

/**
 * Issue 9, item 8: the OpenAPI document tells the truth. A scripted flow calls every documented route, with
 * answers good and bad; every answer is recorded and checked against the document (openapi-backend): the status
 * is documented for the route and a JSON body matches its schema. The flow must reach every operation.
 */

let t: TestApp;
let dataDir: string;
const recorded: RecordedResponse[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'roomline-conformance-'));
  t = await createTestApp({ config: { DATA_DIR: dataDir } });
  t.app.addHook('onSend', async (request, reply, payload) => {
    recorded.push({
      method: request.method,
      url: request.url,
      route: request.routeOptions.url,
      status: reply.statusCode,
      headers: reply.getHeaders() as Record<string, unknown>,
      body: typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : '',
    });
    return payload;
  });
});
afterAll(async () => {
  await t?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

type Inject = { method: string; url: string; headers?: Record<string, string>; payload?: unknown };
const call = async (request: Inject) => {
  const response = await t.app.inject(request as never);
  return {
    status: response.statusCode,
    // JSON answers parsed; text, CSV and NDJSON (one JSON document a line) kept as sent.
    body: /^application\/json/.test(String(response.headers['content-type'] ?? '')) ? response.json() : response.body,
  };
};

async function flow() {
  const users = {
    tenant: randomUUID(),
    landlord: randomUUID(),
    admin: randomUUID(),
    support: randomUUID(),
    auditor: randomUUID(),
  } as const;
  const as = (role: keyof typeof users) => t.as(role as Role, users[role]);
  const location = { lat: 44.4949, lng: 11.3426 };

  // Operations
  await call({ method: 'GET', url: '/health/live' });
  await call({ method: 'GET', url: '/health/ready' });
  await call({ method: 'GET', url: '/metrics' });
  await call({ method: 'GET', url: '/analytics' });
  await call({ method: 'GET', url: '/ops' });
  await call({ method: 'GET', url: '/api/ops/projections', headers: as('support') });
  await call({ method: 'GET', url: '/api/ops/projections' });
  await call({ method: 'GET', url: '/api/ops/projections', headers: as('tenant') });
  await call({ method: 'GET', url: '/api/ops/projections', headers: { authorization: 'Bearer nonsense' } });

  // Identity
  const email = `conformance-${randomUUID().slice(0, 8)}@example.org`;
  const password = 'correct horse battery staple';
  const person = {
    email,
    password,
    phone: `+39${Math.floor(1e9 + Math.random() * 8e9)}`,
    role: 'tenant',
    fullName: 'Giulia Rossi',
  };
  const registered = await call({ method: 'POST', url: '/api/auth/register', payload: person });
  await call({ method: 'POST', url: '/api/auth/register', payload: person });
  await call({ method: 'POST', url: '/api/auth/register', payload: { email } });
  const login = await call({ method: 'POST', url: '/api/auth/login', payload: { email, password } });
  await call({ method: 'POST', url: '/api/auth/login', payload: { email, password: 'wrong password, surely' } });
  const session = login.status === 200 ? login.body : registered.body;
  const bearer = session?.accessToken ? { authorization: `Bearer ${session.accessToken}` } : as('tenant');
  const userId: string = session?.user?.id ?? randomUUID();
  await call({ method: 'GET', url: '/api/auth/me', headers: bearer });
  await call({ method: 'GET', url: '/api/auth/me' });
  await call({ method: 'PUT', url: '/api/auth/profile', headers: bearer, payload: { fullName: 'Giulia R.' } });
  await call({ method: 'PUT', url: '/api/auth/profile', headers: bearer, payload: { unknown: 1 } });
  await call({
    method: 'POST',
    url: '/api/auth/refresh',
    payload: { refreshToken: session?.refreshToken ?? 'x'.repeat(40) },
  });
  await call({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken: 'not-a-refresh-token' } });
  await call({
    method: 'PUT',
    url: '/api/auth/password',
    headers: bearer,
    payload: { currentPassword: 'wrong password, surely', newPassword: 'another horse battery staple' },
  });
  await call({ method: 'POST', url: '/api/auth/password-reset', payload: { email } });
  await call({
    method: 'POST',
    url: '/api/auth/password-reset/confirm',
    payload: { token: 'x'.repeat(43), newPassword: 'another horse battery staple' },
  });
  await call({
    method: 'PUT',
    url: `/api/admin/users/${userId}/role`,
    headers: as('admin'),
    payload: { role: 'landlord' },
  });
  await call({
    method: 'PUT',
    url: `/api/admin/users/${userId}/role`,
    headers: as('tenant'),
    payload: { role: 'admin' },
  });
  await call({
    method: 'PUT',
    url: `/api/admin/users/${randomUUID()}/role`,
    headers: as('admin'),
    payload: { role: 'landlord' },
  });
  await call({ method: 'POST', url: '/api/auth/logout', headers: bearer, payload: {} });

  // Universities, venues, sessions
  const university = await call({
    method: 'POST',
    url: '/api/universities',
    headers: as('admin'),
    payload: { name: 'Università di Bologna', city: 'Bologna', country: 'IT', location },
  });
  await call({
    method: 'POST',
    url: '/api/universities',
    headers: as('admin'),
    payload: { name: 'Alma Mater', city: 'Bologna', country: 'IT', location },
  });
  await call({
    method: 'POST',
    url: '/api/universities',
    headers: as('tenant'),
    payload: { name: 'Nope', city: 'Bologna', country: 'IT', location },
  });
  await call({
    method: 'POST',
    url: '/api/universities',
    headers: as('admin'),
    payload: { name: '', city: 'Bologna', country: 'Italy', location },
  });
  const universityId: string = university.body.id;
  const venue = await call({
    method: 'POST',
    url: '/api/exam-venues',
    headers: as('admin'),
    payload: { universityId, name: 'Aula Magna', address: 'Via Zamboni 33, Bologna', location },
  });
  await call({
    method: 'POST',
    url: '/api/exam-venues',
    headers: as('admin'),
    payload: { universityId, name: 'Aula Prodi', address: 'Piazza Scaravilli 2, Bologna', location },
  });
  await call({
    method: 'POST',
    url: '/api/exam-venues',
    headers: as('admin'),
    payload: { universityId: randomUUID(), name: 'Nowhere', address: 'Via Nessuna 1', location },
  });
  const venueId: string = venue.body.id;
  const examSession = await call({
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
  });
  await call({
    method: 'POST',
    url: '/api/exam-sessions',
    headers: as('admin'),
    payload: {
      universityId,
      name: 'Backwards',
      startsOn: daysFromNow(31),
      endsOn: daysFromNow(30),
      venueIds: [venueId],
    },
  });
  const wait = { 'x-min-position': examSession.body.position as string };
  await call({ method: 'GET', url: '/api/universities?limit=1', headers: wait });
  const firstPage = await call({ method: 'GET', url: '/api/universities?limit=1', headers: wait });
  if (firstPage.body.nextCursor)
    await call({ method: 'GET', url: `/api/universities?limit=1&cursor=${firstPage.body.nextCursor}` });
  await call({ method: 'GET', url: '/api/universities?cursor=YQB4' });
  await call({ method: 'GET', url: '/api/universities?limit=1000' });
  await call({ method: 'GET', url: `/api/exam-venues?universityId=${universityId}&limit=1`, headers: wait });
  await call({ method: 'GET', url: '/api/exam-venues?universityId=urn:uuid:00000000-0000-0000-0000-000000000000' });
  await call({ method: 'GET', url: `/api/universities/${universityId}/exam-sessions`, headers: wait });
  await call({ method: 'GET', url: `/api/universities/${randomUUID()}/exam-sessions` });
  await call({
    method: 'POST',
    url: `/api/exam-sessions/${examSession.body.id}/assignments`,
    headers: { ...as('tenant'), ...wait },
    payload: { venueId },
  });
  await call({
    method: 'POST',
    url: `/api/exam-sessions/${randomUUID()}/assignments`,
    headers: as('tenant'),
    payload: { venueId },
  });
  await call({
    method: 'POST',
    url: `/api/exam-sessions/${examSession.body.id}/assignments`,
    headers: as('tenant'),
    payload: { assignments: [{ tenantId: users.tenant, venueId }] },
  });
  const assigned = recorded.at(-3)?.body ? JSON.parse(recorded.at(-3)!.body).position : null;
  await call({
    method: 'GET',
    url: '/api/user/exam-assignments',
    headers: { ...as('tenant'), ...(assigned ? { 'x-min-position': assigned } : {}) },
  });
  await call({ method: 'GET', url: '/api/user/exam-assignments', headers: as('landlord') });

  // Rooms
  const landlord = as('landlord');
  const room = await call({ method: 'POST', url: '/api/rooms', headers: landlord, payload: roomBody() });
  const roomId: string = room.body.id;
  await call({ method: 'POST', url: '/api/rooms', headers: landlord, payload: { ...roomBody(), pricePerNight: -1 } });
  await call({ method: 'POST', url: '/api/rooms', headers: as('tenant'), payload: roomBody() });
  await call({ method: 'POST', url: '/api/rooms', headers: landlord, payload: 'not json' });
  await call({ method: 'PUT', url: `/api/rooms/${roomId}`, headers: landlord, payload: { pricePerNight: 5000 } });
  await call({
    method: 'PUT',
    url: `/api/rooms/${roomId}`,
    headers: { ...landlord, 'if-match': '"0"' },
    payload: { pricePerNight: 5100 },
  });
  await call({ method: 'PUT', url: `/api/rooms/${randomUUID()}`, headers: landlord, payload: { pricePerNight: 5000 } });
  await call({
    method: 'PUT',
    url: `/api/rooms/${roomId}/availability`,
    headers: landlord,
    payload: { blocked: [{ from: daysFromNow(50), to: daysFromNow(52) }] },
  });
  await call({
    method: 'PUT',
    url: `/api/rooms/${roomId}/availability`,
    headers: landlord,
    payload: { blocked: [{ from: daysFromNow(52), to: daysFromNow(50) }] },
  });
  const published = await call({ method: 'POST', url: `/api/rooms/${roomId}/publish`, headers: landlord });
  await call({ method: 'POST', url: `/api/rooms/${roomId}/publish`, headers: as('landlord') });
  const second = await call({
    method: 'POST',
    url: '/api/rooms',
    headers: landlord,
    payload: roomBody({ title: 'Second room near the station' }),
  });
  await call({ method: 'POST', url: `/api/rooms/${second.body.id}/publish`, headers: landlord });
  const hidden = await call({
    method: 'POST',
    url: '/api/rooms',
    headers: landlord,
    payload: roomBody({ title: 'Room to hide again' }),
  });
  await call({ method: 'POST', url: `/api/rooms/${hidden.body.id}/publish`, headers: landlord });
  await call({ method: 'POST', url: `/api/rooms/${hidden.body.id}/unpublish`, headers: landlord });
  await call({ method: 'POST', url: `/api/rooms/${randomUUID()}/unpublish`, headers: landlord });
  await call({ method: 'POST', url: `/api/rooms/${roomId}/publish`, headers: as('tenant') });
  const roomWait = { 'x-min-position': published.body.position as string };
  const owned = await call({ method: 'GET', url: `/api/rooms/${roomId}`, headers: { ...landlord, ...roomWait } });
  await call({ method: 'GET', url: `/api/rooms/${roomId}` });
  await call({ method: 'GET', url: `/api/rooms/${randomUUID()}` });
  await call({ method: 'GET', url: `/api/rooms/urn:uuid:${randomUUID()}` });
  await call({ method: 'GET', url: `/api/rooms/${roomId}`, headers: { 'x-min-position': '9223372036854775000' } });
  if (owned.body.calendarUrl) await call({ method: 'GET', url: owned.body.calendarUrl });
  await call({ method: 'GET', url: `/api/rooms/${roomId}/calendar.ics?token=${'x'.repeat(43)}` });
  await call({ method: 'GET', url: `/api/rooms/${roomId}/calendar.ics` });

  // Photos
  const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3a6' } })
    .jpeg()
    .toBuffer();
  const upload = multipartBody([{ filename: 'room.jpg', contentType: 'image/jpeg', content: jpeg }]);
  const photos = await call({
    method: 'POST',
    url: `/api/rooms/${roomId}/photos`,
    headers: { ...landlord, ...upload.headers },
    payload: upload.payload,
  });
  const gif = multipartBody([
    { filename: 'room.gif', contentType: 'image/gif', content: Buffer.from('GIF89a-not-really') },
  ]);
  await call({
    method: 'POST',
    url: `/api/rooms/${roomId}/photos`,
    headers: { ...landlord, ...gif.headers },
    payload: gif.payload,
  });
  await call({ method: 'POST', url: `/api/rooms/${roomId}/photos`, headers: landlord, payload: {} });
  const photo = photos.body?.photos?.[0];
  if (photo) {
    await call({ method: 'GET', url: photo.url });
    await call({ method: 'GET', url: photo.url, headers: { 'if-none-match': '"nothing"' } });
  }
  await call({ method: 'GET', url: `/api/photos/${'0'.repeat(64)}` });
  await call({ method: 'DELETE', url: `/api/rooms/${roomId}/photos/${photo?.id ?? randomUUID()}`, headers: landlord });
  await call({ method: 'DELETE', url: `/api/rooms/${roomId}/photos/${randomUUID()}`, headers: landlord });

  // Search
  const searchWait = { 'x-min-position': recorded.length ? published.body.position : '0' };
  await call({ method: 'GET', url: `/api/rooms/search?examLocationId=${venueId}&limit=1`, headers: searchWait });
  const page = await call({
    method: 'GET',
    url: `/api/rooms/search?lat=${location.lat}&lng=${location.lng}&limit=1&sort=price`,
    headers: searchWait,
  });
  if (page.body.nextCursor)
    await call({
      method: 'GET',
      url: `/api/rooms/search?lat=${location.lat}&lng=${location.lng}&limit=1&sort=price&cursor=${page.body.nextCursor}`,
    });
  await call({ method: 'GET', url: `/api/rooms/search?lat=${location.lat}&lng=${location.lng}&cursor=YQB4` });
  await call({ method: 'GET', url: '/api/rooms/search' });
  await call({ method: 'GET', url: `/api/rooms/search?examLocationId=${randomUUID()}` });
  await call({ method: 'GET', url: '/api/rooms/search', headers: as('tenant') });
  await call({
    method: 'GET',
    url: `/api/rooms/${roomId}/ranking-score?examLocationId=${venueId}`,
    headers: searchWait,
  });
  await call({ method: 'GET', url: `/api/rooms/${randomUUID()}/ranking-score?examLocationId=${venueId}` });
  await call({ method: 'GET', url: `/api/rooms/${roomId}/ranking-score` });

  // Bookings and payments
  const tenant = as('tenant');
  const booking = await call({
    method: 'POST',
    url: '/api/bookings',
    headers: tenant,
    payload: { roomId, checkIn: daysFromNow(10), checkOut: daysFromNow(12), guests: 1 },
  });
  await call({
    method: 'POST',
    url: '/api/bookings',
    headers: as('tenant'),
    payload: { roomId, checkIn: daysFromNow(10), checkOut: daysFromNow(12), guests: 1 },
  });
  await call({
    method: 'POST',
    url: '/api/bookings',
    headers: tenant,
    payload: { roomId: randomUUID(), checkIn: daysFromNow(10), checkOut: daysFromNow(12), guests: 1 },
  });
  await call({
    method: 'POST',
    url: '/api/bookings',
    headers: tenant,
    payload: { roomId, checkIn: daysFromNow(12), checkOut: daysFromNow(10), guests: 1 },
  });
  await call({
    method: 'POST',
    url: '/api/bookings',
    headers: landlord,
    payload: { roomId, checkIn: daysFromNow(20), checkOut: daysFromNow(22), guests: 1 },
  });
  const other = await call({
    method: 'POST',
    url: '/api/bookings',
    headers: tenant,
    payload: { roomId: second.body.id, checkIn: daysFromNow(15), checkOut: daysFromNow(16), guests: 1 },
  });
  const bookingId: string = booking.body.id;
  const confirmed = await call({
    method: 'PUT',
    url: `/api/bookings/${bookingId}/status`,
    headers: landlord,
    payload: { status: 'confirmed' },
  });
  await call({
    method: 'PUT',
    url: `/api/bookings/${bookingId}/status`,
    headers: landlord,
    payload: { status: 'completed' },
  });
  await call({
    method: 'PUT',
    url: `/api/bookings/${bookingId}/status`,
    headers: landlord,
    payload: { status: 'teleported' },
  });
  await call({
    method: 'PUT',
    url: `/api/bookings/${randomUUID()}/status`,
    headers: landlord,
    payload: { status: 'confirmed' },
  });
  await call({
    method: 'PUT',
    url: `/api/bookings/${other.body.id}/status`,
    headers: tenant,
    payload: { status: 'cancelled', reason: 'plans changed' },
  });
  const paid = await call({
    method: 'POST',
    url: `/api/bookings/${bookingId}/payments`,
    headers: landlord,
    payload: { amount: 1000, method: 'cash' },
  });
  await call({
    method: 'POST',
    url: `/api/bookings/${bookingId}/payments`,
    headers: landlord,
    payload: { amount: -5, method: 'cash' },
  });
  await call({
    method: 'POST',
    url: `/api/bookings/${bookingId}/payments`,
    headers: tenant,
    payload: { amount: 1000, method: 'cash' },
  });
  await call({
    method: 'POST',
    url: `/api/bookings/${bookingId}/payments`,
    headers: landlord,
    payload: { amount: 10_000_000, method: 'cash' },
  });
  const bookingWait = { 'x-min-position': (paid.body.position ?? confirmed.body.position ?? '0') as string };
  await call({ method: 'GET', url: `/api/bookings/${bookingId}`, headers: { ...tenant, ...bookingWait } });
  await call({ method: 'GET', url: `/api/bookings/${bookingId}`, headers: t.as('auditor') });
  await call({ method: 'GET', url: `/api/bookings/${bookingId}`, headers: t.as('tenant', randomUUID()) });
  await call({ method: 'GET', url: `/api/bookings/${randomUUID()}`, headers: t.as('analyst') });
  const list = await call({ method: 'GET', url: '/api/user/bookings?limit=1', headers: { ...tenant, ...bookingWait } });
  if (list.body.nextCursor)
    await call({ method: 'GET', url: `/api/user/bookings?limit=1&cursor=${list.body.nextCursor}`, headers: tenant });
  await call({ method: 'GET', url: '/api/user/bookings?status=confirmed', headers: landlord });
  await call({ method: 'GET', url: '/api/user/bookings?cursor=YQB4', headers: tenant });
  await call({ method: 'GET', url: '/api/user/bookings', headers: as('admin') });
  await call({ method: 'GET', url: '/api/user/bookings' });

  // Analytics
  await call({ method: 'GET', url: '/api/analytics/dashboard', headers: t.as('analyst') });
  await call({ method: 'GET', url: '/api/analytics/dashboard?from=2026-02-30', headers: t.as('analyst') });
  await call({ method: 'GET', url: '/api/analytics/dashboard', headers: tenant });
  await call({ method: 'GET', url: `/api/analytics/landlord/${users.landlord}`, headers: landlord });
  await call({ method: 'GET', url: `/api/analytics/landlord/${users.landlord}`, headers: t.as('landlord') });
  await call({ method: 'GET', url: '/api/analytics/export/csv?dataset=bookings', headers: as('admin') });
  await call({ method: 'GET', url: '/api/analytics/export/csv?dataset=users', headers: as('admin') });

  // Messaging
  const messagingLandlord = await call({
    method: 'POST',
    url: '/api/auth/register',
    payload: {
      ...person,
      email: `landlord-${email}`,
      phone: `+39${Math.floor(1e9 + Math.random() * 8e9)}`,
      role: 'landlord',
    },
  });
  const partnerId: string = messagingLandlord.body?.user?.id ?? randomUUID();
  const conversation = await call({
    method: 'POST',
    url: '/api/conversations',
    headers: tenant,
    payload: { participantId: partnerId },
  });
  await call({ method: 'POST', url: '/api/conversations', headers: tenant, payload: { participantId: users.tenant } });
  await call({ method: 'POST', url: '/api/conversations', headers: tenant, payload: { participantId: randomUUID() } });
  await call({
    method: 'POST',
    url: '/api/conversations',
    headers: as('admin'),
    payload: { participantId: partnerId },
  });
  await call({ method: 'POST', url: '/api/conversations', headers: tenant, payload: { participantId: 'nope' } });
  const conversationId: string = conversation.body?.id ?? randomUUID();
  const messagePhoto = multipartBody([{ filename: 'view.jpg', contentType: 'image/jpeg', content: jpeg }]);
  const messagePhotoUpload = await call({
    method: 'POST',
    url: '/api/messages/upload-photo',
    headers: { ...tenant, ...messagePhoto.headers },
    payload: messagePhoto.payload,
  });
  await call({ method: 'POST', url: '/api/messages/upload-photo', headers: tenant, payload: {} });
  const messagePhotoId: string = messagePhotoUpload.body?.photoId ?? randomUUID();
  const message = await call({
    method: 'POST',
    url: `/api/conversations/${conversationId}/messages`,
    headers: tenant,
    payload: { body: 'Is the room free? Mail me at someone@example.org', photoIds: [messagePhotoId] },
  });
  await call({
    method: 'POST',
    url: `/api/conversations/${conversationId}/messages`,
    headers: tenant,
    payload: { body: '' },
  });
  await call({
    method: 'POST',
    url: `/api/conversations/${conversationId}/messages`,
    headers: tenant,
    payload: { body: 'hello', photoIds: [randomUUID()] },
  });
  await call({
    method: 'POST',
    url: `/api/conversations/${randomUUID()}/messages`,
    headers: tenant,
    payload: { body: 'hello' },
  });
  const messageWait = { 'x-min-position': (message.body?.position ?? '0') as string };
  await call({ method: 'GET', url: '/api/conversations?limit=1', headers: { ...tenant, ...messageWait } });
  await call({ method: 'GET', url: '/api/conversations?cursor=YQB4', headers: tenant });
  await call({ method: 'GET', url: '/api/conversations' });
  await call({
    method: 'GET',
    url: `/api/conversations/${conversationId}/messages?limit=1`,
    headers: { ...tenant, ...messageWait },
  });
  await call({ method: 'GET', url: `/api/conversations/${conversationId}/messages`, headers: as('admin') });
  await call({ method: 'GET', url: `/api/messages/photos/${messagePhotoId}`, headers: { ...tenant, ...messageWait } });
  await call({ method: 'GET', url: `/api/messages/photos/${messagePhotoId}/thumbnail`, headers: tenant });
  await call({ method: 'GET', url: `/api/messages/photos/${messagePhotoId}`, headers: as('admin') });
  await call({ method: 'GET', url: `/api/messages/photos/${randomUUID()}/thumbnail`, headers: tenant });
  const partner = messagingLandlord.body?.accessToken
    ? { authorization: `Bearer ${messagingLandlord.body.accessToken}` }
    : landlord;
  await call({
    method: 'POST',
    url: `/api/conversations/${conversationId}/read`,
    headers: partner,
    payload: { upToMessageId: message.body?.id ?? randomUUID() },
  });
  await call({
    method: 'POST',
    url: `/api/conversations/${conversationId}/read`,
    headers: partner,
    payload: { upToMessageId: randomUUID() },
  });
  await call({ method: 'POST', url: `/api/conversations/${conversationId}/read`, headers: partner, payload: {} });

  // Saved searches
  const savedSearch = await call({
    method: 'POST',
    url: '/api/saved-searches',
    headers: tenant,
    payload: {
      name: 'Exam week',
      examLocationId: venueId,
      radius: 3,
      checkIn: daysFromNow(40),
      checkOut: daysFromNow(42),
      maxPrice: 6000,
      amenities: ['wifi'],
    },
  });
  await call({ method: 'POST', url: '/api/saved-searches', headers: tenant, payload: { ...location, radius: 51 } });
  await call({
    method: 'POST',
    url: '/api/saved-searches',
    headers: tenant,
    payload: { examLocationId: randomUUID() },
  });
  await call({
    method: 'POST',
    url: '/api/saved-searches',
    headers: tenant,
    payload: { ...location, checkIn: daysFromNow(-2), checkOut: daysFromNow(1) },
  });
  await call({ method: 'POST', url: '/api/saved-searches', headers: landlord, payload: location });
  const savedWait = { 'x-min-position': (savedSearch.body?.position ?? '0') as string };
  await call({ method: 'GET', url: '/api/saved-searches?limit=1', headers: { ...tenant, ...savedWait } });
  await call({ method: 'GET', url: '/api/saved-searches?cursor=YQB4', headers: tenant });
  await call({ method: 'GET', url: '/api/saved-searches' });
  const savedSearchId: string = savedSearch.body?.id ?? randomUUID();
  await call({ method: 'DELETE', url: `/api/saved-searches/${savedSearchId}`, headers: as('tenant') });
  await call({ method: 'DELETE', url: `/api/saved-searches/${randomUUID()}`, headers: tenant });
  await call({ method: 'DELETE', url: `/api/saved-searches/${savedSearchId}`, headers: landlord });

  // Notifications
  const mine = await call({ method: 'GET', url: '/api/notifications?limit=1', headers: tenant });
  if (mine.body.nextCursor)
    await call({ method: 'GET', url: `/api/notifications?cursor=${mine.body.nextCursor}`, headers: tenant });
  await call({ method: 'GET', url: '/api/notifications?cursor=YQB4', headers: tenant });
  await call({ method: 'GET', url: '/api/notifications' });
  const firstNotification = mine.body.items?.[0]?.id as string | undefined;
  if (firstNotification)
    await call({ method: 'POST', url: `/api/notifications/${firstNotification}/read`, headers: tenant });
  await call({ method: 'POST', url: `/api/notifications/${randomUUID()}/read`, headers: tenant });
  await call({ method: 'POST', url: '/api/notifications/nope/read', headers: tenant });
  await call({ method: 'GET', url: '/api/notifications/preferences', headers: tenant });
  await call({
    method: 'PUT',
    url: '/api/notifications/preferences',
    headers: tenant,
    payload: { kinds: { payment_due: { sms: true } } },
  });
  await call({
    method: 'PUT',
    url: '/api/notifications/preferences',
    headers: tenant,
    payload: { kinds: { no_such_kind: { sms: true } } },
  });
  const unsubscribe = t.runtime.notifications.unsubscribe.sign(users.tenant, 'payment_due');
  await call({ method: 'POST', url: `/api/notifications/unsubscribe?token=${encodeURIComponent(unsubscribe)}` });
  await call({ method: 'POST', url: '/api/notifications/unsubscribe?token=forged' });
  await call({ method: 'POST', url: '/api/notifications/unsubscribe' });
  await call({ method: 'GET', url: '/api/ops/notifications/failed', headers: as('support') });
  await call({ method: 'GET', url: '/api/ops/notifications/failed', headers: tenant });
  await call({ method: 'POST', url: '/api/ops/notifications/failed/no-such-job/retry', headers: as('support') });
  await call({ method: 'POST', url: '/api/ops/notifications/failed/no-such-job/retry', headers: landlord });

  // Reviews (the stay is not completed here: test/http/reviews.test.ts moves the clock for the 201s)
  const review = { bookingId, rating: 5, comment: 'Quiet and bright' };
  await call({ method: 'POST', url: `/api/rooms/${roomId}/reviews`, headers: tenant, payload: review });
  await call({ method: 'POST', url: `/api/rooms/${roomId}/reviews`, headers: landlord, payload: review });
  await call({
    method: 'POST',
    url: `/api/rooms/${roomId}/reviews`,
    headers: tenant,
    payload: { ...review, rating: 6 },
  });
  await call({ method: 'POST', url: `/api/bookings/${bookingId}/guest-review`, headers: landlord, payload: review });
  await call({
    method: 'POST',
    url: `/api/bookings/${randomUUID()}/guest-review`,
    headers: landlord,
    payload: { rating: 4, comment: 'Tidy guest' },
  });
  await call({ method: 'GET', url: `/api/rooms/${roomId}/reviews?limit=1` });
  await call({ method: 'GET', url: `/api/rooms/${roomId}/reviews?cursor=YQB4` });
  await call({
    method: 'POST',
    url: `/api/reviews/${randomUUID()}/responses`,
    headers: landlord,
    payload: { body: 'Thanks' },
  });
  await call({
    method: 'POST',
    url: `/api/reviews/${randomUUID()}/responses`,
    headers: tenant,
    payload: { body: 'Thanks' },
  });
  await call({
    method: 'POST',
    url: `/api/reviews/${randomUUID()}/hide`,
    headers: as('admin'),
    payload: { reason: 'spam' },
  });
  await call({
    method: 'POST',
    url: `/api/reviews/${randomUUID()}/hide`,
    headers: tenant,
    payload: { reason: 'spam' },
  });

  // The audit API: a booking's stream, its chain, its timeline and state, and the record of those reads.
  const auditor = as('auditor');
  await call({ method: 'GET', url: `/api/audit/streams/Booking-${bookingId}?limit=1`, headers: auditor });
  await call({ method: 'GET', url: `/api/audit/streams/Booking-${randomUUID()}`, headers: auditor });
  await call({ method: 'GET', url: '/api/audit/streams/not%20a%20stream', headers: auditor });
  await call({ method: 'GET', url: `/api/audit/streams/Booking-${bookingId}`, headers: tenant });
  await call({ method: 'GET', url: `/api/audit/streams/Booking-${bookingId}/verify`, headers: auditor });
  await call({ method: 'GET', url: `/api/audit/streams/Booking-${randomUUID()}/verify`, headers: auditor });
  await call({ method: 'GET', url: `/api/audit/bookings/${bookingId}/history`, headers: as('admin') });
  await call({ method: 'GET', url: `/api/audit/bookings/${randomUUID()}/history`, headers: auditor });
  await call({ method: 'GET', url: `/api/audit/bookings/${bookingId}/state`, headers: auditor });
  await call({ method: 'GET', url: `/api/audit/bookings/${bookingId}/state?at=nope`, headers: auditor });
  await call({ method: 'GET', url: '/api/audit/reads', headers: as('admin') });
  await call({ method: 'GET', url: '/api/audit/reads?from=2026-02-30', headers: as('admin') });
  await call({ method: 'GET', url: '/api/audit/reads', headers: auditor });
  const digest = await call({ method: 'GET', url: '/api/audit/digest', headers: auditor });
  await call({ method: 'GET', url: '/api/audit/digest', headers: tenant });
  const token = (digest.body as { token?: string }).token ?? 'v1.0.0.0.0';
  await call({ method: 'GET', url: `/api/audit/verify?digest=${encodeURIComponent(token)}`, headers: auditor });
  await call({ method: 'GET', url: '/api/audit/verify?digest=nope', headers: auditor });
  await call({ method: 'GET', url: '/api/audit/export?from=0&to=1', headers: auditor });
  await call({ method: 'GET', url: '/api/audit/export?from=2&to=1', headers: auditor });
  await call({ method: 'GET', url: '/api/audit/export', headers: tenant });

  const support = as('support');
  await call({ method: 'POST', url: '/api/ops/projections/rooms/pause', headers: support });
  await call({ method: 'POST', url: '/api/ops/projections/rooms/resume', headers: support });
  await call({ method: 'POST', url: '/api/ops/projections/nothing/pause', headers: support });
  await call({ method: 'POST', url: '/api/ops/projections/rooms/rebuild', headers: support });
  await call({ method: 'POST', url: '/api/ops/projections/feed/rebuild', headers: support });
  await call({ method: 'POST', url: '/api/ops/projections/rooms/rebuild', headers: tenant });
  const streamRebuild = await call({
    method: 'POST',
    url: `/api/ops/projections/bookings/streams/Booking-${bookingId}/rebuild`,
    headers: support,
  });
  await call({ method: 'POST', url: '/api/ops/projections/messaging/streams/Room-x/rebuild', headers: support });
  await call({
    method: 'GET',
    url: `/api/ops/stream-rebuilds/${(streamRebuild.body as { id?: string }).id ?? randomUUID()}`,
    headers: support,
  });
  await call({ method: 'GET', url: `/api/ops/stream-rebuilds/${randomUUID()}`, headers: support });
  await call({ method: 'GET', url: '/api/ops/parked-events?status=all', headers: support });
  await call({ method: 'GET', url: '/api/ops/parked-events?cursor=nope', headers: support });
  await call({ method: 'POST', url: `/api/ops/parked-events/${randomUUID()}/retry`, headers: support });
  await call({ method: 'POST', url: `/api/ops/parked-events/${randomUUID()}/skip`, headers: as('admin') });

  // Erasure last: it ends the person's sessions.
  await call({ method: 'DELETE', url: `/api/admin/users/${userId}/personal-data`, headers: as('admin') });
  await call({ method: 'DELETE', url: `/api/admin/users/${randomUUID()}/personal-data`, headers: as('admin') });
  await call({ method: 'DELETE', url: `/api/admin/users/${userId}/personal-data`, headers: as('support') });
}

describe('the OpenAPI document', () => {
  it('lists query parameters with defaults as optional, and every route with its error answers', async () => {
    await t.app.ready();
    const document = t.app.swagger() as unknown as {
      paths: Record<
        string,
        Record<
          string,
          { parameters?: Array<{ name: string; in: string; required?: boolean }>; responses: Record<string, unknown> }
        >
      >;
    };
    const search = document.paths['/api/rooms/search']!.get!;
    for (const name of ['limit', 'radius', 'sort']) {
      expect(search.parameters!.find((p) => p.name === name && p.in === 'query')?.required, name).toBe(false);
    }
    for (const path of ['/api/universities', '/api/exam-venues', '/api/user/bookings']) {
      expect(document.paths[path]!.get!.parameters!.find((p) => p.name === 'limit')?.required, path).toBe(false);
    }
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const statuses = Object.keys(operation.responses);
        expect(statuses, `${method} ${path}`).toEqual(expect.arrayContaining(['401', '500', '503']));
        if (!/^\/(health|metrics)/.test(path)) expect(statuses, `${method} ${path}`).toContain('429');
        if (operation.parameters?.length || method !== 'get') expect(statuses, `${method} ${path}`).toContain('400');
        expect(
          statuses.some((s) => s.startsWith('2')),
          `${method} ${path} has a success answer`,
        ).toBe(true);
      }
    }
  });

  it('describes every answer of a flow through every route', async () => {
    await flow();
    const validator = await openapiValidator(t.app);
    const violations = recorded.flatMap((response) =>
      validator.check(response).map((v) => [response.route ?? '', v] as const),
    );
    const documentPath = (route: string) => route.replace(/:(\w+)/g, '{$1}');
    expect(violations.map(([, v]) => v)).toEqual([]);
    const reached = new Set(recorded.map((r) => `${r.method} ${documentPath(r.route ?? '')}`));
    expect(validator.operations.filter((op) => !reached.has(op))).toEqual([]);
    const errorStatuses = new Set(recorded.filter((r) => r.status >= 400).map((r) => r.status));
    for (const status of [400, 401, 403, 404, 409, 422]) expect([...errorStatuses]).toContain(status);
  }, 120_000);
});
