/**
 * PostgreSQL event store benchmark: `npm run bench:store`.
 *
 * Creates its own database (`roomline_bench` on DATABASE_URL's server, default
 * postgres://postgres:postgres@127.0.0.1:5432), runs every case BENCH_RUNS times (default 2) on a
 * fresh database each pass, prints a markdown table and writes it to bench/results/store-<date>.md
 * and bench/results/store-latest.md, then drops the database.
 *
 * Environment knobs (the defaults are the production settings of infra/config/config.ts):
 *   BENCH_RUNS=2             passes over all cases
 *   BENCH_POOL_SIZE=20       pool of the writing store (PG_POOL_SIZE)
 *   BENCH_MAX_BATCHES=2      the adapter's maxConcurrentBatches (its default)
 *   BENCH_SCALE=1            multiplies counts and durations (0.2 for a quick look)
 *   BENCH_DATABASE=roomline_bench
 *   BENCH_WRITE=0            print only, do not write bench/results/
 *   BENCH_CASES=plain,append,read-stream,catch-up,live   a subset (investigations)
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import type { EventStore, NewEvent } from '../infra/eventStore/eventStore.js';
import { canonicalJson } from '../infra/eventStore/hashChain.js';
import { PostgresEventStore } from '../infra/eventStore/postgres/postgresEventStore.js';
import {
  type BenchDatabase,
  bookingEvent,
  createBenchDatabase,
  formatNumber,
  markdownTable,
  median,
  nowMs,
  nproc,
  percentile,
  publishReport,
  runClosedLoop,
  runForDuration,
  serverUrl,
  sleep,
} from './support.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const POOL_SIZE = Number(process.env.BENCH_POOL_SIZE ?? 20);
const MAX_BATCHES = process.env.BENCH_MAX_BATCHES ? Number(process.env.BENCH_MAX_BATCHES) : undefined;
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const DATABASE = process.env.BENCH_DATABASE ?? 'roomline_bench';
const POLL_MS = 1000;
/** Case groups to run (plain, append, read-stream, catch-up, live); default all. */
const CASES = new Set((process.env.BENCH_CASES ?? 'plain,append,read-stream,catch-up,live').split(','));

const scaled = (n: number) => Math.max(1, Math.round(n * SCALE));

const SETTINGS = {
  singleCallers: 16,
  singleAppends: scaled(20_000),
  singleWarmup: scaled(1_000),
  batchCallers: 4,
  batchSize: 100,
  batches: scaled(300),
  batchWarmup: scaled(20),
  singleCallerBatches: scaled(50),
  streamLength: 1_000,
  streamReads: scaled(200),
  streamWarmup: 20,
  catchUpMinEvents: Math.max(100_000, scaled(120_000)),
  subscriberPoolSize: 4,
  liveRate: 500,
  liveSeconds: 10 * SCALE,
  liveWarmupSeconds: 1,
  loadSeconds: 5 * SCALE,
};

interface Measurement {
  key: string;
  label: string;
  events: number;
  seconds?: number;
  eventsPerSecond?: number;
  /** ms */
  p50?: number;
  /** ms */
  p99?: number;
  lost?: number;
  duplicated?: number;
  /** This Node process's CPU time per event (µs): the client side of the 2 cores. */
  nodeCpuUs?: number;
  note?: string;
}

interface Target {
  text: string;
  pass(m: Measurement): boolean;
  /** The figure that ranks runs against each other. */
  primary: 'eventsPerSecond' | 'p50' | 'p99';
}

const throughputAtLeast = (min: number, exact = false): Target => ({
  text: `>= ${formatNumber(min)} ev/s${exact ? ', none lost' : ''}`,
  pass: (m) => (m.eventsPerSecond ?? 0) >= min && (!exact || (m.lost === 0 && m.duplicated === 0)),
  primary: 'eventsPerSecond',
});

