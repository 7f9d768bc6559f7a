import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AnalyticsStore } from '../../infra/analytics/analyticsStore.js';
import { type EventRow, PERSON_COLUMNS } from '../../infra/analytics/schema.js';
import { createSearchLog } from '../../infra/analytics/searchLog.js';
import { analyticsProjectionName } from '../../projections/analytics/analyticsProjection.js';
import { ProjectionRunner } from '../../projections/runner.js';
import { waitForCheckpoint } from '../../projections/status.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { roomBody } from '../support/builders/rooms.js';
import { capturedLogger } from '../support/capturedLogger.js';

const DAY_MS = 86_400_000;
/** A date `n` days from today by the test's clock (the app's clock is the same system clock). */
const day = (n: number) => new Date(Date.now() + n * DAY_MS).toISOString().slice(0, 10);
const dayNo = (date: string) => Date.parse(`${date}T00:00:00Z`) / DAY_MS;

let t: TestApp;
let store: AnalyticsStore;
const runners: ProjectionRunner[] = [];
const landlordA = randomUUID();
const landlordB = randomUUID();
let venueId: string;
let sessionId: string;
const FROM = () => day(-3);
const TO = () => day(40);
const SEARCHES = 7;

interface Made {
  id: string;
  landlordId: string;
  tenantId: string;
  checkIn: string;
  checkOut: string;
  amount: number;
  currency: string;
  status: string;
  venueId: string | null;
}
const made: Made[] = [];
const rooms: Array<{ id: string; landlordId: string }> = [];
let erasedPerson: string | undefined;

async function room(landlordId: string, overrides: Parameters<typeof roomBody>[0] = {}): Promise<string> {
  const headers = t.as('landlord', landlordId);
  const created = await t.app.inject({ method: 'POST', url: '/api/rooms', headers, payload: roomBody(overrides) });
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json().id as string;
  const published = await t.app.inject({ method: 'POST', url: `/api/rooms/${id}/publish`, headers });
  expect(published.statusCode, published.body).toBe(200);
  rooms.push({ id, landlordId });
  return id;
}

async function book(
  roomId: string,
  landlordId: string,
  checkIn: string,
  checkOut: string,
  status: 'pending' | 'confirmed' | 'rejected' | 'cancelled',
  options: { tenantId?: string; headers?: Record<string, string>; venueId?: string } = {},
): Promise<Made> {
  const tenantId = options.tenantId ?? randomUUID();
  const tenant = options.headers ?? t.as('tenant', tenantId);
  const requested = await t.app.inject({
    method: 'POST',
    url: '/api/bookings',
    headers: tenant,
    payload: { roomId, checkIn, checkOut, guests: 1 },
  });
  expect(requested.statusCode, requested.body).toBe(201);
  const { id, totalAmount, currency } = requested.json();
  const move = async (to: string, headers: Record<string, string>) => {
    const answer = await t.app.inject({
      method: 'PUT',
      url: `/api/bookings/${id}/status`,
      headers,
      payload: { status: to },
    });
    expect(answer.statusCode, answer.body).toBe(200);
  };
  if (status === 'confirmed' || status === 'cancelled') await move('confirmed', t.as('landlord', landlordId));
  if (status === 'cancelled') await move('cancelled', tenant);
  if (status === 'rejected') await move('rejected', t.as('landlord', landlordId));
  const booking = {
    id,
    landlordId,
    tenantId,
    checkIn,
    checkOut,
    amount: totalAmount,
    currency,
    status,
    venueId: options.venueId ?? null,
  };
  made.push(booking);
  return booking;
}

/** The analytics projection has applied everything written so far. */
async function caughtUp(): Promise<void> {
  const head = await t.runtime.eventStore.headPosition();
  await waitForCheckpoint(t.runtime.pool, { name: analyticsProjectionName, version: 1 }, head, 30_000);
}

const BOOKED = new Set(['confirmed', 'checked_in', 'completed', 'no_show']);
const nightsIn = (b: Made, from: string, to: string) =>
  Math.max(0, Math.min(dayNo(b.checkOut), dayNo(to) + 1) - Math.max(dayNo(b.checkIn), dayNo(from)));

