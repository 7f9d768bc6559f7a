import { randomInt, randomUUID } from 'node:crypto';
import type { Worker } from 'bullmq';
import { expect } from 'vitest';
import type { EventStore, RecordedEvent } from '../../infra/eventStore/eventStore.js';
import { notificationWorkerDeps } from '../../infra/runtime.js';
import { createNotificationWorker } from '../../workers/notificationWorker.js';
import type { TestApp } from './app.js';
import { roomBody } from './builders/rooms.js';

type Headers = Record<string, string>;

/** The day `offset` days from today (UTC), yyyy-mm-dd: no test date is one the calendar will pass. */
export const dayFromNow = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

/** A person registered through the API (so notifications can reach them), signed in. */
export async function registered(
  t: TestApp,
  role: 'tenant' | 'landlord',
  fullName = 'Giulia Rossi',
): Promise<{ id: string; email: string; headers: Headers }> {
  const email = `${role}-${randomUUID().slice(0, 8)}@students.example.org`;
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: {
      email,
      password: 'correct horse battery staple',
      role,
      fullName,
      phone: `+39${randomInt(1_000_000_000, 9_999_999_999)}`,
    },
  });
  expect(response.statusCode, response.body).toBe(201);
  const { user, accessToken } = response.json() as { user: { id: string }; accessToken: string };
  return { id: user.id, email, headers: { authorization: `Bearer ${accessToken}` } };
}

/** A room of `landlord`, published, and a booking of `tenant` for it, confirmed by the landlord. */
export async function confirmedBooking(
  t: TestApp,
  landlord: { headers: Headers },
  tenant: { headers: Headers },
  startInDays = 60,
): Promise<{ bookingId: string; roomId: string; position: string }> {
  const room = await t.app.inject({
    method: 'POST',
    url: '/api/rooms',
    headers: landlord.headers,
    payload: roomBody({ title: 'Sunny room "near" the <Faculty> & library' }),
  });
  expect(room.statusCode, room.body).toBe(201);
  const roomId = room.json().id as string;
  await t.app.inject({ method: 'POST', url: `/api/rooms/${roomId}/publish`, headers: landlord.headers });
  const requested = await t.app.inject({
    method: 'POST',
    url: '/api/bookings',
    headers: tenant.headers,
    payload: { roomId, checkIn: dayFromNow(startInDays), checkOut: dayFromNow(startInDays + 3), guests: 1 },
  });
  expect(requested.statusCode, requested.body).toBe(201);
  const bookingId = requested.json().id as string;
  const confirmed = await t.app.inject({
    method: 'PUT',
    url: `/api/bookings/${bookingId}/status`,
    headers: landlord.headers,
    payload: { status: 'confirmed' },
  });
  expect(confirmed.statusCode, confirmed.body).toBe(200);
  return { bookingId, roomId, position: confirmed.json().position as string };
}

/** The notification worker of the test app, on its queues, through its mailer (SMTP_URL) and outboxes. */
export async function startNotificationWorker(t: TestApp): Promise<Worker> {
  const worker = createNotificationWorker({
    ...notificationWorkerDeps(t.runtime),
    at: t.runtime.queueConnection,
    logger: t.runtime.logger,
    clock: t.runtime.clock,
    mailer: t.runtime.mailer,
    concurrency: 2,
  });
  await worker.waitUntilReady();
  return worker;
}

/** A person's notification events (raised and read), from the event store: each notification is a stream of its own. */
export async function notificationEventsOf(store: EventStore, userId: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readAll({
    filter: { eventTypes: ['NotificationRaised', 'NotificationRead'], streamPrefixes: ['Notification-'] },
  })) {
    if ((event.data as { userId?: string }).userId === userId) events.push(event);
  }
  return events;
}
