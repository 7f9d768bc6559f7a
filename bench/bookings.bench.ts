/**
 * `npm run bench:bookings`: booking creation over real HTTP. Starts the API (buildApp, the real adapters, the
 * PostgreSQL event store) on a loopback port against a fresh database, seeds published rooms through the
 * command path, then runs closed-loop clients that each send the next `POST /api/bookings` as soon as the
 * previous one answered. The load generator shares the process (and the 2 cores) with the API; the projector
 * is not running (ROOMLINE_PROCESS=api), as in a deployment where it is a process of its own.
 *
 * Cases:
 *  - many rooms: every request a different stay; rooms picked in turn, so concurrent requests rarely share a
 *    room's calendar stream (they do share the store, the reference streams and the connection pool).
 *  - one room: every client asks for an overlapping stay of one room; most answer 409 ROOM_UNAVAILABLE. The
 *    nights held afterwards are checked: no night may have two holders.
 *
 * Every row also gives the SQL statements sent per request (every `query` of a pg client in this process: the
 * event store's batches, the stream reads, the read-model lookups of the pending cap, the idempotency store).
 *
 *   BENCH_BOOKINGS=4000   requests in the many-rooms case (the one-room case sends a quarter of that)
 *   BENCH_ROOMS=2000      rooms seeded
 *   BENCH_BASELINE_DIR    a worktree of an earlier commit (`git worktree add /tmp/bench-old <commit>`, node_modules
 *                         symlinked): this file is run there first, in its own process, and its rows come first in
 *                         the one table (before / after, same machine, same run)
 *   BENCH_ROWS_OUT        (set by the run above) write the rows as JSON to this file instead of publishing
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runRoomCommand } from '../commands/rooms.js';
import { calendarDecider, calendarStreamId } from '../domain/bookings/calendar.js';
import { type DomainEvent, fold } from '../domain/shared/decider.js';
import { accessTokenSigner } from '../infra/auth/tokens.js';
import { prepareDatabase } from '../infra/db/prepare.js';
import {
  cpuMsBetween,
  createBenchDatabase,
  formatNumber,
  markdownTable,
  percentile,
  processesCpuMs,
  publishReport,
  runBenchmark,
  runClosedLoop,
  startBenchApp,
} from './support.js';

const REQUESTS = Number(process.env.BENCH_BOOKINGS ?? 4000);
const ROOMS = Number(process.env.BENCH_ROOMS ?? 2000);
const CLIENTS = 32;

const LABEL = process.env.BENCH_LABEL ?? 'after';
const log = (message: string) => process.stderr.write(`[bench:bookings ${LABEL}] ${message}\n`);

/** SQL statements sent by every pg client of this process (a pool's `query` runs a client's). */
let queries = 0;
const clientQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  queries++;
  return (clientQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof clientQuery;

/** Runs this benchmark in the baseline worktree first, in its own process; its rows, labelled. */
function baselineRows(dir: string): string[][] {
  const commit = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD']).toString().trim();
  const out = join(os.tmpdir(), `bench-bookings-baseline-${process.pid}.json`);
  copyFileSync(new URL(import.meta.url).pathname, join(dir, 'bench/bookings.bench.ts'));
  copyFileSync(new URL('./support.ts', import.meta.url).pathname, join(dir, 'bench/support.ts'));
  log(`baseline: running the benchmark at ${commit} in ${dir}`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/bookings.bench.ts'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, BENCH_ROWS_OUT: out, BENCH_LABEL: `before (${commit})`, BENCH_BASELINE_DIR: '' },
  });
  if (run.status !== 0) throw new Error(`the baseline run failed (${run.status ?? run.signal})`);
  return JSON.parse(readFileSync(out, 'utf8')) as string[][];
}

const DAY_MS = 86_400_000;
/** Stays start a month from today: within the availability horizon whatever the date of the run. */
const FIRST_DAY = Math.floor(Date.now() / DAY_MS) * DAY_MS + 30 * DAY_MS;
const day = (offset: number) => new Date(FIRST_DAY + offset * DAY_MS).toISOString().slice(0, 10);

const CORES = os.cpus().length;
/** The servers' CPU: this run's PostgreSQL backends (their titles name its database), the WAL writer, Redis. */
let serverCpu = () => new Map<number, number>();

/**
 * Runs one case and returns, besides its latencies, the CPU each request cost: this process (API and load
 * generator) and the servers (PostgreSQL, Redis). On a shared machine the throughput follows the other loads; the CPU
 * per request much less so, and `cores ÷ CPU per request` is the throughput the machine would allow if it were ours.
 */
async function measured(callers: number, total: number, job: (index: number) => Promise<void>) {
  const servers = serverCpu();
  const result = await runClosedLoop(callers, total, job);
  const serverMs = cpuMsBetween(servers, serverCpu());
  const apiPerRequest = result.cpuMs / total;
  const serverPerRequest = serverMs / total;
  return {
    ...result,
    cpuColumns: [
      formatNumber(apiPerRequest, 2),
      formatNumber(serverPerRequest, 2),
      formatNumber((CORES * 1000) / (apiPerRequest + serverPerRequest), 0),
    ],
  };
}