const TARGETS: Record<string, Target> = {
  'plain-single': { text: 'baseline (≈11,100 rows/s)', pass: () => true, primary: 'eventsPerSecond' },
  'plain-batch': { text: 'baseline (≈87,600 rows/s)', pass: () => true, primary: 'eventsPerSecond' },
  'append-1': throughputAtLeast(6_400),
  'append-100': throughputAtLeast(80_000),
  'append-100-single': { text: 'info (1 caller)', pass: () => true, primary: 'eventsPerSecond' },
  'read-stream': { text: 'median < 4 ms', pass: (m) => (m.p50 ?? Infinity) < 4, primary: 'p50' },
  'read-all': throughputAtLeast(50_000, true),
  subscribe: throughputAtLeast(50_000, true),
  'live-steady': {
    text: 'p99 < 50 ms, none lost',
    pass: (m) => (m.p99 ?? Infinity) < 50 && m.lost === 0 && m.duplicated === 0,
    primary: 'p99',
  },
  'live-load': {
    text: 'p99 < 50 ms, none lost',
    pass: (m) => (m.p99 ?? Infinity) < 50 && m.lost === 0 && m.duplicated === 0,
    primary: 'p99',
  },
};

/** Ids seen by a reader: counts duplicates as they come, lost ones against what was appended. */
class Tally {
  private readonly seen = new Set<string>();
  duplicated = 0;
  add(id: string): void {
    if (this.seen.has(id)) this.duplicated++;
    else this.seen.add(id);
  }
  get size(): number {
    return this.seen.size;
  }
  lostFrom(expected: Iterable<string>): number {
    let lost = 0;
    for (const id of expected) if (!this.seen.has(id)) lost++;
    return lost;
  }
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function plainBaselines(url: string): Promise<Measurement[]> {
  const pool = new pg.Pool({ connectionString: url, max: SETTINGS.singleCallers });
  try {
    await pool.query('CREATE TABLE bench_plain (id bigserial PRIMARY KEY, data json NOT NULL)');
    const row = () => {
      const event = bookingEvent();
      return canonicalJson({ data: event.data, metadata: event.metadata });
    };
    const insertOne = async () => {
      await pool.query({ name: 'plain_one', text: 'INSERT INTO bench_plain (data) VALUES ($1)', values: [row()] });
    };
    await runClosedLoop(SETTINGS.singleCallers, SETTINGS.singleWarmup, insertOne);
    const single = await runClosedLoop(SETTINGS.singleCallers, SETTINGS.singleAppends, insertOne);

    const insertBatch = async () => {
      const rows = Array.from({ length: SETTINGS.batchSize }, row);
      await pool.query({
        name: 'plain_batch',
        text: 'INSERT INTO bench_plain (data) SELECT unnest($1::text[])::json',
        values: [rows],
      });
    };
    await runClosedLoop(SETTINGS.batchCallers, SETTINGS.batchWarmup, insertBatch);
    const batch = await runClosedLoop(SETTINGS.batchCallers, SETTINGS.batches, insertBatch);
    const batchEvents = SETTINGS.batches * SETTINGS.batchSize;
    return [
      {
        key: 'plain-single',
        label: `plain pg: 1-row INSERT, ${SETTINGS.singleCallers} callers`,
        events: SETTINGS.singleAppends,
        seconds: single.seconds,
        nodeCpuUs: (single.cpuMs * 1000) / SETTINGS.singleAppends,
        eventsPerSecond: SETTINGS.singleAppends / single.seconds,
        p50: median(single.latencies),
        p99: percentile(single.latencies, 0.99),
      },
      {
        key: 'plain-batch',
        label: `plain pg: 100-row INSERT, ${SETTINGS.batchCallers} callers`,
        events: batchEvents,
        seconds: batch.seconds,
        nodeCpuUs: (batch.cpuMs * 1000) / batchEvents,
        eventsPerSecond: batchEvents / batch.seconds,
        p50: median(batch.latencies),
        p99: percentile(batch.latencies, 0.99),
      },
    ];
  } finally {
    await pool.end();
  }
}

/** Waits until every committed event is below readers' visibility bound (no transaction anywhere on the server holds it back). */
async function waitVisible(pool: pg.Pool, timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const { rows } = await pool.query<{ visible: boolean }>(
      `SELECT coalesce(max(position), 0) < (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 16) AS visible
         FROM event_store.events`,
    );
    const waited = performance.now() - started;
    if (rows[0]?.visible || waited > timeoutMs) return waited;
    await sleep(20);
  }
}