/** The dashboard's figures computed here, from the bookings this test made. */
function expected(from: string, to: string, landlordId?: string) {
  const scope = made.filter((b) => landlordId === undefined || b.landlordId === landlordId);
  const booked = scope.filter((b) => BOOKED.has(b.status) && nightsIn(b, from, to) > 0);
  const currencies = [...new Set(booked.map((b) => b.currency))].sort();
  const revenueOf = (currency: string) =>
    booked
      .filter((b) => b.currency === currency)
      .reduce((sum, b) => sum + (b.amount * nightsIn(b, from, to)) / (dayNo(b.checkOut) - dayNo(b.checkIn)), 0);
  const nightsOf = (currency: string) =>
    booked.filter((b) => b.currency === currency).reduce((sum, b) => sum + nightsIn(b, from, to), 0);
  const nightsBooked = booked.reduce((sum, b) => sum + nightsIn(b, from, to), 0);
  // Every room was published today: its nights from today to the period's end are available.
  const roomCount = rooms.filter((r) => landlordId === undefined || r.landlordId === landlordId).length;
  const availableNights = roomCount * (dayNo(to) - Math.max(dayNo(day(0)), dayNo(from)) + 1);
  const bookingsPerDay = [];
  for (let d = dayNo(from); d <= dayNo(to); d++) {
    const date = new Date(d * DAY_MS).toISOString().slice(0, 10);
    bookingsPerDay.push({ date, bookings: date === day(0) ? scope.length : 0 });
  }
  const venues = new Map<string, { bookings: number; nights: number }>();
  for (const b of booked) {
    if (!b.venueId) continue;
    const v = venues.get(b.venueId) ?? { bookings: 0, nights: 0 };
    v.bookings++;
    v.nights += nightsIn(b, from, to);
    venues.set(b.venueId, v);
  }
  return {
    from,
    to,
    capped: false,
    bookingsPerDay,
    nightsBooked,
    availableNights,
    occupancyRate: Math.round((nightsBooked / availableNights) * 10_000) / 10_000,
    revenue: currencies.map((currency) => ({ currency, amount: Math.round(revenueOf(currency)) })),
    averageDailyRate: currencies.map((currency) => ({
      currency,
      amount: Math.round(revenueOf(currency) / nightsOf(currency)),
    })),
    searches: SEARCHES,
    searchToBookingRate: Math.round((scope.length / SEARCHES) * 10_000) / 10_000,
    topVenues: [...venues].map(([id, v]) => ({ venueId: id, name: 'Aula Magna', ...v })),
    ratingDistribution: [1, 2, 3, 4, 5].map((rating) => ({ rating, count: 0 })),
  };
}

const dashboard = (query: string, headers = t.as('analyst')) =>
  t.app.inject({ method: 'GET', url: `/api/analytics/dashboard?${query}`, headers });
/** One landlord's dashboard, as an admin sees it. */
const landlordDashboard = (landlordId: string, query: string) =>
  t.app.inject({ method: 'GET', url: `/api/analytics/landlord/${landlordId}?${query}`, headers: t.as('admin') });

