import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBookingTimer } from '../../commands/bookingSweeps.js';
import type { Clock } from '../../infra/clock/clock.js';
import { analyticsProjectionName } from '../../projections/analytics/analyticsProjection.js';
import { waitForCheckpoint } from '../../projections/status.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { launchChromium, openLoggedPage } from '../support/browser.js';
import { publishedRoom } from '../support/flows.js';

/**
 * Issue 12: GET /analytics in headless Chromium (Debian's package, driven by puppeteer-core): sign in through the
 * form, pick a period, and the charts, the key figures and the messages are those of the API.
 */

const DAY_MS = 86_400_000;
// The app's clock runs `offsetMs` behind the machine's while the data is made: bookings requested on different
// days of the past weeks. It is back at the machine's time before the browser opens.
let offsetMs = 0;
const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
/** A date `n` days from today by the machine's clock (the browser's too). */
const day = (n: number) => new Date(Date.now() + n * DAY_MS).toISOString().slice(0, 10);
/**
 * Where the screenshot goes: the committed one in docs/screenshots when UPDATE_SCREENSHOTS=1 (look at it before
 * committing it), else the temporary directory, so that a run leaves the tree as it was.
 */
const SCREENSHOT = process.env.UPDATE_SCREENSHOTS
  ? new URL('../../docs/screenshots/analytics.png', import.meta.url)
  : pathToFileURL(join(tmpdir(), `roomline-analytics-${process.pid}.png`));
const PASSWORD = 'a long and unusual passphrase';
const CHARTS = ['bookings', 'venues', 'ratings', 'revenue'] as const;

/**
 * What the functions run in the page use of the browser (the project compiles without the DOM library, and
 * these declarations stay in this module).
 */
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}
interface PageInput {
  value: string;
}
declare const document: { getElementById(id: string): unknown };
declare const window: {
  Chart: { getChart(canvas: unknown): { data: { labels: unknown[]; datasets: Array<{ data: number[] }> } } };
  sessionStorage: { length: number };
};

let t: TestApp;
let base: string;
let browser: Browser;
const analyst = { email: `analyst-${randomUUID().slice(0, 8)}@example.org`, id: '' };
const tenant = { email: `tenant-${randomUUID().slice(0, 8)}@example.org`, id: '' };
/** Console errors, page errors, CSP violations and failed requests the pages logged, with whether they were expected. */
const logged: string[] = [];
const landlords = [randomUUID(), randomUUID()];

async function register(email: string): Promise<string> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: {
      email,
      password: PASSWORD,
      phone: `+39${Math.floor(1e9 + Math.random() * 8e9)}`,
      role: 'tenant',
      fullName: 'Page Tester',
    },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().user.id;
}

async function inject(method: string, url: string, headers: Record<string, string>, payload?: unknown) {
  const response = await t.app.inject({ method: method as 'GET', url, headers, payload: payload as object });
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300);
  return response.json();
}