async function runPass(pass: number): Promise<Measurement[]> {
  const results: Measurement[] = [];
  const db: BenchDatabase = await createBenchDatabase(DATABASE);
  const pool = new pg.Pool({ connectionString: db.url, max: POOL_SIZE });
  const store = new PostgresEventStore({
    pool,
    connectionString: db.url,
    pollIntervalMs: POLL_MS,
    ...(MAX_BATCHES ? { maxConcurrentBatches: MAX_BATCHES } : {}),
  });
  /** Every event id this pass appended, for the catch-up check. */
  const appended = new Set<string>();
  const appendNew = async (prefix: string, events: NewEvent[]) => {
    await store.append(`${prefix}-${randomUUID()}`, events, { expectedRevision: 'no_stream' });
    for (const event of events) appended.add(event.eventId);
  };
  try {
    if (CASES.has('plain')) {
      log(`pass ${pass}: plain pg baselines`);
      results.push(...(await plainBaselines(db.url)));
    }
    const batchOf = (size = SETTINGS.batchSize) => Array.from({ length: size }, () => bookingEvent());

    if (CASES.has('append')) {
      log(`pass ${pass}: 1-event appends`);
      await runClosedLoop(SETTINGS.singleCallers, SETTINGS.singleWarmup, () => appendNew('Warmup', [bookingEvent()]));
      const single = await runClosedLoop(SETTINGS.singleCallers, SETTINGS.singleAppends, () =>
        appendNew('Booking', [bookingEvent()]),
      );
      results.push({
        key: 'append-1',
        label: `append 1 event, ${SETTINGS.singleCallers} callers, distinct streams`,
        events: SETTINGS.singleAppends,
        seconds: single.seconds,
        nodeCpuUs: (single.cpuMs * 1000) / SETTINGS.singleAppends,
        eventsPerSecond: SETTINGS.singleAppends / single.seconds,
        p50: median(single.latencies),
        p99: percentile(single.latencies, 0.99),
      });

      log(`pass ${pass}: 100-event appends`);
      await runClosedLoop(SETTINGS.batchCallers, SETTINGS.batchWarmup, () => appendNew('Warmup', batchOf()));
      const batched = await runClosedLoop(SETTINGS.batchCallers, SETTINGS.batches, () => appendNew('Room', batchOf()));
      const batchedEvents = SETTINGS.batches * SETTINGS.batchSize;
      results.push({
        key: 'append-100',
        label: `append 100 events, ${SETTINGS.batchCallers} callers`,
        events: batchedEvents,
        seconds: batched.seconds,
        nodeCpuUs: (batched.cpuMs * 1000) / batchedEvents,
        eventsPerSecond: batchedEvents / batched.seconds,
        p50: median(batched.latencies),
        p99: percentile(batched.latencies, 0.99),
      });
      const alone = await runClosedLoop(1, SETTINGS.singleCallerBatches, () => appendNew('Room', batchOf()));
      const aloneEvents = SETTINGS.singleCallerBatches * SETTINGS.batchSize;
      results.push({
        key: 'append-100-single',
        label: 'append 100 events, 1 caller',
        events: aloneEvents,
        seconds: alone.seconds,
        nodeCpuUs: (alone.cpuMs * 1000) / aloneEvents,
        eventsPerSecond: aloneEvents / alone.seconds,
        p50: median(alone.latencies),
        p99: percentile(alone.latencies, 0.99),
      });
    }

    if (CASES.has('read-stream')) {
      log(`pass ${pass}: readStream`);
      const streamId = `Reading-${randomUUID()}`;
      for (let revision = -1; revision < SETTINGS.streamLength - 1; revision += SETTINGS.batchSize) {
        const events = batchOf();
        await store.append(streamId, events, { expectedRevision: revision < 0 ? 'no_stream' : BigInt(revision) });
        for (const event of events) appended.add(event.eventId);
      }
      const readWhole = async () => {
        let count = 0;
        for await (const _ of store.readStream(streamId)) count++;
        if (count !== SETTINGS.streamLength) throw new Error(`readStream returned ${count} events`);
      };
      await runClosedLoop(1, SETTINGS.streamWarmup, readWhole);
      const reads = await runClosedLoop(1, SETTINGS.streamReads, readWhole);
      results.push({
        key: 'read-stream',
        label: `readStream of ${formatNumber(SETTINGS.streamLength)} events (${SETTINGS.streamReads} reads)`,
        events: SETTINGS.streamLength,
        seconds: reads.seconds,
        nodeCpuUs: (reads.cpuMs * 1000) / (SETTINGS.streamLength * SETTINGS.streamReads),
        eventsPerSecond: (SETTINGS.streamLength * SETTINGS.streamReads) / reads.seconds,
        p50: median(reads.latencies),
        p99: percentile(reads.latencies, 0.99),
      });
    }

    if (CASES.has('catch-up')) {
      log(`pass ${pass}: catch-up`);
      // Filler in 1,000-event appends (not measured) so that there are enough events to read.
      const missing = Math.ceil((SETTINGS.catchUpMinEvents - appended.size) / 1_000);
      if (missing > 0) await runClosedLoop(2, missing, () => appendNew('Filler', batchOf(1_000)));
      const waited = await waitVisible(pool);
      const total = appended.size;
      const waitNote = waited > 100 ? `waited ${formatNumber(waited)} ms for the visibility bound` : undefined;

      // Warm-up: the first pages, not measured.
      for await (const _ of store.readAll({ maxCount: 5_000 })) {
        // only the first pages
      }
      const readTally = new Tally();
      let last = -1n;
      let outOfOrder = 0;
      const readStarted = performance.now();
      for await (const event of store.readAll()) {
        readTally.add(event.eventId);
        if (event.position <= last) outOfOrder++;
        last = event.position;
      }
      const readSeconds = (performance.now() - readStarted) / 1000;
      results.push({
        key: 'read-all',
        label: `readAll catch-up from 0 (page ${formatNumber(1000)})`,
        events: total,
        seconds: readSeconds,
        eventsPerSecond: readTally.size / readSeconds,
        lost: readTally.lostFrom(appended),
        duplicated: readTally.duplicated,
        note:
          [waitNote, outOfOrder > 0 ? `${outOfOrder} out of order` : undefined].filter(Boolean).join('; ') || undefined,
      });

      const head = await store.headPosition();
      const subTally = new Tally();
      const subscription = store.subscribe();
      const guard = setTimeout(() => void subscription.close(), 60_000);
      const subStarted = performance.now();
      let caughtUp = false;
      for await (const batch of subscription) {
        for (const event of batch.events) subTally.add(event.eventId);
        if (batch.checkpoint >= head) {
          caughtUp = true;
          break;
        }
      }
      const subSeconds = (performance.now() - subStarted) / 1000;
      clearTimeout(guard);
      await subscription.close();
      results.push({
        key: 'subscribe',
        label: 'subscribe() catch-up from 0 (batch 500)',
        events: total,
        seconds: subSeconds,
        eventsPerSecond: subTally.size / subSeconds,
        lost: subTally.lostFrom(appended),
        duplicated: subTally.duplicated,
        note: caughtUp ? waitNote : 'did not catch up within 60 s',
      });
    }

    if (CASES.has('live')) {
      log(`pass ${pass}: append-to-subscriber latency`);
      results.push(...(await liveLatency(db.url, store)));
    }
  } finally {
    await store.close();
    await pool.end();
    await db.drop();
  }
  return results;
}

