/**
 * `npm run bench:search`: room search over real HTTP. Seeds BENCH_ROOMS (default 100,000) published rooms
 * around 20 exam venues straight into the PostgreSQL search index (the tables the search projection fills:
 * `search_rooms`, `search_room_unavailable`, `search_words`; about a third of the rooms get booked nights), then
 * runs closed-loop clients against `GET /api/rooms/search` on a loopback port, each request for a random
 * venue:
 *  (a) radius 5 km, sorted by ranking;
 *  (b) radius 5 km with text, two required amenities and a 2-night stay.
 * Each case runs with the Redis result cache off (every request hits PostgreSQL) and on (the cache as
 * deployed: a request repeats an earlier one only when the venue, text and dates drawn repeat).
 *
 *   BENCH_ROOMS=100000   rooms seeded
 *   BENCH_SECONDS=15     duration of each measured case
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { Amenities } from '../domain/rooms/amenities.js';
import { prepareDatabase } from '../infra/db/prepare.js';
import { seededRandom } from '../infra/demo/demoData.js';
import { pgRoomSearchWriter, poolSql } from '../infra/search/postgres/pgRoomSearch.js';
import type { RoomSearchDocument } from '../infra/search/roomSearchIndex.js';
import {
  createBenchDatabase,
  formatNumber,
  markdownTable,
  percentile,
  publishReport,
  runBenchmark,
  runForDuration,
  startBenchApp,
} from './support.js';

const ROOMS = Number(process.env.BENCH_ROOMS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CLIENTS = 32;
const VENUES = 20;

const log = (message: string) => process.stderr.write(`[bench:search] ${message}\n`);

const ADJECTIVES = ['Quiet', 'Bright', 'Cozy', 'Spacious', 'Sunny', 'Modern', 'Calm', 'Renovated', 'Small', 'Large'];
const KINDS = ['room', 'single room', 'studio', 'flat', 'attic room', 'double room'];
const NEAR = ['near the campus', 'by the station', 'in the old town', 'close to the library', 'next to the park'];
const TOWNS = [
  { lat: 44.4949, lng: 11.3426 },
  { lat: 45.4642, lng: 9.19 },
  { lat: 41.9028, lng: 12.4964 },
  { lat: 43.7696, lng: 11.2558 },
  { lat: 45.0703, lng: 7.6869 },
];

async function main(): Promise<void> {
  const db = await createBenchDatabase('roomline_bench_search');
  await prepareDatabase(db.url);
  const rand = seededRandom(42);
  const venues = Array.from({ length: VENUES }, (_, i) => {
    const town = TOWNS[i % TOWNS.length]!;
    return { id: randomUUID(), lat: town.lat + (rand() - 0.5) * 0.08, lng: town.lng + (rand() - 0.5) * 0.08 };
  });
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  log(`seeding ${ROOMS} rooms around ${VENUES} venues`);
  const seedStarted = performance.now();
  const universityId = randomUUID();
  await pool.query(
    `INSERT INTO exam_venues (id, university_id, name, address, location, capacity, created_at)
     SELECT id, $1, 'Venue ' || n, 'Address ' || n, ST_SetSRID(ST_MakePoint(lng, lat), 4326), 200, now()
       FROM unnest($2::uuid[], $3::float8[], $4::float8[]) WITH ORDINALITY AS v(id, lat, lng, n)`,
    [universityId, venues.map((v) => v.id), venues.map((v) => v.lat), venues.map((v) => v.lng)],
  );
  const writer = pgRoomSearchWriter(poolSql(pool));
  const batch: RoomSearchDocument[] = [];
  const nights: Array<[string, string[]]> = [];
  for (let i = 0; i < ROOMS; i++) {
    const venue = venues[i % VENUES]!;
    // Uniform in a 10 km disc around the venue: about a quarter within 5 km.
    const r = 10_000 * Math.sqrt(rand());
    const angle = rand() * 2 * Math.PI;
    const lat = venue.lat + (r * Math.cos(angle)) / 111_320;
    const lng = venue.lng + (r * Math.sin(angle)) / (111_320 * Math.cos((venue.lat * Math.PI) / 180));
    const amenities = Amenities.filter(() => rand() < 0.35);
    const reviewCount = Math.floor(rand() * 30);
    const roomId = randomUUID();
    batch.push({
      roomId,
      landlordId: randomUUID(),
      title: `${ADJECTIVES[Math.floor(rand() * ADJECTIVES.length)]} ${KINDS[Math.floor(rand() * KINDS.length)]} ${NEAR[Math.floor(rand() * NEAR.length)]}`,
      description: 'A room for exam candidates: a desk by the window, fast wifi, quiet hours after 22:00.',
      address: `Via ${i}, town ${i % TOWNS.length}`,
      location: { lat, lng },
      pricePerNight: 2_000 + Math.floor(rand() * 60) * 100,
      currency: 'EUR',
      maxOccupants: 1 + Math.floor(rand() * 3),
      amenities,
      published: true,
      reviewCount,
      ratingSum: reviewCount * (3 + rand() * 2),
      photoUrl: null,
      version: 2,
    });
    if (rand() < 0.33) {
      const start = Math.floor(rand() * 50);
      const length = 1 + Math.floor(rand() * 6);
      nights.push([
        roomId,
        Array.from({ length }, (_, k) => new Date(Date.UTC(2027, 8, 1 + start + k)).toISOString().slice(0, 10)),
      ]);
    }
    if (batch.length === 2_000 || i === ROOMS - 1) {
      await writer.upsertRooms(batch.splice(0));
    }
  }
  await pool.query(
    `INSERT INTO search_room_unavailable (room_id, nights)
     SELECT (r->>0)::uuid, range_agg(daterange(n::date, n::date + 1))
       FROM jsonb_array_elements($1::jsonb) r, jsonb_array_elements_text(r->1) n GROUP BY 1`,
    [JSON.stringify(nights)],
  );
  await pool.query('ANALYZE');
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  log(`seeded in ${seedSeconds.toFixed(1)} s`);

  const rows: string[][] = [];
  const textQueries = ['quiet room', 'bright studio', 'quite room near library', 'cozy flat', 'sunny attic'];
  const cases = {
    '(a) 5 km, by ranking': (r: () => number) => {
      const venue = venues[Math.floor(r() * VENUES)]!;
      return `examLocationId=${venue.id}&radius=5&sort=ranking&limit=20`;
    },
    '(b) 5 km + text + amenities + dates': (r: () => number) => {
      const venue = venues[Math.floor(r() * VENUES)]!;
      const q = encodeURIComponent(textQueries[Math.floor(r() * textQueries.length)]!);
      const day = 1 + Math.floor(r() * 40);
      const checkIn = new Date(Date.UTC(2027, 8, day)).toISOString().slice(0, 10);
      const checkOut = new Date(Date.UTC(2027, 8, day + 2)).toISOString().slice(0, 10);
      return `examLocationId=${venue.id}&radius=5&q=${q}&amenities=desk,wifi&checkIn=${checkIn}&checkOut=${checkOut}&limit=20`;
    },
  };
  for (const cacheSeconds of ['0', '300']) {
    const { base, close } = await startBenchApp(db.url, { SEARCH_CACHE_SECONDS: cacheSeconds });
    try {
      for (const [name, build] of Object.entries(cases)) {
        const r = seededRandom(7);
        let found = 0;
        const get = async () => {
          const response = await fetch(`${base}/api/rooms/search?${build(r)}`);
          const body = (await response.json()) as { items?: unknown[] };
          if (response.status !== 200) throw new Error(`search answered ${response.status}: ${JSON.stringify(body)}`);
          found += body.items?.length ?? 0;
        };
        // Warm-up: plans, connections, caches.
        await runForDuration(CLIENTS, 3, get);
        found = 0;
        log(`${name}, cache ${cacheSeconds === '0' ? 'off' : 'on'}: ${SECONDS} s at ${CLIENTS} clients`);
        const load = os.loadavg()[0]!;
        const { latencies, seconds, count } = await runForDuration(CLIENTS, SECONDS, get);
        const p99 = percentile(latencies, 0.99);
        const rps = count / seconds;
        rows.push([
          name,
          cacheSeconds === '0' ? 'off' : 'on',
          formatNumber(count),
          formatNumber(rps, 0),
          formatNumber(percentile(latencies, 0.5), 1),
          formatNumber(p99, 1),
          formatNumber(found / count, 1),
          load.toFixed(2),
          p99 < 20 && rps >= 1500 ? 'PASS' : 'FAIL',
        ]);
      }
    } finally {
      await close();
    }
  }
  await pool.end();
  if (process.env.BENCH_KEEP_DB === '1') log(`kept ${db.url}`);
  else await db.drop();

  const report = [
    `# Room search benchmark (${new Date().toISOString()})`,
    '',
    'Command: `npm run bench:search` (bench/search.bench.ts): `GET /api/rooms/search` over HTTP on loopback against the',
    `real app and the PostgreSQL search index, ${formatNumber(ROOMS)} published rooms around ${VENUES} venues (a 10 km disc`,
    'each, a third of the rooms with booked nights), closed-loop clients in the same process, each request for a random',
    `venue. ${SECONDS} s per case after a 3 s warm-up. Seeding took ${seedSeconds.toFixed(1)} s.`,
    `Goal (issue 5): p99 < 20 ms and ≥ 1,500 requests/s at ${CLIENTS} clients.`,
    '',
    `Machine: nproc ${os.cpus().length}, Node ${process.version}. Load is the 1-minute load average when the case started.`,
    '',
    markdownTable(['Case', 'Cache', 'Requests', 'per second', 'p50 ms', 'p99 ms', 'hits/page', 'Load', 'Goal'], rows),
    '',
  ].join('\n');
  await publishReport('search', report);
}

runBenchmark(main);
