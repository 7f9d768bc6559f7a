import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../infra/demo/demoData.js';
import { appendPlatformHistory } from '../../infra/demo/platformHistory.js';
import { createRuntime } from '../../infra/runtime.js';
import type { PgProjection } from '../../projections/projection.js';
import { TEST_DATA_ENCRYPTION_KEY, TEST_JWT_SECRET, testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { tableChecksums } from '../support/tableChecksums.js';

/**
 * Issue 13: the projector killed with SIGKILL at random moments while it catches up on over 20,000 events, restarted
 * each time, leaves every read model equal to a rebuild without crashes, table by table, and no event applied twice
 * or lost. The history and the delays come from one seed (PROJECTION_CRASH_SEED reproduces a run).
 */
const SEED = Number(process.env.PROJECTION_CRASH_SEED ?? Date.now() % 1_000_000);
const KILLS = 5;
const MIN_EVENTS = 20_000;
// Catching up on the 21,000 events takes some 25 s on this 2-core machine; a loaded one may need several times that.
const CATCH_UP_MS = 200_000;

let db: TestDatabase;
let dataDir: string;
let projections: readonly PgProjection[];
let head: bigint;
let events: number;

const projectorEnv = () => ({
  ...process.env,
  DATABASE_URL: db.url,
  // The keys the history was sealed with: the projector opens personal data as the seeding runtime sealed it.
  JWT_SECRET: TEST_JWT_SECRET,
  DATA_ENCRYPTION_KEY: TEST_DATA_ENCRYPTION_KEY,
  ROOMLINE_PROCESS: 'projector',
  PROJECTIONS: projections.map((p) => p.name).join(','),
  PG_POOL_SIZE: '4',
  DATA_DIR: dataDir,
  LOG_LEVEL: 'warn',
  SUBSCRIPTION_POLL_MS: '200',
});

function startProjector(log: string[]): { child: ChildProcess; exited: Promise<NodeJS.Signals | number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/main.ts'], { env: projectorEnv() });
  child.stdout?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ?? code)),
  );
  return { child, exited };
}

async function checkpoints(): Promise<Map<string, bigint>> {
  const { rows } = await db.pool.query<{ name: string; position: string }>(
    'SELECT name, position FROM projection_checkpoints',
  );
  return new Map(rows.map((row) => [row.name, BigInt(row.position)]));
}

async function behindHead(): Promise<string[]> {
  const at = await checkpoints();
  return projections.filter((p) => (at.get(p.name) ?? 0n) < head).map((p) => p.name);
}