/**
 * One subscriber on its own store and pool, so it learns of appends only through LISTEN/NOTIFY.
 * Events carry their append start time; latency = receipt in the subscriber loop - that time.
 */
async function liveLatency(url: string, writer: EventStore): Promise<Measurement[]> {
  const subscriberPool = new pg.Pool({ connectionString: url, max: SETTINGS.subscriberPoolSize });
  const reader = new PostgresEventStore({
    pool: subscriberPool,
    connectionString: url,
    pollIntervalMs: POLL_MS,
    ownsPool: true,
  });
  const phases = new Map<string, { latencies: number[]; tally: Tally; sent: Set<string> }>();
  const phase = (name: string) => {
    let entry = phases.get(name);
    if (!entry) {
      entry = { latencies: [], tally: new Tally(), sent: new Set() };
      phases.set(name, entry);
    }
    return entry;
  };
  const subscription = reader.subscribe({ fromPosition: await reader.headPosition() });
  const consumer = (async () => {
    for await (const batch of subscription) {
      const received = nowMs();
      for (const event of batch.events) {
        const data = event.data as { sentAt?: number; phase?: string };
        if (data.sentAt === undefined || data.phase === undefined) continue;
        const entry = phase(data.phase);
        entry.tally.add(event.eventId);
        entry.latencies.push(received - data.sentAt);
      }
    }
  })();

  const probe = async (name: string) => {
    const event = bookingEvent({ sentAt: nowMs(), phase: name }, 'LatencyProbe');
    phase(name).sent.add(event.eventId);
    await writer.append(`Probe-${randomUUID()}`, [event], { expectedRevision: 'no_stream' });
  };

  /** Open loop: appends start on schedule whether or not earlier ones have finished. */
  const steady = async (name: string, seconds: number) => {
    const count = Math.round(SETTINGS.liveRate * seconds);
    const interval = 1000 / SETTINGS.liveRate;
    const started = performance.now();
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const wait = started + i * interval - performance.now();
      if (wait >= 1) await sleep(wait);
      inFlight.push(probe(name));
    }
    await Promise.all(inFlight);
    return (performance.now() - started) / 1000;
  };

  const settle = async (name: string) => {
    const entry = phase(name);
    const deadline = performance.now() + 5_000;
    while (entry.tally.size < entry.sent.size && performance.now() < deadline) await sleep(10);
    await sleep(50);
  };

  try {
    await sleep(200);
    await steady('warmup', SETTINGS.liveWarmupSeconds);
    await settle('warmup');

    const steadySeconds = await steady('steady', SETTINGS.liveSeconds);
    await settle('steady');

    const load = await runForDuration(SETTINGS.singleCallers, SETTINGS.loadSeconds, () => probe('load'));
    await settle('load');

    const result = (key: string, label: string, name: string, seconds: number): Measurement => {
      const entry = phase(name);
      return {
        key,
        label,
        events: entry.sent.size,
        seconds,
        eventsPerSecond: entry.sent.size / seconds,
        p50: median(entry.latencies),
        p99: percentile(entry.latencies, 0.99),
        lost: entry.tally.lostFrom(entry.sent),
        duplicated: entry.tally.duplicated,
      };
    };
    return [
      result(
        'live-steady',
        `append → other-process subscriber, ${SETTINGS.liveRate}/s for ${SETTINGS.liveSeconds} s`,
        'steady',
        steadySeconds,
      ),
      result(
        'live-load',
        `append → other-process subscriber, ${SETTINGS.singleCallers} callers flat out for ${SETTINGS.loadSeconds} s`,
        'load',
        load.seconds,
      ),
    ];
  } finally {
    await subscription.close();
    await consumer;
    await reader.close();
  }
}

