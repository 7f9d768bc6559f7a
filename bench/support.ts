/**
 * Helpers shared by `store.bench.ts` and the scripts in `bench/experiments/`: the bench database,
 * realistic events, concurrency drivers and percentiles.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../infra/config/config.js';
import type { NewEvent } from '../infra/eventStore/eventStore.js';
import { ensureEventStoreSchema } from '../infra/eventStore/postgres/postgresEventStore.js';
import { createRuntime, type Runtime } from '../infra/runtime.js';
import { buildApp } from '../read-api/app.js';

export const DEFAULT_SERVER = 'postgres://postgres:postgres@127.0.0.1:5432';

/** DATABASE_URL's server (its database name is ignored) with `database` as the path. */
export function serverUrl(database: string): string {
  const url = new URL(process.env.DATABASE_URL ?? DEFAULT_SERVER);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl('postgres') });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh database with the event store schema (dropped first if a previous run left it). Built with
 * `ensureEventStoreSchema` rather than cloned from roomline_test_template: `npm test` drops and
 * recreates that template at any time, and a clone fails while anyone is connected to it.
 */
export async function createBenchDatabase(name: string): Promise<BenchDatabase> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe database name ${name}`);
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${name}`);
  const explainMs = process.env.BENCH_AUTO_EXPLAIN_MS;
  if (explainMs) {
    // Investigations: every statement (nested ones too) slower than this goes to the server log.
    for (const [setting, value] of [
      ['session_preload_libraries', "'auto_explain'"],
      ['auto_explain.log_min_duration', Number(explainMs)],
      ['auto_explain.log_nested_statements', 'on'],
      ['auto_explain.log_analyze', 'on'],
      ['auto_explain.log_buffers', 'on'],
      ['auto_explain.log_wal', 'on'],
    ] as const) {
      await adminQuery(`ALTER DATABASE ${name} SET ${setting} = ${value}`);
    }
  }
  const url = serverUrl(name);
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await ensureEventStoreSchema(pool);
  } finally {
    await pool.end();
  }
  return { name, url, drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** Wall clock in ms with sub-ms precision, comparable across everything in this process. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let sequence = 0;

/** A booking-sized event (about 250 bytes of data, 200 of metadata). */
export function bookingEvent(extra: Record<string, unknown> = {}, type = 'BookingRequested'): NewEvent {
  sequence++;
  return {
    eventId: randomUUID(),
    type,
    schemaVersion: 1,
    data: {
      bookingId: randomUUID(),
      roomId: `room-${sequence % 500}`,
      guestId: randomUUID(),
      checkIn: '2026-03-14',
      checkOut: '2026-03-17',
      guests: 2,
      priceCents: 38_900 + (sequence % 1000),
      currency: 'EUR',
      note: 'late arrival, around 22:00',
      ...extra,
    },
    metadata: {
      correlationId: randomUUID(),
      causationId: null,
      actorId: randomUUID(),
      actorRole: 'guest',
      occurredAt: new Date().toISOString(),
      requestId: `req-${sequence}`,
    },
  };
}

/**
 * CPU time (ms) used so far by each server process a benchmark drives (`/proc/<pid>/stat`, Linux; clock ticks of
 * 10 ms), by pid: every process whose name is in `names` and, when `only` is given, whose command line (a PostgreSQL
 * backend's title names its database) contains one of its strings. `cpuMsBetween` sums two samples' difference.
 */
export function processesCpuMs(names: readonly string[], only?: readonly string[]): Map<number, number> {
  const used = new Map<number, number>();
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (!names.includes(name)) continue;
      if (only && !only.some((part) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(part))) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      used.set(Number(pid), (Number(fields[11]) + Number(fields[12])) * 10); // utime, stime (fields 14, 15 of stat)
    } catch {
      // the process ended meanwhile
    }
  }
  return used;
}

/**
 * The CPU the processes of `after` used since `before` (a process started meanwhile counts from 0). A process that
 * ended in between is missing from `after`: what it used since `before` is lost, so this may count low, never high.
 */
export function cpuMsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

/** Busy and total clock ticks of the whole machine so far (every process and the kernel), from `/proc/stat`. */
export function machineCpu(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  // idle and iowait are the 4th and 5th fields.
  return { busy: total - fields[3]! - fields[4]!, total };
}

/** How busy the machine was between two `machineCpu` samples: 0 to 1, all cores together. */
export function busyShareBetween(
  before: { busy: number; total: number },
  after: { busy: number; total: number },
): number {
  return (after.busy - before.busy) / (after.total - before.total);
}

/** Runs `total` jobs on `callers` concurrent loops; returns each job's latency (ms), the wall time (s) and this process's CPU time (ms). */
export async function runClosedLoop(
  callers: number,
  total: number,
  job: (index: number) => Promise<void>,
): Promise<{ latencies: number[]; seconds: number; cpuMs: number }> {
  const latencies = new Array<number>(total);
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < total) {
        const index = next++;
        const t0 = performance.now();
        await job(index);
        latencies[index] = performance.now() - t0;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { latencies, seconds: (performance.now() - started) / 1000, cpuMs: (used.user + used.system) / 1000 };
}

/** Like `runClosedLoop`, but for a fixed time instead of a fixed count. */
export async function runForDuration(
  callers: number,
  seconds: number,
  job: (index: number) => Promise<void>,
): Promise<{ latencies: number[]; seconds: number; count: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < deadline) {
        const index = next++;
        const t0 = performance.now();
        await job(index);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000, count: next };
}

/** Nearest-rank percentile (p in 0..1); NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 0.5);
}

export function nproc(): number {
  try {
    return Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    return os.availableParallelism();
  }
}

export function formatNumber(value: number | undefined, digits = 0): string {
  if (value === undefined || Number.isNaN(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * Prints a benchmark's report and, unless BENCH_WRITE=0, writes it to bench/results/<name>-<time>.md and
 * bench/results/<name>-latest.md.
 */
export async function publishReport(name: string, report: string): Promise<void> {
  process.stdout.write(`${report}\n`);
  if (process.env.BENCH_WRITE === '0') return;
  const { mkdir, writeFile } = await import('node:fs/promises');
  const directory = new URL('./results/', import.meta.url);
  await mkdir(directory, { recursive: true });
  const stamp = new Date()
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
  await writeFile(new URL(`${name}-${stamp}.md`, directory), report);
  await writeFile(new URL(`${name}-latest.md`, directory), report);
  process.stderr.write(`[bench:${name}] written bench/results/${name}-latest.md\n`);
}

/**
 * The real app (buildApp on the real adapters) on a loopback port against `databaseUrl`, with a fresh JWT
 * secret and data key, rate limits out of the way, and its own queue prefix; `env` overrides config keys.
 */
export async function startBenchApp(
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<{ runtime: Runtime; app: FastifyInstance; base: string; close(): Promise<void> }> {
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: databaseUrl,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    RATE_LIMIT_PER_MINUTE: '1000000',
    QUEUE_PREFIX: `rl-bench-${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: 'silent',
    ...env,
  });
  const runtime = await createRuntime(config, pino({ level: 'silent' }));
  const app = await buildApp(runtime);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    runtime,
    app,
    base,
    async close() {
      await app.close();
      await runtime.close();
    },
  };
}

/** Runs a benchmark's main and exits: its exit code (0 unless it set one), or 1 with the stack when it threw. */
export function runBenchmark(main: () => Promise<void>): void {
  main().then(
    () => process.exit(process.exitCode ?? 0),
    (error) => {
      process.stderr.write(`${(error as Error).stack}\n`);
      process.exit(1);
    },
  );
}