/** Bookings requested on the days of the past two weeks, over three rooms of two landlords, two currencies. */
async function seed(): Promise<void> {
  const admin = t.as('admin');
  const location = { lat: 45.4642, lng: 9.19 };
  offsetMs = -14 * DAY_MS;
  const university = await inject('POST', '/api/universities', admin, {
    name: 'Università Statale',
    city: 'Milano',
    country: 'IT',
    location,
  });
  const venue = (name: string) =>
    inject('POST', '/api/exam-venues', admin, {
      universityId: university.id,
      name,
      address: 'Via Festa 7, Milano',
      location,
    });
  const venues = [(await venue('Aula Magna')).id as string, (await venue('Palazzo dei Congressi')).id as string];
  const session = await inject('POST', '/api/exam-sessions', admin, {
    universityId: university.id,
    name: 'Medicine admission',
    startsOn: day(-12),
    endsOn: day(16),
    venueIds: venues,
  });
  const rooms = [
    { id: await publishedRoom(t, landlords[0], { location }), landlord: landlords[0]! },
    {
      id: await publishedRoom(t, landlords[0], { location, currency: 'GBP', pricePerNight: 3100 }),
      landlord: landlords[0]!,
    },
    { id: await publishedRoom(t, landlords[1], { location, pricePerNight: 5200 }), landlord: landlords[1]! },
  ];
  rooms.push({ id: await publishedRoom(t, landlords[1], { location, pricePerNight: 3900 }), landlord: landlords[1]! });
  // Booking i is requested 12 - i days ago, for two nights from day 2i - 10; every third day a second one (room 4).
  const plan = Array.from({ length: 13 }, (_, i) => [
    { i, room: rooms[i % 3]!, checkIn: 2 * i - 10 },
    ...(i % 3 === 1 ? [{ i, room: rooms[3]!, checkIn: 2 * i - 9 }] : []),
  ]).flat();
  const stays: Array<{
    bookingId: string;
    room: (typeof rooms)[number];
    tenant: Record<string, string>;
    checkIn: number;
  }> = [];
  for (const { i, room, checkIn } of plan) {
    offsetMs = (i - 12) * DAY_MS;
    const tenantId = randomUUID();
    const headers = t.as('tenant', tenantId);
    if (i % 2 === 0) {
      await inject('POST', `/api/exam-sessions/${session.id}/assignments`, headers, { venueId: venues[(i / 2) % 2] });
    }
    const booking = await inject('POST', '/api/bookings', headers, {
      roomId: room.id,
      checkIn: day(checkIn),
      checkOut: day(checkIn + 2),
      guests: 1,
    });
    const move = (status: string, by: Record<string, string>) =>
      inject('PUT', `/api/bookings/${booking.id}/status`, by, { status });
    if (i % 5 === 3) continue; // left pending
    await move('confirmed', t.as('landlord', room.landlord));
    if (i % 7 === 4) await move('cancelled', headers);
    else if (checkIn + 2 < 0) stays.push({ bookingId: booking.id, room, tenant: headers, checkIn });
  }
  // The stays over by now: checked in, completed, and reviewed by both sides (so the reviews are published).
  for (const [n, stay] of stays.entries()) {
    const landlord = t.as('landlord', stay.room.landlord);
    offsetMs = stay.checkIn * DAY_MS;
    await inject('PUT', `/api/bookings/${stay.bookingId}/status`, landlord, { status: 'checked_in' });
    offsetMs = (stay.checkIn + 2) * DAY_MS;
    await runBookingTimer(
      { store: t.runtime.eventStore },
      { kind: 'complete-stay', bookingId: stay.bookingId },
      clock.now(),
    );
    await inject('POST', `/api/rooms/${stay.room.id}/reviews`, stay.tenant, {
      bookingId: stay.bookingId,
      rating: [5, 4, 4, 3, 5, 2][n % 6],
      comment: 'Quiet, bright, a real desk.',
    });
    await inject('POST', `/api/bookings/${stay.bookingId}/guest-review`, landlord, {
      rating: 5,
      comment: 'A considerate guest.',
    });
  }
  offsetMs = 0;
  for (let i = 0; i < 25; i++) {
    const search = await t.app.inject({
      method: 'GET',
      url: `/api/rooms/search?examLocationId=${venues[i % 2]}&radius=${5 + i}`,
    });
    expect(search.statusCode, search.body).toBe(200);
  }
  await t.runtime.analytics.searchLog!.flush();
  const head = await t.runtime.eventStore.headPosition();
  await waitForCheckpoint(t.runtime.pool, { name: analyticsProjectionName, version: 1 }, head, 30_000);
}