interface Environment {
  nproc: number;
  cpu: string;
  memoryGb: number;
  node: string;
  postgres: string;
  pgSettings: Record<string, string>;
  loadBefore: number[];
  loadAfter: number[];
  cpuPressure: Array<number | undefined>;
  checkpoints: number[];
}

/** Checkpoints so far on the server (every DROP DATABASE, e.g. by a concurrent test run, forces one). */
async function checkpointCount(): Promise<number> {
  const client = new pg.Client({ connectionString: serverUrl('postgres') });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      'SELECT checkpoints_timed + checkpoints_req AS n FROM pg_stat_bgwriter',
    );
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

/** Total µs that some runnable task waited for a CPU (Linux PSI), if available. */
function cpuPressureUs(): number | undefined {
  try {
    const line = readFileSync('/proc/pressure/cpu', 'utf8').split('\n')[0] ?? '';
    const total = /total=(\d+)/.exec(line)?.[1];
    return total === undefined ? undefined : Number(total);
  } catch {
    return undefined;
  }
}

async function describeServer(): Promise<Pick<Environment, 'postgres' | 'pgSettings'>> {
  const client = new pg.Client({ connectionString: serverUrl('postgres') });
  await client.connect();
  try {
    const version = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    const names = [
      'shared_buffers',
      'synchronous_commit',
      'fsync',
      'wal_sync_method',
      'commit_delay',
      'max_connections',
      'wal_level',
    ];
    const settings = await client.query<{ name: string; setting: string; unit: string | null }>(
      'SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1) ORDER BY name',
      [names],
    );
    return {
      postgres: version.rows[0]?.v ?? '?',
      pgSettings: Object.fromEntries(
        settings.rows.map((r) => [r.name, r.unit && r.unit !== 'ms' ? `${r.setting} × ${r.unit}` : r.setting]),
      ),
    };
  } finally {
    await client.end();
  }
}