async function main(): Promise<void> {
  const baselineDir = process.env.BENCH_BASELINE_DIR;
  const before = baselineDir ? baselineRows(baselineDir) : [];
  const db = await createBenchDatabase(`roomline_bench_bookings_${process.pid}`);
  serverCpu = () =>
    new Map([
      ...processesCpuMs(['postgres'], [`roomline_bench_bookings_${process.pid} `, 'walwriter']),
      ...processesCpuMs(['redis-server']),
    ]);
  await prepareDatabase(db.url);
  const { runtime, base, close } = await startBenchApp(db.url);
  const { config } = runtime;
  const sign = accessTokenSigner({
    secret: config.JWT_SECRET,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    ttlSeconds: 3600,
  });
  // A tenant per request: the pending-bookings cap (3) never refuses, and its check costs what one tenant's costs.
  const tenants = new Map<number, string>();
  const tenant = (k: number) => {
    if (!tenants.has(k)) {
      const sub = randomUUID();
      tenants.set(k, `Bearer ${sign({ sub, role: 'tenant', email: `${sub}@example.org` })}`);
    }
    return tenants.get(k)!;
  };
  const rows: string[][] = [];
  let doubleHeld = 0;
  try {
    log(`seeding ${ROOMS} published rooms`);
    const roomIds = Array.from({ length: ROOMS }, () => randomUUID());
    const landlordId = randomUUID();
    await runClosedLoop(8, ROOMS, async (i) => {
      const now = new Date().toISOString();
      const envelope = {
        now,
        newId: randomUUID,
        metadata: {
          correlationId: randomUUID(),
          causationId: null,
          actorId: landlordId,
          actorRole: 'landlord',
          requestId: null,
        },
      };
      const context = { actorId: landlordId, actorRole: 'landlord' as const, now };
      const roomId = roomIds[i]!;
      await runRoomCommand(
        runtime.eventStore,
        {
          type: 'CreateRoom',
          data: {
            roomId,
            title: `Bench room ${i}`,
            description: 'A quiet room with a desk, near the exam venue.',
            address: `Via Bench ${i}, Bologna`,
            location: { lat: 44.49 + (i % 100) / 1000, lng: 11.34 + (i % 97) / 1000 },
            pricePerNight: 3_000 + (i % 50) * 100,
            currency: 'EUR',
            maxOccupants: 2,
            amenities: ['desk', 'wifi'],
          },
          context,
        },
        envelope,
      );
      await runRoomCommand(runtime.eventStore, { type: 'PublishRoom', data: { roomId }, context }, envelope);
    });

    let created = 0;
    let conflicts = 0;
    const book = async (roomId: string, checkIn: string, checkOut: string, client: number) => {
      const response = await fetch(`${base}/api/bookings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: tenant(client) },
        body: JSON.stringify({ roomId, checkIn, checkOut, guests: 1 }),
      });
      const body = await response.text();
      if (response.status === 201) created++;
      else if (response.status === 409 && body.includes('ROOM_UNAVAILABLE')) conflicts++;
      else throw new Error(`POST /api/bookings answered ${response.status}: ${body}`);
    };

    // Many rooms: request k books room k mod ROOMS for 2 nights in its own week, so stays never overlap.
    const manyRooms = (offset: number) => async (i: number) => {
      const k = offset + i;
      const week = Math.floor(k / ROOMS);
      await book(roomIds[k % ROOMS]!, day(week * 7), day(week * 7 + 2), k);
    };
    log('warm-up: 400 bookings');
    await runClosedLoop(CLIENTS, 400, manyRooms(0));
    for (let pass = 1; pass <= 2; pass++) {
      created = 0;
      conflicts = 0;
      const offset = 400 + (pass - 1) * REQUESTS;
      log(`pass ${pass}: ${REQUESTS} bookings over ${ROOMS} rooms, ${CLIENTS} clients`);
      const load = os.loadavg()[0]!;
      queries = 0;
      const { latencies, seconds, cpuColumns } = await measured(CLIENTS, REQUESTS, manyRooms(offset));
      const perRequest = queries / REQUESTS;
      const p99 = percentile(latencies, 0.99);
      const rps = REQUESTS / seconds;
      rows.push([
        LABEL,
        `many rooms, pass ${pass}`,
        formatNumber(REQUESTS),
        formatNumber(perRequest, 1),
        `${created} / ${conflicts}`,
        formatNumber(rps, 0),
        formatNumber(percentile(latencies, 0.5), 1),
        formatNumber(p99, 1),
        ...cpuColumns,
        load.toFixed(2),
        rps >= 2 * 462 ? 'PASS' : 'FAIL',
      ]);
    }

    // The same at 4 clients: the latency of one booking when the machine is not saturated.
    {
      created = 0;
      conflicts = 0;
      const few = Math.max(200, Math.floor(REQUESTS / 4));
      log(`${few} bookings over ${ROOMS} rooms, 4 clients`);
      queries = 0;
      const { latencies, seconds, cpuColumns } = await measured(4, few, manyRooms(400 + 2 * REQUESTS));
      rows.push([
        LABEL,
        'many rooms, 4 clients',
        formatNumber(few),
        formatNumber(queries / few, 1),
        `${created} / ${conflicts}`,
        formatNumber(few / seconds, 0),
        formatNumber(percentile(latencies, 0.5), 1),
        formatNumber(percentile(latencies, 0.99), 1),
        ...cpuColumns,
        os.loadavg()[0]!.toFixed(2),
        '—',
      ]);
    }

    // One room: every request a 3-night stay starting on one of 40 days, all on one calendar stream.
    const contested = roomIds[0]!;
    const oneRoomRequests = Math.max(200, Math.floor(REQUESTS / 4));
    created = 0;
    conflicts = 0;
    log(`${oneRoomRequests} overlapping requests on one room, ${CLIENTS} clients`);
    queries = 0;
    const { latencies, seconds, cpuColumns } = await measured(CLIENTS, oneRoomRequests, async (i) => {
      const start = 200 + ((i * 7919) % 40);
      await book(contested, day(start), day(start + 3), i);
    });
    const oneRoomQueries = queries / oneRoomRequests;
    const events: DomainEvent[] = [];
    for await (const event of runtime.eventStore.readStream(calendarStreamId(contested))) {
      events.push({ type: event.type, data: event.data });
    }
    // Replaying the calendar: a night held while another booking holds it is a double booking.
    const holders = new Map<string, string>();
    for (const event of events) {
      const data = event.data as { bookingId: string; nights: string[] };
      for (const night of data.nights) {
        if (event.type === 'NightsHeld') {
          if (holders.has(night) && holders.get(night) !== data.bookingId) doubleHeld++;
          holders.set(night, data.bookingId);
        } else if (holders.get(night) === data.bookingId) holders.delete(night);
      }
    }
    const held = fold(calendarDecider, events as never).held.size;
    rows.push([
      LABEL,
      'one room, overlapping stays',
      formatNumber(oneRoomRequests),
      formatNumber(oneRoomQueries, 1),
      `${created} / ${conflicts}`,
      formatNumber(oneRoomRequests / seconds, 0),
      formatNumber(percentile(latencies, 0.5), 1),
      formatNumber(percentile(latencies, 0.99), 1),
      ...cpuColumns,
      os.loadavg()[0]!.toFixed(2),
      doubleHeld === 0 ? `PASS (${held} nights held, none twice)` : `FAIL: ${doubleHeld} nights held twice`,
    ]);
  } finally {
    await close();
    await db.drop();
  }

  if (process.env.BENCH_ROWS_OUT) {
    writeFileSync(process.env.BENCH_ROWS_OUT, JSON.stringify(rows));
    if (doubleHeld > 0) process.exitCode = 1;
    return;
  }
  const report = [
    `# Booking creation benchmark (${new Date().toISOString()})`,
    '',
    'Command: `git worktree add /tmp/bench-old <commit before>; ln -s $PWD/node_modules /tmp/bench-old/node_modules;',
    '`BENCH_BASELINE_DIR=/tmp/bench-old npm run bench:bookings` (bench/bookings.bench.ts): `POST /api/bookings` over',
    'HTTP on loopback against the real app (JWT, idempotency and rate-limit plugins, the PostgreSQL event store),',
    'closed-loop clients in the same process. "before" is this same file run first in the worktree of the earlier',
    'commit, in its own process and database; "after" is the working tree. "SQL/req" counts every statement sent by',
    "the process's pg clients per request (event-store batches count once for all the appends they carry).",
    `Goal (issue 10): ≥ 2 × the 350–462 bookings/s of before at ${CLIENTS} clients over many rooms (≥ 924/s).`,
    '',
    `Machine: nproc ${CORES}, Node ${process.version}. "API CPU" is this process's CPU time per request (API and load`,
    'generator together), "server CPU" that of the run\'s PostgreSQL backends, the WAL writer and Redis (from /proc);',
    `"ceiling/s" is ${CORES} cores ÷ their sum: the rate this machine would allow with nothing else running. On a shared`,
    'machine throughput follows the other loads, CPU per request much less. Load is the 1-minute load average when the',
    'case started.',
    '',
    markdownTable(
      [
        'Code',
        'Case',
        'Requests',
        'SQL/req',
        '201 / 409',
        'per second',
        'p50 ms',
        'p99 ms',
        'API CPU ms/req',
        'server CPU ms/req',
        'ceiling/s',
        'Load',
        'Goal',
      ],
      [...before, ...rows],
    ),
    '',
  ].join('\n');
  await publishReport('bookings', report);
  if (doubleHeld > 0) process.exitCode = 1;
}

runBenchmark(main);
