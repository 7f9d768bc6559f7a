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

/** A date some days from now (the suite runs under faketime a year ahead too). */
const dayFromNow = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

describe('no double booking across two API processes', () => {
  let db: TestDatabase;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(2);
    // Calendar snapshots every few events: both processes decide on snapshots the other took, under the race.
    for (let i = 0; i < 2; i++) {
      servers.push(await startServer(db.url, { ROOMLINE_PROCESS: 'api', SNAPSHOT_EVERY_EVENTS: '3' }));
    }
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
        const day = i % 25;
        const response = await fetch(`${(i % 2 === 0 ? a : b)!.base}/api/bookings`, {
          method: 'POST',
          headers: bearer('tenant', randomUUID()),
          body: JSON.stringify({
            roomId,
            checkIn: dayFromNow(60 + day),
            checkOut: dayFromNow(62 + day),
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
    const snapshot = await db.pool.query<{ revision: string }>(
      'SELECT revision FROM stream_snapshots WHERE stream_id = $1',
      [calendarStreamId(roomId)],
    );
    expect(Number(snapshot.rows[0]?.revision)).toBeGreaterThanOrEqual(accepted - 3);
    for (const count of nightsPerBooking.values()) expect(count).toBe(2);
    expect(calendar.held.size).toBe(accepted * 2);
  }, 90_000);
});