beforeAll(async () => {
  t = await createTestApp({ clock, config: { MIN_POSITION_WAIT_MS: '15000' } });
  await seed();
  analyst.id = await register(analyst.email);
  await inject('PUT', `/api/admin/users/${analyst.id}/role`, t.as('admin'), { role: 'analyst' });
  tenant.id = await register(tenant.email);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function openPage(): Promise<Page> {
  // Not opened yet: signIn goes to the page.
  return openLoggedPage(browser, undefined, logged, 1280);
}

async function signIn(page: Page, email: string): Promise<void> {
  await page.goto(`${base}/analytics`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('#sign-in-form', { visible: true });
  await page.type('#email', email);
  await page.type('#password', PASSWORD);
  await page.click('#sign-in-form button[type="submit"]');
}

const text = (page: Page, selector: string) =>
  page.$eval(selector, (node) => (node as { textContent: string }).textContent);

/** Sets the period inputs and shows it; waits until the figures of that period are drawn. */
async function showPeriod(page: Page, from: string, to: string, landlordId = ''): Promise<void> {
  await page.evaluate(
    (values: Record<string, string>) => {
      for (const [id, value] of Object.entries(values)) (document.getElementById(id) as PageInput).value = value;
    },
    { from, to, landlord: landlordId },
  );
  await page.click('#period button[type="submit"]');
  await page.waitForSelector(`#figures[data-period="${from}/${to}"]`, { visible: true, timeout: 15_000 });
}

/** The dashboard's answer, as far as this test reads it. */
interface Figures {
  nightsBooked: number;
  availableNights: number;
  occupancyRate: number | null;
  searches: number;
  searchToBookingRate: number | null;
  bookingsPerDay: Array<{ date: string; bookings: number }>;
  topVenues: Array<{ name: string | null; nights: number; bookings: number }>;
  revenue: Array<{ currency: string; amount: number }>;
  ratingDistribution: Array<{ rating: number; count: number }>;
}

async function figuresFromApi(from: string, to: string, token = t.token('analyst')): Promise<Figures> {
  const response = await fetch(`${base}/api/analytics/dashboard?from=${from}&to=${to}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Figures;
}

const integer = new Intl.NumberFormat('en-GB');
const percent = new Intl.NumberFormat('en-GB', {
  style: 'percent',
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});
const rate = (value: number | null) => (value === null ? 'n/a' : percent.format(value));

describe('GET /analytics', () => {
  it('is a public HTML page under the strict CSP, and Chart.js comes from node_modules with a long cache', async () => {
    const page = await fetch(`${base}/analytics`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect(html).not.toContain('{{');
    const version = JSON.parse(
      readFileSync(new URL('../../node_modules/chart.js/package.json', import.meta.url), 'utf8'),
    ).version as string;
    expect(html).toContain(`/assets/vendor/chart.umd.js?v=${version}`);
    const chart = await fetch(`${base}/assets/vendor/chart.umd.js?v=${version}`);
    expect(chart.status).toBe(200);
    expect(chart.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(chart.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await chart.text()).toContain(`Chart.js v${version}`);
    const again = await fetch(`${base}/analytics`, { headers: { 'if-none-match': page.headers.get('etag')! } });
    expect(again.status).toBe(304);
    expect((await fetch(`${base}/assets/pages/../../app.ts`)).status).toBe(404);
    // In the OpenAPI document as a page (HTML, public); its static files are not operations.
    const paths = (
      t.app.swagger() as unknown as { paths: Record<string, Record<string, { tags?: string[]; responses: object }>> }
    ).paths;
    expect(paths['/analytics']?.get?.tags).toEqual(['pages']);
    expect(paths['/analytics']?.get?.responses).toMatchObject({ 200: { content: { 'text/html': {} } } });
    expect(Object.keys(paths).filter((path) => path.startsWith('/assets'))).toEqual([]);
  });

  it('draws the charts and the key figures of the period an analyst picks, as the API gives them', async () => {
    const page = await openPage();
    const before = logged.length;
    await signIn(page, analyst.email);
    // Signed in: the default period (the last 30 days by the browser's clock) is shown first.
    await page.waitForSelector(`#figures[data-period="${day(-29)}/${day(0)}"]`, { visible: true, timeout: 15_000 });
    expect(await text(page, '#who')).toBe(`${analyst.email} (analyst)`);

    const from = day(-20);
    const to = day(14);
    await showPeriod(page, from, to);
    const api = await figuresFromApi(from, to);
    expect(api.nightsBooked).toBeGreaterThan(0);
    expect(api.topVenues.length).toBe(2);

    expect(await text(page, '#kpi-nights-booked')).toBe(integer.format(api.nightsBooked));
    expect(await text(page, '#kpi-available-nights')).toBe(integer.format(api.availableNights));
    expect(await text(page, '#kpi-occupancy-rate')).toBe(rate(api.occupancyRate));
    expect(await text(page, '#kpi-searches')).toBe(integer.format(api.searches));
    expect(await text(page, '#kpi-search-to-booking-rate')).toBe(rate(api.searchToBookingRate));
    expect(await page.$eval('#capped', (node) => (node as { hidden: boolean }).hidden)).toBe(true);

    const drawn = await page.evaluate((keys: readonly string[]) => {
      return keys.map((key) => {
        const canvas = document.getElementById(`chart-${key}`) as PageCanvas;
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) painted++;
        const chart = window.Chart.getChart(canvas);
        return { key, painted, labels: chart.data.labels.length, data: chart.data.datasets.map((d) => d.data) };
      });
    }, CHARTS);
    const byKey = Object.fromEntries(drawn.map((chart) => [chart.key, chart]));
    for (const chart of drawn) expect(chart.painted, chart.key).toBeGreaterThan(2000);
    expect(byKey.bookings!.data).toEqual([api.bookingsPerDay.map((d) => d.bookings)]);
    expect(byKey.venues!.data).toEqual([api.topVenues.map((v) => v.nights)]);
    expect(byKey.ratings!.data).toEqual([
      [1, 2, 3, 4, 5].map((r) => api.ratingDistribution.find((d) => d.rating === r)!.count),
    ]);
    expect(api.ratingDistribution.reduce((sum, d) => sum + d.count, 0)).toBeGreaterThan(0);
    expect(byKey.revenue!.labels).toBe(api.revenue.length);
    expect(byKey.revenue!.data).toHaveLength(2);

    // The figures as text too: a summary under each chart, its label, and a table.
    const venueSummary = await text(page, '#summary-venues');
    for (const v of api.topVenues) expect(venueSummary).toContain(`${v.name} ${v.nights} nights`);
    expect(
      await page.$eval('#chart-venues', (node) =>
        (node as { getAttribute(n: string): string }).getAttribute('aria-label'),
      ),
    ).toBe(venueSummary);
    expect(await page.$$eval('#table-bookings tbody tr', (rows) => rows.length)).toBe(api.bookingsPerDay.length);

    // A quick period: the last 7 days.
    await page.click('button[data-days="7"]');
    await page.waitForSelector(`#figures[data-period="${day(-6)}/${day(0)}"]`, { visible: true, timeout: 15_000 });
    const week = await figuresFromApi(day(-6), day(0));
    expect(await text(page, '#kpi-nights-booked')).toBe(integer.format(week.nightsBooked));

    await showPeriod(page, from, to);
    mkdirSync(new URL('.', SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT.pathname as `${string}.png`, fullPage: true });
    const png = readFileSync(SCREENSHOT);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.readUInt32BE(16)).toBe(1280); // IHDR width
    expect(png.readUInt32BE(20)).toBeGreaterThan(900); // the whole page, longer than the window
    expect(png.length).toBeGreaterThan(40_000);

    // One landlord's rooms.
    const landlordId = landlords[0]!;
    await showPeriod(page, from, to, landlordId);
    expect(await text(page, '#scope-title')).toBe(`Landlord ${landlordId}, ${from} to ${to}`);

    // Signing out forgets the token.
    await page.click('#sign-out');
    await page.waitForSelector('#sign-in-form', { visible: true });
    expect(await page.$eval('#signed-in', (node) => (node as { hidden: boolean }).hidden)).toBe(true);
    expect(await page.evaluate(() => window.sessionStorage.length)).toBe(0);
    await page.close();
    expect(logged.slice(before)).toEqual([]);
  }, 120_000);

  it('says when a period was cut to 366 days', async () => {
    const page = await openPage();
    const before = logged.length;
    await signIn(page, analyst.email);
    await page.waitForSelector('#figures[data-period]', { visible: true, timeout: 15_000 });
    const from = day(-500);
    const to = day(0);
    await page.evaluate(
      (values: Record<string, string>) => {
        for (const [id, value] of Object.entries(values)) (document.getElementById(id) as PageInput).value = value;
      },
      { from, to },
    );
    await page.click('#period button[type="submit"]');
    await page.waitForSelector(`#figures[data-period="${day(-365)}/${to}"]`, { visible: true, timeout: 15_000 });
    expect(await text(page, '#capped')).toContain('cut to its last 366 days');
    expect(await page.$eval('#capped', (node) => (node as { hidden: boolean }).hidden)).toBe(false);
    await page.close();
    expect(logged.slice(before)).toEqual([]);
  }, 60_000);

  it('tells a tenant they are not allowed, and says so when the warehouse is away', async () => {
    const page = await openPage();
    const before = logged.length;
    await signIn(page, tenant.email);
    await page.waitForSelector('#problem', { visible: true, timeout: 15_000 });
    expect(await page.$eval('#problem', (node) => (node as { dataset: { code: string } }).dataset.code)).toBe(
      'NOT_ALLOWED',
    );
    expect(await text(page, '#problem')).toBe(
      `Not allowed. You are signed in as ${tenant.email} (tenant). The analytics dashboard is for admins and analysts only. Sign out and sign in with such an account.`,
    );
    expect(await page.$eval('#figures', (node) => (node as { hidden: boolean }).hidden)).toBe(true);
    await page.click('#sign-out');
    await page.waitForSelector('#sign-in-form', { visible: true });

    // The store away: the analytics routes answer 503 ANALYTICS_UNAVAILABLE.
    const analytics = t.runtime.analytics as { store: unknown; unavailableReason?: string | null };
    const store = analytics.store;
    analytics.store = null;
    try {
      await page.type('#email', analyst.email);
      await page.type('#password', PASSWORD);
      await page.click('#sign-in-form button[type="submit"]');
      await page.waitForSelector('#problem', { visible: true, timeout: 15_000 });
      expect(await page.$eval('#problem', (node) => (node as { dataset: { code: string } }).dataset.code)).toBe(
        'ANALYTICS_UNAVAILABLE',
      );
      expect(await text(page, '#problem')).toMatch(/^Analytics is unavailable right now/);
    } finally {
      analytics.store = store;
    }
    await page.close();
    // The browser logs each answer of 400 or more as a console error: the tenant's 403 and the 503, nothing else.
    expect(logged.slice(before)).toEqual([
      expect.stringMatching(/^console error: Failed to load resource: .* 403 .*\/api\/analytics\/dashboard\?/),
      expect.stringMatching(/^console error: Failed to load resource: .* 503 .*\/api\/analytics\/dashboard\?/),
    ]);
  }, 60_000);
});
