import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calendarDecider, calendarStreamId } from '../../domain/bookings/calendar.js';
import { fold } from '../../domain/shared/decider.js';
import { toArray } from '../../infra/eventStore/eventStore.js';
import { PostgresEventStore } from '../../infra/eventStore/postgres/postgresEventStore.js';
import { roomBody } from '../support/builders/rooms.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ServerProcess, signTestToken, startServer } from '../support/serverProcess.js';

const bearer = (role: 'tenant' | 'landlord', sub: string) => ({
  authorization: `Bearer ${signTestToken({ sub, role, email: `${role}@example.test` })}`,
  'content-type': 'application/json',
});

describe('no double booking across two API processes', () => {
  let db: TestDatabase;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(2);
    for (let i = 0; i < 2; i++) servers.push(await startServer(db.url, { ROOMLINE_PROCESS: 'api' }));
  }, 120_000);

  afterAll(async () => {
    for (const { child } of servers) child.kill('SIGKILL');
    await db?.drop();
  });

  it('holds every night of one room for at most one booking under 100 concurrent overlapping requests', async () => {
    const landlord = randomUUID();
    const [a, b] = servers;
    const created = await fetch(`${a!.base}/api/rooms`, {
      method: 'POST',
      headers: bearer('landlord', landlord),
      body: JSON.stringify(roomBody()),
    });
    const createdBody = (await created.json()) as { id: string };
    expect(created.status, JSON.stringify(createdBody)).toBe(201);
    const roomId = createdBody.id;
    const published = await fetch(`${b!.base}/api/rooms/${roomId}/publish`, {
      method: 'POST',
      headers: { authorization: bearer('landlord', landlord).authorization },
    });
    expect(published.status, await published.clone().text()).toBe(200);

    const statuses = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const day = 1 + (i % 25);
        const response = await fetch(`${(i % 2 === 0 ? a : b)!.base}/api/bookings`, {
          method: 'POST',
          headers: bearer('tenant', randomUUID()),
          body: JSON.stringify({
            roomId,
            checkIn: `2027-08-${String(day).padStart(2, '0')}`,
            checkOut: `2027-08-${String(day + 2).padStart(2, '0')}`,
            guests: 1,
          }),
        });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    for (const status of statuses) expect([201, 409]).toContain(status);
    const accepted = statuses.filter((s) => s === 201).length;
    expect(accepted).toBeGreaterThan(0);

    const store = new PostgresEventStore({ pool: db.pool });
    const events = await toArray(store.readStream(calendarStreamId(roomId)));
    const calendar = fold(
      calendarDecider,
      events.map((e) => ({ type: e.type, data: e.data }) as never),
    );
    const nightsPerBooking = new Map<string, number>();
    for (const booking of calendar.held.values())
      nightsPerBooking.set(booking.bookingId, (nightsPerBooking.get(booking.bookingId) ?? 0) + 1);
    expect(nightsPerBooking.size).toBe(accepted);
    for (const count of nightsPerBooking.values()) expect(count).toBe(2);
    expect(calendar.held.size).toBe(accepted * 2);
  }, 90_000);
});