/** RFC 4180: quoted fields, doubled quotes, commas and newlines inside quotes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (c !== '\r') field += c;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

beforeAll(async () => {
  t = await createTestApp({ config: { MIN_POSITION_WAIT_MS: '15000' } });
  store = t.runtime.analytics.store!;
  if (t.runner) runners.push(t.runner);
  const admin = t.as('admin');
  const location = { lat: 45.4642, lng: 9.19 };
  const university = await t.app.inject({
    method: 'POST',
    url: '/api/universities',
    headers: admin,
    payload: { name: 'Università Statale', city: 'Milano', country: 'IT', location },
  });
  venueId = (
    await t.app.inject({
      method: 'POST',
      url: '/api/exam-venues',
      headers: admin,
      payload: { universityId: university.json().id, name: 'Aula Magna', address: 'Via Festa 7, Milano', location },
    })
  ).json().id;
  sessionId = (
    await t.app.inject({
      method: 'POST',
      url: '/api/exam-sessions',
      headers: admin,
      payload: {
        universityId: university.json().id,
        name: 'Medicine admission',
        startsOn: day(20),
        endsOn: day(21),
        venueIds: [venueId],
      },
    })
  ).json().id;

  const a1 = await room(landlordA, { location });
  const a2 = await room(landlordA, { location, currency: 'GBP', pricePerNight: 3100 });
  const b1 = await room(landlordB, { location });
  await book(a1, landlordA, day(5), day(8), 'confirmed');
  await book(a1, landlordA, day(10), day(12), 'pending');
  await book(a1, landlordA, day(38), day(43), 'confirmed');
  await book(a1, landlordA, day(50), day(52), 'confirmed');
  await book(a2, landlordA, day(3), day(7), 'confirmed');
  await book(a2, landlordA, day(9), day(11), 'cancelled');
  await book(b1, landlordB, day(2), day(4), 'rejected');
  const candidate = randomUUID();
  const assigned = await t.app.inject({
    method: 'POST',
    url: `/api/exam-sessions/${sessionId}/assignments`,
    headers: { ...t.as('tenant', candidate) },
    payload: { venueId },
  });
  expect(assigned.statusCode, assigned.body).toBeLessThan(300);
  await book(b1, landlordB, day(19), day(22), 'confirmed', { tenantId: candidate, venueId });
  for (let i = 0; i < SEARCHES; i++) {
    const search = await t.app.inject({
      method: 'GET',
      url: `/api/rooms/search?examLocationId=${venueId}&radius=${5 + i}`,
    });
    expect(search.statusCode, search.body).toBe(200);
  }
  await t.runtime.analytics.searchLog!.flush();
  await caughtUp();
}, 120_000);

afterAll(async () => {
  for (const runner of runners.slice(1)) await runner.stop();
  await t?.close();
});

describe('GET /api/analytics/dashboard', () => {
  it('answers the figures computed from the bookings themselves', async () => {
    const response = await dashboard(`from=${FROM()}&to=${TO()}`);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual(expected(FROM(), TO()));
  });

  it('defaults to the last 30 days and caps a huge period at 366 days', async () => {
    const plain = await dashboard('');
    expect(plain.statusCode).toBe(200);
    expect(plain.json()).toMatchObject({ from: day(-29), to: day(0), capped: false });
    expect(plain.json().bookingsPerDay).toHaveLength(30);
    const huge = await dashboard('from=1970-01-01&to=2149-06-06');
    expect(huge.statusCode).toBe(200);
    expect(huge.json()).toMatchObject({ to: '2149-06-06', capped: true });
    expect(huge.json().bookingsPerDay).toHaveLength(366);
  });

  it('is for admins and analysts only', async () => {
    expect((await dashboard(`from=${FROM()}&to=${TO()}`, t.as('admin'))).statusCode).toBe(200);
    for (const role of ['tenant', 'landlord', 'official', 'auditor', 'support'] as const) {
      const response = await dashboard(`from=${FROM()}&to=${TO()}`, t.as(role));
      expect(response.statusCode, role).toBe(403);
      expect(response.json().error).toBe('FORBIDDEN');
    }
    expect((await t.app.inject({ method: 'GET', url: '/api/analytics/dashboard' })).statusCode).toBe(401);
  });

  it('answers 400 { error, message } to hostile periods', async () => {
    const hostile = [
      'from=2026-02-30',
      `from=${day(0)}&to=${day(-1)}`,
      'from=yesterday',
      "from=2026-01-01'%20OR%201=1--",
      'to=1969-12-31',
      'to=2149-06-07',
      'from=99999-01-01',
      'from[]=2026-01-01',
      'extra=1',
    ];
    for (const query of hostile) {
      const response = await dashboard(query);
      expect(response.statusCode, query).toBe(400);
      expect(response.json(), query).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    }
    expect((await dashboard(`from=${day(0)}&to=${day(-1)}`)).json().error).toBe('INVALID_PERIOD');
    expect((await dashboard('from=2026-02-30')).json()).toMatchObject({
      error: 'INVALID_DATE',
      details: { from: '2026-02-30' },
    });
  });
});

describe('GET /api/analytics/landlord/{id}', () => {
  const landlord = (id: string, headers: Record<string, string>, query = `from=${FROM()}&to=${TO()}`) =>
    t.app.inject({ method: 'GET', url: `/api/analytics/landlord/${id}?${query}`, headers });

  it('gives a landlord the figures of their own rooms only', async () => {
    const own = await landlord(landlordA, t.as('landlord', landlordA));
    expect(own.statusCode, own.body).toBe(200);
    expect(own.json()).toEqual(expected(FROM(), TO(), landlordA));
    const b = await landlord(landlordB, t.as('analyst'));
    expect(b.json()).toEqual(expected(FROM(), TO(), landlordB));
    expect((await landlord(landlordA, t.as('admin'))).json()).toEqual(own.json());
  });

  it('answers 403 to another landlord and to tenants, 400 to a bad id', async () => {
    expect((await landlord(landlordA, t.as('landlord', landlordB))).statusCode).toBe(403);
    expect((await landlord(landlordA, t.as('landlord'))).statusCode).toBe(403);
    expect((await landlord(landlordA, t.as('tenant', landlordA))).statusCode).toBe(403);
    for (const id of ['not-a-uuid', "x'%20OR%20'1'='1", '%00', `${landlordA}0`]) {
      expect((await landlord(id, t.as('admin'))).statusCode, id).toBe(400);
    }
    expect((await landlord(landlordA, t.as('admin'), 'to=2026-13-01')).statusCode).toBe(400);
  });
});

describe('GET /api/analytics/export/csv', () => {
  const exportCsv = (query: string, headers = t.as('analyst')) =>
    t.app.inject({ method: 'GET', url: `/api/analytics/export/csv?${query}`, headers });

  it('streams the bookings whose stay overlaps the period as CSV with a header', async () => {
    const response = await exportCsv(`dataset=bookings&from=${FROM()}&to=${TO()}`);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/csv/);
    expect(response.headers['content-disposition']).toBe(
      `attachment; filename="roomline-bookings-${FROM()}-${TO()}.csv"`,
    );
    const [header, ...rows] = parseCsv(response.body);
    expect(header).toEqual(expect.arrayContaining(['booking_id', 'status', 'nights', 'amount', 'currency']));
    const column = (name: string) => header!.indexOf(name);
    const inPeriod = made.filter((b) => nightsIn(b, FROM(), TO()) > 0);
    expect(rows.map((row) => row[column('booking_id')]).sort()).toEqual(inPeriod.map((b) => b.id).sort());
    for (const row of rows) {
      const booking = made.find((b) => b.id === row[column('booking_id')])!;
      expect(row[column('status')]).toBe(booking.status);
      expect(Number(row[column('amount')])).toBe(booking.amount);
      expect(row[column('check_in')]).toBe(booking.checkIn);
      expect(row[column('venue_id')]).toBe(booking.venueId ?? '');
    }
  });

  it('writes the header once however many chunks the engine streams', async () => {
    let text = '';
    let chunks = 0;
    for await (const chunk of store.queryStream('SELECT number AS n FROM numbers(300000)')) {
      text += chunk;
      chunks++;
    }
    expect(chunks).toBeGreaterThan(1);
    const lines = text.trimEnd().split('\n');
    expect(lines.filter((line) => line === '"n"')).toHaveLength(1);
    expect(lines).toHaveLength(300_001);
  });

  it('exports the searches and the payments of the period', async () => {
    const searches = await exportCsv(`dataset=searches&from=${FROM()}&to=${TO()}`);
    expect(searches.statusCode).toBe(200);
    const [header, ...rows] = parseCsv(searches.body);
    expect(header).toContain('result_count');
    expect(rows).toHaveLength(SEARCHES);
    const parameters = rows.map((row) => JSON.parse(row[header!.indexOf('parameters')]!));
    expect(parameters[0]).toMatchObject({ sort: 'ranking', text: false });
    const payments = await exportCsv(`dataset=payments&from=${FROM()}&to=${TO()}`);
    expect(payments.statusCode).toBe(200);
    expect(parseCsv(payments.body)[0]).toContain('payment_id');
  });

  it('refuses an unknown dataset, a bad period and the wrong roles', async () => {
    for (const query of [
      'dataset=users',
      'dataset=bookings%20FINAL',
      '',
      `dataset=bookings&from=${day(1)}&to=${day(0)}`,
    ]) {
      const response = await exportCsv(query);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error).toEqual(expect.any(String));
    }
    for (const role of ['tenant', 'landlord', 'support'] as const) {
      expect((await exportCsv('dataset=bookings', t.as(role))).statusCode, role).toBe(403);
    }
  });
});

describe('search logging', () => {
  it('writes every search into the warehouse in a few inserts, far fewer than the searches', async () => {
    const insert = vi.spyOn(store, 'insert');
    const before = (await store.query<{ n: number }>('SELECT count() AS n FROM searches'))[0]!.n;
    const count = 150;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        t.app.inject({ method: 'GET', url: `/api/rooms/search?examLocationId=${venueId}&radius=${1 + (i % 40)}` }),
      ),
    );
    await t.runtime.analytics.searchLog!.flush();
    const inserts = insert.mock.calls.filter(([table]) => table === 'searches').length;
    insert.mockRestore();
    // One insert per second of the burst (the timer), plus the explicit flush: never one per search.
    expect(inserts).toBeGreaterThanOrEqual(1);
    expect(inserts).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 1000) + 1);
    expect(inserts).toBeLessThan(count / 10);
    const after = (await store.query<{ n: number }>('SELECT count() AS n FROM searches'))[0]!.n;
    expect(after - before).toBe(count);
    const [latency] = await store.query<{ slowest: number; results: number }>(
      'SELECT max(latency_ms) AS slowest, max(result_count) AS results FROM searches',
    );
    expect(latency!.slowest).toBeGreaterThan(0);
    expect(latency!.results).toBeGreaterThan(0);
  });

  it('flushes at 1,000 rows or on its timer, and drops a failed flush with a log line, never throwing', async () => {
    const { logger, lines } = capturedLogger('info');
    const calls: number[] = [];
    const failing = {
      insert: async (_table: string, rows: readonly unknown[]) => {
        calls.push(rows.length);
        throw new Error('warehouse away');
      },
    } as unknown as AnalyticsStore;
    const log = createSearchLog({ store: failing, logger, flushMs: 50 });
    const entry = { searched_at: new Date(), result_count: 1, latency_ms: 1 };
    for (let i = 0; i < 2500; i++) log.record(entry);
    await log.flush();
    expect(calls).toEqual([1000, 1000, 500]);
    log.record(entry);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(calls).toEqual([1000, 1000, 500, 1]);
    await log.close();
    log.record(entry);
    await log.flush();
    expect(calls).toHaveLength(4);
    expect(lines.some((line) => /flush to the warehouse failed/.test(line))).toBe(true);
  });
});

describe('erasure', () => {
  it('removes an erased person’s ids from every warehouse table, and a rebuild does not bring them back', async () => {
    const registered = await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: {
        email: `analytics-${randomUUID().slice(0, 8)}@example.org`,
        password: 'a long and unusual passphrase',
        phone: `+39${Math.floor(1e9 + Math.random() * 8e9)}`,
        role: 'tenant',
        fullName: 'Erased Tenant',
      },
    });
    expect(registered.statusCode, registered.body).toBe(201);
    const person = registered.json().user.id as string;
    const roomId = rooms[0]!.id;
    const booking = await book(roomId, landlordA, day(30), day(32), 'confirmed', {
      tenantId: person,
      headers: { authorization: `Bearer ${registered.json().accessToken}` },
    });
    await caughtUp();
    expect(await holding(person)).toEqual(['bookings', 'events']);

    const erased = await t.app.inject({
      method: 'DELETE',
      url: `/api/admin/users/${person}/personal-data`,
      headers: t.as('admin'),
    });
    expect(erased.statusCode, erased.body).toBe(202);
    await caughtUp();
    expect(await holding(person)).toEqual([]);
    // The booking still counts, anonymously.
    const [row] = await store.query<{ tenant_id: string; status: string }>(
      'SELECT tenant_id, status FROM bookings FINAL WHERE booking_id = {id:String}',
      { id: booking.id },
    );
    expect(row).toEqual({ tenant_id: '', status: 'confirmed' });
    booking.tenantId = '';
    erasedPerson = person;
  }, 90_000);
});

describe('replays', () => {
  it('leaves the same figures after a replay from position 0 and after a rebuild of a new version', async () => {
    const query = `from=${FROM()}&to=${TO()}`;
    const before = (await dashboard(query)).json();
    const landlordBefore = (await landlordDashboard(landlordA, query)).json();
    const csvBefore = (
      await t.app.inject({
        method: 'GET',
        url: `/api/analytics/export/csv?dataset=bookings&${query}`,
        headers: t.as('admin'),
      })
    ).body;
    expect(erasedPerson).toBeDefined();

    for (const reset of [
      'UPDATE projection_checkpoints SET position = 0 WHERE name = $1',
      'UPDATE projection_checkpoints SET version = 0, position = 0 WHERE name = $1',
    ]) {
      await runners.at(-1)!.stop();
      await t.runtime.pool.query(reset, [analyticsProjectionName]);
      const runner = new ProjectionRunner({
        orm: t.runtime.orm,
        store: t.runtime.eventStore,
        databaseUrl: t.db.url,
        projections: t.runtime.projections,
        logger: t.runtime.logger,
        standbyRetryMs: 200,
      });
      runners.push(runner);
      await runner.start();
      await caughtUp();
      expect((await dashboard(query)).json(), reset).toEqual(before);
      const landlordAfter = await landlordDashboard(landlordA, query);
      expect(landlordAfter.json(), reset).toEqual(landlordBefore);
      const csvAfter = await t.app.inject({
        method: 'GET',
        url: `/api/analytics/export/csv?dataset=bookings&${query}`,
        headers: t.as('admin'),
      });
      expect(csvAfter.body, reset).toBe(csvBefore);
      expect(await holding(erasedPerson!), reset).toEqual([]);
    }
  }, 120_000);
});

describe('a blue/green rebuild of the warehouse', () => {
  it('builds copies beside the live tables, which answer the same figures throughout, and switches them in', async () => {
    const query = `from=${FROM()}&to=${TO()}`;
    const before = (await dashboard(query)).json();
    const landlordBefore = (await landlordDashboard(landlordA, query)).json();
    const listed = await t.app.inject({ method: 'GET', url: '/api/ops/projections', headers: t.as('support') });
    const status = (listed.json() as Array<{ name: string; rebuildable: boolean }>).find(
      (item) => item.name === analyticsProjectionName,
    );
    expect(status?.rebuildable).toBe(true);
    // A row no event made: the live tables hold it until the rebuilt ones, made from the events alone, go in.
    const marker: EventRow = {
      event_id: `marker-${randomUUID()}`,
      type: 'TestMarker',
      stream_id: 'Test-1',
      position: 1,
      recorded_at: new Date(),
      actor_role: '',
    };
    await store.insert('events', [marker]);
    const markers = async () =>
      (await store.query<{ n: number }>("SELECT count() AS n FROM events WHERE type = 'TestMarker'"))[0]!.n;
    expect(await markers()).toBe(1);
    const asked = await t.app.inject({
      method: 'POST',
      url: `/api/ops/projections/${analyticsProjectionName}/rebuild`,
      headers: t.as('support'),
    });
    expect(asked.statusCode, asked.body).toBe(202);
    const rebuildStatus = async () =>
      (
        await t.runtime.pool.query<{ status: string }>('SELECT status FROM projection_rebuilds WHERE name = $1', [
          analyticsProjectionName,
        ])
      ).rows[0]?.status;
    // Reads all along: never an error, never other figures (nothing new happens meanwhile), never a mix.
    let readsWhileRunning = 0;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const state = await rebuildStatus();
      const response = await dashboard(query);
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toEqual(before);
      if (state === 'running') readsWhileRunning++;
      if (state === 'done') break;
      expect(state, 'the rebuild failed').not.toBe('failed');
      if (Date.now() > deadline) throw new Error(`the rebuild did not finish in a minute (status ${state})`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(readsWhileRunning).toBeGreaterThan(0);
    const landlordAfter = await landlordDashboard(landlordA, query);
    expect(landlordAfter.json()).toEqual(landlordBefore);
    // The copies went in and the retired tables are gone; the live ones keep their engine and settings.
    const left = await store.query<{ name: string }>(
      "SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE '%\\_\\_rebuild'",
    );
    expect(left).toEqual([]);
    expect(await markers()).toBe(0);
    const [engine] = await store.query<{ create: string }>(
      'SELECT create_table_query AS create FROM system.tables WHERE database = currentDatabase() AND name = {t:String}',
      { t: 'bookings' },
    );
    expect(engine?.create).toContain('ReplacingMergeTree');
    expect(engine?.create).toContain('non_replicated_deduplication_window = 1000');
    // It goes on following: a new booking shows.
    await book(await room(landlordA), landlordA, day(30), day(31), 'confirmed');
    made.pop();
    await caughtUp();
    expect((await dashboard(query)).json()).not.toEqual(before);
  }, 120_000);
});

/** The warehouse tables holding `person` in a person column (or, in `events`, as a `User-` stream). */
async function holding(person: string): Promise<string[]> {
  const tables: string[] = [];
  for (const [table, columns] of Object.entries(PERSON_COLUMNS)) {
    if (columns.length === 0) continue;
    const matches = columns.map((column) => `${column} = {p:String}`);
    if (table === 'events') matches.push("stream_id = concat('User-', {p:String})");
    const [row] = await store.query<{ n: number }>(`SELECT count() AS n FROM ${table} WHERE ${matches.join(' OR ')}`, {
      p: person,
    });
    if (row!.n > 0) tables.push(table);
  }
  return tables.sort();
}