async function caughtUp(ms: number, log: string[]): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const behind = await behindHead();
    if (behind.length === 0) return;
    if (Date.now() > until) {
      const at = await checkpoints();
      const where = behind.map((name) => `${name} at ${at.get(name) ?? 'none'}`).join(', ');
      throw new Error(`projections behind the head ${head}: ${where}\n${log.join('').slice(-4_000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Until some projection's checkpoint differs from `before`: the new life has committed a batch. */
async function firstBatchSince(before: Map<string, bigint>, log: string[]): Promise<void> {
  const until = Date.now() + 120_000;
  for (;;) {
    const now = await checkpoints();
    if ([...now].some(([name, position]) => before.get(name) !== position)) return;
    if ((await behindHead()).length === 0) return;
    if (Date.now() > until) throw new Error(`the projector applied nothing in 120 s\n${log.join('').slice(-4_000)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function stopGracefully(projector: ReturnType<typeof startProjector>): Promise<void> {
  projector.child.kill('SIGTERM');
  await projector.exited;
}

const checksums = () => tableChecksums(db.pool, projections);

/**
 * Single-stream rows: each row's applied revision is its stream's last revision, and its position at least that
 * event's (events of other streams a row listens to, a review moving a room's rating, move it further on).
 */
async function marksBehindTheirStreams(table: string, prefix: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${table} r
       LEFT JOIN LATERAL (SELECT revision, position FROM event_store.events e WHERE e.stream_id = $1 || r.id::text
                          ORDER BY revision DESC LIMIT 1) last ON true
      WHERE last.revision IS DISTINCT FROM r.revision OR NOT (r.last_position >= last.position)`,
    [prefix],
  );
  return Number(rows[0]!.n);
}

async function streamsWithoutRow(table: string, prefix: string, firstType: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM event_store.events e
      WHERE e.type = $2 AND e.stream_id LIKE $1 || '%'
        AND NOT EXISTS (SELECT 1 FROM ${table} r WHERE $1 || r.id::text = e.stream_id)`,
    [prefix, firstType],
  );
  return Number(rows[0]!.n);
}

beforeAll(async () => {
  db = await createTestDatabase(2);
  dataDir = mkdtempSync(join(tmpdir(), 'roomline-crash-'));
  const runtime = await createRuntime(
    testConfig(db.url, { ROOMLINE_PROCESS: 'worker', PG_POOL_SIZE: '2', DATA_DIR: dataDir }),
    pino({ level: 'silent' }),
  );
  // Every read model in PostgreSQL (those that declare their tables): not the warehouse, not the side effects.
  projections = runtime.projections.filter((p) => (p.tables?.length ?? 0) > 0 && !p.sideEffectsOnly);
  const started = Date.now();
  // Appended directly, as the commands would have (personal data sealed, erased subjects' keys destroyed): the
  // whole platform, bookings through their lifecycle, conversations, reviews, notifications. Seconds, not minutes.
  await appendPlatformHistory(
    runtime.eventStore,
    (userId) => runtime.identity.eraseKeys(userId),
    MIN_EVENTS,
    runtime.clock.now().getTime() - 180 * 86_400_000,
    { seed: SEED },
  );
  head = await runtime.eventStore.headPosition();
  await runtime.close();
  const { rows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM event_store.events');
  events = Number(rows[0]!.n);
  process.stdout.write(`projection crash test: seed ${SEED}, ${events} events seeded in ${Date.now() - started} ms\n`);
}, 120_000);

afterAll(async () => {
  await db?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('the projector killed with SIGKILL at random moments', () => {
  it('leaves every read model equal to a rebuild, no event applied twice or lost', async () => {
    expect(events).toBeGreaterThanOrEqual(MIN_EVENTS);
    const next = seededRandom(SEED);
    const log: string[] = [];
    let midBatch = 0;
    const killedAt: string[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const before = await checkpoints();
      const projector = startProjector(log);
      // Start-up (tsx, the runtime) takes seconds and varies with the machine's load: the kill comes at a random
      // moment after this life's first committed batch, so it lands while batches are being applied.
      await firstBatchSince(before, log);
      const delay = Math.floor(next() * 1_000);
      await new Promise((resolve) => setTimeout(resolve, delay));
      projector.child.kill('SIGKILL');
      expect(await projector.exited, `the projector ended by itself:\n${log.join('').slice(-4_000)}`).toBe('SIGKILL');
      const behind = await behindHead();
      if (behind.length > 0) midBatch++;
      const at = await checkpoints();
      const atHead = projections.filter((p) => (at.get(p.name) ?? 0n) >= head).length;
      killedAt.push(`${delay} ms after a first batch (${atHead} of ${projections.length} at the head)`);
    }
    const last = startProjector(log);
    const catchUp = Date.now();
    await caughtUp(CATCH_UP_MS, log);
    const catchUpMs = Date.now() - catchUp;
    await stopGracefully(last);
    process.stdout.write(
      `projection crash test: seed ${SEED}, ${KILLS} kills after ${killedAt.join(', ')}; ${midBatch} while behind the head\n`,
    );
    expect(midBatch).toBeGreaterThanOrEqual(1);

    const afterCrashes = await checksums();
    expect(await db.pool.query('SELECT count(*)::int AS n FROM projection_parked')).toMatchObject({ rows: [{ n: 0 }] });
    for (const [table, prefix, first] of [
      ['bookings', 'Booking-', 'BookingRequested'],
      ['rooms', 'Room-', 'RoomCreated'],
      ['users', 'User-', 'UserRegistered'],
    ] as const) {
      expect(await marksBehindTheirStreams(table, prefix), `${table} rows off their stream's last event`).toBe(0);
      expect(await streamsWithoutRow(table, prefix, first), `${table} streams without a row`).toBe(0);
    }
    const { rows: ledger } = await db.pool.query<{ events: string }>(
      'SELECT events FROM audit_ledger ORDER BY position DESC LIMIT 1',
    );
    expect(Number(ledger[0]!.events), 'events chained by the ledger').toBe(events);

    // The rebuild: the same events into emptied read models, by one projector that is never killed.
    for (const projection of projections) {
      await db.pool.query(`TRUNCATE ${(projection.tables ?? []).join(', ')}`);
    }
    await db.pool.query('DELETE FROM projection_checkpoints');
    const rebuild = startProjector(log);
    const rebuildStarted = Date.now();
    await caughtUp(CATCH_UP_MS, log);
    process.stdout.write(
      `projection crash test: last catch-up ${catchUpMs} ms, rebuild of ${events} events ${Date.now() - rebuildStarted} ms\n`,
    );
    await stopGracefully(rebuild);
    const rebuilt = await checksums();
    for (const [table, sum] of rebuilt) {
      expect(afterCrashes.get(table), `read model ${table} after the crashes differs from its rebuild`).toBe(sum);
    }
  }, 600_000);
});