function summarise(passes: Measurement[][], environment: Environment, totalSeconds: number): string {
  const keys = passes[0]!.map((m) => m.key);
  const fmtMs = (v: number | undefined) => formatNumber(v, 2);
  const summaryRows = keys.map((key) => {
    const target = TARGETS[key]!;
    const runs = passes.map((p) => p.find((m) => m.key === key)!);
    const value = (m: Measurement) => m[target.primary] ?? Number.NaN;
    const higher = target.primary === 'eventsPerSecond';
    const sorted = [...runs].sort((a, b) => (higher ? value(b) - value(a) : value(a) - value(b)));
    const best = sorted[0]!;
    const worst = sorted[sorted.length - 1]!;
    const passed = runs.filter((m) => target.pass(m)).length;
    const verdict =
      target.text.startsWith('baseline') || target.text.startsWith('info')
        ? '—'
        : passed === runs.length
          ? 'PASS'
          : passed === 0
            ? 'FAIL'
            : `MIXED (${passed}/${runs.length} pass)`;
    const primaryText = (m: Measurement) =>
      higher ? `${formatNumber(value(m))} ev/s` : `${target.primary === 'p50' ? 'p50' : 'p99'} ${fmtMs(value(m))} ms`;
    return [
      best.label,
      formatNumber(best.events),
      formatNumber(best.eventsPerSecond),
      fmtMs(best.p50),
      fmtMs(best.p99),
      best.lost === undefined ? '—' : String(Math.max(...runs.map((m) => m.lost ?? 0))),
      best.duplicated === undefined ? '—' : String(Math.max(...runs.map((m) => m.duplicated ?? 0))),
      runs.length > 1 ? primaryText(worst) : '—',
      target.text,
      verdict,
    ];
  });
  const detailRows = passes.flatMap((measurements, index) =>
    measurements.map((m) => [
      String(index + 1),
      m.label,
      formatNumber(m.events),
      formatNumber(m.seconds, 2),
      formatNumber(m.eventsPerSecond),
      fmtMs(m.p50),
      fmtMs(m.p99),
      m.lost === undefined ? '—' : String(m.lost),
      m.duplicated === undefined ? '—' : String(m.duplicated),
      formatNumber(m.nodeCpuUs, 1),
      TARGETS[m.key]!.text.startsWith('baseline') || TARGETS[m.key]!.text.startsWith('info')
        ? '—'
        : TARGETS[m.key]!.pass(m)
          ? 'PASS'
          : 'FAIL',
      m.note ?? '',
    ]),
  );
  const pgSettings = Object.entries(environment.pgSettings)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return [
    `# Event store benchmark (${new Date().toISOString()})`,
    '',
    'Command: `npm run bench:store` (bench/store.bench.ts), real adapter `infra/eventStore/postgres/postgresEventStore.ts` and schema.',
    '',
    `Machine: nproc ${environment.nproc} (${environment.cpu}), ${environment.memoryGb} GB RAM, load average before ${environment.loadBefore.map((l) => l.toFixed(2)).join('/')}, after ${environment.loadAfter.map((l) => l.toFixed(2)).join('/')}, CPU pressure (share of time some runnable task waited for a CPU, /proc/pressure/cpu) per pass ${environment.cpuPressure.map((p) => (p === undefined ? '?' : `${Math.round(p)}%`)).join(', ')}, checkpoints forced by others per pass ${environment.checkpoints.join(', ')}; Node ${environment.node}; PostgreSQL ${environment.postgres} on the same machine (${pgSettings}).`,
    '',
    `Settings: ${RUNS} passes, each on a fresh database; writer pool ${POOL_SIZE} connections, maxConcurrentBatches ${MAX_BATCHES ?? '2 (adapter default)'}, pollIntervalMs ${POLL_MS}; ` +
      `events about 450 bytes of canonical JSON (data + metadata); case 1: ${formatNumber(SETTINGS.singleAppends)} appends after ${formatNumber(SETTINGS.singleWarmup)} warm-up; ` +
      `case 2: ${SETTINGS.batches} batches of ${SETTINGS.batchSize} (4 callers) and ${SETTINGS.singleCallerBatches} (1 caller), each to a new stream; ` +
      `case 3: ${SETTINGS.streamReads} reads after ${SETTINGS.streamWarmup} warm-up; case 4: every event of the pass (>= ${formatNumber(SETTINGS.catchUpMinEvents)}), 5,000-event warm-up read first; ` +
      `case 5: subscriber on a second store with its own pool (${SETTINGS.subscriberPoolSize}) and LISTEN connection, ${SETTINGS.liveWarmupSeconds} s warm-up. ` +
      `Plain baselines: table (id bigserial primary key, data json), same JSON, pool ${SETTINGS.singleCallers}. Total run ${formatNumber(totalSeconds)} s.`,
    '',
    `Summary: the best of ${RUNS} runs; "worse run" is the other run's deciding figure; lost/duplicated are the worst over all runs.`,
    '',
    markdownTable(
      ['Case', 'Events', 'events/s', 'p50 ms', 'p99 ms', 'Lost', 'Duplicated', 'Worse run', 'Target', 'Result'],
      summaryRows,
    ),
    '',
    'Latency columns: per append call (cases 1, 2, baselines), per whole read (case 3), append start → receipt by the subscriber (case 5).',
    '',
    '## Every run',
    '',
    markdownTable(
      [
        'Run',
        'Case',
        'Events',
        'Seconds',
        'events/s',
        'p50 ms',
        'p99 ms',
        'Lost',
        'Duplicated',
        'Node CPU µs/event',
        'Result',
        'Note',
      ],
      detailRows,
    ),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadBefore = os.loadavg();
  const server = await describeServer();
  const passes: Measurement[][] = [];
  const cpuPressure: Array<number | undefined> = [];
  const checkpoints: number[] = [];
  for (let pass = 1; pass <= RUNS; pass++) {
    const checkpoints0 = await checkpointCount();
    const pressure0 = cpuPressureUs();
    const t0 = performance.now();
    passes.push(await runPass(pass));
    const pressure1 = cpuPressureUs();
    cpuPressure.push(
      pressure0 === undefined || pressure1 === undefined
        ? undefined
        : ((pressure1 - pressure0) / 1000 / (performance.now() - t0)) * 100,
    );
    // Minus the one our own DROP DATABASE at the end of the pass forces.
    checkpoints.push(Math.max(0, (await checkpointCount()) - checkpoints0 - 1));
  }
  const environment: Environment = {
    nproc: nproc(),
    cpu: os.cpus()[0]?.model ?? 'unknown CPU',
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    ...server,
    loadBefore,
    loadAfter: os.loadavg(),
    cpuPressure,
    checkpoints,
  };
  const report = summarise(passes, environment, (performance.now() - started) / 1000);
  await publishReport('store', report);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
